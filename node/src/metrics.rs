//! Traffic figures of a node: what its denominators sent and got back.
//!
//! One histogram per node (not per instance: a million histograms would be
//! a memory bug); denominators keep their own while running and merge it in
//! when they leave, so the hot path never takes the node-wide lock.

use hdrhistogram::Histogram;
use spigo_proto::cluster::TrafficReport;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Traffic {
    pub requests: u64,
    /// GetRequests among `requests` (Puts get no response).
    pub gets: u64,
    pub responses: u64,
    /// Responses that carried a value.
    pub hits: u64,
    /// Response time of answered GetRequests, in microseconds.
    pub latency: Histogram<u64>,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            requests: 0,
            gets: 0,
            responses: 0,
            hits: 0,
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }
}

impl Traffic {
    pub fn record_response(&mut self, took: Duration, hit: bool) {
        self.responses += 1;
        self.hits += u64::from(hit);
        let us = (took.as_micros() as u64).clamp(1, self.latency.high());
        self.latency.saturating_record(us);
    }

    pub fn merge(&mut self, other: &Traffic) {
        self.requests += other.requests;
        self.gets += other.gets;
        self.responses += other.responses;
        self.hits += other.hits;
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    /// The figures as plain data, to send to the coordinator.
    pub fn report(&self) -> TrafficReport {
        TrafficReport {
            requests: self.requests,
            gets: self.gets,
            responses: self.responses,
            hits: self.hits,
            latency: self
                .latency
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
    }

    /// Adds figures another node reported.
    pub fn merge_report(&mut self, r: &TrafficReport) {
        self.requests += r.requests;
        self.gets += r.gets;
        self.responses += r.responses;
        self.hits += r.hits;
        for &(value, count) in &r.latency {
            let _ = self
                .latency
                .record_n(value.clamp(1, self.latency.high()), count);
        }
    }

    /// Response time at quantile `q` (0..1).
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(q))
    }
}

/// Peak resident memory of this process, where the OS tells it (Linux).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_histograms() {
        let mut a = Traffic::default();
        let mut b = Traffic::default();
        a.gets = 2;
        a.record_response(Duration::from_micros(100), true);
        b.gets = 1;
        b.record_response(Duration::from_millis(10), false);
        a.merge(&b);
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
