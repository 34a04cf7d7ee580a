//! Flows: the spans of sampled request flows (`-c`), for a Zipkin file.
//!
//! Every instance that handles a request records a server span under the
//! span id its caller chose, and the denominator records the client span
//! that starts each trace, so every span's parent is in the same trace even
//! when the trace crosses node processes. Which traces are kept is decided
//! from the trace id alone (`--trace-sample`), so all nodes keep the same
//! ones without talking about it. A node keeps at most [`MAX_SPANS`].

use spigo_proto::cluster::Span;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Spans a node keeps at most; beyond, they are counted and dropped.
pub const MAX_SPANS: usize = 2_000_000;

pub struct Flows {
    /// Keep a trace when its id hashes below this (out of u64::MAX).
    threshold: u64,
    spans: Mutex<Vec<Span>>,
    dropped: AtomicU64,
}

/// A well-mixed hash of a trace id (splitmix64's finaliser).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Flows {
    /// Keeps a fraction `sample` (0..=1) of traces.
    pub fn new(sample: f64) -> Flows {
        let sample = sample.clamp(0.0, 1.0);
        Flows {
            threshold: if sample >= 1.0 {
                u64::MAX
            } else {
                (sample * u64::MAX as f64) as u64
            },
            spans: Mutex::default(),
            dropped: AtomicU64::new(0),
        }
    }

    pub fn sampled(&self, trace: u64) -> bool {
        trace != 0 && (self.threshold == u64::MAX || mix(trace) < self.threshold)
    }

    pub fn record(&self, span: Span) {
        if !self.sampled(span.trace) {
            return;
        }
        let mut spans = self.spans.lock().expect("spans lock");
        if spans.len() < MAX_SPANS {
            spans.push(span);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes the spans recorded so far.
    pub fn take(&self) -> Vec<Span> {
        std::mem::take(&mut *self.spans.lock().expect("spans lock"))
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_decided_by_trace_id() {
        let all = Flows::new(1.0);
        assert!(all.sampled(7) && !all.sampled(0));
        let none = Flows::new(0.0);
        assert!(!none.sampled(7));
        let tenth = Flows::new(0.1);
        let kept = (1..=100_000u64).filter(|&t| tenth.sampled(t)).count();
        assert!((9_000..11_000).contains(&kept), "{kept}");
        let again = Flows::new(0.1);
        assert!((1..1000u64).all(|t| tenth.sampled(t) == again.sampled(t)));
    }
}
