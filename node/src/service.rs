//! What every service instance does, whatever its package: get named, find
//! edda, register with eureka, poll eureka for dependencies (each new one
//! an edge, each lost one a forget), route responses back along the path
//! their request came, and leave cleanly on Goodbye.
//!
//! A package (zuul, staash, ...) only says what to do with a request; it
//! implements [`Behaviour`] in its own file and runs as a
//! [`Nanoservice`] of that behaviour.

use crate::metrics::ServiceMetrics;
use crate::{clock, Delivery, Runtime, SendError};
use compact_str::CompactString;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use spigo_proto::archaius::{Location, ANY};
use spigo_proto::cluster::{Span, SpanKind};
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{
    Address, Exit, Gotocol, GraphEvent, Imposition, Intention, Package, Timestamp, TraceContext,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Timer tags of a service instance.
pub const POLL_TIMER: u32 = 1;
pub const TRAFFIC_TIMER: u32 = 2;

/// A request still waiting for its answer is given up after this long.
pub const PENDING_TIMEOUT: Duration = Duration::from_secs(5);

pub enum Msg {
    Gotocol(Gotocol),
    Timer(u32),
}

impl From<Delivery> for Msg {
    fn from(d: Delivery) -> Msg {
        match d {
            Delivery::Message(m) => Msg::Gotocol(m),
            Delivery::Timer(t) => Msg::Timer(t),
        }
    }
}

/// An instance of a dependency, as eureka described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub addr: Address,
    pub location: Location,
    /// False once a send to it failed; eureka's Forget removes it for good.
    pub alive: bool,
}

/// A service this instance depends on and the instances of it in use.
pub struct Dependency {
    pub service: CompactString,
    pub package: Package,
    /// Every adopted instance is an edge of the graph.
    pub adopted: Vec<Peer>,
    /// Per registry polled: the eureka log position already seen.
    since: Vec<u64>,
}

impl Dependency {
    pub fn live(&self) -> impl Iterator<Item = &Peer> {
        self.adopted.iter().filter(|p| p.alive)
    }
}

/// Where the answer to a request this instance passed on must go.
#[derive(Clone, Debug)]
pub struct Pending {
    pub requester: Option<Address>,
    /// The trace context of the request as it arrived here.
    pub ctx: TraceContext,
    pub started: Timestamp,
    /// Package-specific progress (staash's fall-through stage).
    pub stage: u8,
    /// What was asked (the key), for packages that ask again elsewhere.
    pub asked: Intention,
}

/// The state every instance has, and the operations packages build on.
/// What an instance's shared state takes inline (`spigo bench memory`).
pub const CORE_BYTES: usize = std::mem::size_of::<Core>();

pub struct Core {
    pub rt: Arc<Runtime>,
    pub me: Address,
    pub spec: InstanceSpec,
    /// Short graph name, set by Hello; used in `-m` lines.
    pub name: CompactString,
    pub asgard: Option<Address>,
    pub edda: Option<Address>,
    pub deps: Vec<Dependency>,
    pub rng: SmallRng,
    pending: HashMap<u64, Pending>,
    /// Answers still due to the first poll; asgard hears Hello when none are.
    first_poll: usize,
    /// This service's histograms, with `-c`.
    metrics: Option<Arc<ServiceMetrics>>,
    /// When the request being handled arrived here.
    arrived: Option<Timestamp>,
    ipv4: Option<[u8; 4]>,
}

