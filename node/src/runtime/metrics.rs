//! Figures a node collects: what its denominators sent and got back, and
//! per-service figures: always the requests each service received and its
//! response times (the summary has them), and with `-c` also histograms of
//! delivery delay and service time.
//!
//! Histograms are per service, never per instance (a million histograms
//! would be a memory bug): every instance of a service records into the
//! same one, which it holds from spawn time, so the hot path is one
//! uncontended-most-of-the-time lock and no lookup. Denominators count
//! their traffic into the node's one [`Traffic`] as they go, under its lock,
//! once per request sent and once per answer.

use compact_str::CompactString;
use hdrhistogram::Histogram;
use spigo_proto::cluster::{EdgeReport, Recorded, ServiceReport, StationReport, TrafficReport};
use spigo_proto::Reason;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Traffic {
    pub requests: u64,
    /// GetRequests among `requests` (Puts get no response).
    pub gets: u64,
    pub responses: u64,
    /// Responses that carried a value.
    pub hits: u64,
    /// Response time of answered GetRequests, in nanoseconds.
    pub latency: Histogram<u64>,
    /// GetRequests that failed, by [`Reason::index`]: a failure answer came
    /// back, the send failed, or the denominator gave up waiting.
    pub failed: [u64; Reason::ALL.len()],
    /// Puts that ended where they were stored (or at a tier with nowhere
    /// to pass them), on this node.
    pub puts_delivered: u64,
    /// Puts dropped on this node, by [`Reason::index`].
    pub puts_failed: [u64; Reason::ALL.len()],
    /// Extra copies of puts made on this node by writing one put to
    /// several stores.
    pub puts_forked: u64,
}

/// Reason-indexed counts as (reason, count) pairs, leaving out zeros.
fn by_reason(counts: &[u64; Reason::ALL.len()]) -> Vec<(Reason, u64)> {
    Reason::ALL
        .iter()
        .map(|&r| (r, counts[r.index()]))
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// Adds reported (reason, count) pairs into reason-indexed counts.
fn add_by_reason(counts: &mut [u64; Reason::ALL.len()], pairs: &[(Reason, u64)]) {
    for &(r, n) in pairs {
        counts[r.index()] += n;
    }
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            requests: 0,
            gets: 0,
            responses: 0,
            hits: 0,
            latency: micros_histogram(),
            failed: [0; Reason::ALL.len()],
            puts_delivered: 0,
            puts_failed: [0; Reason::ALL.len()],
            puts_forked: 0,
        }
    }
}

impl Traffic {
    pub fn record_response(&mut self, took: Duration, hit: bool) {
        self.responses += 1;
        self.hits += u64::from(hit);
        record(&mut self.latency, took);
    }

    /// The figures as plain data, to send to the coordinator.
    pub fn report(&self) -> TrafficReport {
        TrafficReport {
            requests: self.requests,
            gets: self.gets,
            responses: self.responses,
            hits: self.hits,
            latency: recorded(&self.latency),
            failed: by_reason(&self.failed),
            puts_delivered: self.puts_delivered,
            puts_failed: by_reason(&self.puts_failed),
            puts_forked: self.puts_forked,
        }
    }

    /// Adds figures another node reported.
    pub fn merge_report(&mut self, r: &TrafficReport) {
        self.requests += r.requests;
        self.gets += r.gets;
        self.responses += r.responses;
        self.hits += r.hits;
        add_recorded(&mut self.latency, &r.latency);
        add_by_reason(&mut self.failed, &r.failed);
        self.puts_delivered += r.puts_delivered;
        add_by_reason(&mut self.puts_failed, &r.puts_failed);
        self.puts_forked += r.puts_forked;
    }

    /// Response time at quantile `q` (0..1).
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(q))
    }
}

/// The longest time a histogram records: an hour, in nanoseconds.
const MAX_MICROS: u64 = 3_600_000_000;

/// A histogram of microseconds, 1 us to an hour at 3 significant digits.
pub fn micros_histogram() -> Histogram<u64> {
    growing(3)
}

