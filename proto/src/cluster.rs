//! The cluster protocol: what the coordinator and node processes say to
//! each other over their TCP links.
//!
//! A link opens with a handshake that proves both ends know the cookie
//! without sending it (each side answers the other's random challenge with
//! an HMAC). After that, frames carry batches of Gotocol messages for actors
//! on the receiving node, batches of graph events for edda, requests from
//! the coordinator (join, spawn, flush, stop) with their replies, and
//! heartbeats.

use crate::latency::LatencyModel;
use crate::spec::InstanceSpec;
use crate::{Address, Gotocol, NodeId, Reason, StampedEvent, Timestamp};
use serde::{Deserialize, Serialize};

mod figures;
pub use figures::{EdgeReport, StationReport};

/// Messages per Messages frame at most; a link sends a frame when it has
/// this many queued or nothing more is waiting.
pub const MAX_BATCH: usize = 1024;
/// Graph events per Events frame at most.
pub const MAX_EVENTS: usize = 4096;
/// Spans per Spans frame at most.
pub const MAX_SPANS: usize = 10_000;

/// Decodes one frame from a peer and checks it against the limits: the
/// single entry point for untrusted bytes (and the fuzz target's).
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, crate::wire::WireError> {
    let frame: Frame = crate::wire::decode(bytes)?;
    let (what, len, max) = match &frame {
        Frame::Messages(m) => ("messages", m.len(), MAX_BATCH),
        Frame::Events(e) => ("graph events", e.len(), MAX_EVENTS),
        Frame::Spans(s) => ("spans", s.len(), MAX_SPANS),
        Frame::Request {
            body: Request::Join(order),
            ..
        } => {
            check_join(order).map_err(crate::wire::WireError::Invalid)?;
            return Ok(frame);
        }
        _ => return Ok(frame),
    };
    if len > max {
        return Err(crate::wire::WireError::Batch { what, len, max });
    }
    Ok(frame)
}

/// The numbers in a Join that a node would otherwise trust blindly.
fn check_join(order: &JoinOrder) -> Result<(), String> {
    if let Some(model) = &order.latency {
        model.check()?;
    }
    if order.heartbeat_timeout.is_zero() || order.heartbeat_timeout > MAX_HEARTBEAT_TIMEOUT {
        return Err(format!(
            "heartbeat timeout {:?} is not from 0 to {MAX_HEARTBEAT_TIMEOUT:?}",
            order.heartbeat_timeout
        ));
    }
    match order.collect {
        Some(p) if !(0.0..=1.0).contains(&p) => Err(format!("trace sample {p} is not from 0 to 1")),
        _ => Ok(()),
    }
}

/// The longest heartbeat timeout a node accepts: a day (a longer one is
/// a mistake, and a node must not wait forever for a coordinator).
pub const MAX_HEARTBEAT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Every node's edda shard sits at this index of its address table.
pub const EDDA_SHARD_INDEX: u32 = 0;
/// The coordinator places actors on a node from this index up.
pub const FIRST_FREE_INDEX: u32 = 1;

/// A message on its way to an actor on another node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The actor it is for, on the receiving node.
    pub to: Address,
    /// The message itself, as that actor will receive it.
    pub msg: Gotocol,
}

/// Who opened a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// The coordinator, come to give this node its orders.
    Coordinator,
    /// Another node of the same simulation, by its node id.
    Node(NodeId),
}

/// Why a listener refused a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The dialer's proof does not match the listener's cookie.
    #[error("wrong cookie")]
    WrongCookie,
    /// A node serves one coordinator at a time.
    #[error("this node already has a coordinator")]
    HasCoordinator,
    /// A node dialled a peer that has no node id yet: its coordinator's
    /// Join is still on the way, so the dialer tries again shortly.
    #[error("not joined yet")]
    NotJoinedYet,
    /// The dialer speaks TLS and this listener plain frames (the dialer's
    /// TLS library reads this refusal as "not TLS", which is the point).
    #[error("this end does not speak TLS")]
    NoTls,
    /// The dialer's Hello carried another wire version; the dialer cannot
    /// decode this refusal either, and says which version it got.
    #[error("another wire version")]
    WireVersion,
}

