//! Traffic figures of a node: what its denominators sent and got back.
//!
//! One histogram per node (not per instance: a million histograms would be
//! a memory bug); denominators keep their own while running and merge it in
//! when they leave, so the hot path never takes the node-wide lock.

use hdrhistogram::Histogram;
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

    /// Response time at quantile `q` (0..1).
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(q))
    }
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
    }
}
