//! `--svg`'s sampler: once a second (a tenth of a shorter run, so a run of
//! two seconds still has a line to draw), beside the work (as `progress.rs`
//! shows the status line), it reads the cluster's cumulative figures and
//! keeps the difference from the second before: requests (or messages)
//! and errors per second, and p50/p99 of the responses of that second
//! alone, for the run and for every service. At the end the samples and
//! the moments the work reports (traffic began, faults, an interrupt)
//! become the [`Timeline`] that `output/svg/timeline.rs` draws.
//!
//! Histograms are kept as (microseconds, count) pairs, as every node
//! reports them; counts only grow, so the pairs of one second are the
//! difference of two snapshots. A lost node's figures vanish from the
//! snapshots: the second it goes is marked and its responses are not
//! counted twice.

use super::progress;
use crate::cluster::Cluster;
use crate::output::svg::timeline::{Counting, Point, Timeline};
use spigo_proto::cluster::MetricsReport;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How many of the busiest services the timeline shows.
const BUSIEST: usize = 5;

/// Response-time counts by microseconds.
type Counts = BTreeMap<u64, u64>;

/// The cluster's figures at one moment, as they have added up.
#[derive(Clone, Debug)]
struct Cumulative {
    at: Instant,
    count: u64,
    errors: u64,
    latency: Counts,
    /// Requests received and response times, per service.
    services: BTreeMap<String, (u64, Counts)>,
    lost: usize,
}

fn counts(pairs: &[(u64, u64)], into: &mut Counts) {
    for &(value, n) in pairs {
        *into.entry(value).or_default() += n;
    }
}

impl Cumulative {
    fn of(m: &MetricsReport, lost: usize, counting: Counting, at: Instant) -> Cumulative {
        let t = &m.traffic;
        let mut latency = Counts::new();
        counts(&t.latency, &mut latency);
        let mut services: BTreeMap<String, (u64, Counts)> = BTreeMap::new();
        for s in &m.services {
            let entry = services.entry(s.service.clone()).or_default();
            entry.0 += s.requests;
            counts(&s.response, &mut entry.1);
        }
        Cumulative {
            at,
            count: match counting {
                Counting::Requests => t.requests,
                Counting::Messages => m.delivered,
            },
            errors: t.failed.iter().chain(&t.puts_failed).map(|(_, n)| n).sum(),
            latency,
            services,
            lost,
        }
    }
}

/// The counts of `now` less those of `before` (none negative).
fn difference(now: &Counts, before: &Counts) -> Counts {
    now.iter()
        .filter_map(|(&v, &n)| {
            let d = n.saturating_sub(before.get(&v).copied().unwrap_or(0));
            (d > 0).then_some((v, d))
        })
        .collect()
}

/// The value at fraction `q` of `counts`, in milliseconds.
fn quantile_ms(counts: &Counts, q: f64) -> Option<f64> {
    let total: u64 = counts.values().sum();
    if total == 0 {
        return None;
    }
    let want = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    counts.iter().find_map(|(&v, &n)| {
        seen += n;
        (seen >= want).then_some(v as f64 / 1000.0)
    })
}

/// One second's figures.
#[derive(Clone, Debug, PartialEq)]
struct Sample {
    /// The stretch sampled: from the snapshot before to this one.
    from: Instant,
    at: Instant,
    total: Point,
    errors: f64,
    services: Vec<(String, Point, u64)>,
    lost: usize,
}