/// One unit of a link: the handshake first (Hello through Welcome, or
/// Refused), then traffic both ways until the link closes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    /// Dialer: who I am.
    Hello {
        /// What the dialer is, so the listener can admit or refuse it.
        role: Role,
        /// The name the dialer goes by, for the listener's logs.
        name: String,
    },
    /// Listener: prove you know the cookie.
    Challenge {
        /// Fresh random bytes, so an old proof cannot be replayed.
        nonce: [u8; 32],
    },
    /// Dialer: the proof, and my own challenge.
    Proof {
        /// HMAC of the listener's nonce, keyed by the cookie.
        mac: Vec<u8>,
        /// The dialer's challenge: the listener proves the cookie too.
        nonce: [u8; 32],
    },
    /// Listener: accepted, with its proof.
    Welcome {
        /// HMAC of the dialer's nonce, keyed by the cookie.
        mac: Vec<u8>,
        /// The name the listener goes by.
        name: String,
    },
    /// Listener: not accepted, and why.
    Refused {
        /// What the listener found wrong.
        reason: Refusal,
    },
    /// Gotocol messages for actors on the receiving node, at most
    /// [`MAX_BATCH`].
    Messages(Vec<Envelope>),
    /// Graph events for the coordinator's edda, at most [`MAX_EVENTS`].
    Events(Vec<StampedEvent>),
    /// Finished spans of sampled request flows, for the flow file.
    Spans(Vec<Span>),
    /// Coordinator: an order, answered by the Reply with the same `id`.
    Request {
        /// Pairs the reply with its request, so several can be outstanding.
        id: u64,
        /// What the node is to do.
        body: Request,
    },
    /// Node: the answer to the Request with the same `id`.
    Reply {
        /// The id of the request answered.
        id: u64,
        /// The outcome.
        body: Reply,
    },
    /// Are you there? Every end of every link pings the other; a peer
    /// silent for longer than the heartbeat timeout is lost.
    Ping(u64),
    /// Still here, with the number of the ping answered.
    Pong(u64),
    /// Node to coordinator: my link to another node has been down for
    /// the heartbeat timeout and re-dialling has not brought it back.
    LinkDown(LinkDown),
}

/// A node's report of a link to a peer node that stayed down (the body
/// of [`Frame::LinkDown`]); the coordinator decides what it means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDown {
    /// The node reporting.
    pub from: NodeId,
    /// The peer it cannot reach.
    pub to: NodeId,
    /// Messages for `to` that could not be sent so far.
    pub undeliverable: u64,
    /// How long since `from` last heard `to`, in milliseconds.
    pub silent_ms: u64,
}

/// The coordinator's orders to a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Become node `node` of a simulation; link to the peers listed.
    Join(JoinOrder),
    /// Spawn pirates at `count` consecutive addresses from `first`.
    SpawnPirates {
        /// The address of the first pirate.
        first: Address,
        /// How many pirates.
        count: u32,
        /// Seeds the pirates' random choices, so a run can be repeated.
        seed: u64,
    },
    /// Spawn service instances, each at the address its spec gives.
    SpawnInstances(Vec<InstanceSpec>),
    /// Spawn eureka registries at these addresses.
    SpawnRegistries(Vec<Address>),
    /// Spawn the actors of a link benchmark (`spigo bench link`).
    SpawnBench(Vec<BenchSpec>),
    /// What time is it on the node (for the clock offset estimate)?
    Clock,
    /// The node's clock is this many nanoseconds ahead of the
    /// coordinator's: subtract it from every time it reads.
    SetClock(i64),
    /// The node's per-service metrics so far (for the live endpoints).
    Metrics,
    /// Send every pending graph event and span, then report.
    Flush,
    /// Leave the simulation and exit.
    Stop,
    /// The coordinator declared this node lost: refuse (and count)
    /// whatever it still sends, and send it nothing more. Sent to the lost
    /// node too, in case it hears: it has been fenced, and exits.
    Fence(NodeId),
}

