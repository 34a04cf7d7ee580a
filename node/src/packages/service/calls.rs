//! Calls: a caller's resilience for its dependencies (see
//! [`spigo_proto::resilience`]): each attempt's timeout, retries on the
//! next instance after a backoff, a circuit breaker per dependency, and the
//! fallback answer.
//!
//! This file keeps the bookkeeping and makes the decisions; the core does
//! the sending and arms the `Calls` timer at the instants this returns.
//! Only gets are guarded (a put has no answer to wait for). An attempt's
//! entry lives from its send to its answer or its timeout; one given up is
//! remembered a while, so its late answer is counted and ignored.
//!
//! A breaker counts outcomes in ten buckets over its window, as Hystrix's
//! rolling window does:
//!
//! ```text
//!   closed ──(volume reached, error % ≥ threshold)──▶ open
//!     ▲                                               │ sleep passes,
//!     └──── probe answered ◀── half-open ◀────────────┘ next call is the probe
//!                                 │ probe failed or timed out
//!                                 └──────────────▶ open (another sleep)
//! ```

use super::requests::{Pending, PENDING_TIMEOUT};
use crate::runtime::clock;
use crate::runtime::metrics::{EdgeSums, ServiceMetrics};
use compact_str::CompactString;
use spigo_proto::resilience::{Breaker, Fallback, Resilience};
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{Address, Intention};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Values kept for `"fallback": "cache"`, per instance.
const CACHED: usize = 1024;

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// An attempt in flight: which dependency, which retry, where it went.
#[derive(Clone, Copy, Debug)]
pub(super) struct Attempt {
    pub dep: usize,
    pub retry: u32,
    pub to: Address,
}

/// A retry waiting out its backoff.
pub(super) struct Retry {
    pub pending: Pending,
    pub dep: usize,
    /// Which retry this is (1 = the first).
    pub retry: u32,
    /// The instance the failed attempt went to: the retry takes the next.
    pub after: Address,
}

/// What fell due on the `Calls` timer.
pub(super) enum Due {
    /// This attempt (its child span) got no answer in time.
    Timeout(u64, Attempt),
    Retry(Retry),
}

/// One dependency's settings, breaker and counts.
struct Edge {
    settings: Resilience,
    breaker: Option<BreakerState>,
    sums: Arc<EdgeSums>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    /// A probe went out at `since`; if it is never answered (no timeout
    /// set), another goes after a further sleep.
    HalfOpen {
        since: Instant,
    },
}

struct BreakerState {
    cfg: Breaker,
    epoch: Instant,
    /// (bucket number, successes, failures), at bucket number mod 10.
    buckets: [(u64, u32, u32); 10],
    phase: Phase,
}

impl BreakerState {
    fn new(cfg: Breaker, now: Instant) -> BreakerState {
        BreakerState {
            cfg,
            epoch: now,
            buckets: [(u64::MAX, 0, 0); 10],
            phase: Phase::Closed,
        }
    }

    fn bucket(&self, now: Instant) -> u64 {
        let width = (self.cfg.window / 10).max(Duration::from_micros(1));
        (now.saturating_duration_since(self.epoch).as_nanos() / width.as_nanos()) as u64
    }

    /// Whether a call may be made now.
    fn allow(&mut self, now: Instant, sums: &EdgeSums) -> bool {
        match self.phase {
            Phase::Closed => true,
            Phase::Open { until } if now >= until => {
                self.phase = Phase::HalfOpen { since: now };
                bump(&sums.half_opened);
                true
            }
            Phase::Open { .. } => false,
            Phase::HalfOpen { since } if now >= since + self.cfg.sleep => {
                self.phase = Phase::HalfOpen { since: now };
                true
            }
            Phase::HalfOpen { .. } => false,
        }
    }

