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
use crate::{Address, Gotocol, NodeId, StampedEvent, Timestamp};
use serde::{Deserialize, Serialize};

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
    match order.collect {
        Some(p) if !(0.0..=1.0).contains(&p) => Err(format!("trace sample {p} is not from 0 to 1")),
        _ => Ok(()),
    }
}

/// Every node's edda shard sits at this index of its address table.
pub const EDDA_SHARD_INDEX: u32 = 0;
/// The coordinator places actors on a node from this index up.
pub const FIRST_FREE_INDEX: u32 = 1;

/// A message on its way to an actor on another node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub to: Address,
    pub msg: Gotocol,
}

/// Who opened a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    /// Dialer: who I am.
    Hello {
        role: Role,
        name: String,
    },
    /// Listener: prove you know the cookie.
    Challenge {
        nonce: [u8; 32],
    },
    /// Dialer: the proof, and my own challenge.
    Proof {
        mac: Vec<u8>,
        nonce: [u8; 32],
    },
    /// Listener: accepted, with its proof.
    Welcome {
        mac: Vec<u8>,
        name: String,
    },
    /// Listener: not accepted, and why.
    Refused {
        reason: Refusal,
    },
    Messages(Vec<Envelope>),
    Events(Vec<StampedEvent>),
    /// Finished spans of sampled request flows, for the flow file.
    Spans(Vec<Span>),
    Request {
        id: u64,
        body: Request,
    },
    Reply {
        id: u64,
        body: Reply,
    },
    Ping(u64),
    Pong(u64),
}

/// The coordinator's orders to a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Become node `node` of a simulation; link to the peers listed.
    Join(JoinOrder),
    /// Spawn pirates at `count` consecutive addresses from `first`.
    SpawnPirates {
        first: Address,
        count: u32,
        seed: u64,
    },
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinOrder {
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
}

/// An actor of the link benchmark, and where it goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchSpec {
    pub at: Address,
    pub kind: BenchKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum BenchKind {
    /// Counts what it receives; says Goodbye to `report_to` at `expected`.
    Sink { expected: u64, report_to: Address },
    /// On Chat, sends `count` messages to `target` as fast as it can.
    Blaster { target: Address, count: u64 },
    /// Answers every GetRequest.
    Echo,
    /// On Chat, keeps `window` GetRequests to `target` outstanding until
    /// `count` are answered, then says Goodbye to `report_to`.
    Pinger {
        target: Address,
        count: u64,
        window: u32,
        report_to: Address,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// `capacity`: the bytes the node can still take (its `--max-memory`
    /// less what it uses, or its machine's available memory).
    Joined {
        pid: u32,
        capacity: u64,
    },
    Done,
    Clock(Timestamp),
    Metrics(MetricsReport),
    Flushed(NodeReport),
    Failed(Failure),
}

/// Why a node could not do what its coordinator asked. `node` is the name
/// the node goes by; the causes that come from elsewhere (a socket, an
/// actor that would not start) travel as their text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum Failure {
    /// A second Join.
    #[error("{node} has already joined")]
    AlreadyJoined { node: String },
    /// Joining, it could not link to a peer node.
    #[error("node {id} cannot link to node {peer} at {addr}: {why}")]
    PeerUnreachable {
        id: NodeId,
        peer: NodeId,
        addr: String,
        why: String,
    },
    /// The work would not fit in its memory budget.
    #[error("{node}: {over}")]
    OverBudget {
        node: String,
        over: crate::capacity::OverBudget,
    },
    /// An actor it was to spawn did not start.
    #[error("{node}: {why}")]
    Spawn { node: String, why: String },
}

/// A node's figures at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    pub events_sent: u64,
    /// Requests shed because an instance or a link was too far behind.
    pub shed: u64,
    pub deepest_mailbox: u64,
    pub deepest_link: u64,
    pub edges_made: u64,
    pub edges_forgotten: u64,
    pub undeliverable: u64,
    /// Frames or messages refused as malformed or misaddressed.
    pub refused: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub latency: Vec<PairReport>,
    /// Traffic figures, and per-service histograms with `-c`.
    pub metrics: MetricsReport,
    pub peak_rss: u64,
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
    pub from: u8,
    pub to: u8,
    pub reach: Reach,
    /// The model's one-way figure, in microseconds.
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
    pub requests: u64,
    pub gets: u64,
    pub responses: u64,
    pub hits: u64,
    pub latency: Vec<(u64, u64)>,
}

/// A histogram as recorded (value, count) pairs, in microseconds.
pub type Recorded = Vec<(u64, u64)>;

/// A node's traffic figures and (with `-c`) per-service histograms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    pub traffic: TrafficReport,
    pub services: Vec<ServiceReport>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceReport {
    pub service: String,
    /// From a message's send time to its receiver handling it.
    pub delivery: Recorded,
    /// Time an instance spends handling one message.
    pub service_time: Recorded,
    /// From a request arriving at an instance to its answer leaving.
    pub response: Recorded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpanKind {
    Client,
    Server,
}

/// One timed hop of a request flow (a Zipkin span).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub trace: u64,
    pub id: u64,
    /// 0 for a trace's root.
    pub parent: u64,
    pub kind: SpanKind,
    /// What was asked: getrequest, put, replicate.
    pub name: compact_str::CompactString,
    pub service: compact_str::CompactString,
    pub instance: compact_str::CompactString,
    pub ipv4: Option<[u8; 4]>,
    /// Microseconds since the UNIX epoch.
    pub start_us: u64,
    pub duration_us: u64,
}