/// What a node needs to join a simulation (the body of [`Request::Join`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinOrder {
    /// The id the node takes: the node part of every address it owns.
    pub node: NodeId,
    /// Log every message received (`-m`).
    pub msglog: bool,
    /// The other nodes and where they listen; a node dials those with a
    /// higher id, the others dial it.
    pub peers: Vec<(NodeId, String)>,
    /// The latency model every message is delivered by, if any.
    pub latency: Option<LatencyModel>,
    /// Seeds the node's random choices (latency jitter).
    pub seed: u64,
    /// `-c`: collect metrics, keeping this fraction of flows.
    pub collect: Option<f64>,
    /// `--heartbeat-timeout`: a node that hears nothing from its
    /// coordinator for this long stops and exits; a link to a peer node
    /// silent this long is reported to the coordinator.
    pub heartbeat_timeout: std::time::Duration,
}

/// An actor of the link benchmark, and where it goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchSpec {
    /// Where it goes.
    pub at: Address,
    /// Which actor it is.
    pub kind: BenchKind,
}

/// The actors of a link benchmark: a blaster and a sink measure one-way
/// throughput, a pinger and an echo request and response.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum BenchKind {
    /// Counts what it receives; says Goodbye to `report_to` at `expected`.
    Sink {
        /// How many messages make the run complete.
        expected: u64,
        /// Who is told when they have all arrived.
        report_to: Address,
    },
    /// On Chat, sends `count` messages to `target` as fast as it can.
    Blaster {
        /// The sink it floods.
        target: Address,
        /// How many messages it sends.
        count: u64,
    },
    /// Answers every GetRequest.
    Echo,
    /// On Chat, keeps `window` GetRequests to `target` outstanding until
    /// `count` are answered, then says Goodbye to `report_to`.
    Pinger {
        /// The echo it asks.
        target: Address,
        /// How many answers end the run.
        count: u64,
        /// How many requests are in flight at once.
        window: u32,
        /// Who is told when the run is over.
        report_to: Address,
    },
}

/// A node's answers to its coordinator's orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// Joined, and linked to the peers it dials.
    Joined {
        /// The node's process id, for the coordinator's log.
        pid: u32,
        /// The bytes the node can still take (its `--max-memory` less what
        /// it uses, or its machine's available memory), for placing work.
        capacity: u64,
    },
    /// Done as ordered: a spawn, a clock setting, a stop.
    Done,
    /// The node's clock when it answered [`Request::Clock`].
    Clock(Timestamp),
    /// The figures asked for by [`Request::Metrics`].
    Metrics(MetricsReport),
    /// Everything pending is sent (the spans ahead of this reply); the
    /// node's figures so far (boxed: the report is by far the largest
    /// reply, and every frame would otherwise be its size).
    Flushed(Box<NodeReport>),
    /// The order could not be carried out, and why.
    Failed(Failure),
}

/// Why a node could not do what its coordinator asked. `node` is the name
/// the node goes by; the causes that come from elsewhere (a socket, an
/// actor that would not start) travel as their text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum Failure {
    /// A second Join.
    #[error("{node} has already joined")]
    AlreadyJoined {
        /// The node's name.
        node: String,
    },
    /// Joining, it could not link to a peer node.
    #[error("node {id} cannot link to node {peer} at {addr}: {why}")]
    PeerUnreachable {
        /// The id of the node joining.
        id: NodeId,
        /// The peer it could not reach.
        peer: NodeId,
        /// Where that peer was said to listen.
        addr: String,
        /// The link error, as text.
        why: String,
    },
    /// The work would not fit in its memory budget.
    #[error("{node}: {over}")]
    OverBudget {
        /// The node's name.
        node: String,
        /// What was asked for, and how far it overran.
        over: crate::capacity::OverBudget,
    },
    /// An actor it was to spawn did not start.
    #[error("{node}: {why}")]
    Spawn {
        /// The node's name.
        node: String,
        /// Why the actor did not start, as text.
        why: String,
    },
}

