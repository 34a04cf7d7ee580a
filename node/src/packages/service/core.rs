//! Core: the state every service instance has, and the operations its
//! package builds on.
//!
//! It puts the jobs of the neighbouring files together: the instance's
//! lifecycle (identity, sending), [`discovery`](super::discovery) of its
//! dependencies, [`routing`](super::routing) among them,
//! [`requests`](super::requests) waiting for answers, and
//! [`spans`](super::spans) of sampled flows.

use super::calls::{Attempt, Calls, Due, Retry};
use super::discovery::{Dependency, Discovery};
use super::requests::{Pending, Requests};
use super::routing;
use super::spans::{self, Recorder, Timed};
use super::station::{Admit, Held, Station};
use crate::packages::lifecycle::Lifecycle;
use crate::runtime::metrics::ServiceMetrics;
use crate::runtime::{clock, SendError, Timer};
use crate::Runtime;
use compact_str::CompactString;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use spigo_proto::archaius::Location;
use spigo_proto::cluster::SpanKind;
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{
    Address, Exit, Gotocol, Imposition, Intention, Package, Reason, Timestamp, TraceContext,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A service instance's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServiceTimer {
    /// Time to poll eureka again (and give up on old requests).
    Poll,
    /// The package's own traffic tick (the denominator's requests).
    Traffic,
    /// A request's service time is over (instances with a work model):
    /// one per request started.
    Done,
    /// An attempt's timeout or a retry's backoff is over (callers with
    /// resilience settings).
    Calls,
}

impl Timer for ServiceTimer {
    const ALL: &'static [ServiceTimer] = &[
        ServiceTimer::Poll,
        ServiceTimer::Traffic,
        ServiceTimer::Done,
        ServiceTimer::Calls,
    ];
}

/// What an instance's shared state takes inline (`spigo bench memory`).
pub const CORE_BYTES: usize = std::mem::size_of::<Core>();

pub struct Core {
    pub(super) life: Lifecycle<ServiceTimer>,
    pub spec: InstanceSpec,
    pub rng: SmallRng,
    pub(super) discovery: Discovery,
    pub(super) requests: Requests,
    /// This service's figures: requests and response times, and with `-c`
    /// every histogram.
    metrics: Arc<ServiceMetrics>,
    ipv4: Option<[u8; 4]>,
    /// Its slots and queue, when its service has a work model.
    station: Option<Box<Station>>,
    /// Its timeouts, retries and breakers, when its service has resilience
    /// settings.
    calls: Option<Box<Calls>>,
    /// In an outage (`-kv outage:`) until then: requests are taken and
    /// never answered.
    dark_until: Option<Instant>,
}