/// What happened between two snapshots (`t` is filled in later).
fn step(before: &Cumulative, now: &Cumulative) -> Sample {
    let secs = now.at.duration_since(before.at).as_secs_f64().max(1e-3);
    let rate = |n: u64, b: u64| n.saturating_sub(b) as f64 / secs;
    let point = |requests: f64, counts: &Counts| Point {
        t: 0.0,
        rate: requests,
        p50_ms: quantile_ms(counts, 0.5),
        p99_ms: quantile_ms(counts, 0.99),
    };
    let none = (0, Counts::new());
    let services = (now.services.iter())
        .map(|(name, (requests, latency))| {
            let (r0, l0) = before.services.get(name).unwrap_or(&none);
            let new = requests.saturating_sub(*r0);
            (
                name.clone(),
                point(rate(*requests, *r0), &difference(latency, l0)),
                new,
            )
        })
        .collect();
    Sample {
        from: before.at,
        at: now.at,
        total: point(
            rate(now.count, before.count),
            &difference(&now.latency, &before.latency),
        ),
        errors: rate(now.errors, before.errors),
        services,
        lost: now.lost,
    }
}

/// The moments the work knows of, for the timeline's marks.
#[derive(Default)]
pub(crate) struct Moments {
    /// When simulated time began; `None`: the samples' own start.
    pub began: Option<Instant>,
    /// Faults (the chaos monkey, crashes), when and what.
    pub events: Vec<(Instant, String)>,
    /// How far into simulated time a Ctrl-C or SIGTERM came.
    pub interrupted_at: Option<Duration>,
}

/// Rates of a stretch that began before `origin`, over its part after it.
fn straddle(s: &mut Sample, origin: Instant) {
    let whole = s.at.duration_since(s.from).as_secs_f64();
    let after = s.at.duration_since(origin).as_secs_f64().max(1e-3);
    let scale = whole / after;
    s.total.rate *= scale;
    s.errors *= scale;
    for (_, p, _) in &mut s.services {
        p.rate *= scale;
    }
}

impl Moments {
    /// The fsm says when its chatting began only to the status line: it
    /// began `shutdown` and the time it ran before sampling stopped.
    pub(crate) fn of_pirates(
        samples: &Samples,
        shutdown: Duration,
        duration: Duration,
        interrupted_at: Option<Duration>,
    ) -> Moments {
        let ran = interrupted_at.unwrap_or(duration) + shutdown;
        Moments {
            began: samples.stopped.checked_sub(ran),
            events: Vec::new(),
            interrupted_at,
        }
    }
}

impl From<progress::Counting> for Counting {
    fn from(c: progress::Counting) -> Counting {
        match c {
            progress::Counting::Requests => Counting::Requests,
            progress::Counting::Messages => Counting::Messages,
        }
    }
}

/// The samples of a whole run.
pub(crate) struct Samples {
    counting: Counting,
    started: Instant,
    /// When sampling stopped: the work, shutdown included, was over.
    pub stopped: Instant,
    samples: Vec<Sample>,
}