/// A node's figures at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Graph events sent to the coordinator's edda.
    pub events_sent: u64,
    /// Requests shed because an instance or a link was too far behind.
    pub shed: u64,
    /// The deepest instance mailbox seen.
    pub deepest_mailbox: u64,
    /// The deepest queue seen on a link to another process.
    pub deepest_link: u64,
    /// Graph edges its instances made.
    pub edges_made: u64,
    /// Graph edges its instances forgot (stopped using the target).
    pub edges_forgotten: u64,
    /// Messages whose receiver was unknown, stopped, or out of reach.
    pub undeliverable: u64,
    /// Frames or messages refused as malformed or misaddressed.
    pub refused: u64,
    /// Messages refused where they were sent because one alone would not
    /// fit in a frame (also counted in `undeliverable`).
    pub oversize: u64,
    /// Per peer node whose link broke at some point: what it cost.
    pub links: Vec<LinkReport>,
    /// Messages received from other nodes.
    pub messages_in: u64,
    /// Messages sent to other nodes.
    pub messages_out: u64,
    /// Measured delays per pair of regions, under a latency model.
    pub latency: Vec<PairReport>,
    /// Traffic figures and per-service figures (boxed: the frame that
    /// carries a report stays small).
    pub metrics: Box<MetricsReport>,
    /// Peak resident memory of the node process in bytes (0 where the OS
    /// does not tell).
    pub peak_rss: u64,
    /// Instances whose handler panicked (their supervisor recorded them
    /// done with exit `crashed`).
    pub crashed: u64,
    /// Frames refused because they came from a node the coordinator had
    /// declared lost (fenced).
    pub fenced: u64,
}

/// What the link to one peer node cost while it was down.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    /// The peer node.
    pub peer: NodeId,
    /// Messages for it that could not be sent (also counted in the
    /// node's `undeliverable`).
    pub undeliverable: u64,
    /// Times the link broke.
    pub breaks: u64,
    /// Times it was re-established.
    pub repairs: u64,
}

/// How far a message went.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Reach {
    /// Within one zone.
    #[default]
    Zone,
    /// Between zones of one region.
    CrossZone,
    /// Between regions.
    Region,
}

/// Measured delivery delay of the messages from one region to another.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairReport {
    /// The sending region, as an index into the configured regions
    /// (global instances count as the first).
    pub from: u8,
    /// The receiving region, likewise.
    pub to: u8,
    /// How far apart the two ends were.
    pub reach: Reach,
    /// The model's one-way figure, in nanoseconds.
    pub model_us: u64,
    /// Messages whose transport alone took longer than the model.
    pub late: u64,
    /// Delivery delays as recorded (microseconds, count) pairs.
    pub delay: Vec<(u64, u64)>,
}

/// Traffic figures: counts and the response-time histogram as recorded
/// (value in microseconds, count) pairs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficReport {
    /// Requests the node's denominators (the traffic sources) sent.
    pub requests: u64,
    /// GetRequests among `requests` (Puts get no response).
    pub gets: u64,
    /// Answers the denominators got.
    pub responses: u64,
    /// Responses that carried a value.
    pub hits: u64,
    /// Response times of answered GetRequests.
    pub latency: Vec<(u64, u64)>,
    /// GetRequests of the denominators that failed, by reason (a failure
    /// answer came back, the denominator could not send it, or gave up
    /// waiting); each get is counted once, as answered or as failed.
    pub failed: Vec<(Reason, u64)>,
    /// Puts that reached the instance storing them (or a tier with nowhere
    /// to pass them), counted where they ended.
    pub puts_delivered: u64,
    /// Puts dropped on the way, by reason, counted where it happened.
    pub puts_failed: Vec<(Reason, u64)>,
    /// Extra puts made by instances that write one put to several stores
    /// (staash writes to its cache and its database): each copy is
    /// delivered or fails on its own, so it counts as a put sent.
    pub puts_forked: u64,
}

