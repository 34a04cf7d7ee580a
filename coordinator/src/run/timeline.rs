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
use crate::output::rates::WorkRates;
use crate::output::series::{EdgeSeries, Series, ServiceSeries, WorkSeries};
use crate::output::svg::timeline::{CallPoint, Counting, Point, Timeline};
use spigo_proto::cluster::{EdgeReport, MetricsReport, StationReport};
use spigo_proto::Reason;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How many of the busiest services the timeline shows.
const BUSIEST: usize = 5;

/// Response-time counts by microseconds.
type Counts = BTreeMap<u64, u64>;

/// `(t, value)` points of one line of the picture.
type Line = Vec<(f64, f64)>;

/// The cluster's figures at one moment, as they have added up.
#[derive(Clone, Debug)]
struct Cumulative {
    at: Instant,
    count: u64,
    errors: u64,
    latency: Counts,
    services: BTreeMap<String, ServiceSums>,
    lost: usize,
}

/// One service's figures as they have added up, over regions and nodes.
#[derive(Clone, Debug, Default)]
struct ServiceSums {
    /// Requests received.
    requests: u64,
    /// Response times.
    latency: Counts,
    /// Requests answered as failed, and of those rejected by a full queue.
    failed: u64,
    rejected: u64,
    station: StationReport,
    edges: BTreeMap<String, EdgeReport>,
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
        let mut services: BTreeMap<String, ServiceSums> = BTreeMap::new();
        for s in &m.services {
            let entry = services.entry(s.service.clone()).or_default();
            entry.requests += s.requests;
            counts(&s.response, &mut entry.latency);
            for &(reason, n) in &s.failed {
                entry.failed += n;
                if reason == Reason::Rejected {
                    entry.rejected += n;
                }
            }
            entry.station.add(&s.station);
            for (dep, e) in &s.edges {
                entry.edges.entry(dep.clone()).or_default().add(e);
            }
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
    services: Vec<ServiceSample>,
    lost: usize,
    /// The seconds the rates are over (less than `at - from` for a stretch
    /// begun before the traffic: only its part in simulated time counts).
    secs: f64,
}

/// One service's figures over one stretch.
#[derive(Clone, Debug, PartialEq)]
struct ServiceSample {
    name: String,
    /// Requests received per second, and response times.
    point: Point,
    /// Requests received in the stretch (to rank the busiest).
    new: u64,
    /// Per second.
    failed: f64,
    rejected: f64,
    work: Option<WorkRates>,
    /// Counts over the stretch, by dependency.
    edges: Vec<(String, EdgeReport)>,
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
    let none = ServiceSums::default();
    let services = (now.services.iter())
        .map(|(name, n)| {
            let b = before.services.get(name).unwrap_or(&none);
            ServiceSample {
                name: name.clone(),
                point: point(
                    rate(n.requests, b.requests),
                    &difference(&n.latency, &b.latency),
                ),
                new: n.requests.saturating_sub(b.requests),
                failed: rate(n.failed, b.failed),
                rejected: rate(n.rejected, b.rejected),
                work: WorkRates::between(&b.station, &n.station, secs),
                edges: (n.edges.iter())
                    .map(|(dep, e)| {
                        let e0 = b.edges.get(dep).copied().unwrap_or_default();
                        (dep.clone(), e.since(&e0))
                    })
                    .collect(),
            }
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
        secs,
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
    s.secs = after;
    for v in &mut s.services {
        v.point.rate *= scale;
        v.failed *= scale;
        v.rejected *= scale;
        if let Some(w) = &mut v.work {
            // Busy time and queues fell in the traffic's part of it.
            w.utilisation = w.utilisation.map(|u| (u * scale).min(1.0));
            w.throughput *= scale;
            w.in_system *= scale;
            w.queue *= scale;
        }
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
    /// The run's series and the picture of them: simulated time from
    /// `moments.began` for `duration`, every moment marked; the picture
    /// shows the busiest services, the series every one.
    pub(crate) fn finish(self, duration: Duration, moments: Moments) -> (Timeline, Series) {
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
        let mut series = series(&kept);
        series.missing = missing.clone();
        let services = busiest(&kept, &series);
        if self.counting == Counting::Requests && services.is_empty() && !kept.is_empty() {
            missing.push(
                "no per-service figures arrived: the busiest services are not shown".to_string(),
            );
        }
        let timeline = Timeline {
            duration,
            counting: self.counting,
            errors: kept.iter().map(|s| (s.total.t, s.errors)).collect(),
            utilisation: most_utilised(&series),
            calls: calls(&kept),
            total: kept.into_iter().map(|s| s.total).collect(),
            services,
            events,
            missing,
        };
        (timeline, series)
    }
}

/// Every service's figures, lined up by sample.
fn series(kept: &[Sample]) -> Series {
    let mut out = Series {
        t_s: kept.iter().map(|s| s.total.t).collect(),
        requests: kept.iter().map(|s| s.total.rate).collect(),
        errors: kept.iter().map(|s| s.errors).collect(),
        p50_ms: kept.iter().map(|s| s.total.p50_ms).collect(),
        p99_ms: kept.iter().map(|s| s.total.p99_ms).collect(),
        services: BTreeMap::new(),
        missing: Vec::new(),
    };
    for (i, s) in kept.iter().enumerate() {
        for v in &s.services {
            let e = out.services.entry(v.name.clone()).or_default();
            // A service first reported late is filled with nothing before.
            pad(e, i);
            e.requests.push(v.point.rate);
            e.failed.push(v.failed);
            e.rejected.push(v.rejected);
            e.p50_ms.push(v.point.p50_ms);
            e.p99_ms.push(v.point.p99_ms);
            if let Some(w) = &v.work {
                let ws = e.work.get_or_insert_with(|| WorkSeries {
                    utilisation: vec![None; i],
                    throughput: vec![0.0; i],
                    in_system: vec![0.0; i],
                    queue: vec![0.0; i],
                });
                ws.utilisation.push(w.utilisation);
                ws.throughput.push(w.throughput);
                ws.in_system.push(w.in_system);
                ws.queue.push(w.queue);
            }
            for (dep, c) in &v.edges {
                let es = e.dependencies.entry(dep.clone()).or_default();
                pad_edge(es, i);
                es.push(c, s.secs);
            }
            // What this sample lacked (a work model, a dependency) is nothing.
            pad(e, i + 1);
        }
    }
    for e in out.services.values_mut() {
        pad(e, kept.len());
    }
    out
}

/// Fills `e`'s lists with nothing up to `len` samples.
fn pad(e: &mut ServiceSeries, len: usize) {
    while e.requests.len() < len {
        e.requests.push(0.0);
        e.failed.push(0.0);
        e.rejected.push(0.0);
        e.p50_ms.push(None);
        e.p99_ms.push(None);
    }
    if let Some(w) = &mut e.work {
        while w.throughput.len() < len {
            w.utilisation.push(None);
            w.throughput.push(0.0);
            w.in_system.push(0.0);
            w.queue.push(0.0);
        }
    }
    for es in e.dependencies.values_mut() {
        pad_edge(es, len);
    }
}

fn pad_edge(es: &mut EdgeSeries, len: usize) {
    while es.calls.len() < len {
        es.push(&EdgeReport::default(), 1.0);
    }
}

/// The [`BUSIEST`] services by requests received, busiest first.
fn busiest(kept: &[Sample], series: &Series) -> Vec<(String, Vec<Point>)> {
    let mut busy: BTreeMap<&str, u64> = BTreeMap::new();
    for s in kept {
        for v in &s.services {
            *busy.entry(&v.name).or_default() += v.new;
        }
    }
    let mut ranked: Vec<(&str, u64)> = busy.into_iter().filter(|(_, n)| *n > 0).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    (ranked.iter().take(BUSIEST))
        .map(|(name, _)| {
            let s = &series.services[*name];
            let points = (0..series.t_s.len())
                .map(|i| Point {
                    t: series.t_s[i],
                    rate: s.requests[i],
                    p50_ms: s.p50_ms[i],
                    p99_ms: s.p99_ms[i],
                })
                .collect();
            (name.to_string(), points)
        })
        .collect()
}

/// The [`BUSIEST`] services with a concurrency limit by mean utilisation,
/// most utilised first: `(t, utilisation)` each sample that has one.
fn most_utilised(series: &Series) -> Vec<(String, Line)> {
    let mut ranked: Vec<(&String, f64, Line)> = (series.services.iter())
        .filter_map(|(name, s)| {
            let w = s.work.as_ref()?;
            let points: Vec<(f64, f64)> = (series.t_s.iter().zip(&w.utilisation))
                .filter_map(|(&t, u)| Some((t, (*u)?)))
                .collect();
            let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len().max(1) as f64;
            (!points.is_empty()).then_some((name, mean, points))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    (ranked.into_iter().take(BUSIEST))
        .map(|(name, _, points)| (name.clone(), points))
        .collect()
}

/// Every guarded call of the run added up, per sample: empty when no
/// service has resilience settings.
fn calls(kept: &[Sample]) -> Vec<CallPoint> {
    if !(kept.iter()).any(|s| s.services.iter().any(|v| !v.edges.is_empty())) {
        return Vec::new();
    }
    (kept.iter())
        .map(|s| {
            let mut sum = EdgeReport::default();
            for (_, c) in s.services.iter().flat_map(|v| &v.edges) {
                sum.add(c);
            }
            let per_s = |n: u64| n as f64 / s.secs;
            CallPoint {
                t: s.total.t,
                timeout: per_s(sum.timeout),
                short_circuited: per_s(sum.short_circuited),
                fallback: per_s(sum.fallback),
                retried: per_s(sum.retried),
                breakers_open: sum.open,
            }
        })
        .collect()
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
        assert_eq!(s.services[0].name, "zuul");
        assert_eq!(s.services[0].point.rate, 50.0);
        assert_eq!(s.services[0].new, 100);
        assert_eq!(s.services[0].point.p99_ms, Some(0.5));
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
        let (t, series) = samples.finish(Duration::from_secs(4), moments);
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
        assert_eq!(series.t_s, times);
        assert_eq!(
            series.missing, t.missing,
            "the series say what they lack too"
        );
        assert_eq!(series.services["zuul"].requests, [10.0; 4]);
        assert!(series.services["zuul"].work.is_none());
        assert!(t.utilisation.is_empty() && t.calls.is_empty());
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
        let (t, _) = samples(Counting::Requests).finish(Duration::from_secs(2), moments());
        assert_eq!((t.total[0].t, t.total[0].rate), (0.5, 100.0));
        // Pirates' messages of set-up are not simulated time's.
        let (t, _) = samples(Counting::Messages).finish(Duration::from_secs(2), moments());
        assert!(t.total.is_empty());
    }

    /// A service with a work model and a guarded dependency, reported from
    /// the second sample on: its lists line up with the run's.
    #[test]
    fn work_and_calls_line_up_in_the_series() {
        let t0 = Instant::now();
        let sec = |n: u64| t0 + Duration::from_secs(n);
        let api = |n: u64| ServiceReport {
            service: "api".into(),
            requests: n * 100,
            failed: vec![(Reason::Rejected, n * 2), (Reason::Timeout, n)],
            station: StationReport {
                instances: 1,
                slots: 2,
                served: n * 100,
                busy_ns: n * 1_500_000_000,
                waiting_ns: n * 500_000_000,
                ..StationReport::default()
            },
            edges: vec![(
                "db".into(),
                EdgeReport {
                    calls: n * 50,
                    timeout: n * 5,
                    short_circuited: n * 10,
                    opened: n,
                    closed: n.saturating_sub(1),
                    open: 1,
                    ..EdgeReport::default()
                },
            )],
            ..ServiceReport::default()
        };
        let mut before = Cumulative::of(&report(0, &[], (0, &[])), 0, Counting::Requests, t0);
        let mut samples = Vec::new();
        for n in 1..=3u64 {
            let mut m = report(n * 100, &[(900, n * 100)], (n, &[(500, n)]));
            if n >= 2 {
                m.services.push(api(n - 1));
            }
            let now = Cumulative::of(&m, 0, Counting::Requests, sec(n));
            samples.push(step(&before, &now));
            before = now;
        }
        let samples = Samples {
            counting: Counting::Requests,
            started: t0,
            stopped: sec(3),
            samples,
        };
        let (t, series) = samples.finish(Duration::from_secs(3), Moments::default());
        let api = &series.services["api"];
        assert_eq!(api.requests, [0.0, 100.0, 100.0]);
        assert_eq!(api.failed, [0.0, 3.0, 3.0]);
        assert_eq!(api.rejected, [0.0, 2.0, 2.0]);
        let work = api.work.as_ref().unwrap();
        assert_eq!(work.utilisation, [None, Some(0.75), Some(0.75)]);
        assert_eq!(work.queue, [0.0, 0.5, 0.5]);
        let db = &api.dependencies["db"];
        assert_eq!(db.calls, [0.0, 50.0, 50.0]);
        assert_eq!(db.breakers_open, [0, 1, 1]);
        assert_eq!(
            t.utilisation,
            vec![("api".to_string(), vec![(2.0, 0.75), (3.0, 0.75)])]
        );
        assert_eq!(t.calls.len(), 3);
        assert_eq!(
            (t.calls[1].timeout, t.calls[1].short_circuited),
            (5.0, 10.0)
        );
    }
}
