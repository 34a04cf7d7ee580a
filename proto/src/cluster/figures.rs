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
    /// Breakers closed again by a successful probe.
    pub closed: u64,
    /// When a breaker first opened and last closed (Unix nanoseconds; 0:
    /// never).
    pub first_open_ns: u64,
    /// See `first_open_ns`.
    pub last_close_ns: u64,
}

impl EdgeReport {
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
