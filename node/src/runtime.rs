//! The per-process runtime: address table, routing, timers, message log.
//!
//! Every actor of a process holds an `Arc<Runtime>` and sends through it.
//! A send to a local address is one table lookup and one mailbox push; the
//! message is never serialised. A send to another node's address is queued
//! on the link to that node, whose writer batches it into a frame.

use crate::flows::Flows;
use crate::latency::Gate;
pub use crate::latency::Held;
use crate::link::{LinkTx, Outgoing};
use crate::metrics::{Registry, ServiceMetrics, Traffic};
use crate::table::{AddressTable, Mailbox, TableError};
use crate::timers::{TimerEntry, Timers};
use crate::Delivery;
use compact_str::CompactString;
use ractor::{Actor, ActorRef, Message};
use spigo_proto::archaius::Location;
use spigo_proto::cluster::{Envelope, Frame, MetricsReport, PairReport};
use spigo_proto::latency::LatencyModel;
use spigo_proto::time::GoDuration;
use spigo_proto::{Address, Gotocol, NodeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no actor at {0}")]
    Unknown(Address),
    #[error("actor at {0} has stopped")]
    Stopped(Address),
    #[error("no route to node {0}")]
    NoRoute(NodeId),
    /// Refused because the receiver (or the link to it) is too far behind.
    #[error("{0} is overloaded; message shed")]
    Shed(Address),
}

/// An instance this many messages behind sheds new requests...
pub const MAILBOX_LIMIT: u32 = 10_000;
/// ...and so does a link with this many messages queued.
pub const LINK_LIMIT: usize = 500_000;

/// New work (requests, puts, replication) may be shed under overload;
/// answers and control messages never are.
fn sheddable(msg: &Gotocol) -> bool {
    use spigo_proto::Imposition::*;
    matches!(msg.imposition, GetRequest | Put | Replicate)
}

/// How close the node came to being overrun.
#[derive(Default)]
struct Overload {
    shed: AtomicU64,
    /// Deepest instance mailbox and link queue seen.
    mailbox: AtomicUsize,
    link_queue: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("could not spawn actor: {0}")]
    Spawn(#[from] ractor::SpawnErr),
    #[error("a spawning task failed: {0}")]
    Task(String),
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

pub struct Runtime {
    node: NodeId,
    table: AddressTable,
    timers: Arc<Timers>,
    latency: Option<Gate>,
    metrics: Option<Registry>,
    flows: Option<Flows>,
    timer_seq: AtomicU64,
    log_messages: bool,
    /// Names of addresses, kept only for `-m` so its lines can say who a
    /// NameDrop or reply is about.
    names: Mutex<HashMap<Address, CompactString>>,
    undeliverable: AtomicU64,
    next_id: AtomicU64,
    traffic: Mutex<Traffic>,
    edges_made: AtomicU64,
    edges_forgotten: AtomicU64,
    /// Links to other nodes, by node id.
    links: RwLock<Vec<Option<LinkTx>>>,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    refused: AtomicU64,
    refused_frames: AtomicU64,
    overload: Overload,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.timers.close();
    }
}

impl Runtime {
    /// A runtime without a latency model. `log_messages` is spigo's `-m`.
    pub fn new(node: NodeId, log_messages: bool) -> Arc<Runtime> {
        Runtime::with(Settings {
            node,
            log_messages,
            latency: None,
            seed: 0,
            collect: None,
        })
    }

