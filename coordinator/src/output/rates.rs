//! What the work models did over one stretch of a run: the difference of
//! two cumulative reports (nodes report sums that only grow), turned into
//! rates and means. The per-second series (`run/timeline.rs`), the live
//! viewer's colours and the timeline picture all read these, so a figure
//! means the same wherever it is shown. (Guarded calls over a stretch are
//! [`spigo_proto::cluster::EdgeReport::since`].)

use serde::Serialize;
use spigo_proto::cluster::StationReport;

/// A service's work model over a stretch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(crate) struct WorkRates {
    /// Busy fraction of its concurrency slots (service time begun in the
    /// stretch over slots × its length, at most 1: a request's service is
    /// counted when it is scheduled, which under a growing queue is ahead
    /// of the slot working on it). `None` without a concurrency limit.
    pub utilisation: Option<f64>,
    /// Requests served per second.
    pub throughput: f64,
    /// Mean requests in the instances, waiting or in service.
    pub in_system: f64,
    /// Mean requests waiting for a slot.
    pub queue: f64,
}

impl WorkRates {
    /// From `before` to `now`, `secs` apart; `None` for a service without
    /// a work model.
    pub(crate) fn between(before: &StationReport, now: &StationReport, secs: f64) -> Option<Self> {
        if now.instances == 0 || secs <= 0.0 {
            return None;
        }
        let per_s = |n: u64, b: u64| n.saturating_sub(b) as f64 / secs;
        Some(WorkRates {
            utilisation: (now.slots > 0)
                .then(|| (per_s(now.busy_ns, before.busy_ns) / 1e9 / now.slots as f64).min(1.0)),
            throughput: per_s(now.served, before.served),
            in_system: per_s(now.in_system_ns, before.in_system_ns) / 1e9,
            queue: per_s(now.waiting_ns, before.waiting_ns) / 1e9,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretch_is_the_difference_of_two_reports() {
        let before = StationReport {
            instances: 2,
            slots: 4,
            served: 100,
            busy_ns: 1_000_000_000,
            in_system_ns: 3_000_000_000,
            waiting_ns: 1_000_000_000,
            ..Default::default()
        };
        let now = StationReport {
            served: 300,
            busy_ns: 3_000_000_000,
            in_system_ns: 6_000_000_000,
            waiting_ns: 1_500_000_000,
            ..before
        };
        let w = WorkRates::between(&before, &now, 2.0).unwrap();
        assert_eq!(w.utilisation, Some(0.25));
        assert_eq!((w.throughput, w.in_system, w.queue), (100.0, 1.5, 0.25));
        // Service scheduled ahead of a long queue never reads above 1.
        let ahead = StationReport {
            busy_ns: 20_000_000_000,
            ..now
        };
        assert_eq!(
            WorkRates::between(&before, &ahead, 1.0)
                .unwrap()
                .utilisation,
            Some(1.0)
        );
        let unlimited = StationReport { slots: 0, ..now };
        assert_eq!(
            WorkRates::between(&before, &unlimited, 2.0)
                .unwrap()
                .utilisation,
            None
        );
        assert_eq!(
            WorkRates::between(&before, &StationReport::default(), 2.0),
            None
        );
    }
}
