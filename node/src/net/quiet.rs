//! Warnings a peer can cause, kept from flooding the log: the first few of
//! a kind in each window are logged, the rest only counted, and the count
//! is logged once the window is over ("1000 more refused connections in
//! the last 10s"). A connect-and-reset flood then costs a handful of lines,
//! not one per connection, and nothing is hidden.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One kind of warning, limited to `burst` lines per `window`.
pub struct LogLimit {
    what: &'static str,
    burst: u32,
    window: Duration,
    inner: Mutex<Window>,
    /// Counted and not logged, since the last summary line.
    quiet: AtomicU64,
}

struct Window {
    began: Instant,
    logged: u32,
}

impl LogLimit {
    /// Warnings about `what` (plural, as the summary line says it).
    pub fn new(what: &'static str, burst: u32, window: Duration) -> LogLimit {
        LogLimit {
            what,
            burst,
            window,
            inner: Mutex::new(Window {
                began: Instant::now(),
                logged: 0,
            }),
            quiet: AtomicU64::new(0),
        }
    }

    /// Whether this occurrence may be logged now; if not, it is counted.
    pub fn allow(&self) -> bool {
        let mut w = self.inner.lock().expect("log limit lock");
        if w.began.elapsed() >= self.window {
            *w = Window {
                began: Instant::now(),
                logged: 0,
            };
        }
        if w.logged < self.burst {
            w.logged += 1;
            return true;
        }
        self.quiet.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// The summary line of what was counted and not logged since the last
    /// one, if anything was.
    pub fn summary(&self) -> Option<String> {
        match self.quiet.swap(0, Ordering::Relaxed) {
            0 => None,
            n => Some(format!(
                "{n} more {} in the last {}",
                self.what,
                spigo_proto::time::GoDuration(self.window)
            )),
        }
    }

    /// Logs the summary line every window, for as long as the process runs.
    pub async fn report_every_window(&self) {
        loop {
            tokio::time::sleep(self.window).await;
            if let Some(line) = self.summary() {
                tracing::warn!("{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_logged_a_few_times_and_counted() {
        let limit = LogLimit::new("refused connections", 5, Duration::from_secs(3600));
        let logged = (0..10_000).filter(|_| limit.allow()).count();
        assert_eq!(logged, 5);
        assert_eq!(
            limit.summary().as_deref(),
            Some("9995 more refused connections in the last 3600s")
        );
        assert_eq!(limit.summary(), None, "each counted once");
    }

    #[test]
    fn a_new_window_logs_again() {
        let limit = LogLimit::new("refused connections", 1, Duration::from_millis(20));
        assert!(limit.allow());
        assert!(!limit.allow());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limit.allow(), "the next window");
    }
}
