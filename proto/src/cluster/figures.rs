//! The work-model and resilience sums a node reports per service: plain
//! counters that add up over instances and nodes.

use serde::{Deserialize, Serialize};

/// What callers of one service did about one dependency, summed over
/// instances (so reports from several nodes add up). Counts are of
/// attempts, not of requests: a get retried twice is three calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeReport {
    /// Attempts made (sent to an instance).
    pub calls: u64,
    /// Attempts answered with a value or a miss.
    pub ok: u64,
    /// Attempts answered as failed, or that could not be sent.
    pub failed: u64,
    /// Attempts given up after their timeout.
    pub timeout: u64,
    /// Answers that came after their attempt was given up (ignored).
    pub late: u64,
    /// Retries made, each on the next instance.
    pub retried: u64,
    /// Calls not made because the breaker was open.
    pub short_circuited: u64,
    /// Gets answered by the fallback instead (empty, or from cache).
    pub fallback: u64,
    /// Breaker transitions, over the callers' breakers.
    pub opened: u64,
    /// Probes let through after a breaker's sleep.
    pub half_opened: u64,
    /// Of the openings, those after a failed probe (a breaker already
    /// open).
    pub reopened: u64,
    /// Breakers open or half-open as reported (a gauge, not a count: it
    /// falls as breakers close or their instances go; sums over nodes).
    pub open: u64,
    /// Breakers closed again by a successful probe.
    pub closed: u64,
    /// When a breaker first opened and last closed (Unix nanoseconds; 0:
    /// never).
    pub first_open_ns: u64,
    /// See `first_open_ns`.
    pub last_close_ns: u64,
}

impl EdgeReport {
    /// What happened since `before` (an earlier report of the same
    /// callers): the counts' differences, and the gauge and the times as
    /// they are now.
    pub fn since(&self, before: &EdgeReport) -> EdgeReport {
        let d = |n: u64, b: u64| n.saturating_sub(b);
        EdgeReport {
            calls: d(self.calls, before.calls),
            ok: d(self.ok, before.ok),
            failed: d(self.failed, before.failed),
            timeout: d(self.timeout, before.timeout),
            late: d(self.late, before.late),
            retried: d(self.retried, before.retried),
            short_circuited: d(self.short_circuited, before.short_circuited),
            fallback: d(self.fallback, before.fallback),
            opened: d(self.opened, before.opened),
            half_opened: d(self.half_opened, before.half_opened),
            reopened: d(self.reopened, before.reopened),
            closed: d(self.closed, before.closed),
            ..*self
        }
    }

    /// Attempts that failed, timed out or were not made (breaker open).
    pub fn errors(&self) -> u64 {
        self.failed + self.timeout + self.short_circuited
    }

    /// Errors over the calls wanted (made or short-circuited); 0 for none.
    pub fn error_rate(&self) -> f64 {
        let wanted = self.calls + self.short_circuited;
        if wanted == 0 {
            0.0
        } else {
            self.errors() as f64 / wanted as f64
        }
    }

    /// Adds another report's counts into this one.
    pub fn add(&mut self, o: &EdgeReport) {
        self.calls += o.calls;
        self.ok += o.ok;
        self.failed += o.failed;
        self.timeout += o.timeout;
        self.late += o.late;
        self.retried += o.retried;
        self.short_circuited += o.short_circuited;
        self.fallback += o.fallback;
        self.opened += o.opened;
        self.half_opened += o.half_opened;
        self.reopened += o.reopened;
        self.open += o.open;
        self.closed += o.closed;
        if o.first_open_ns != 0 && (self.first_open_ns == 0 || o.first_open_ns < self.first_open_ns)
        {
            self.first_open_ns = o.first_open_ns;
        }
        self.last_close_ns = self.last_close_ns.max(o.last_close_ns);
    }
}

/// What a service's work models (see [`crate::work`]) did on one node:
/// sums over its instances, so reports from several nodes add up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationReport {
    /// Instances with a work model.
    pub instances: u64,
    /// Their concurrency slots, over the instances with a limit.
    pub slots: u64,
    /// Instances with no concurrency limit (a pure delay).
    pub unlimited: u64,
    /// Requests whose service started.
    pub started: u64,
    /// Requests whose service ended.
    pub served: u64,
    /// Time the started requests waited for a slot, by the service clock
    /// (from arrival to the start of service), in nanoseconds.
    pub waited_ns: u64,
    /// Service time drawn for the requests that started, in nanoseconds.
    pub busy_ns: u64,
    /// The integral of requests in the instances (waiting or in service)
    /// over time, in request-nanoseconds: divided by the time it covers,
    /// the mean number in the system.
    pub in_system_ns: u64,
    /// The same integral of requests waiting for a slot.
    pub waiting_ns: u64,
}

impl StationReport {
    /// Adds another report's sums into this one.
    pub fn add(&mut self, o: &StationReport) {
        self.instances += o.instances;
        self.slots += o.slots;
        self.unlimited += o.unlimited;
        self.started += o.started;
        self.served += o.served;
        self.waited_ns += o.waited_ns;
        self.busy_ns += o.busy_ns;
        self.in_system_ns += o.in_system_ns;
        self.waiting_ns += o.waiting_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretch_of_calls_is_the_difference_and_the_gauge_now() {
        let before = EdgeReport {
            calls: 10,
            ok: 10,
            opened: 1,
            open: 1,
            ..Default::default()
        };
        let now = EdgeReport {
            calls: 30,
            ok: 15,
            failed: 5,
            timeout: 10,
            short_circuited: 20,
            opened: 4,
            reopened: 1,
            closed: 1,
            open: 2,
            ..Default::default()
        };
        let e = now.since(&before);
        assert_eq!(
            (e.calls, e.ok, e.errors(), e.opened, e.open),
            (20, 5, 35, 3, 2)
        );
        assert_eq!(e.error_rate(), 35.0 / 40.0);
        assert_eq!(EdgeReport::default().error_rate(), 0.0);
    }
}