    /// An attempt's outcome.
    fn record(&mut self, ok: bool, now: Instant, sums: &EdgeSums) {
        match self.phase {
            Phase::HalfOpen { .. } if ok => {
                self.phase = Phase::Closed;
                self.buckets = [(u64::MAX, 0, 0); 10];
                sums.closed_at(clock::now().0);
                sums.open.fetch_sub(1, Ordering::Relaxed);
            }
            Phase::HalfOpen { .. } => {
                bump(&sums.reopened);
                self.open(now, sums);
            }
            // An answer to a call made before it opened.
            Phase::Open { .. } => {}
            Phase::Closed => {
                let n = self.bucket(now);
                let b = &mut self.buckets[(n % 10) as usize];
                if b.0 != n {
                    *b = (n, 0, 0);
                }
                if ok {
                    b.1 += 1;
                    return;
                }
                b.2 += 1;
                let recent = self
                    .buckets
                    .iter()
                    .filter(|b| b.0 != u64::MAX && b.0 + 10 > n);
                let (good, bad) = recent.fold((0u64, 0u64), |(g, f), b| {
                    (g + u64::from(b.1), f + u64::from(b.2))
                });
                let total = good + bad;
                if total >= u64::from(self.cfg.volume)
                    && bad * 100 >= u64::from(self.cfg.error_percent) * total
                {
                    bump(&sums.open);
                    self.open(now, sums);
                }
            }
        }
    }

    fn open(&mut self, now: Instant, sums: &EdgeSums) {
        self.phase = Phase::Open {
            until: now + self.cfg.sleep,
        };
        sums.opened_at(clock::now().0);
    }
}

/// A calling instance's resilience state, for the dependencies that have
/// settings.
pub(super) struct Calls {
    /// By dependency index (as in the instance's spec).
    edges: Vec<Option<Edge>>,
    attempts: HashMap<u64, Attempt>,
    /// Timeouts (by child span) and retries (by number), soonest first.
    timers: BinaryHeap<Reverse<(Instant, bool, u64)>>,
    retries: HashMap<u64, Retry>,
    next_retry: u64,
    /// Attempts given up, by child span: when, and their dependency.
    given_up: HashMap<u64, (Instant, usize)>,
    /// Values last answered, by key, for the cache fallback.
    cache: HashMap<CompactString, CompactString>,
}