/// A histogram that takes room only for the values it has recorded: one
/// covering an hour up front is ~190 KB at 3 digits, and an architecture of
/// 1,000 services used to zero 560 MB of them for its summary alone.
fn growing(digits: u8) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2, digits).expect("valid bounds");
    h.auto(true);
    h
}

/// A histogram as (value, count) pairs, for reports.
pub fn recorded(h: &Histogram<u64>) -> Recorded {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

/// A histogram that holds nothing yet, in a few hundred bytes: what a
/// merge starts from, so a service nobody called costs next to nothing.
/// [`add_recorded`] makes it a [`micros_histogram`] when figures come.
pub fn no_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 2, 1).expect("valid bounds")
}

/// Adds recorded pairs into a histogram.
pub fn add_recorded(h: &mut Histogram<u64>, r: &Recorded) {
    if r.is_empty() {
        return;
    }
    if h.is_empty() && h.sigfig() < 3 {
        *h = micros_histogram();
    }
    for &(value, count) in r {
        let _ = h.record_n(value.clamp(1, MAX_MICROS), count);
    }
}

/// Records a duration in microseconds (at least 1).
pub(crate) fn record(h: &mut Histogram<u64>, d: Duration) {
    // `record` grows the histogram (`saturating_record` would clamp to its
    // current top instead); an hour bounds how far.
    let _ = h.record((d.as_micros() as u64).clamp(1, MAX_MICROS));
}

/// The figures of one service: the requests it received and its three
/// histograms (delivery and service time recorded only with `-c`).
pub struct ServiceMetrics {
    inner: Mutex<[Histogram<u64>; 3]>,
    /// Record delivery delay and service time too (`-c`): off, handling a
    /// message costs no lock.
    detailed: bool,
    requests: AtomicU64,
    /// Requests answered as failed (puts dropped), by [`Reason::index`].
    failed: [AtomicU64; Reason::ALL.len()],
    /// The sums of [`StationReport`], kept by the instances' work models.
    pub(crate) station: StationSums,
    /// Per dependency with resilience settings: its callers' counts.
    edges: Mutex<Vec<(CompactString, Arc<EdgeSums>)>>,
}

/// [`EdgeReport`]'s counts, added to by every calling instance of a
/// service (Relaxed: only read for reports).
#[derive(Default)]
pub(crate) struct EdgeSums {
    pub calls: AtomicU64,
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub timeout: AtomicU64,
    pub late: AtomicU64,
    pub retried: AtomicU64,
    pub short_circuited: AtomicU64,
    pub fallback: AtomicU64,
    pub opened: AtomicU64,
    pub half_opened: AtomicU64,
    pub reopened: AtomicU64,
    /// Breakers not closed now (open, or half-open on a probe).
    pub open: AtomicU64,
    pub closed: AtomicU64,
    pub first_open_ns: AtomicU64,
    pub last_close_ns: AtomicU64,
}

impl EdgeSums {
    pub(crate) fn report(&self) -> EdgeReport {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EdgeReport {
            calls: r(&self.calls),
            ok: r(&self.ok),
            failed: r(&self.failed),
            timeout: r(&self.timeout),
            late: r(&self.late),
            retried: r(&self.retried),
            short_circuited: r(&self.short_circuited),
            fallback: r(&self.fallback),
            opened: r(&self.opened),
            half_opened: r(&self.half_opened),
            reopened: r(&self.reopened),
            open: r(&self.open),
            closed: r(&self.closed),
            first_open_ns: r(&self.first_open_ns),
            last_close_ns: r(&self.last_close_ns),
        }
    }

