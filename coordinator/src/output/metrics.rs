//! Merging the per-service figures of every node, and summarising them.

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use spigo_node::runtime::metrics::{add_recorded, no_histogram};
use spigo_proto::cluster::{
    EdgeReport, MetricsReport, ServiceReport, StationReport, TrafficReport,
};
use spigo_proto::Reason;
use std::collections::BTreeMap;

/// One service's histograms, merged over nodes (microseconds).
pub(crate) struct ServiceHistograms {
    /// Requests (gets and puts) its instances received.
    pub requests: u64,
    pub delivery: Histogram<u64>,
    pub service_time: Histogram<u64>,
    pub response: Histogram<u64>,
    /// Requests its instances answered as failed (puts dropped), by
    /// [`Reason::index`].
    pub failed: [u64; Reason::ALL.len()],
    /// What its work models did, summed over instances and nodes.
    pub station: StationReport,
    /// Its callers' resilience counts, by dependency.
    pub edges: BTreeMap<String, EdgeReport>,
}

/// Adds `other` into `into`: traffic counts and service histograms (moved,
/// not copied).
pub(crate) fn merge(into: &mut MetricsReport, other: MetricsReport) {
    into.delivered += other.delivered;
    let t: &mut TrafficReport = &mut into.traffic;
    t.requests += other.traffic.requests;
    t.gets += other.traffic.gets;
    t.responses += other.traffic.responses;
    t.hits += other.traffic.hits;
    t.latency.extend(other.traffic.latency);
    t.failed.extend(other.traffic.failed);
    t.puts_delivered += other.traffic.puts_delivered;
    t.puts_failed.extend(other.traffic.puts_failed);
    t.puts_forked += other.traffic.puts_forked;
    into.services.extend(other.services);
}

/// Histograms per service, over every report merged in.
pub(crate) fn merged_services(m: &MetricsReport) -> BTreeMap<String, ServiceHistograms> {
    merged_by(m, |s| s.service.clone())
}

/// Histograms per service and region index (`archaius::ANY` for global
/// services), over every report merged in: what `/metrics` labels.
pub(crate) fn merged_by_region(m: &MetricsReport) -> BTreeMap<(String, u8), ServiceHistograms> {
    merged_by(m, |s| (s.service.clone(), s.region))
}

fn merged_by<K: Ord>(
    m: &MetricsReport,
    key: impl Fn(&ServiceReport) -> K,
) -> BTreeMap<K, ServiceHistograms> {
    let mut out: BTreeMap<K, ServiceHistograms> = BTreeMap::new();
    for s in &m.services {
        let h = out.entry(key(s)).or_insert_with(|| ServiceHistograms {
            requests: 0,
            delivery: no_histogram(),
            service_time: no_histogram(),
            response: no_histogram(),
            failed: [0; Reason::ALL.len()],
            station: StationReport::default(),
            edges: BTreeMap::new(),
        });
        h.requests += s.requests;
        for &(r, n) in &s.failed {
            h.failed[r.index()] += n;
        }
        h.station.add(&s.station);
        for (d, e) in &s.edges {
            h.edges.entry(d.clone()).or_default().add(e);
        }
        add_recorded(&mut h.delivery, &s.delivery);
        add_recorded(&mut h.service_time, &s.service_time);
        add_recorded(&mut h.response, &s.response);
    }
    out
}

/// A histogram's figures, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

pub(crate) fn summary(h: &Histogram<u64>) -> Summary {
    if h.is_empty() {
        return Summary {
            count: 0,
            min: 0,
            mean: 0.0,
            p50: 0,
            p90: 0,
            p99: 0,
            p999: 0,
            max: 0,
        };
    }
    Summary {
        count: h.len(),
        min: h.min(),
        mean: h.mean(),
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    }
}

/// Per service, per metric (`delivery`, `service`, `response`): count,
/// min, mean, p50/p90/p99/p99.9 and max in microseconds, as the metrics
/// file and `/debug/vars` show them. `round_mean` keeps one decimal of the
/// mean (the file's form).
pub(crate) fn services_json(
    services: &BTreeMap<String, ServiceHistograms>,
    round_mean: bool,
) -> serde_json::Map<String, Value> {
    let figures = |h: &Histogram<u64>| {
        let s = summary(h);
        let mean = if round_mean {
            (s.mean * 10.0).round() / 10.0
        } else {
            s.mean
        };
        json!({
            "count": s.count, "min_us": s.min, "mean_us": mean, "p50_us": s.p50, "p90_us": s.p90,
            "p99_us": s.p99, "p999_us": s.p999, "max_us": s.max
        })
    };
    services
        .iter()
        .map(|(name, s)| {
            let figures = json!({
                "delivery": figures(&s.delivery),
                "service": figures(&s.service_time),
                "response": figures(&s.response),
            });
            (name.clone(), figures)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_merge_across_nodes() {
        let one = |svc: &str, v: u64, region: u8| MetricsReport {
            delivered: 0,
            traffic: TrafficReport {
                requests: 1,
                ..TrafficReport::default()
            },
            services: vec![ServiceReport {
                service: svc.into(),
                region,
                response: vec![(v, 2)],
                ..ServiceReport::default()
            }],
        };
        let mut all = MetricsReport::default();
        merge(&mut all, one("web", 100, 0));
        merge(&mut all, one("web", 300, 1));
        merge(&mut all, one("db", 50, 0));
        assert_eq!(all.traffic.requests, 3);
        let m = merged_services(&all);
        assert_eq!(m.len(), 2);
        let s = summary(&m["web"].response);
        assert_eq!(s.count, 4);
        assert_eq!((s.min, s.max), (100, 300));
        assert!(s.p50 >= 100 && s.p50 <= 300);
        assert_eq!(summary(&m["web"].delivery).count, 0);
        // By region, web's two halves stay apart.
        let r = merged_by_region(&all);
        assert_eq!(r.len(), 3);
        assert_eq!(r[&("web".to_string(), 1)].response.max(), 300);
    }
}