impl Samples {
    /// The series to draw: simulated time from `moments.began` for
    /// `duration`, the busiest services, every moment marked.
    pub(crate) fn timeline(self, duration: Duration, moments: Moments) -> Timeline {
        let origin = moments.began.unwrap_or(self.started);
        let since = |at: Instant| at.saturating_duration_since(origin).as_secs_f64();
        // Set-up and shutdown are not simulated time: what a sample
        // taken after the end counts is mostly shutdown's messages.
        let last = duration.as_secs_f64() + 1e-3;
        let mut kept: Vec<Sample> = (self.samples.into_iter())
            .filter(|s| s.at > origin && since(s.at) <= last)
            .collect();
        // The first stretch may begin in set-up. Pirates send set-up's
        // messages then: it is left out. Requests begin with simulated
        // time: their rates are over the part of it after the start.
        if kept.first().is_some_and(|s| s.from < origin) {
            match self.counting {
                Counting::Messages => drop(kept.remove(0)),
                Counting::Requests => straddle(&mut kept[0], origin),
            }
        }
        for s in &mut kept {
            s.total.t = since(s.at);
        }
        let mut events: Vec<(f64, String)> = (moments.events.iter())
            .map(|(at, label)| (since(*at), label.clone()))
            .collect();
        let mut missing = Vec::new();
        let mut lost = 0;
        for s in &kept {
            if s.lost > lost {
                events.push((s.total.t, "node lost".to_string()));
                missing.push(format!(
                    "{} node(s) lost by {:.1} s: their figures are missing from then on",
                    s.lost, s.total.t
                ));
                lost = s.lost;
            }
        }
        if let Some(at) = moments.interrupted_at {
            events.push((at.as_secs_f64(), "interrupted".to_string()));
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut busy: BTreeMap<&str, u64> = BTreeMap::new();
        for s in &kept {
            for (name, _, n) in &s.services {
                *busy.entry(name).or_default() += n;
            }
        }
        let mut ranked: Vec<(&str, u64)> = busy.into_iter().filter(|(_, n)| *n > 0).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let services: Vec<(String, Vec<Point>)> = (ranked.iter().take(BUSIEST))
            .map(|(name, _)| {
                let points = (kept.iter())
                    .filter_map(|s| {
                        let (_, p, _) = s.services.iter().find(|(n, _, _)| n == name)?;
                        Some(Point {
                            t: s.total.t,
                            ..p.clone()
                        })
                    })
                    .collect();
                (name.to_string(), points)
            })
            .collect();
        if self.counting == Counting::Requests && services.is_empty() && !kept.is_empty() {
            missing.push(
                "no per-service figures arrived: the busiest services are not shown".to_string(),
            );
        }
        Timeline {
            duration,
            counting: self.counting,
            errors: kept.iter().map(|s| (s.total.t, s.errors)).collect(),
            total: kept.into_iter().map(|s| s.total).collect(),
            services,
            events,
            missing,
        }
    }
}

/// How often to sample a run of `duration`: each second, or a tenth of a
/// shorter run (a tenth of a second at least, to keep the cost of asking
/// every node small). Rates are per second either way.
fn period(duration: Duration) -> Duration {
    (duration / 10).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

/// The sampling task, running until [`Sampler::stop`].
pub(crate) struct Sampler {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Samples>,
}

impl Sampler {
    /// Starts sampling `cluster` every [`period`] of a run of `duration`.
    pub(crate) fn start(cluster: Arc<Cluster>, counting: Counting, duration: Duration) -> Sampler {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let read = |c: Arc<Cluster>| async move {
                let s = c.snapshot().await;
                Cumulative::of(&s.metrics, s.lost, counting, Instant::now())
            };
            let mut before = read(cluster.clone()).await;
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(period(duration));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                let last = tokio::select! {
                    _ = tick.tick() => false,
                    _ = &mut stopped => true,
                };
                let now = read(cluster.clone()).await;
                samples.push(step(&before, &now));
                before = now;
                if last {
                    break;
                }
            }
            Samples {
                counting,
                started,
                stopped: Instant::now(),
                samples,
            }
        });
        Sampler { stop, task }
    }

    /// Takes a last sample and returns them all.
    pub(crate) async fn stop(self) -> Option<Samples> {
        let _ = self.stop.send(());
        self.task.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spigo_proto::cluster::ServiceReport;

    fn report(requests: u64, latency: &[(u64, u64)], zuul: (u64, &[(u64, u64)])) -> MetricsReport {
        let mut m = MetricsReport::default();
        m.traffic.requests = requests;
        m.traffic.latency = latency.to_vec();
        m.traffic.failed = vec![(spigo_proto::Reason::Timeout, requests / 10)];
        m.services = vec![ServiceReport {
            service: "zuul".into(),
            requests: zuul.0,
            response: zuul.1.to_vec(),
            ..ServiceReport::default()
        }];
        m
    }

    #[test]
    fn a_second_is_the_difference_of_two_snapshots() {
        let t0 = Instant::now();
        let a = Cumulative::of(
            &report(100, &[(1000, 100)], (50, &[(500, 50)])),
            0,
            Counting::Requests,
            t0,
        );
        // 200 more requests in 2 s, of which 3 slow ones.
        let b = Cumulative::of(
            &report(300, &[(1000, 297), (9000, 3)], (150, &[(500, 150)])),
            0,
            Counting::Requests,
            t0 + Duration::from_secs(2),
        );
        let s = step(&a, &b);
        assert_eq!(s.total.rate, 100.0);
        assert_eq!(s.errors, 10.0);
        assert_eq!(s.total.p50_ms, Some(1.0));
        // 3 slow of 200 new: the 99th percentile of the second is slow,
        // where the cumulative one (3 of 300) would not be.
        assert_eq!(s.total.p99_ms, Some(9.0));
        assert_eq!(s.services[0].0, "zuul");
        assert_eq!(s.services[0].1.rate, 50.0);
        assert_eq!(s.services[0].2, 100);
        assert_eq!(s.services[0].1.p99_ms, Some(0.5));
        // Nothing new: no percentile, not a zero.
        let again = step(
            &b,
            &Cumulative {
                at: b.at + Duration::from_secs(1),
                ..b.clone()
            },
        );
        assert_eq!((again.total.rate, again.total.p99_ms), (0.0, None));
    }

    #[test]
    fn short_runs_are_sampled_more_often() {
        assert_eq!(period(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(period(Duration::from_secs(2)), Duration::from_millis(200));
        assert_eq!(period(Duration::ZERO), Duration::from_millis(100));
    }

    #[test]
    fn samples_become_a_timeline_from_the_traffic_on() {
        let t0 = Instant::now();
        let sec = |n: u64| t0 + Duration::from_secs(n);
        let mut samples = Vec::new();
        let mut before = Cumulative::of(&MetricsReport::default(), 0, Counting::Requests, t0);
        for n in 1..=6u64 {
            let zuul = (n * 10, vec![(700, n * 10)]);
            let mut now = Cumulative::of(
                &report(n * 100, &[(900, n * 100)], (zuul.0, &zuul.1)),
                0,
                Counting::Requests,
                sec(n),
            );
            now.lost = usize::from(n >= 5);
            samples.push(step(&before, &now));
            before = now;
        }
        let samples = Samples {
            counting: Counting::Requests,
            started: t0,
            stopped: sec(6),
            samples,
        };
        let moments = Moments {
            began: Some(sec(1)),
            events: vec![(sec(3), "chaos monkey: zuul00".into())],
            interrupted_at: None,
        };
        let t = samples.timeline(Duration::from_secs(4), moments);
        // The sample at 1 s is set-up; 6 s is past the run's 4 s: shutdown.
        let times: Vec<f64> = t.total.iter().map(|p| p.t).collect();
        assert_eq!(times, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.services.len(), 1);
        assert_eq!(t.services[0].1.len(), 4);
        assert_eq!(
            t.events,
            vec![
                (2.0, "chaos monkey: zuul00".to_string()),
                (4.0, "node lost".to_string())
            ]
        );
        assert!(t.missing[0].contains("lost by 4.0 s"), "{:?}", t.missing);
        assert_eq!(t.total[0].rate, 100.0, "begun with the traffic: not scaled");
    }

    #[test]
    fn a_stretch_begun_in_set_up_counts_only_simulated_time() {
        let t0 = Instant::now();
        let before = Cumulative::of(&MetricsReport::default(), 0, Counting::Requests, t0);
        let now = Cumulative::of(
            &report(50, &[], (0, &[])),
            0,
            Counting::Requests,
            t0 + Duration::from_secs(1),
        );
        let sample = step(&before, &now);
        let samples = |counting| Samples {
            counting,
            started: t0,
            stopped: now.at,
            samples: vec![sample.clone()],
        };
        let moments = || Moments {
            began: Some(t0 + Duration::from_millis(500)),
            ..Moments::default()
        };
        // 50 requests in the half second after the start: 100/s, not 50/s.
        let t = samples(Counting::Requests).timeline(Duration::from_secs(2), moments());
        assert_eq!((t.total[0].t, t.total[0].rate), (0.5, 100.0));
        // Pirates' messages of set-up are not simulated time's.
        let t = samples(Counting::Messages).timeline(Duration::from_secs(2), moments());
        assert!(t.total.is_empty());
    }
}
