//! What a run shows while simulated time passes. On a terminal a status
//! line is redrawn twice a second: simulated time, instances, the rate of
//! requests (or of messages, for pirates), p99 response time, errors and
//! nodes. Anywhere else (a log file, CI) one log line per tenth of the run
//! shows it moving without flooding. Nothing estimates time left: the run
//! ends when its simulated time does, which the line already shows.
//!
//! The work (fsm, asgard) says when simulated time begins and ends through
//! a [`Progress`]; [`show`] runs beside it and reads the cluster's figures
//! as the live HTTP pages do.

use crate::cluster::Cluster;
use crate::logging;
use spigo_proto::cluster::MetricsReport;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Where the run is, as the work tells it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Phase {
    /// Setting up: nothing to show yet (set-up has its own bars).
    #[default]
    Setting,
    /// Simulated time runs, with this many instances.
    Running { began: Instant, instances: usize },
    /// Simulated time is over, or the run failed.
    Over,
}

/// The work's side: cheap to clone, one per run.
#[derive(Clone)]
pub(crate) struct Progress {
    phase: Arc<watch::Sender<Phase>>,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            phase: Arc::new(watch::channel(Phase::Setting).0),
        }
    }
}

impl Progress {
    /// Simulated time begins now, with `instances` instances.
    pub(crate) fn begin(&self, instances: usize) {
        let began = Instant::now();
        self.phase.send_replace(Phase::Running { began, instances });
    }

    /// Simulated time is over: the line is taken away.
    pub(crate) fn end(&self) {
        self.phase.send_replace(Phase::Over);
    }
}

/// What the rate counts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counting {
    /// The denominators' requests (NetflixOSS-like architectures).
    Requests,
    /// Messages delivered (pirates have no requests).
    Messages,
}

/// Shows the run's progress until [`Progress::end`].
pub(crate) async fn show(
    cluster: Arc<Cluster>,
    progress: Progress,
    arch: String,
    duration: Duration,
    counting: Counting,
) {
    let mut phase = progress.phase.subscribe();
    let line = logging::status_line();
    let drawing = !line.is_hidden();
    // Counts when simulated time began, so rates leave set-up out.
    let mut last: Option<(Instant, u64)> = None;
    let mut tenths_shown = 0;
    loop {
        let current = *phase.borrow_and_update();
        let (began, instances) = match current {
            Phase::Setting => {
                if phase.changed().await.is_err() {
                    break;
                }
                continue;
            }
            Phase::Over => break,
            Phase::Running { began, instances } => (began, instances),
        };
        let elapsed = began.elapsed().min(duration);
        let tenths = tenths_of(elapsed, duration);
        let due = drawing || last.is_none() || (tenths > tenths_shown && tenths < 10);
        if due {
            let snapshot = cluster.snapshot().await;
            let now = Instant::now();
            let count = counted(&snapshot.metrics, counting);
            match last {
                None => last = Some((now, count)),
                Some((then, before)) => {
                    let status = Status {
                        elapsed,
                        duration,
                        instances,
                        rate: count.saturating_sub(before) as f64
                            / now.duration_since(then).as_secs_f64().max(1e-3),
                        counting,
                        p99_us: p99(&snapshot.metrics.traffic.latency),
                        errors: errors(&snapshot.metrics),
                        nodes: snapshot.nodes.saturating_sub(snapshot.lost),
                        lost: snapshot.lost,
                    };
                    if drawing {
                        line.set_message(status.to_string());
                    } else {
                        tracing::info!("{arch}: {}0% {status}", tenths);
                        tenths_shown = tenths;
                    }
                    last = Some((now, count));
                }
            }
        }
        // Twice a second on a terminal; otherwise often enough to catch
        // each tenth of the run within a few percent of it.
        let wait = match drawing {
            true => Duration::from_millis(500),
            false => (duration / 40).clamp(Duration::from_millis(50), Duration::from_secs(1)),
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            changed = phase.changed() => if changed.is_err() { break },
        }
    }
    line.finish_and_clear();
}