/// An instance that goes (at the end, or mid-run) takes its breakers with
/// it: those not closed no longer count as open.
impl Drop for Calls {
    fn drop(&mut self) {
        for e in self.edges.iter().flatten() {
            if e.breaker.as_ref().is_some_and(|b| b.phase != Phase::Closed) {
                e.sums.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

impl Calls {
    /// The state for `spec`'s settings; `None` when no dependency has any.
    pub(super) fn new(spec: &InstanceSpec, metrics: &ServiceMetrics) -> Option<Box<Calls>> {
        let settings = spec.calls.as_deref()?;
        let now = Instant::now();
        let edges: Vec<Option<Edge>> = (spec.dependencies.iter())
            .map(|d| {
                settings.to(&d.service).map(|r| Edge {
                    settings: r.clone(),
                    breaker: r.breaker.map(|b| BreakerState::new(b, now)),
                    sums: metrics.edge(&d.service),
                })
            })
            .collect();
        edges.iter().any(Option::is_some).then(|| {
            Box::new(Calls {
                edges,
                attempts: HashMap::new(),
                timers: BinaryHeap::new(),
                retries: HashMap::new(),
                next_retry: 0,
                given_up: HashMap::new(),
                cache: HashMap::new(),
            })
        })
    }

    /// Whether calls to dependency `dep` are guarded.
    pub(super) fn guards(&self, dep: usize) -> bool {
        matches!(self.edges.get(dep), Some(Some(_)))
    }

    /// Whether a call to `dep` may go now (its breaker is not open); a call
    /// that may not is counted short-circuited.
    pub(super) fn allow(&mut self, dep: usize) -> bool {
        let Some(Some(e)) = self.edges.get_mut(dep) else {
            return true;
        };
        let ok = (e.breaker.as_mut()).is_none_or(|b| b.allow(Instant::now(), &e.sums));
        if !ok {
            bump(&e.sums.short_circuited);
        }
        ok
    }

    /// An attempt could not even be sent: a failure for the breaker.
    pub(super) fn not_sent(&mut self, dep: usize) {
        if let Some(Some(e)) = self.edges.get_mut(dep) {
            bump(&e.sums.calls);
            bump(&e.sums.failed);
            if let Some(b) = e.breaker.as_mut() {
                b.record(false, Instant::now(), &e.sums);
            }
        }
    }

    /// An attempt went out under child span `span`; returns when it times
    /// out, if it can.
    pub(super) fn sent(&mut self, span: u64, a: Attempt) -> Option<Instant> {
        let e = self.edges.get(a.dep)?.as_ref()?;
        bump(&e.sums.calls);
        self.attempts.insert(span, a);
        let due = Instant::now() + e.settings.timeout?;
        self.timers.push(Reverse((due, false, span)));
        Some(due)
    }

    /// The answer to child span `span` came: the attempt it ends, if it
    /// was one of ours and still waited (a late one is counted).
    pub(super) fn answered(&mut self, span: u64, ok: bool) -> Option<Attempt> {
        let Some(a) = self.attempts.remove(&span) else {
            if let Some((_, dep)) = self.given_up.remove(&span) {
                if let Some(Some(e)) = self.edges.get(dep) {
                    bump(&e.sums.late);
                }
            }
            return None;
        };
        let e = self.edges[a.dep]
            .as_mut()
            .expect("attempts are of guarded edges");
        bump(if ok { &e.sums.ok } else { &e.sums.failed });
        if let Some(b) = e.breaker.as_mut() {
            b.record(ok, Instant::now(), &e.sums);
        }
        Some(a)
    }

    /// What fell due by now: attempts that timed out (each counted, a
    /// failure for its breaker) and retries whose backoff is over. A timer
    /// may ring a little early (the delay queue's slack); when nothing was
    /// due yet, the second part says when to ring again.
    pub(super) fn due(&mut self) -> (Vec<Due>, Option<Instant>) {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut popped = false;
        while let Some(Reverse((at, retry, key))) = self.timers.peek().copied() {
            if at > now {
                let again = (!popped).then_some(at);
                return (due, again);
            }
            popped = true;
            self.timers.pop();
            if retry {
                due.extend(self.retries.remove(&key).map(Due::Retry));
            } else if let Some(a) = self.attempts.remove(&key) {
                let e = self.edges[a.dep].as_mut().expect("guarded edge");
                bump(&e.sums.timeout);
                if let Some(b) = e.breaker.as_mut() {
                    b.record(false, now, &e.sums);
                }
                self.given_up.insert(key, (now, a.dep));
                due.push(Due::Timeout(key, a));
            }
        }
        (due, None)
    }

    /// Retries a failed attempt later, if it has retries left: returns
    /// when, or gives the request back.
    pub(super) fn retry_later(
        &mut self,
        pending: Pending,
        a: Attempt,
        uniform: f64,
    ) -> Result<Instant, Pending> {
        let Some(Some(e)) = self.edges.get(a.dep) else {
            return Err(pending);
        };
        if a.retry >= e.settings.retries {
            return Err(pending);
        }
        bump(&e.sums.retried);
        let wait = (e.settings.backoff).map_or(Duration::ZERO, |b| b.wait(a.retry, uniform));
        let due = Instant::now() + wait;
        let id = self.next_retry;
        self.next_retry += 1;
        self.retries.insert(
            id,
            Retry {
                pending,
                dep: a.dep,
                retry: a.retry + 1,
                after: a.to,
            },
        );
        self.timers.push(Reverse((due, true, id)));
        Ok(due)
    }

    /// The fallback answer for a get for `key` to `dep` that failed for
    /// good, if its settings give one (counted).
    pub(super) fn fallback(&mut self, dep: usize, key: &Intention) -> Option<Intention> {
        let e = self.edges.get(dep)?.as_ref()?;
        let value = match e.settings.fallback {
            Fallback::Fail => None,
            Fallback::Empty => Some(Intention::None),
            Fallback::Cache => match key {
                Intention::Text(k) => self.cache.get(k).cloned().map(Intention::Text),
                _ => None,
            },
        }?;
        bump(&e.sums.fallback);
        Some(value)
    }

    /// A value answered for `key` by `dep`, kept when its fallback is the
    /// cache.
    pub(super) fn remember(&mut self, dep: usize, key: &Intention, value: &Intention) {
        let Some(Some(e)) = self.edges.get(dep) else {
            return;
        };
        if e.settings.fallback != Fallback::Cache {
            return;
        }
        if let (Intention::Text(k), Intention::Text(v)) = (key, value) {
            if self.cache.len() >= CACHED && !self.cache.contains_key(k) {
                // Full: forget an arbitrary one (a bounded cache, not an LRU).
                let old = self.cache.keys().next().cloned();
                old.map(|o| self.cache.remove(&o));
            }
            self.cache.insert(k.clone(), v.clone());
        }
    }

    /// Forgets attempts whose request the instance gave up on (its
    /// `PENDING_TIMEOUT`), and given-up spans older than that.
    pub(super) fn sweep(&mut self, waiting: impl Fn(u64) -> bool) {
        let now = Instant::now();
        self.attempts.retain(|span, _| waiting(*span));
        self.given_up
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < PENDING_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> (BreakerState, EdgeSums, Instant) {
        let cfg = Breaker {
            error_percent: 50,
            window: Duration::from_secs(1),
            volume: 4,
            sleep: Duration::from_millis(500),
        };
        let now = Instant::now();
        (BreakerState::new(cfg, now), EdgeSums::default(), now)
    }

    #[test]
    fn opens_at_the_threshold_once_the_volume_is_reached() {
        let (mut b, sums, t) = breaker();
        // Three failures: below the volume of 4, still closed.
        for _ in 0..3 {
            b.record(false, t, &sums);
        }
        assert_eq!(b.phase, Phase::Closed);
        b.record(true, t, &sums);
        // 3 of 4 failed: 75% ≥ 50% — but only a failure re-checks.
        assert_eq!(b.phase, Phase::Closed);
        b.record(false, t, &sums);
        assert!(matches!(b.phase, Phase::Open { .. }));
        assert_eq!(sums.opened.load(Ordering::Relaxed), 1);
        assert!(!b.allow(t + Duration::from_millis(100), &sums));
    }

    #[test]
    fn old_outcomes_leave_the_window() {
        let (mut b, sums, t) = breaker();
        for _ in 0..3 {
            b.record(false, t, &sums);
        }
        // A window later those three no longer count.
        let later = t + Duration::from_millis(1100);
        b.record(false, later, &sums);
        assert_eq!(b.phase, Phase::Closed);
    }

    #[test]
    fn half_open_probe_closes_or_reopens() {
        let (mut b, sums, t) = breaker();
        for _ in 0..4 {
            b.record(false, t, &sums);
        }
        let after_sleep = t + Duration::from_millis(600);
        assert!(b.allow(after_sleep, &sums), "the probe goes");
        assert!(!b.allow(after_sleep, &sums), "one probe at a time");
        b.record(false, after_sleep, &sums);
        assert!(matches!(b.phase, Phase::Open { .. }));
        let again = after_sleep + Duration::from_millis(600);
        assert!(b.allow(again, &sums));
        b.record(true, again, &sums);
        assert_eq!(b.phase, Phase::Closed);
        assert_eq!(sums.half_opened.load(Ordering::Relaxed), 2);
        assert_eq!(sums.closed.load(Ordering::Relaxed), 1);
        assert_eq!(sums.opened.load(Ordering::Relaxed), 2);
        assert_eq!(sums.reopened.load(Ordering::Relaxed), 1);
        assert_eq!(sums.report().open, 0);
        // Closed afresh: the old failures are gone.
        b.record(false, again, &sums);
        assert_eq!(b.phase, Phase::Closed);
    }
}