/// A histogram as recorded (value, count) pairs, in nanoseconds.
pub type Recorded = Vec<(u64, u64)>;

/// A node's traffic figures and (with `-c`) per-service histograms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// Messages (not timers) handed to the node's actors' mailboxes: each
    /// message is counted once, by the node it was delivered on.
    pub delivered: u64,
    /// What the node's denominators sent and got back.
    pub traffic: TrafficReport,
    /// One entry per service on the node; empty without `-c`.
    pub services: Vec<ServiceReport>,
}

/// One service's histograms on one node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceReport {
    /// The service's name.
    pub service: String,
    /// Index of the region its instances here run in (into the run's
    /// `Config::regions`), or `archaius::ANY` for global instances: a
    /// service deployed in three regions reports three entries, so
    /// `/metrics` can label them by region.
    pub region: u8,
    /// Requests (gets and puts) the service's instances received.
    pub requests: u64,
    /// From a message's send time to its receiver handling it.
    pub delivery: Recorded,
    /// Time an instance spends handling one message.
    pub service_time: Recorded,
    /// From a request arriving at an instance to its answer leaving.
    pub response: Recorded,
    /// Requests its instances answered as failed (or, for puts, dropped),
    /// by reason, zeros left out: refused here or failed further down.
    pub failed: Vec<(crate::Reason, u64)>,
    /// What its instances' work models did (all zero when it has none).
    pub station: StationReport,
    /// Its calls to each dependency it has resilience settings for (see
    /// [`crate::resilience`]), by dependency name.
    pub edges: Vec<(String, EdgeReport)>,
}

/// Which end of a call a span times, as Zipkin has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpanKind {
    /// The caller: from sending the request to its answer.
    Client,
    /// The callee: from the request arriving to its answer leaving.
    Server,
    /// The sender of fire-and-forget work (a put, a replication): over
    /// as the message leaves, while the work it started goes on. Zipkin
    /// lets a producer's consumers outlive it; a client's servers may not.
    Producer,
    /// The instance doing fire-and-forget work, from its arrival until it
    /// is done (passed on or stored).
    Consumer,
}

impl SpanKind {
    /// The kind a span of `end` (`Client` or `Server`) takes for a call
    /// that is answered (`true`) or fire-and-forget (`false`).
    pub fn of_call(end: SpanKind, answered: bool) -> SpanKind {
        match (end, answered) {
            (SpanKind::Client, false) => SpanKind::Producer,
            (SpanKind::Server, false) => SpanKind::Consumer,
            (kind, _) => kind,
        }
    }
}

/// One timed hop of a request flow (a Zipkin span).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The request flow it belongs to, shared by all its spans.
    pub trace: u64,
    /// This span, unique across the simulation.
    pub id: u64,
    /// 0 for a trace's root.
    pub parent: u64,
    /// Which end of the call it times.
    pub kind: SpanKind,
    /// What was asked: getrequest, put, replicate.
    pub name: compact_str::CompactString,
    /// The service of the instance that recorded it.
    pub service: compact_str::CompactString,
    /// The instance that recorded it.
    pub instance: compact_str::CompactString,
    /// The instance's IP address from its graph metadata, if it has one.
    pub ipv4: Option<[u8; 4]>,
    /// Microseconds since the UNIX epoch.
    pub start_us: u64,
    /// How long it took, in nanoseconds.
    pub duration_us: u64,
}