    /// A breaker opened at `at_ns` (Unix nanoseconds).
    pub(crate) fn opened_at(&self, at_ns: u64) {
        self.opened.fetch_add(1, Ordering::Relaxed);
        // The earliest: set only if still unset or later.
        let _ = self
            .first_open_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                (v == 0 || at_ns < v).then_some(at_ns)
            });
    }

    /// A breaker closed at `at_ns`.
    pub(crate) fn closed_at(&self, at_ns: u64) {
        self.closed.fetch_add(1, Ordering::Relaxed);
        self.last_close_ns.fetch_max(at_ns, Ordering::Relaxed);
    }
}

/// [`StationReport`]'s sums as counters every instance of a service adds
/// to (Relaxed: they are only read for reports).
#[derive(Default)]
pub(crate) struct StationSums {
    pub instances: AtomicU64,
    pub slots: AtomicU64,
    pub unlimited: AtomicU64,
    pub started: AtomicU64,
    pub served: AtomicU64,
    pub waited_ns: AtomicU64,
    pub busy_ns: AtomicU64,
    pub in_system_ns: AtomicU64,
    pub waiting_ns: AtomicU64,
}

impl StationSums {
    pub(crate) fn report(&self) -> StationReport {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StationReport {
            instances: r(&self.instances),
            slots: r(&self.slots),
            unlimited: r(&self.unlimited),
            started: r(&self.started),
            served: r(&self.served),
            waited_ns: r(&self.waited_ns),
            busy_ns: r(&self.busy_ns),
            in_system_ns: r(&self.in_system_ns),
            waiting_ns: r(&self.waiting_ns),
        }
    }
}

const DELIVERY: usize = 0;
const SERVICE: usize = 1;
const RESPONSE: usize = 2;

impl ServiceMetrics {
    /// Without `-c` only the response times are kept, at two significant
    /// digits (enough for the summary's percentiles, a tenth of the
    /// memory), and the other two histograms take no room.
    fn new(detailed: bool) -> ServiceMetrics {
        let histograms = match detailed {
            true => [micros_histogram(), micros_histogram(), micros_histogram()],
            false => [no_histogram(), no_histogram(), growing(2)],
        };
        ServiceMetrics {
            inner: Mutex::new(histograms),
            detailed,
            requests: AtomicU64::new(0),
            failed: Default::default(),
            station: StationSums::default(),
            edges: Mutex::default(),
        }
    }

    /// The counts of calls to `dependency`, shared by every instance of
    /// the service (looked up once, when an instance starts).
    pub(crate) fn edge(&self, dependency: &str) -> Arc<EdgeSums> {
        let mut edges = self.edges.lock().expect("metrics lock");
        if let Some((_, e)) = edges.iter().find(|(d, _)| d == dependency) {
            return e.clone();
        }
        let e = Arc::new(EdgeSums::default());
        edges.push((dependency.into(), e.clone()));
        e
    }