impl Core {
    fn new(rt: Arc<Runtime>, spec: InstanceSpec) -> Core {
        let deps = spec
            .dependencies
            .iter()
            .map(|d| Dependency {
                service: d.service.clone(),
                package: d.package,
                adopted: Vec::new(),
                since: vec![0; spec.registries.len()],
            })
            .collect();
        let me = spec.record.id;
        let rt_metrics = rt.service_metrics(&spec.service);
        Core {
            rng: SmallRng::seed_from_u64(
                spec.seed ^ (me.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            rt,
            me,
            name: CompactString::default(),
            asgard: None,
            edda: None,
            deps,
            pending: HashMap::new(),
            first_poll: 0,
            metrics: rt_metrics,
            arrived: None,
            ipv4: ip_of(&spec.record.metadata),
            spec,
        }
    }

    pub fn location(&self) -> Location {
        self.spec.record.location
    }

    pub fn package(&self) -> Package {
        self.spec.package
    }

    /// Sends a message from this instance; false if the receiver is gone.
    pub fn send(
        &self,
        to: Address,
        imposition: Imposition,
        ctx: TraceContext,
        intention: Intention,
    ) -> bool {
        self.try_send(to, imposition, ctx, intention).is_ok()
    }

    fn try_send(
        &self,
        to: Address,
        imposition: Imposition,
        ctx: TraceContext,
        intention: Intention,
    ) -> Result<(), SendError> {
        let msg = Gotocol::new(imposition, Some(self.me), clock::now(), intention)
            .with_ctx(ctx)
            .from_location(self.location());
        self.rt.send(to, msg)
    }

    fn record(&self, event: GraphEvent) {
        if let Some(edda) = self.edda {
            self.send(
                edda,
                Imposition::Inform,
                TraceContext::NIL,
                Intention::Event(event),
            );
        }
    }

    /// A fresh trace, for requests that start here (the denominator).
    pub fn new_trace(&self) -> TraceContext {
        TraceContext {
            trace: self.rt.next_id(),
            parent: 0,
            span: self.rt.next_id(),
        }
    }

    /// The context of a call made on behalf of a request with context `ctx`.
    pub fn child_of(&self, ctx: TraceContext) -> TraceContext {
        TraceContext {
            trace: ctx.trace,
            parent: ctx.span,
            span: self.rt.next_id(),
        }
    }

    // ---- eureka -------------------------------------------------------

    fn register(&self) {
        let Some(&home) = self.spec.registries.first() else {
            return;
        };
        let record = GraphEvent::Node(Box::new(self.spec.record.clone()));
        self.send(
            home,
            Imposition::Put,
            TraceContext::NIL,
            Intention::Event(record),
        );
    }

    fn unregister(&self, exit: Exit) {
        let Some(&home) = self.spec.registries.first() else {
            return;
        };
        let done = GraphEvent::Done { id: self.me, exit };
        self.send(
            home,
            Imposition::Delete,
            TraceContext::NIL,
            Intention::Event(done),
        );
    }

    /// Asks every registry for what changed in every dependency. A
    /// registry that cannot be reached (its node is lost) counts as having
    /// answered, so the first look never waits for it.
    fn poll(&mut self) {
        let zone = (self.package().zone_affine() && self.location().zone != ANY)
            .then_some(self.location().zone);
        let mut unreachable = 0;
        for dep in &self.deps {
            for (registry, since) in self.spec.registries.iter().zip(&dep.since) {
                let ask = Intention::Poll {
                    service: dep.service.clone(),
                    zone,
                    since: *since,
                };
                if !self.send(*registry, Imposition::GetRequest, TraceContext::NIL, ask) {
                    unreachable += 1;
                }
            }
        }
        if unreachable > 0 && self.first_poll > 0 {
            self.first_poll = self.first_poll.saturating_sub(unreachable);
            if self.first_poll == 0 {
                self.report_up();
            }
        }
    }

    fn polled(&mut self, registry: Address, service: &str, since: u64) {
        let Some(r) = self.spec.registries.iter().position(|a| *a == registry) else {
            return;
        };
        if let Some(dep) = self.deps.iter_mut().find(|d| d.service == service) {
            dep.since[r] = dep.since[r].max(since);
        }
        if self.first_poll > 0 {
            self.first_poll -= 1;
            if self.first_poll == 0 {
                self.report_up();
            }
        }
    }

    /// The first look for dependencies is answered: tell asgard (Inform),
    /// whose next tier can then count on this one being found.
    fn report_up(&self) {
        if let Some(asgard) = self.asgard {
            self.send(
                asgard,
                Imposition::Inform,
                TraceContext::NIL,
                Intention::None,
            );
        }
    }

    fn adopt(&mut self, addr: Address, service: &str, location: Location) {
        if addr == self.me {
            return;
        }
        let Some(dep) = self.deps.iter_mut().find(|d| d.service == service) else {
            return;
        };
        if let Some(p) = dep.adopted.iter_mut().find(|p| p.addr == addr) {
            p.alive = true;
            return;
        }
        dep.adopted.push(Peer {
            addr,
            location,
            alive: true,
        });
        self.rt.count_edge(true);
        self.record(GraphEvent::Edge {
            source: self.me,
            target: addr,
        });
    }

    fn forget(&mut self, addr: Address, service: &str) {
        let Some(dep) = self.deps.iter_mut().find(|d| d.service == service) else {
            return;
        };
        let before = dep.adopted.len();
        dep.adopted.retain(|p| p.addr != addr);
        if dep.adopted.len() < before {
            self.rt.count_edge(false);
            self.record(GraphEvent::Forget {
                source: self.me,
                target: addr,
            });
        }
    }

    /// Stops picking an instance that cannot be reached.
    pub fn mark_dead(&mut self, addr: Address) {
        for dep in &mut self.deps {
            for p in dep.adopted.iter_mut().filter(|p| p.addr == addr) {
                p.alive = false;
            }
        }
    }

    // ---- routing ------------------------------------------------------

    /// A random live instance of dependency `d`.
    pub fn pick_in(&mut self, d: usize) -> Option<Address> {
        let dep = self.deps.get(d)?;
        let n = dep.live().count();
        if n == 0 {
            return None;
        }
        let i = self.rng.random_range(0..n);
        dep.live().nth(i).map(|p| p.addr)
    }

    /// A random live instance of a random dependency that has one.
    pub fn pick_any(&mut self) -> Option<Address> {
        let has_live = |d: &&Dependency| d.live().next().is_some();
        let n = self.deps.iter().filter(has_live).count();
        if n == 0 {
            return None;
        }
        let i = self.rng.random_range(0..n);
        let d = self
            .deps
            .iter()
            .enumerate()
            .filter(|(_, d)| has_live(d))
            .nth(i)
            .map(|(d, _)| d)?;
        self.pick_in(d)
    }

    /// The next live instance of any dependency, taking turns.
    pub fn round_robin(&self, turn: &mut usize) -> Option<Address> {
        let all = || self.deps.iter().flat_map(|d| d.live().map(|p| p.addr));
        let n = all().count();
        *turn = turn.wrapping_add(1);
        if n == 0 {
            return None;
        }
        all().nth(*turn % n)
    }

    /// Passes `request` on to `to` as a child call and remembers where its
    /// answer goes. A receiver that has gone is marked dead and false
    /// returned, so the caller can pick another.
    pub fn call(&mut self, to: Address, request: &Gotocol, stage: u8) -> bool {
        let ctx = self.child_of(request.ctx);
        match self.try_send(to, request.imposition, ctx, request.intention.clone()) {
            Ok(()) => {}
            // Overloaded, not gone: try another this time.
            Err(SendError::Shed(_)) => return false,
            Err(_) => {
                self.mark_dead(to);
                return false;
            }
        }
        if request.imposition == Imposition::GetRequest {
            self.pending.insert(
                ctx.span,
                Pending {
                    requester: request.reply_to,
                    ctx: request.ctx,
                    // Arrival here; a staash re-asking elsewhere passes the
                    // original arrival as the request's send time.
                    started: self.arrived.unwrap_or(request.sent),
                    stage,
                    asked: request.intention.clone(),
                },
            );
        }
        true
    }

    /// Tries `pick` up to a few times until a call goes through.
    pub fn call_with(
        &mut self,
        request: &Gotocol,
        stage: u8,
        mut pick: impl FnMut(&mut Core) -> Option<Address>,
    ) -> bool {
        for _ in 0..4 {
            match pick(self) {
                Some(to) if self.call(to, request, stage) => return true,
                Some(_) => continue,
                None => return false,
            }
        }
        false
    }

    /// Answers `request` directly (a leaf, or a tier with nowhere to go).
    pub fn respond(&self, request: &Gotocol, value: Intention) {
        if let Some(to) = request.reply_to {
            self.send(to, Imposition::GetResponse, request.ctx, value);
        }
        let arrived = self.arrived.unwrap_or_else(clock::now);
        self.answered(request.imposition, request.ctx, arrived);
    }

    /// Records that a request which arrived at `arrived` is done with:
    /// its response time and its server span.
    fn answered(&self, imposition: Imposition, ctx: TraceContext, arrived: Timestamp) {
        let took = clock::now().since(arrived);
        if let Some(m) = &self.metrics {
            if imposition == Imposition::GetRequest {
                m.response(took);
            }
        }
        self.record_span(SpanKind::Server, imposition, ctx, arrived, took);
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
        let Some(flows) = self.rt.flows() else {
            return;
        };
        if flows.sampled(ctx.trace) {
            flows.record(Span {
                trace: ctx.trace,
                id: ctx.span,
                parent: ctx.parent,
                kind,
                name: span_name(imposition),
                service: self.spec.service.clone(),
                instance: self.name.clone(),
                ipv4: self.ipv4,
                start_us: start.0 / 1_000,
                duration_us: took.as_micros() as u64,
            });
        }
    }

    /// This service's histograms, with `-c`.
    pub fn metrics(&self) -> Option<&ServiceMetrics> {
        self.metrics.as_deref()
    }

    /// Takes the pending entry a response answers.
    pub fn take_pending(&mut self, response: &Gotocol) -> Option<Pending> {
        self.pending.remove(&response.ctx.span)
    }

    /// Sends a response back to whoever asked this instance for it.
    pub fn pass_back(&mut self, response: Gotocol) {
        if let Some(p) = self.take_pending(&response) {
            self.relay(&p, response.intention);
        }
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

    /// Sends a response's value on to whoever asked this instance.
    pub fn relay(&self, pending: &Pending, value: Intention) {
        if let Some(to) = pending.requester {
            self.send(to, Imposition::GetResponse, pending.ctx, value);
        }
        self.answered(Imposition::GetRequest, pending.ctx, pending.started);
    }

    /// The request a pending entry stands for, as it arrived here; used to
    /// ask again elsewhere (staash's fall-through).
    pub fn original(&self, pending: &Pending) -> Gotocol {
        Gotocol::new(
            Imposition::GetRequest,
            pending.requester,
            pending.started,
            pending.asked.clone(),
        )
        .with_ctx(pending.ctx)
    }

    /// Gives up on requests whose answer never came; their spans are still
    /// recorded, so the flows they started stay whole.
    fn sweep(&mut self) {
        let now = clock::now();
        let mut expired = Vec::new();
        self.pending.retain(|_, p| {
            let keep = now.since(p.started) < PENDING_TIMEOUT;
            if !keep {
                expired.push((p.ctx, p.started));
            }
            keep
        });
        for (ctx, started) in expired {
            self.answered(Imposition::GetRequest, ctx, started);
        }
    }
}

/// The behaviour of the middle tiers (zuul, karyon, monolith): pass each
/// request to a random dependency and each response back to its asker; with
/// no dependency to ask, answer empty at once.
pub fn proxy(core: &mut Core, msg: Gotocol) {
    proxy_with(core, msg, Core::pick_any)
}

/// [`proxy`] with another way of picking where each request goes.
pub fn proxy_with(core: &mut Core, msg: Gotocol, pick: impl FnMut(&mut Core) -> Option<Address>) {
    match msg.imposition {
        Imposition::GetRequest | Imposition::Put => {
            let sent = core.call_with(&msg, 0, pick);
            if !sent && msg.imposition == Imposition::GetRequest {
                core.respond(&msg, Intention::None);
            }
        }
        Imposition::GetResponse => core.pass_back(msg),
        _ => {}
    }
}

/// A span's name: its imposition in lower case.
fn span_name(imposition: Imposition) -> CompactString {
    CompactString::const_new(match imposition {
        Imposition::Hello => "hello",
        Imposition::NameDrop => "namedrop",
        Imposition::Chat => "chat",
        Imposition::GoldCoin => "goldcoin",
        Imposition::Inform => "inform",
        Imposition::GetRequest => "getrequest",
        Imposition::GetResponse => "getresponse",
        Imposition::Put => "put",
        Imposition::Replicate => "replicate",
        Imposition::Forget => "forget",
        Imposition::Delete => "delete",
        Imposition::Goodbye => "goodbye",
    })
}

/// The address in graph metadata such as `IP/54.198.0.7,node/node2`.
pub fn ip_of(metadata: &str) -> Option<[u8; 4]> {
    let ip: std::net::Ipv4Addr = metadata
        .strip_prefix("IP/")?
        .split(',')
        .next()?
        .parse()
        .ok()?;
    Some(ip.octets())
}

/// What a package adds to the shared behaviour.
pub trait Behaviour: Send + Sync + 'static {
    type State: Send + 'static;

    fn init(core: &Core) -> Self::State;

    /// A request-traffic message: GetRequest, GetResponse, Put, Replicate.
    fn request(&self, core: &mut Core, state: &mut Self::State, msg: Gotocol);

    /// Chat sets (or, with no interval, stops) the instance's own traffic.
    fn chat(&self, _core: &mut Core, _state: &mut Self::State, _every: Option<Duration>) {}

    /// The traffic timer fired.
    fn tick(&self, _core: &mut Core, _state: &mut Self::State) {}

    /// Last words before leaving.
    fn goodbye(&self, _core: &mut Core, _state: &mut Self::State) {}
}

/// A service instance running package behaviour `B`.
pub struct Nanoservice<B>(pub B);

pub struct Arguments {
    pub rt: Arc<Runtime>,
    pub spec: InstanceSpec,
}

pub struct State<S> {
    pub core: Core,
    pub package: S,
}

impl<B: Behaviour> Actor for Nanoservice<B> {
    type Msg = Msg;
    type State = State<B::State>;
    type Arguments = Arguments;

    async fn pre_start(
        &self,
        _: ActorRef<Msg>,
        args: Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let core = Core::new(args.rt, args.spec);
        let package = B::init(&core);
        Ok(State { core, package })
    }

    async fn handle(
        &self,
        myself: ActorRef<Msg>,
        msg: Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let State { core, package } = state;
        core.rt.dequeued(core.me);
        let msg = match msg {
            Msg::Timer(POLL_TIMER) => {
                core.poll();
                core.sweep();
                core.rt
                    .deliver_after(core.spec.eureka_poll, core.me, Delivery::Timer(POLL_TIMER));
                return Ok(());
            }
            Msg::Timer(_) => {
                self.0.tick(core, package);
                return Ok(());
            }
            Msg::Gotocol(m) => m,
        };
        if let (Imposition::Hello, Intention::Text(name)) = (msg.imposition, &msg.intention) {
            core.name = name.clone();
        }
        if core.rt.logs_messages() {
            core.rt
                .log_received(&core.name, Some(core.location()), &msg);
        }
        match (msg.imposition, msg.intention) {
            // From asgard: this is your name; register with eureka.
            (Imposition::Hello, Intention::Text(_)) => {
                core.asgard = msg.reply_to;
                core.register();
            }
            // From eureka: you are registered; tell asgard.
            (Imposition::Hello, _) => {
                if let Some(asgard) = core.asgard {
                    core.send(
                        asgard,
                        Imposition::Hello,
                        TraceContext::NIL,
                        Intention::None,
                    );
                }
            }
            // From asgard, once the whole tier is registered: eureka is
            // ready, look for dependencies (and report when first found).
            (Imposition::NameDrop, Intention::Text(_)) => {
                core.first_poll = core.deps.len() * core.spec.registries.len();
                if core.first_poll == 0 {
                    core.report_up();
                }
                core.poll();
                core.rt
                    .deliver_after(core.spec.eureka_poll, core.me, Delivery::Timer(POLL_TIMER));
            }
            (Imposition::Inform, _) => core.edda = msg.reply_to,
            (Imposition::NameDrop, Intention::Instance { service, location }) => {
                if let Some(addr) = msg.reply_to {
                    core.adopt(addr, &service, location);
                }
            }
            (Imposition::Forget, Intention::Instance { service, .. }) => {
                if let Some(addr) = msg.reply_to {
                    core.forget(addr, &service);
                }
            }
            (Imposition::GetResponse, Intention::Poll { service, since, .. }) => {
                if let Some(registry) = msg.reply_to {
                    core.polled(registry, &service, since);
                }
            }
            (Imposition::Chat, Intention::Interval(every)) => {
                self.0
                    .chat(core, package, (!every.is_zero()).then_some(every))
            }
            (Imposition::Chat, _) => self.0.chat(core, package, None),
            (Imposition::Goodbye, intention) => {
                let exit = match intention {
                    Intention::Exit(e) => e,
                    _ => Exit::Normal,
                };
                self.0.goodbye(core, package);
                core.unregister(exit);
                if let Some(asgard) = core.asgard {
                    core.send(
                        asgard,
                        Imposition::Goodbye,
                        TraceContext::NIL,
                        Intention::Exit(exit),
                    );
                }
                myself.stop(None);
            }
            (imposition, intention) => {
                let msg = Gotocol {
                    imposition,
                    intention,
                    ..msg
                };
                let arrived = clock::now();
                let ctx = msg.ctx;
                let delivery = arrived.since(msg.sent);
                core.arrived = matches!(
                    imposition,
                    Imposition::GetRequest | Imposition::Put | Imposition::Replicate
                )
                .then_some(arrived);
                self.0.request(core, package, msg);
                core.arrived = None;
                if let Some(m) = &core.metrics {
                    m.handled(delivery, clock::now().since(arrived));
                }
                // Puts and replicates have no answer: their span ends here.
                if matches!(imposition, Imposition::Put | Imposition::Replicate) {
                    core.answered(imposition, ctx, arrived);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The picks draw from the rng exactly as collecting the candidates
    /// into a Vec and indexing it did.
    #[test]
    fn picks_match_indexing_the_live_candidates() {
        use spigo_proto::Package;
        let rt = Runtime::new(0, false);
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
        core.deps[0].adopted = vec![peer(0, true), peer(1, false), peer(2, true)];
        core.deps[2].adopted = vec![peer(3, false), peer(4, true)];
        let mut old_rng = core.rng.clone();
        let live = |core: &Core, d: usize| -> Vec<Address> {
            core.deps[d].live().map(|p| p.addr).collect()
        };
        for round in 0..200usize {
            if round == 100 {
                core.deps[1].adopted = vec![peer(5, true)];
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
        for d in &mut core.deps {
            d.adopted.clear();
        }
        let mut turn = 0;
        assert_eq!(core.round_robin(&mut turn), None);
        assert_eq!(turn, 1);
        assert_eq!(core.pick_any(), None);
        assert_eq!(core.rng.random::<u64>(), old_rng.random::<u64>());
    }

    #[test]
    fn span_names_are_impositions_in_lower_case() {
        for i in Imposition::ALL {
            assert_eq!(span_name(i), i.to_string().to_lowercase());
        }
    }
}
