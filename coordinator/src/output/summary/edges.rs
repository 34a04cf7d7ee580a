//! A service's figures for each dependency it guards (see
//! `spigo_proto::resilience`): attempts, how they ended, and what its
//! breakers did, with times counted from when the traffic began.

use serde::Serialize;
use spigo_proto::cluster::EdgeReport;
use spigo_proto::Timestamp;

/// What a service's instances did about one dependency (counts of
/// attempts: a get retried once is two calls).
#[derive(Debug, Serialize)]
pub(crate) struct Edge {
    pub calls: u64,
    pub ok: u64,
    pub failed: u64,
    pub timeout: u64,
    /// Answers that came after their attempt timed out (ignored).
    pub late: u64,
    pub retried: u64,
    pub short_circuited: u64,
    pub fallback: u64,
    pub breaker: BreakerFigures,
}

/// Transitions of the callers' breakers (one per calling instance).
#[derive(Debug, Serialize)]
pub(crate) struct BreakerFigures {
    pub opened: u64,
    pub half_opened: u64,
    /// Openings after a failed probe (counted in `opened` too).
    pub reopened: u64,
    pub closed: u64,
    /// Seconds into the traffic when one first opened / last closed.
    pub first_open_s: Option<f64>,
    pub last_close_s: Option<f64>,
}

impl Edge {
    pub(crate) fn of(e: &EdgeReport, began: Option<Timestamp>) -> Edge {
        let at = |ns: u64| {
            let began = began?;
            (ns > 0).then(|| Timestamp(ns).since(began).as_secs_f64())
        };
        Edge {
            calls: e.calls,
            ok: e.ok,
            failed: e.failed,
            timeout: e.timeout,
            late: e.late,
            retried: e.retried,
            short_circuited: e.short_circuited,
            fallback: e.fallback,
            breaker: BreakerFigures {
                opened: e.opened,
                half_opened: e.half_opened,
                reopened: e.reopened,
                closed: e.closed,
                first_open_s: at(e.first_open_ns),
                last_close_s: at(e.last_close_ns),
            },
        }
    }
}