    /// Creates a runtime and starts its timer thread.
    pub fn with(settings: Settings) -> Arc<Runtime> {
        let Settings {
            node,
            log_messages,
            latency,
            seed,
            collect,
        } = settings;
        Arc::new_cyclic(|me| Runtime {
            node,
            table: AddressTable::default(),
            timers: Timers::start(me.clone()),
            latency: latency.map(|m| Gate::new(m, seed ^ node as u64)),
            metrics: collect.map(|_| Registry::default()),
            flows: collect.map(Flows::new),
            timer_seq: AtomicU64::new(0),
            log_messages,
            names: Mutex::default(),
            undeliverable: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            traffic: Mutex::default(),
            edges_made: AtomicU64::new(0),
            edges_forgotten: AtomicU64::new(0),
            links: RwLock::default(),
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            refused_frames: AtomicU64::new(0),
            overload: Overload::default(),
        })
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Reserves `n` consecutive local addresses and returns the first.
    pub fn reserve(&self, n: u32) -> Result<Address, TableError> {
        Ok(Address::new(self.node, self.table.reserve(n)?))
    }

    /// Puts an infrastructure actor's mailbox (no location: the latency
    /// model never holds its messages) at a local address.
    pub fn register<M: Message + From<Delivery>>(
        &self,
        at: Address,
        actor: &ActorRef<M>,
    ) -> Result<(), TableError> {
        self.register_at(at, actor, None)
    }

    /// Puts an actor's mailbox at a local address, with its location.
    pub fn register_at<M: Message + From<Delivery>>(
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

    /// Spawns an actor and puts it at a reserved address. Its `pre_start`
    /// runs inside this call (no extra task), so spawning many actors from
    /// a few concurrent tasks keeps the number of half-started actors small.
    pub async fn spawn_at<A>(
        &self,
        at: Address,
        handler: A,
        args: A::Arguments,
    ) -> Result<(), SpawnError>
    where
        A: Actor,
        A::Msg: From<Delivery>,
    {
        self.spawn_located(at, None, handler, args).await
    }

    /// Spawns an instance that runs at `location` (see [`Runtime::spawn_at`]).
    pub async fn spawn_located<A>(
        &self,
        at: Address,
        location: Option<Location>,
        handler: A,
        args: A::Arguments,
    ) -> Result<(), SpawnError>
    where
        A: Actor,
        A::Msg: From<Delivery>,
    {
        let (actor, _handle) = A::spawn(None, handler, args).await?;
        self.register_at(at, &actor, location)?;
        Ok(())
    }

    /// Sends a Gotocol message to any address.
    pub fn send(&self, to: Address, msg: Gotocol) -> Result<(), SendError> {
        self.deliver(to, Delivery::Message(msg))
    }

    /// Hands a delivery to a local actor, or a message to the link to its
    /// node (where it is batched with others; timers never leave a node).
    pub fn deliver(&self, to: Address, what: Delivery) -> Result<(), SendError> {
        if to.node != self.node {
            let Delivery::Message(msg) = what else {
                return Err(SendError::NoRoute(to.node));
            };
            let links = self.links.read().expect("links lock");
            let Some(link) = links.get(to.node as usize).and_then(Option::as_ref) else {
                self.undeliverable.fetch_add(1, Ordering::Relaxed);
                return Err(SendError::NoRoute(to.node));
            };
            let queued = link.queued();
            self.overload
                .link_queue
                .fetch_max(queued, Ordering::Relaxed);
            if queued > LINK_LIMIT && sheddable(&msg) {
                self.overload.shed.fetch_add(1, Ordering::Relaxed);
                return Err(SendError::Shed(to));
            }
            if !link.send(Outgoing::Message(Envelope { to, msg })) {
                self.undeliverable.fetch_add(1, Ordering::Relaxed);
                return Err(SendError::NoRoute(to.node));
            }
            self.messages_out.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let Some(mailbox) = self.table.get(to.index) else {
            self.undeliverable.fetch_add(1, Ordering::Relaxed);
            return Err(SendError::Unknown(to));
        };
        if let (Some(queued), Delivery::Message(msg)) = (mailbox.queued(), &what) {
            self.overload
                .mailbox
                .fetch_max(queued as usize, Ordering::Relaxed);
            if queued > MAILBOX_LIMIT && sheddable(msg) {
                self.overload.shed.fetch_add(1, Ordering::Relaxed);
                return Err(SendError::Shed(to));
            }
        }
        if let (Some(gate), Delivery::Message(msg)) = (&self.latency, &what) {
            if let Some((wait, held)) = gate.hold(msg, mailbox.location()) {
                self.schedule(Instant::now() + wait, to, what, Some(held));
                return Ok(());
            }
        }
        if mailbox.deliver(what) {
            Ok(())
        } else {
            self.undeliverable.fetch_add(1, Ordering::Relaxed);
            Err(SendError::Stopped(to))
        }
    }

    /// Delivers `what` to `to` after `delay`, through the node's delay queue.
    pub fn deliver_after(&self, delay: Duration, to: Address, what: Delivery) {
        self.deliver_at(Instant::now() + delay, to, what);
    }

    /// Delivers `what` to `to` at `due` (at once if that has passed).
    pub fn deliver_at(&self, due: Instant, to: Address, what: Delivery) {
        self.schedule(due, to, what, None);
    }

    fn schedule(&self, due: Instant, to: Address, what: Delivery, modelled: Option<Held>) {
        let entry = TimerEntry {
            due,
            seq: self.timer_seq.fetch_add(1, Ordering::Relaxed),
            to,
            what,
            modelled,
        };
        self.timers.push(entry);
    }

    /// Hands over what the timer thread releases (past the latency model).
    pub(crate) fn release(&self, entry: TimerEntry) {
        if let (Some(gate), Some(held)) = (&self.latency, entry.modelled) {
            gate.released(held);
        }
        let delivered = self
            .table
            .get(entry.to.index)
            .is_some_and(|m| m.deliver(entry.what));
        if !delivered {
            self.undeliverable.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The histograms instances of `service` record into, with `-c`.
    pub fn service_metrics(&self, service: &str) -> Option<Arc<ServiceMetrics>> {
        self.metrics.as_ref().map(|r| r.service(service))
    }

    /// Traffic figures and per-service histograms so far (no histograms
    /// without `-c`).
    pub fn metrics_report(&self) -> MetricsReport {
        MetricsReport {
            traffic: self.traffic().report(),
            services: self
                .metrics
                .as_ref()
                .map(Registry::services)
                .unwrap_or_default(),
        }
    }

    /// Where sampled spans go, with `-c`.
    pub fn flows(&self) -> Option<&Flows> {
        self.flows.as_ref()
    }

    /// The latency model messages are delivered by, if any.
    pub fn latency_model(&self) -> Option<&LatencyModel> {
        self.latency.as_ref().map(Gate::model)
    }

    /// Measured delivery delays per pair of regions (empty without a model).
    pub fn latency_report(&self) -> Vec<PairReport> {
        self.latency.as_ref().map(Gate::report).unwrap_or_default()
    }

    /// A trace or span id unique in the whole simulation: the node id in the
    /// top 16 bits, a per-node counter below.
    pub fn next_id(&self) -> u64 {
        ((self.node as u64) << 48)
            | (self.next_id.fetch_add(1, Ordering::Relaxed) & ((1 << 48) - 1))
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

    /// Counts an edge made (or forgotten) by a local instance, so the
    /// summary has figures even when no graph is written.
    pub fn count_edge(&self, made: bool) {
        let counter = if made {
            &self.edges_made
        } else {
            &self.edges_forgotten
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Edges made and forgotten by this node's instances.
    pub fn edge_counts(&self) -> (u64, u64) {
        (
            self.edges_made.load(Ordering::Relaxed),
            self.edges_forgotten.load(Ordering::Relaxed),
        )
    }

    /// The node's traffic figures so far.
    pub fn traffic(&self) -> Traffic {
        self.traffic.lock().expect("traffic lock").clone()
    }

    /// Installs the link to node `node`; messages for it go there from now on.
    pub fn set_link(&self, node: NodeId, link: LinkTx) {
        let mut links = self.links.write().expect("links lock");
        if links.len() <= node as usize {
            links.resize(node as usize + 1, None);
        }
        links[node as usize] = Some(link);
    }

    /// Forgets the link to a node that went away.
    pub fn remove_link(&self, node: NodeId) {
        if let Some(slot) = self
            .links
            .write()
            .expect("links lock")
            .get_mut(node as usize)
        {
            *slot = None;
        }
    }

    /// Whether a message to `to` could leave this process: it is local or
    /// its node still has a link.
    pub fn reachable(&self, to: Address) -> bool {
        to.node == self.node || self.has_link(to.node)
    }

    /// How long since `node` last sent anything over its link (None: no
    /// link).
    pub fn silent_for(&self, node: NodeId) -> Option<Duration> {
        self.links
            .read()
            .expect("links lock")
            .get(node as usize)
            .and_then(Option::as_ref)
            .map(LinkTx::silent_for)
    }

    pub fn has_link(&self, node: NodeId) -> bool {
        self.links
            .read()
            .expect("links lock")
            .get(node as usize)
            .is_some_and(Option::is_some)
    }

    /// Queues a whole frame on the link to `node`, behind the messages
    /// already queued there.
    pub fn send_frame(&self, node: NodeId, frame: Frame) -> Result<(), SendError> {
        let links = self.links.read().expect("links lock");
        match links.get(node as usize).and_then(Option::as_ref) {
            Some(link) if link.send(Outgoing::Frame(frame)) => Ok(()),
            _ => Err(SendError::NoRoute(node)),
        }
    }

    pub fn count_in(&self, n: usize) {
        self.messages_in.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn count_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_refused_frame(&self) {
        self.refused_frames.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames refused from other nodes.
    pub fn refused_frames(&self) -> u64 {
        self.refused_frames.load(Ordering::Relaxed)
    }

    /// Messages shed under overload, and the deepest instance mailbox and
    /// link queue seen.
    pub fn overload(&self) -> (u64, usize, usize) {
        (
            self.overload.shed.load(Ordering::Relaxed),
            self.overload.mailbox.load(Ordering::Relaxed),
            self.overload.link_queue.load(Ordering::Relaxed),
        )
    }

    /// An instance took a message out of its mailbox.
    pub fn dequeued(&self, me: Address) {
        if let Some(m) = self.table.get(me.index) {
            m.dequeued();
        }
    }

    /// Whether an actor was ever registered at this local address (it may
    /// have stopped since).
    pub fn exists(&self, at: Address) -> bool {
        at.node == self.node && self.table.get(at.index).is_some()
    }

    /// Messages received from and sent to other nodes, and messages refused
    /// because they named another node.
    pub fn link_counts(&self) -> (u64, u64, u64) {
        (
            self.messages_in.load(Ordering::Relaxed),
            self.messages_out.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }

    /// Messages that could not be delivered (receiver unknown or stopped).
    pub fn undeliverable(&self) -> u64 {
        self.undeliverable.load(Ordering::Relaxed)
    }

    /// Number of local actors registered so far.
    pub fn registered(&self) -> u32 {
        self.table.filled()
    }

    /// Whether `-m` asked for every received message to be logged.
    pub fn logs_messages(&self) -> bool {
        self.log_messages
    }

    /// Remembers an address's name for the `-m` log (a no-op without `-m`).
    pub fn note_name(&self, at: Address, name: &str) {
        if self.log_messages {
            self.names
                .lock()
                .expect("names lock")
                .insert(at, name.into());
        }
    }

    /// spigo's `-m` line: `<name>: gotocol: <delay> <Imposition> <intention>`;
    /// a message without an intention shows who its reply-to is. With a
    /// latency model the delay is followed by the model's figure.
    pub fn log_received(&self, name: &str, at: Option<Location>, msg: &Gotocol) {
        let took = GoDuration(crate::clock::now().since(msg.sent));
        let delay = match self.latency.as_ref().and_then(|g| g.model_for(msg, at)) {
            Some(model) => format!("{took} (model {})", GoDuration(model)),
            None => took.to_string(),
        };
        let imposition = msg.imposition;
        match (&msg.intention, msg.reply_to) {
            (spigo_proto::Intention::None, Some(from)) => {
                let names = self.names.lock().expect("names lock");
                match names.get(&from) {
                    Some(other) => tracing::info!("{name}: gotocol: {delay} {imposition} {other}"),
                    None => tracing::info!("{name}: gotocol: {delay} {imposition} {from}"),
                }
            }
            (intention, _) => tracing::info!("{name}: gotocol: {delay} {imposition} {intention}"),
        }
    }
}
