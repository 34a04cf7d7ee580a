//! The per-process runtime: address table, routing, delay queue, figures.
//!
//! Every actor of a process holds an `Arc<Runtime>` and sends through it.
//! A send to a local address is one table lookup and one mailbox push; the
//! message is never serialised. A send to another node's address is queued
//! on the link to that node, whose writer batches it into a frame. Messages
//! between instances may be held back by the latency model; they, and every
//! timer an actor sets, wait in the node's one delay queue.
//!
//! This room knows nothing of packages or of sockets: the files below it
//! each own one job, and this file puts them together.

pub mod budget;
pub mod clock;
pub mod counters;
mod delay;
mod delivery;
mod fences;
pub mod flows;
pub mod latency;
pub mod links;
pub mod metrics;
mod msglog;
mod refusal;
pub mod table;
#[cfg(test)]
mod tests;

pub use counters::{EdgeCounts, LinkCounts, Overload};
pub use delivery::{Delivery, Inbox, NoTimer, Timer};

use counters::{bump, Counters};
pub use delay::TimerError;
use delay::{DelayQueue, Sink};
use delivery::TimerCode;
use fences::Fences;
use flows::Flows;
use latency::{Gate, Held};
use links::{LinkTx, Links, Outgoing};
use metrics::{Registry, ServiceMetrics, Traffic};
use msglog::MessageLog;
use ractor::{Actor, ActorCell, ActorId, ActorRef};
use refusal::Refusal;
use spigo_proto::archaius::Location;
use spigo_proto::cluster::{Envelope, Frame, MetricsReport, PairReport};
use spigo_proto::latency::LatencyModel;
use spigo_proto::{Address, Gotocol, NodeId, Reason};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use table::{AddressTable, Mailbox, TableError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no actor at {0}")]
    Unknown(Address),
    #[error("actor at {0} has stopped")]
    Stopped(Address),
    /// No link to the node: it was declared lost (fenced), or was never
    /// linked.
    #[error("no route to node {0}")]
    NoRoute(NodeId),
    /// The link to the node is down (broken, being dialled again, or given
    /// up while the node lives on).
    #[error("the link to node {0} is down")]
    LinkDown(NodeId),
    /// Refused because the receiver (or the link to it) is too far behind.
    #[error("{0} is overloaded; message shed")]
    Shed(Address),
    /// One message too big for any frame, refused before it was queued.
    #[error("a message of {bytes} bytes for {to} would not fit in a frame")]
    TooBig { to: Address, bytes: usize },
}

impl SendError {
    /// Why a request this send carried failed, as the summary counts it.
    pub fn reason(&self) -> Reason {
        match self {
            SendError::Unknown(_) | SendError::Stopped(_) | SendError::TooBig { .. } => {
                Reason::Undeliverable
            }
            SendError::NoRoute(_) => Reason::NodeLost,
            SendError::LinkDown(_) => Reason::LinkDown,
            SendError::Shed(_) => Reason::Shed,
        }
    }
}

/// An instance this many messages behind sheds new requests...
pub const MAILBOX_LIMIT: u32 = 10_000;
/// ...and so does a link with this many messages queued.
pub const LINK_LIMIT: usize = 500_000;

/// How early a message the latency model holds may leave with one due
/// before it (`delay.rs`): a sixteenth of its delay, at most 50 us. The
/// queue is served some 25 us after a deadline anyway, so a 225 us
/// in-zone hop (slack 14 us) keeps its measured median within a few
/// percent of the model, and a 43.5 ms crossing loses at most 50 us.
const HELD_SLACK_DIVISOR: u32 = 16;
const HELD_SLACK_MAX: Duration = Duration::from_micros(50);
/// The same for timers (chat ticks, traffic ticks): a sixty-fourth of the
/// wait, at most 2 ms, so 100,000 pirates ticking every 0.1 to 10 s wake
/// the queue once per batch rather than once per pirate, and a pirate's
/// interval is never more than 1.6% short.
const TIMER_SLACK_DIVISOR: u32 = 64;
const TIMER_SLACK_MAX: Duration = Duration::from_millis(2);