    /// A request its instance answered as failed, or a put it dropped.
    pub fn failed(&self, reason: Reason) {
        self.failed[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A request (get or put) arrived at an instance of the service.
    pub fn requested(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, which: usize, d: Duration) {
        record(&mut self.inner.lock().expect("metrics lock")[which], d);
    }

    /// From a message's send time to its receiver handling it.
    pub fn delivery(&self, d: Duration) {
        self.record(DELIVERY, d);
    }

    /// A message handled: its delivery delay and the time spent handling
    /// it, under one lock.
    pub fn handled(&self, delivery: Duration, service: Duration) {
        if !self.detailed {
            return;
        }
        let mut h = self.inner.lock().expect("metrics lock");
        record(&mut h[DELIVERY], delivery);
        record(&mut h[SERVICE], service);
    }

    /// From a request arriving to its answer leaving.
    pub fn response(&self, d: Duration) {
        self.record(RESPONSE, d);
    }
}

/// Every service's metrics on this node.
#[derive(Default)]
pub struct Registry {
    /// By service and region index: `/metrics` labels services by region.
    services: Mutex<BTreeMap<(CompactString, u8), Arc<ServiceMetrics>>>,
    /// `-c`: services record every histogram.
    detailed: bool,
}

impl Registry {
    /// A registry whose services record every histogram (`-c`), or only
    /// requests and response times.
    pub fn new(detailed: bool) -> Registry {
        Registry {
            services: Mutex::default(),
            detailed,
        }
    }

    /// Whether services record every histogram (`-c`).
    pub fn detailed(&self) -> bool {
        self.detailed
    }

    /// The metrics of `service` in region index `region` (`archaius::ANY`
    /// for global instances), created on first use.
    pub fn service(&self, service: &str, region: u8) -> Arc<ServiceMetrics> {
        let mut services = self.services.lock().expect("registry lock");
        services
            .entry((service.into(), region))
            .or_insert_with(|| Arc::new(ServiceMetrics::new(self.detailed)))
            .clone()
    }

    pub fn services(&self) -> Vec<ServiceReport> {
        let services = self.services.lock().expect("registry lock");
        services
            .iter()
            .map(|((name, region), m)| {
                let h = m.inner.lock().expect("metrics lock");
                ServiceReport {
                    service: name.to_string(),
                    region: *region,
                    requests: m.requests.load(Ordering::Relaxed),
                    delivery: recorded(&h[DELIVERY]),
                    service_time: recorded(&h[SERVICE]),
                    response: recorded(&h[RESPONSE]),
                    failed: Reason::ALL
                        .iter()
                        .map(|&r| (r, m.failed[r.index()].load(Ordering::Relaxed)))
                        .filter(|&(_, n)| n > 0)
                        .collect(),
                    station: m.station.report(),
                    edges: (m.edges.lock().expect("metrics lock").iter())
                        .map(|(d, e)| (d.to_string(), e.report()))
                        .collect(),
                }
            })
            .collect()
    }
}

/// Peak resident memory of this process, where the OS tells it (Linux).
pub fn peak_rss() -> Option<u64> {
    proc_kb("/proc/self/status", "VmHWM:").map(|kb| kb * 1024)
}

/// Resident memory of this process now (Linux).
pub fn current_rss() -> Option<u64> {
    proc_kb("/proc/self/status", "VmRSS:").map(|kb| kb * 1024)
}

/// The kB figure of the line starting with `field` in a /proc file such as
/// /proc/self/status or /proc/meminfo (None where there is no such file).
pub(crate) fn proc_kb(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_grow_to_what_they_record_and_stop_at_an_hour() {
        let mut h = micros_histogram();
        let small = h.distinct_values();
        record(&mut h, Duration::from_secs(1800));
        record(&mut h, Duration::from_secs(7200));
        record(&mut h, Duration::from_nanos(1));
        assert!(small < h.distinct_values(), "it grew");
        assert_eq!(h.len(), 3);
        let half_hour = h.value_at_quantile(0.5) as f64;
        assert!(
            (half_hour / 1.8e9 - 1.0).abs() < 1e-3,
            "3 digits: {half_hour}"
        );
        assert!(h.max() <= h.highest_equivalent(MAX_MICROS), "{}", h.max());
        // Merged in, the figures keep their precision.
        let mut merged = no_histogram();
        add_recorded(&mut merged, &recorded(&h));
        assert_eq!(merged.value_at_quantile(0.5), h.value_at_quantile(0.5));
    }

    #[test]
    fn merge_adds_counts_and_histograms() {
        let mut a = Traffic::default();
        let mut b = Traffic::default();
        a.gets = 2;
        a.record_response(Duration::from_micros(100), true);
        b.gets = 1;
        b.record_response(Duration::from_millis(10), false);
        a.merge_report(&b.report());
        assert_eq!((a.gets, a.responses, a.hits), (3, 2, 1));
        assert!(a.quantile(0.99) >= Duration::from_millis(9));
        assert!(a.quantile(0.1) <= Duration::from_micros(101));
        let mut c = Traffic::default();
        c.merge_report(&a.report());
        assert_eq!((c.gets, c.responses, c.hits), (3, 2, 1));
        assert_eq!(c.latency.len(), 2);
        assert_eq!(c.quantile(0.99), a.quantile(0.99));
    }
}