impl Core {
    pub(super) fn new(rt: Arc<Runtime>, spec: InstanceSpec) -> Core {
        let me = spec.record.id;
        let metrics = rt.service_figures(&spec.service, spec.location().region);
        let station = (spec.work.as_deref())
            .map(|w| Box::new(Station::new(w, &metrics.station, Instant::now())));
        let calls = Calls::new(&spec, &metrics);
        Core {
            calls,
            dark_until: None,
            rng: SmallRng::seed_from_u64(
                spec.seed ^ (me.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            metrics,
            station,
            life: Lifecycle::new(rt, me, Some(spec.location())),
            discovery: Discovery::new(&spec),
            requests: Requests::default(),
            ipv4: spans::ip_of(&spec.record.metadata),
            spec,
        }
    }

    pub(crate) fn rt(&self) -> &Arc<Runtime> {
        self.life.rt()
    }

    pub(crate) fn me(&self) -> Address {
        self.life.me()
    }

    pub fn location(&self) -> Location {
        self.spec.record.location
    }

    pub fn package(&self) -> Package {
        self.spec.package
    }

    /// The services this instance depends on and the instances adopted.
    pub(crate) fn deps(&self) -> &[Dependency] {
        &self.discovery.deps
    }

    /// This service's figures (every histogram only with `-c`).
    pub fn metrics(&self) -> &ServiceMetrics {
        &self.metrics
    }

    /// The instance's lifecycle, which it sends through.
    pub(crate) fn life(&self) -> &Lifecycle<ServiceTimer> {
        &self.life
    }

    /// Has the package's traffic timer fire at `due`.
    pub(crate) fn traffic_at(&self, due: Instant) {
        self.life.wake_at(due, ServiceTimer::Traffic);
    }

    // ---- tracing -------------------------------------------------------

    /// A fresh trace, for requests that start here (the denominator).
    pub fn new_trace(&self) -> TraceContext {
        spans::new_trace(self.rt())
    }

    /// The context of a call made on behalf of a request with context `ctx`.
    pub fn child_of(&self, ctx: TraceContext) -> TraceContext {
        spans::child_of(self.rt(), ctx)
    }

    /// Records a span of this instance, if flows are collected.
    pub fn record_span(
        &self,
        kind: SpanKind,
        imposition: Imposition,
        ctx: TraceContext,
        start: Timestamp,
        took: Duration,
    ) {
        let Some(flows) = self.rt().flows() else {
            return;
        };
        let recorder = Recorder {
            service: &self.spec.service,
            instance: self.life.name(),
            ipv4: self.ipv4,
        };
        let span = Timed {
            kind,
            imposition,
            ctx,
            start,
            took,
        };
        recorder.record(flows, span);
    }

    // ---- routing -------------------------------------------------------

    /// A random live instance of dependency `d`.
    pub fn pick_in(&mut self, d: usize) -> Option<Address> {
        routing::pick_in(&self.discovery.deps, &mut self.rng, d)
    }

    /// A random live instance of a random dependency that has one.
    pub fn pick_any(&mut self) -> Option<Address> {
        routing::pick_any(&self.discovery.deps, &mut self.rng)
    }

    /// The next live instance of any dependency, taking turns.
    pub fn round_robin(&self, turn: &mut usize) -> Option<Address> {
        routing::round_robin(&self.discovery.deps, turn)
    }

    /// Stops picking an instance that cannot be reached.
    pub fn mark_dead(&mut self, addr: Address) {
        self.discovery.mark_dead(addr);
    }

    // ---- work ----------------------------------------------------------

    /// Whether requests first wait for their service time (a work model).
    pub(super) fn has_station(&self) -> bool {
        self.station.is_some()
    }

    /// Takes a request into the station: its service starts (the `Done`
    /// timer set for its end), it waits, or the full queue refuses it.
    pub(super) fn admit(&mut self, held: Held) {
        let Core {
            station,
            spec,
            rng,
            metrics,
            life,
            ..
        } = self;
        let (Some(station), Some(work)) = (station.as_mut(), spec.work.as_deref()) else {
            return;
        };
        let mut draw = || work.service_time.draw(rng.random(), rng.random());
        let mut ring = |ends| life.wake_at(ends, ServiceTimer::Done);
        let arrived = held.arrived;
        let admit = station.arrive(held, Instant::now(), &mut draw, &metrics.station, &mut ring);
        match admit {
            Admit::Started(ends) => ring(ends),
            Admit::Waiting => {}
            Admit::Rejected(msg) => {
                self.requests.arrived = Some(arrived);
                self.fail(&msg, Reason::Rejected);
                self.requests.arrived = None;
                if msg.imposition == Imposition::Put {
                    self.finished(Imposition::Put, msg.ctx, arrived, false);
                }
            }
        }
    }

    /// The `Done` timer rang: the request whose service is over, if any,
    /// and the services that start in the slot it frees.
    pub(super) fn service_done(&mut self) -> Option<Held> {
        let Core {
            station,
            spec,
            rng,
            metrics,
            life,
            ..
        } = self;
        let (station, work) = (station.as_mut()?, spec.work.as_deref()?);
        let mut draw = || work.service_time.draw(rng.random(), rng.random());
        let mut ring = |ends| life.wake_at(ends, ServiceTimer::Done);
        station.done(Instant::now(), &mut draw, &metrics.station, &mut ring)
    }

    /// Fails every request the station still holds, as the instance
    /// leaves mid-run: its askers hear at once rather than time out. At
    /// the end of the run (`Exit::Normal`) they are let go unanswered: the
    /// run's accounting counts what is still on its way then as in flight
    /// at the end (or interrupted), not as undeliverable.
    pub(super) fn drop_held(&mut self, exit: Exit) {
        let Some(station) = self.station.as_mut() else {
            return;
        };
        let held = station.take_all();
        if exit == Exit::Normal {
            return;
        }
        for held in held {
            self.requests.arrived = Some(held.arrived);
            self.fail(&held.msg, Reason::Undeliverable);
            self.requests.arrived = None;
        }
    }

    // ---- requests ------------------------------------------------------

    /// Passes `request` on to `to` as a child call, one hop further down
    /// its path, and remembers where its answer goes. A receiver that has
    /// gone is marked dead; the error says why the call failed, so the
    /// caller can pick another. A get to a dependency with resilience
    /// settings is guarded: a breaker that is open short-circuits it (the
    /// fallback answers, if there is one: `Ok`), and the attempt times out.
    pub fn call(&mut self, to: Address, request: &Gotocol, stage: u8) -> Result<(), Reason> {
        self.attempt(to, request, stage, 0)
    }

    fn attempt(
        &mut self,
        to: Address,
        request: &Gotocol,
        stage: u8,
        retry: u32,
    ) -> Result<(), Reason> {
        let dep = (request.imposition == Imposition::GetRequest)
            .then(|| self.guarded_dep_of(to))
            .flatten();
        if let (Some(d), Some(calls)) = (dep, self.calls.as_mut()) {
            if !calls.allow(d) {
                return match calls.fallback(d, &request.intention) {
                    Some(value) => {
                        self.respond(request, value);
                        Ok(())
                    }
                    None => Err(Reason::ShortCircuited),
                };
            }
        }
        let ctx = self.child_of(request.ctx);
        let hops = request.hops.saturating_add(1);
        let intention = request.intention.clone();
        if let Err(e) = self
            .life
            .pass_on(to, request.imposition, ctx, intention, hops)
        {
            // Overloaded, not gone: try another this time.
            if !matches!(e, SendError::Shed(_)) {
                self.mark_dead(to);
            }
            if let (Some(d), Some(calls)) = (dep, self.calls.as_mut()) {
                calls.not_sent(d);
            }
            return Err(e.reason());
        }
        if request.imposition == Imposition::GetRequest {
            self.requests.wait_for(ctx, request, stage);
        }
        if let (Some(dep), Some(calls)) = (dep, self.calls.as_mut()) {
            if let Some(due) = calls.sent(ctx.span, Attempt { dep, retry, to }) {
                self.life.wake_at(due, ServiceTimer::Calls);
            }
        }
        Ok(())
    }

    /// Which guarded dependency `to` is an instance of.
    fn guarded_dep_of(&self, to: Address) -> Option<usize> {
        let calls = self.calls.as_ref()?;
        let d =
            (self.discovery.deps.iter()).position(|d| d.adopted.iter().any(|p| p.addr == to))?;
        calls.guards(d).then_some(d)
    }

    /// Tries `pick` up to a few times until a call goes through; the error
    /// says why the last try failed ([`Reason::Undeliverable`] when there
    /// was no live instance to try). A short-circuited call is not tried
    /// elsewhere: the breaker speaks for the whole dependency.
    pub fn call_with(
        &mut self,
        request: &Gotocol,
        stage: u8,
        mut pick: impl FnMut(&mut Core) -> Option<Address>,
    ) -> Result<(), Reason> {
        let mut why = Reason::Undeliverable;
        for _ in 0..4 {
            let Some(to) = pick(self) else {
                break;
            };
            match self.call(to, request, stage) {
                Ok(()) => return Ok(()),
                Err(Reason::ShortCircuited) => return Err(Reason::ShortCircuited),
                Err(reason) => why = reason,
            }
        }
        Err(why)
    }

    /// A guarded attempt failed (answered failed, or timed out): retried
    /// later if it may be, else answered by the fallback if there is one;
    /// otherwise the request is given back, for its failure to be passed
    /// on.
    fn after_failure(&mut self, pending: Pending, a: Attempt) -> Option<Pending> {
        let calls = self.calls.as_mut()?;
        match calls.retry_later(pending, a, self.rng.random()) {
            Ok(due) => {
                self.life.wake_at(due, ServiceTimer::Calls);
                None
            }
            Err(pending) => match calls.fallback(a.dep, &pending.asked) {
                Some(value) => {
                    self.relay(&pending, value);
                    None
                }
                None => Some(pending),
            },
        }
    }

    /// The `Calls` timer rang: attempts that timed out fail over (retry,
    /// fallback, or a `timeout` answer), and retries due are made.
    pub(super) fn calls_due(&mut self) {
        let Some(calls) = self.calls.as_mut() else {
            return;
        };
        let (due, again) = calls.due();
        if let Some(at) = again {
            self.life.wake_at(at, ServiceTimer::Calls);
        }
        for due in due {
            match due {
                Due::Timeout(span, a) => {
                    let Some(p) = self.requests.take(span) else {
                        continue;
                    };
                    if let Some(p) = self.after_failure(p, a) {
                        self.relay(&p, Intention::Failed(Reason::Timeout));
                    }
                }
                Due::Retry(r) => self.retry(r),
            }
        }
    }

    /// Makes a retry on the next live instance of its dependency after the
    /// one that failed (Ribbon's MaxAutoRetriesNextServer).
    fn retry(&mut self, r: Retry) {
        let Retry {
            pending,
            dep,
            retry,
            after,
        } = r;
        let to = routing::next_after(&self.discovery.deps, dep, after);
        let request = pending.original();
        self.requests.arrived = Some(pending.started);
        let sent = match to {
            Some(to) => self.attempt(to, &request, pending.stage, retry),
            None => Err(Reason::Undeliverable),
        };
        self.requests.arrived = None;
        if let Err(why) = sent {
            if why == Reason::ShortCircuited {
                // The fallback was tried already; the breaker speaks for
                // every instance, so no further retry either.
                self.relay(&pending, Intention::Failed(why));
                return;
            }
            let a = Attempt {
                dep,
                retry,
                to: after,
            };
            if let Some(p) = self.after_failure(pending, a) {
                self.relay(&p, Intention::Failed(why));
            }
        }
    }

    // ---- outages -------------------------------------------------------

    /// Starts an outage of `length`: requests are taken, none answered.
    pub(super) fn go_dark(&mut self, length: Duration) {
        tracing::debug!("{}: dark for {length:?}", self.spec.record.name);
        self.dark_until = Some(Instant::now() + length);
    }

    /// Whether the instance is in an outage now.
    pub(super) fn is_dark(&mut self) -> bool {
        match self.dark_until {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                self.dark_until = None;
                false
            }
            None => false,
        }
    }

    /// A request that reached the instance in its outage: counted; a put
    /// ends here, a get's asker hears nothing (it times out).
    pub(super) fn swallow(&self, request: &Gotocol) {
        self.metrics.failed(Reason::Outage);
        if request.imposition == Imposition::Put {
            self.rt().put_failed(Reason::Outage);
        }
    }

    /// Drops a request this instance cannot serve or pass on: a get's
    /// asker is answered that it failed and why, a put is counted as
    /// failed here.
    pub fn fail(&self, request: &Gotocol, reason: Reason) {
        match request.imposition {
            Imposition::GetRequest => self.respond(request, Intention::Failed(reason)),
            Imposition::Put => {
                self.metrics.failed(reason);
                self.rt().put_failed(reason)
            }
            _ => {}
        }
    }

    /// A put ends here: stored, or at a tier with nowhere to pass it.
    pub fn delivered(&self) {
        self.rt().put_delivered();
    }

    /// A request that could not be passed on, for `reason`: at an instance
    /// with no dependency at all it is the end of the line (a get answered
    /// empty, a put delivered); otherwise it failed.
    pub fn end_or_fail(&self, request: &Gotocol, reason: Reason) {
        match (self.deps().is_empty(), request.imposition) {
            (true, Imposition::GetRequest) => self.respond(request, Intention::None),
            (true, Imposition::Put) => self.delivered(),
            _ => self.fail(request, reason),
        }
    }

    /// Answers `request` directly (a leaf, or a tier with nowhere to go).
    pub fn respond(&self, request: &Gotocol, value: Intention) {
        let failed = matches!(value, Intention::Failed(_));
        if let Intention::Failed(reason) = value {
            self.metrics.failed(reason);
        }
        // The span ends as the answer leaves: read before the send, so a
        // thread descheduled after it cannot make the span outlive its
        // caller's.
        let ended = clock::now();
        if let Some(to) = request.reply_to {
            // An asker that has gone needs no answer.
            let _ = self
                .life
                .send(to, Imposition::GetResponse, request.ctx, value);
        }
        let arrived = self.requests.arrived.unwrap_or(ended);
        self.finished_at(request.imposition, request.ctx, arrived, ended, !failed);
    }

    /// Answers a GetRequest from a key/value map (empty if absent).
    pub fn answer_get(&self, request: &Gotocol, data: &HashMap<CompactString, CompactString>) {
        let value = match &request.intention {
            Intention::Text(key) => data
                .get(key)
                .cloned()
                .map_or(Intention::None, Intention::Text),
            _ => Intention::None,
        };
        self.respond(request, value);
    }

    /// Takes the pending entry a response answers. For a guarded call, a
    /// failure answer may instead be retried or answered by the fallback
    /// (`None`: nothing left to do), and a late answer to an attempt given
    /// up is counted and ignored.
    pub fn take_pending(&mut self, response: &Gotocol) -> Option<Pending> {
        let pending = self.requests.answered_by(response);
        let Some(calls) = self.calls.as_mut() else {
            return pending;
        };
        let ok = !matches!(response.intention, Intention::Failed(_));
        let attempt = calls.answered(response.ctx.span, ok);
        match (pending, attempt) {
            (Some(p), Some(a)) if ok => {
                calls.remember(a.dep, &p.asked, &response.intention);
                Some(p)
            }
            (Some(p), Some(a)) => self.after_failure(p, a),
            (pending, _) => pending,
        }
    }

    /// Sends a response back to whoever asked this instance for it.
    pub fn pass_back(&mut self, response: Gotocol) {
        if let Some(p) = self.take_pending(&response) {
            self.relay(&p, response.intention);
        }
    }

    /// Sends a response's value on to whoever asked this instance.
    /// A failure answer is relayed like any other (the pending entry ends),
    /// but does not count as a response time.
    pub fn relay(&self, pending: &Pending, value: Intention) {
        let failed = matches!(value, Intention::Failed(_));
        if let Intention::Failed(reason) = value {
            self.metrics.failed(reason);
        }
        let ended = clock::now();
        if let Some(to) = pending.requester {
            let _ = self
                .life
                .send(to, Imposition::GetResponse, pending.ctx, value);
        }
        self.finished_at(
            Imposition::GetRequest,
            pending.ctx,
            pending.started,
            ended,
            !failed,
        );
    }

    /// Records that a request which arrived at `arrived` is done with:
    /// its server span and, for a get `answered` (not failed), its
    /// response time.
    pub(super) fn finished(
        &self,
        imposition: Imposition,
        ctx: TraceContext,
        arrived: Timestamp,
        answered: bool,
    ) {
        self.finished_at(imposition, ctx, arrived, clock::now(), answered);
    }

    /// [`Core::finished`] for a request whose answer left at `ended`.
    fn finished_at(
        &self,
        imposition: Imposition,
        ctx: TraceContext,
        arrived: Timestamp,
        ended: Timestamp,
        answered: bool,
    ) {
        let took = ended.since(arrived);
        if answered && imposition == Imposition::GetRequest {
            self.metrics.response(took);
        }
        self.record_span(SpanKind::Server, imposition, ctx, arrived, took);
    }

    /// Gives up on requests whose answer never came; their spans are still
    /// recorded, so the flows they started stay whole.
    pub(super) fn sweep(&mut self) {
        for (ctx, started) in self.requests.expire(clock::now()) {
            self.finished(Imposition::GetRequest, ctx, started, false);
        }
        if let Some(calls) = self.calls.as_mut() {
            let requests = &self.requests;
            calls.sweep(|span| requests.is_waiting(span));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// The picks draw from the rng exactly as collecting the candidates
    /// into a Vec and indexing it did.
    #[tokio::test]
    async fn picks_match_indexing_the_live_candidates() {
        use crate::packages::service::Peer;
        let rt = Runtime::new(0, false).unwrap();
        let at = rt.reserve(1).unwrap();
        let deps = [
            ("a", Package::Store),
            ("b", Package::Store),
            ("c", Package::Store),
        ];
        let mut core = Core::new(rt.clone(), crate::testkit::spec(at, Package::Karyon, &deps));
        let peer = |i: u32, alive| Peer {
            addr: Address::new(0, 100 + i),
            location: Location::default(),
            alive,
        };
        core.discovery.deps[0].adopted = vec![peer(0, true), peer(1, false), peer(2, true)];
        core.discovery.deps[2].adopted = vec![peer(3, false), peer(4, true)];
        let mut old_rng = core.rng.clone();
        let live = |core: &Core, d: usize| -> Vec<Address> {
            core.deps()[d].live().map(|p| p.addr).collect()
        };
        for round in 0..200usize {
            if round == 100 {
                core.discovery.deps[1].adopted = vec![peer(5, true)];
            }
            let with: Vec<usize> = (0..3).filter(|&d| !live(&core, d).is_empty()).collect();
            let d = with[old_rng.random_range(0..with.len())];
            let l = live(&core, d);
            let old = l[old_rng.random_range(0..l.len())];
            assert_eq!(core.pick_any(), Some(old));
            let l = live(&core, 0);
            let old = l[old_rng.random_range(0..l.len())];
            assert_eq!(core.pick_in(0), Some(old));
            let all: Vec<Address> = (0..3).flat_map(|d| live(&core, d)).collect();
            let (mut turn, old_turn) = (round, round.wrapping_add(1));
            assert_eq!(core.round_robin(&mut turn), Some(all[old_turn % all.len()]));
            assert_eq!(turn, old_turn);
        }
        assert_eq!(core.pick_in(7), None);
        for d in &mut core.discovery.deps {
            d.adopted.clear();
        }
        let mut turn = 0;
        assert_eq!(core.round_robin(&mut turn), None);
        assert_eq!(turn, 1);
        assert_eq!(core.pick_any(), None);
        assert_eq!(core.rng.random::<u64>(), old_rng.random::<u64>());
    }
}