/// New work (requests, puts, replication) may be shed under overload;
/// answers and control messages never are.
fn sheddable(msg: &Gotocol) -> bool {
    use spigo_proto::Imposition::*;
    matches!(msg.imposition, GetRequest | Put | Replicate)
}

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("could not spawn actor: {0}")]
    Spawn(#[from] ractor::SpawnErr),
    #[error("a spawning task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// One of several instances spawned together, by name.
    #[error("cannot start {name}: {source}")]
    Instance {
        name: String,
        #[source]
        source: Box<SpawnError>,
    },
}

/// How a process's runtime is set up.
pub struct Settings {
    pub node: NodeId,
    /// spigo's `-m`: log every message received.
    pub log_messages: bool,
    /// Deliver messages between instances no earlier than this model says.
    pub latency: Option<LatencyModel>,
    /// Seeds the runtime's own random choices (latency jitter).
    pub seed: u64,
    /// `-c`: collect per-service metrics and keep this fraction of request
    /// flows as spans.
    pub collect: Option<f64>,
}

/// What waits in the delay queue: a delivery for a local actor and, for a
/// message the latency model held, what to record when it is released.
struct Scheduled {
    to: Address,
    what: Delivery<TimerCode>,
    modelled: Option<Held>,
}

pub struct Runtime {
    node: NodeId,
    table: AddressTable,
    delay: Arc<DelayQueue<Scheduled>>,
    latency: Option<Gate>,
    metrics: Registry,
    flows: Option<Flows>,
    log: MessageLog,
    next_id: AtomicU64,
    traffic: Mutex<Traffic>,
    links: Links,
    counters: Counters,
    /// The node's supervisor (`packages/supervisor.rs`), once started:
    /// every actor spawned at an address is linked under it, so a panic in
    /// a handler is seen rather than lost with its task.
    supervisor: OnceLock<ActorCell>,
    fences: Fences,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.delay.close();
    }
}

impl Sink<Scheduled> for Runtime {
    /// Hands over what the delay queue releases (past the latency model).
    fn release(&self, due: Scheduled) {
        if let (Some(gate), Some(held)) = (&self.latency, due.modelled) {
            gate.released(held);
        }
        let (refusal, message) = match &due.what {
            Delivery::Message(msg) => (Refusal::of(msg), true),
            Delivery::Timer(_) => (None, false),
        };
        let delivered = self
            .table
            .get(due.to.index)
            .is_some_and(|m| m.deliver(due.what));
        if delivered && message {
            self.counters.delivered.add_one();
        }
        if !delivered {
            bump(&self.counters.undeliverable);
            if let Some(r) = refusal {
                self.refuse(r, Reason::Undeliverable);
            }
        }
    }
}

impl Runtime {
    /// A runtime without a latency model. `log_messages` is spigo's `-m`.
    pub fn new(node: NodeId, log_messages: bool) -> Result<Arc<Runtime>, TimerError> {
        Runtime::with(Settings {
            node,
            log_messages,
            latency: None,
            seed: 0,
            collect: None,
        })
    }