/// Whole tenths of `duration` that `elapsed` has reached.
fn tenths_of(elapsed: Duration, duration: Duration) -> u32 {
    if duration.is_zero() {
        return 10;
    }
    ((elapsed.as_secs_f64() / duration.as_secs_f64()) * 10.0).floor() as u32
}

fn counted(metrics: &MetricsReport, counting: Counting) -> u64 {
    match counting {
        Counting::Requests => metrics.traffic.requests,
        Counting::Messages => metrics.delivered,
    }
}

/// Gets that failed and puts that were lost, by any reason.
fn errors(metrics: &MetricsReport) -> u64 {
    let t = &metrics.traffic;
    t.failed.iter().chain(&t.puts_failed).map(|(_, n)| n).sum()
}

/// The 99th percentile of recorded (value, count) pairs, if any.
fn p99(recorded: &[(u64, u64)]) -> Option<u64> {
    let total: u64 = recorded.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut sorted = recorded.to_vec();
    sorted.sort_unstable();
    let want = total - total / 100;
    let mut seen = 0;
    sorted.into_iter().find_map(|(value, n)| {
        seen += n;
        (seen >= want).then_some(value)
    })
}

/// One status line's figures.
struct Status {
    elapsed: Duration,
    duration: Duration,
    instances: usize,
    rate: f64,
    counting: Counting,
    p99_us: Option<u64>,
    errors: u64,
    nodes: usize,
    lost: usize,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sim {:.1}s/{:.1}s, {} instances, ",
            self.elapsed.as_secs_f64(),
            self.duration.as_secs_f64(),
            logging::grouped(self.instances as u64)
        )?;
        match self.counting {
            Counting::Requests => {
                write!(f, "{} req/s", logging::per_second(self.rate))?;
                match self.p99_us {
                    Some(us) if us >= 1000 => write!(f, ", p99 {:.1}ms", us as f64 / 1000.0)?,
                    Some(us) => write!(f, ", p99 {us}us")?,
                    None => write!(f, ", p99 -")?,
                }
                write!(f, ", {} errors", logging::grouped(self.errors))?;
            }
            Counting::Messages => write!(f, "{} msg/s", logging::per_second(self.rate))?,
        }
        // The nodes are the processes this coordinator drives; without
        // any, the whole run is this one process.
        match self.nodes {
            0 if self.lost == 0 => write!(f, ", one process")?,
            1 => write!(f, ", 1 node")?,
            n => write!(f, ", {n} nodes")?,
        }
        if self.lost > 0 {
            write!(f, " ({} lost)", self.lost)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_99th_percentile_of_recorded_pairs() {
        assert_eq!(p99(&[]), None);
        // 99 fast, one slow: the 99th of 100 is still fast.
        assert_eq!(p99(&[(900, 1), (100, 99)]), Some(100));
        assert_eq!(p99(&[(900, 2), (100, 98)]), Some(900));
    }

    #[test]
    fn tenths_count_whole_tenths() {
        let s = Duration::from_secs;
        assert_eq!(tenths_of(s(0), s(20)), 0);
        assert_eq!(tenths_of(s(3), s(20)), 1);
        assert_eq!(tenths_of(s(20), s(20)), 10);
        assert_eq!(tenths_of(s(1), Duration::ZERO), 10);
    }

    #[test]
    fn a_status_line_reads_as_a_person_writes_it() {
        let status = Status {
            elapsed: Duration::from_millis(12_040),
            duration: Duration::from_secs(20),
            instances: 1894,
            rate: 666_676.7,
            counting: Counting::Requests,
            p99_us: Some(1234),
            errors: 0,
            nodes: 2,
            lost: 1,
        };
        assert_eq!(
            status.to_string(),
            "sim 12.0s/20.0s, 1,894 instances, 667k req/s, p99 1.2ms, 0 errors, 2 nodes (1 lost)"
        );
        let pirates = Status {
            counting: Counting::Messages,
            rate: 46_512.0,
            nodes: 0,
            lost: 0,
            ..status
        };
        assert_eq!(
            pirates.to_string(),
            "sim 12.0s/20.0s, 1,894 instances, 46.5k msg/s, one process"
        );
    }
}
