//! Ctrl-C and SIGTERM: stop early and keep everything.
//!
//! The first signal ends simulated time at once: the fsm or asgard stops
//! waiting, shuts every instance and node down as at a normal end, and the
//! run writes every output with what was simulated, says where it was
//! interrupted, and exits 130. A second signal aborts at once. Set-up and
//! writing are not cut short (they are bounded); an interrupt during set-up
//! ends the run as soon as it is built. A signal once simulated time is
//! over (shutdown, writing) changes nothing in the results: the run ends
//! as it would have, exit status included.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Exit status of an interrupted run (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// What the signal listener and the waits share.
#[derive(Default)]
struct Moments {
    /// When simulated time began.
    began: Option<Instant>,
    /// Simulated time elapsed when the first signal came.
    at: Option<Duration>,
    /// Simulated time is over: a signal now cuts nothing short.
    ended: bool,
}

/// The run's interrupt: cheap to clone, one per simulation.
#[derive(Clone)]
pub(crate) struct Interrupt {
    fired: watch::Receiver<bool>,
    moments: Arc<Mutex<Moments>>,
}

impl Interrupt {
    /// Listens for SIGINT and SIGTERM for the rest of the process.
    pub(crate) fn listen() -> Interrupt {
        let (tx, fired) = watch::channel(false);
        let moments = Arc::new(Mutex::new(Moments::default()));
        let shared = moments.clone();
        // Installed before this returns, so a signal from now on is seen.
        let mut signals = Signals::new();
        tokio::spawn(async move {
            let mut signals_seen = 0;
            while signals.next().await {
                signals_seen += 1;
                if signals_seen > 1 {
                    eprintln!("spigo: interrupted again; aborting");
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
                let ended = {
                    let mut m = shared.lock().expect("interrupt lock");
                    if !m.ended {
                        m.at = Some(m.began.map_or(Duration::ZERO, |b| b.elapsed()));
                    }
                    m.ended
                };
                if ended {
                    // The results are complete; only the writing is left.
                    tracing::warn!(
                        "interrupted after simulated time ended: the results are complete, finishing the run (again to abort)"
                    );
                } else {
                    tracing::warn!(
                        "interrupted: ending the simulation now and writing what it did (again to abort)"
                    );
                }
                let _ = tx.send(true);
            }
        });
        Interrupt { fired, moments }
    }

    /// Simulated time begins now: an interrupt is reported as this far in.
    pub(crate) fn begin(&self) {
        self.moments.lock().expect("interrupt lock").began = Some(Instant::now());
    }

    /// Simulated time is over: a first signal from now on lets the run
    /// finish and does not mark it interrupted.
    pub(crate) fn end(&self) {
        self.moments.lock().expect("interrupt lock").ended = true;
    }

    /// Waits `d`, or less if the run is interrupted; false if it was.
    pub(crate) async fn sleep(&self, d: Duration) -> bool {
        let mut fired = self.fired.clone();
        if *fired.borrow() {
            return false;
        }
        let slept = tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = fired.wait_for(|f| *f) => false,
        };
        slept && !*self.fired.borrow()
    }

    /// How far into simulated time the run was interrupted, if it was.
    pub(crate) fn interrupted_at(&self) -> Option<Duration> {
        self.moments.lock().expect("interrupt lock").at
    }
}

/// SIGINT and SIGTERM, as one stream; both are caught from the moment it
/// is made.
struct Signals {
    #[cfg(unix)]
    caught: Option<[tokio::signal::unix::Signal; 2]>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let caught = signal(SignalKind::interrupt())
                .and_then(|int| Ok([int, signal(SignalKind::terminate())?]))
                .ok();
            Signals { caught }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal; false if none can be listened for.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            let Some([int, term]) = self.caught.as_mut() else {
                return false;
            };
            tokio::select! {
                r = int.recv() => r.is_some(),
                r = term.recv() => r.is_some(),
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_ends_early_when_interrupted() {
        let (tx, fired) = watch::channel(false);
        let i = Interrupt {
            fired,
            moments: Arc::default(),
        };
        assert!(i.sleep(Duration::from_millis(5)).await, "not interrupted");
        let started = Instant::now();
        let waiting = tokio::spawn({
            let i = i.clone();
            async move { i.sleep(Duration::from_secs(30)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.send(true).unwrap();
        assert!(!waiting.await.unwrap(), "interrupted");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!i.sleep(Duration::from_secs(30)).await, "stays interrupted");
    }
}