    /// Creates a runtime and starts serving its delay queue, on the tokio
    /// runtime it is called in.
    pub fn with(settings: Settings) -> Result<Arc<Runtime>, TimerError> {
        let Settings {
            node,
            log_messages,
            latency,
            seed,
            collect,
        } = settings;
        let delay = DelayQueue::new()?;
        let rt = Arc::new(Runtime {
            node,
            table: AddressTable::default(),
            delay: delay.clone(),
            latency: latency.map(|m| Gate::new(m, seed ^ node as u64)),
            metrics: Registry::new(collect.is_some()),
            flows: collect.map(Flows::new),
            log: MessageLog::new(log_messages),
            next_id: AtomicU64::new(1),
            traffic: Mutex::default(),
            links: Links::default(),
            counters: Counters::default(),
            supervisor: OnceLock::new(),
            fences: Fences::default(),
        });
        delay.serve(Arc::downgrade(&rt));
        Ok(rt)
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    // ---- the address table ---------------------------------------------

    /// Reserves `n` consecutive local addresses and returns the first.
    pub fn reserve(&self, n: u32) -> Result<Address, TableError> {
        Ok(Address::new(self.node, self.table.reserve(n)?))
    }

    /// Puts an infrastructure actor's mailbox (no location: the latency
    /// model never holds its messages) at a local address.
    pub fn register<M: Inbox>(&self, at: Address, actor: &ActorRef<M>) -> Result<(), TableError> {
        self.register_at(at, actor, None)
    }

    /// Puts an actor's mailbox at a local address, with its location.
    pub fn register_at<M: Inbox>(
        &self,
        at: Address,
        actor: &ActorRef<M>,
        location: Option<Location>,
    ) -> Result<(), TableError> {
        debug_assert_eq!(at.node, self.node);
        // Addresses on cluster nodes are chosen by the coordinator.
        self.table.claim(at.index);
        self.table.set(at.index, Mailbox::new(actor, location))
    }

    /// Spawns an actor, linked under the process's supervisor, and puts it
    /// at a reserved address, with the location it runs at (instances; none
    /// for infrastructure). Its `pre_start` runs inside this call (no extra
    /// task), so spawning many actors from a few concurrent tasks keeps the
    /// number of half-started actors small.
    pub async fn spawn_at<A>(
        &self,
        at: Address,
        location: Option<Location>,
        handler: A,
        args: A::Arguments,
    ) -> Result<ActorRef<A::Msg>, SpawnError>
    where
        A: Actor,
        A::Msg: Inbox,
    {
        let (actor, _handle) = match self.supervisor.get() {
            Some(supervisor) => A::spawn_linked(None, handler, args, supervisor.clone()).await?,
            None => A::spawn(None, handler, args).await?,
        };
        self.register_at(at, &actor, location)?;
        Ok(actor)
    }

    /// [`Runtime::spawn_at`] without the link, for the FSM's pirates: a
    /// link costs every actor two supervision events and a place in the
    /// supervisor's children, a sixth of the CPU of spawning 100,000
    /// pirates. A pirate that panics tells the supervisor itself
    /// (`packages/lifecycle.rs`).
    pub async fn spawn_unlinked_at<A>(
        &self,
        at: Address,
        handler: A,
        args: A::Arguments,
    ) -> Result<ActorRef<A::Msg>, SpawnError>
    where
        A: Actor,
        A::Msg: Inbox,
    {
        let (actor, _handle) = A::spawn(None, handler, args).await?;
        self.register_at(at, &actor, None)?;
        Ok(actor)
    }

    /// Links every actor spawned from now on under `supervisor` (once; a
    /// second supervisor is refused and returned).
    pub fn supervise_with(&self, supervisor: ActorCell) -> Result<(), ActorCell> {
        self.supervisor.set(supervisor)
    }

    /// The supervisor actors spawned at an address are linked under, once
    /// started (others may link under it too).
    pub fn supervisor(&self) -> Option<ActorCell> {
        self.supervisor.get().cloned()
    }

    /// The local address of the actor `id`, if it was registered here: a
    /// scan of the table, for the rare failure that does not say who failed.
    pub fn address_of(&self, id: ActorId) -> Option<Address> {
        self.table
            .iter()
            .find(|(_, m)| m.cell().get_id() == id)
            .map(|(index, _)| Address::new(self.node, index))
    }

    /// Whether an actor was ever registered at this local address (it may
    /// have stopped since).
    pub fn exists(&self, at: Address) -> bool {
        at.node == self.node && self.table.get(at.index).is_some()
    }

    /// Number of local actors registered so far.
    pub fn registered(&self) -> u32 {
        self.table.filled()
    }

    /// An instance took a message out of its mailbox.
    pub fn dequeued(&self, me: Address) {
        if let Some(m) = self.table.get(me.index) {
            m.dequeued();
        }
    }

    // ---- sending -------------------------------------------------------

    /// Sends a Gotocol message to any address: to a local actor's mailbox
    /// (through the latency model, if any), or onto the link to its node
    /// (where it is batched with others).
    pub fn send(&self, to: Address, msg: Gotocol) -> Result<(), SendError> {
        if to.node != self.node {
            return self.send_remote(to, msg);
        }
        let Some(mailbox) = self.table.get(to.index) else {
            bump(&self.counters.undeliverable);
            return Err(SendError::Unknown(to));
        };
        if let Some(queued) = mailbox.queued() {
            Counters::saw_depth(&self.counters.deepest_mailbox, queued as usize);
            if queued > MAILBOX_LIMIT && sheddable(&msg) {
                bump(&self.counters.shed);
                return Err(SendError::Shed(to));
            }
        }
        if let Some(gate) = &self.latency {
            if let Some((wait, held)) = gate.hold(&msg, mailbox.location()) {
                let what = Delivery::Message(msg);
                let slack = (wait / HELD_SLACK_DIVISOR).min(HELD_SLACK_MAX);
                self.schedule(Instant::now() + wait, slack, to, what, Some(held));
                return Ok(());
            }
        }
        if mailbox.deliver(Delivery::Message(msg)) {
            self.counters.delivered.add_one();
            Ok(())
        } else {
            bump(&self.counters.undeliverable);
            Err(SendError::Stopped(to))
        }
    }

    /// Delivers a message that came over a link from another node. A
    /// request that cannot be delivered (its receiver stopped or is
    /// overloaded) is answered as failed, if it is a get, and counted: its
    /// sender is not waiting on this call to learn of it.
    pub fn deliver_from_link(&self, to: Address, msg: Gotocol) {
        let refusal = Refusal::of(&msg);
        if let (Err(e), Some(r)) = (self.send(to, msg), refusal) {
            self.refuse(r, e.reason());
        }
    }

    /// A request that could not be delivered: a get's asker is answered
    /// with a failure, a put is counted as failed.
    fn refuse(&self, r: Refusal, reason: Reason) {
        match r.answer(reason) {
            // An asker out of reach gives up on it after a timeout.
            Some((asker, answer)) => {
                let _ = self.send(asker, answer);
            }
            None if r.is_put() => self.put_failed(reason),
            None => {}
        }
    }

    fn send_remote(&self, to: Address, msg: Gotocol) -> Result<(), SendError> {
        if let Some(bytes) = self.links.oversize(to, &msg) {
            bump(&self.counters.oversize);
            bump(&self.counters.undeliverable);
            return Err(SendError::TooBig { to, bytes });
        }
        let sent = self.links.with(to.node, |link| {
            let queued = link.queued();
            Counters::saw_depth(&self.counters.deepest_link, queued);
            if queued > LINK_LIMIT && sheddable(&msg) {
                bump(&self.counters.shed);
                return Err(SendError::Shed(to));
            }
            if link.send(Outgoing::Message(Envelope { to, msg })) {
                Ok(())
            } else {
                Err(SendError::NoRoute(to.node))
            }
        });
        match sent {
            Some(Ok(())) => {
                bump(&self.counters.messages_out);
                Ok(())
            }
            Some(Err(shed @ SendError::Shed(_))) => Err(shed),
            Some(Err(_)) | None => {
                bump(&self.counters.undeliverable);
                let was_linked = self.links.undeliverable(to.node);
                Err(self.no_link(to.node, was_linked))
            }
        }
    }

    /// Hands `timer` to the local actor at `at` at `due` (at once if that
    /// has passed). Crate-only: an actor sets timers for itself, through
    /// its lifecycle, with its own kind's enum.
    pub(crate) fn set_timer<T: Timer>(&self, due: Instant, at: Address, timer: T) {
        debug_assert_eq!(at.node, self.node, "timers never leave a node");
        let what = Delivery::Timer(TimerCode::of(timer));
        let wait = due.saturating_duration_since(Instant::now());
        let slack = (wait / TIMER_SLACK_DIVISOR).min(TIMER_SLACK_MAX);
        self.schedule(due, slack, at, what, None);
    }

    fn schedule(
        &self,
        due: Instant,
        slack: Duration,
        to: Address,
        what: Delivery<TimerCode>,
        held: Option<Held>,
    ) {
        let entry = Scheduled {
            to,
            what,
            modelled: held,
        };
        self.delay.push(due, slack, entry);
    }

    // ---- links to other nodes ------------------------------------------

    /// Installs the link to node `node`; messages for it go there from now on.
    pub fn set_link(&self, node: NodeId, link: LinkTx) {
        self.links.set(node, link);
    }

    /// Forgets the link to a node that went away.
    pub fn remove_link(&self, node: NodeId) {
        self.links.remove(node, None);
    }

    /// Forgets link `id` to `node` unless another link has replaced it
    /// (a re-dialled one); false then.
    pub fn remove_link_if(&self, node: NodeId, id: u64) -> bool {
        if self.link_id(node).is_some_and(|current| current != id) {
            return false;
        }
        self.count_left_behind(node);
        self.links.remove(node, Some(id))
    }

    /// Drops the link to `node` as broken (silent); what was still queued
    /// on it is counted as undeliverable.
    pub fn break_link(&self, node: NodeId) {
        self.count_left_behind(node);
        self.links.remove(node, None);
    }

    /// Counts what is queued on the link to `node`, about to be dropped.
    fn count_left_behind(&self, node: NodeId) {
        let Some(queued) = self.links.with(node, LinkTx::queued) else {
            return;
        };
        if queued > 0 {
            self.counters
                .undeliverable
                .fetch_add(queued as u64, Ordering::Relaxed);
            self.links.cost(node, |c| c.undeliverable += queued as u64);
        }
    }

    /// The id of the current link to `node`, if any.
    pub fn link_id(&self, node: NodeId) -> Option<u64> {
        self.links.with(node, LinkTx::id)
    }

    /// Records that the link to `node` broke (`repaired`: came back).
    pub fn count_link_change(&self, node: NodeId, repaired: bool) {
        self.links.cost(node, |c| match repaired {
            true => c.repairs += 1,
            false => c.breaks += 1,
        });
    }

    /// What each link that was ever down cost, by peer.
    pub fn link_costs(&self) -> Vec<spigo_proto::cluster::LinkReport> {
        self.links.costs()
    }

    /// Messages for `node` that found no link so far.
    pub fn undeliverable_to(&self, node: NodeId) -> u64 {
        let mut n = 0;
        self.links.cost(node, |c| n = c.undeliverable);
        n
    }

    pub fn has_link(&self, node: NodeId) -> bool {
        self.links.with(node, |_| ()).is_some()
    }

    /// Whether a message to `to` could leave this process: it is local or
    /// its node still has a link.
    pub fn reachable(&self, to: Address) -> bool {
        to.node == self.node || self.has_link(to.node)
    }

    /// How long since `node` last sent anything over its link (None: no
    /// link).
    pub fn silent_for(&self, node: NodeId) -> Option<Duration> {
        self.links.with(node, LinkTx::silent_for)
    }

    /// The coordinator declared `node` lost: its link is dropped (what is
    /// queued on it is still written, then the writer closes), so nothing
    /// more goes there, and whatever still comes from it is refused
    /// ([`Runtime::is_fenced`]). False if it was fenced already.
    pub fn fence(&self, node: NodeId) -> bool {
        self.links.remove(node, None);
        self.fences.fence(node)
    }

    /// Whether `node` was fenced: what arrives from it is refused and
    /// counted ([`Runtime::count_fenced`]).
    pub fn is_fenced(&self, node: NodeId) -> bool {
        self.fences.contains(node)
    }

    /// Why nothing can be sent to `node`: it is lost (fenced), or only its
    /// link is down.
    fn no_link(&self, node: NodeId, was_linked: bool) -> SendError {
        match self.is_fenced(node) || !was_linked {
            true => SendError::NoRoute(node),
            false => SendError::LinkDown(node),
        }
    }

    /// Queues a whole frame on the link to `node`, behind the messages
    /// already queued there.
    pub fn send_frame(&self, node: NodeId, frame: Frame) -> Result<(), SendError> {
        match self
            .links
            .with(node, |link| link.send(Outgoing::Frame(frame)))
        {
            Some(true) => Ok(()),
            _ => Err(SendError::NoRoute(node)),
        }
    }

    // ---- figures -------------------------------------------------------

    /// Counts `n` messages received from other nodes.
    pub fn count_in(&self, n: usize) {
        self.counters
            .messages_in
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a message from another node that named another node or an
    /// actor that was never here.
    pub fn count_misaddressed(&self) {
        bump(&self.counters.misaddressed);
    }

    /// Counts a frame from another node that did not decode or broke a
    /// limit.
    pub fn count_bad_frame(&self) {
        bump(&self.counters.bad_frames);
    }

    /// Counts an edge made (or forgotten) by a local instance, so the
    /// summary has figures even when no graph is written.
    pub fn count_edge(&self, made: bool) {
        bump(if made {
            &self.counters.edges_made
        } else {
            &self.counters.edges_forgotten
        });
    }

    /// Edges made and forgotten by this node's instances.
    pub fn edge_counts(&self) -> EdgeCounts {
        self.counters.edges()
    }

    /// Messages to and from other nodes, and what was refused of theirs.
    pub fn link_counts(&self) -> LinkCounts {
        self.counters.links()
    }

    /// Messages shed under overload, and the deepest instance mailbox and
    /// link queue seen.
    pub fn overload(&self) -> Overload {
        self.counters.overload()
    }

    /// Messages that could not be delivered (receiver unknown or stopped).
    pub fn undeliverable(&self) -> u64 {
        self.counters.undeliverable()
    }

    /// Counts an actor whose handler panicked.
    pub fn count_crashed(&self) {
        bump(&self.counters.crashed);
    }

    /// Actors whose handler panicked.
    pub fn crashed(&self) -> u64 {
        self.counters.crashed()
    }

    /// Counts a frame refused because its node was fenced.
    pub fn count_fenced(&self) {
        bump(&self.counters.fenced);
    }

    /// Frames refused from fenced nodes.
    pub fn fenced(&self) -> u64 {
        self.counters.fenced()
    }

    /// Counts a put that ended here: stored, or at a tier with nowhere to
    /// pass it.
    pub fn put_delivered(&self) {
        bump(&self.counters.puts_delivered);
    }

    /// Counts a put dropped here, and why.
    pub fn put_failed(&self, reason: Reason) {
        bump(&self.counters.puts_failed[reason.index()]);
    }

    /// Counts `n` extra copies of a put, written to several stores.
    pub fn puts_forked(&self, n: u64) {
        self.counters.puts_forked.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a get of a denominator that failed, and why.
    pub fn traffic_failed(&self, reason: Reason) {
        self.traffic.lock().expect("traffic lock").failed[reason.index()] += 1;
    }

    /// Counts a request a denominator sent.
    pub fn traffic_sent(&self, get: bool) {
        let mut t = self.traffic.lock().expect("traffic lock");
        t.requests += 1;
        t.gets += u64::from(get);
    }

    /// Counts an answer a denominator got, `took` after its request.
    pub fn traffic_answered(&self, took: Duration, hit: bool) {
        self.traffic
            .lock()
            .expect("traffic lock")
            .record_response(took, hit);
    }

    /// The node's traffic figures so far.
    pub fn traffic(&self) -> Traffic {
        let mut t = self.traffic.lock().expect("traffic lock").clone();
        self.counters.puts_into(&mut t);
        t
    }

    /// The histograms instances of `service` record into, with `-c`.
    pub fn service_metrics(&self, service: &str, region: u8) -> Option<Arc<ServiceMetrics>> {
        self.metrics
            .detailed()
            .then(|| self.metrics.service(service, region))
    }

    /// The figures instances of `service` in region index `region` record
    /// into: always their requests and response times, every histogram
    /// with `-c`.
    pub fn service_figures(&self, service: &str, region: u8) -> Arc<ServiceMetrics> {
        self.metrics.service(service, region)
    }

    /// Traffic figures and per-service figures so far (delivery and
    /// service-time histograms empty without `-c`).
    pub fn metrics_report(&self) -> MetricsReport {
        MetricsReport {
            delivered: self.counters.delivered(),
            traffic: self.traffic().report(),
            services: self.metrics.services(),
        }
    }

    /// Where sampled spans go, with `-c`.
    pub fn flows(&self) -> Option<&Flows> {
        self.flows.as_ref()
    }

    /// A trace or span id unique in the whole simulation: the node id in the
    /// top 16 bits, a per-node counter below.
    pub fn next_id(&self) -> u64 {
        ((self.node as u64) << 48)
            | (self.next_id.fetch_add(1, Ordering::Relaxed) & ((1 << 48) - 1))
    }

    // ---- latency model -------------------------------------------------

    /// The latency model messages are delivered by, if any.
    pub fn latency_model(&self) -> Option<&LatencyModel> {
        self.latency.as_ref().map(Gate::model)
    }

    /// Measured delivery delays per pair of regions (empty without a model).
    pub fn latency_report(&self) -> Vec<PairReport> {
        self.latency.as_ref().map(Gate::report).unwrap_or_default()
    }

    // ---- the message log (-m) ------------------------------------------

    /// Whether `-m` asked for every received message to be logged.
    pub fn logs_messages(&self) -> bool {
        self.log.enabled()
    }

    /// Remembers an address's name for the `-m` log (a no-op without `-m`).
    pub fn note_name(&self, at: Address, name: &str) {
        self.log.note_name(at, name);
    }

    /// spigo's `-m` line for a message `name` (running at `at`) received.
    pub fn log_received(&self, name: &str, at: Option<Location>, msg: &Gotocol) {
        let model = self.latency.as_ref().and_then(|g| g.model_for(msg, at));
        self.log.received(name, msg, model);
    }
}
