//! What the [`Cluster`](super::Cluster) shares with the tasks that run
//! beside it (the control loop and the heartbeat): who waits for which
//! answer, which nodes are lost, what was placed where.

use crate::output::edda;
use ractor::{ActorRef, DerivedActorRef};
use spigo_proto::cluster::{Reply, Span};
use spigo_proto::{Address, NodeId, NodeRecord};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A node is lost: the error of a request it will never answer, and the
/// news every watcher of losses gets (the controller's `NodeLost`).
#[derive(Debug, thiserror::Error)]
#[error("node {0} is lost")]
pub(crate) struct NodeLost(pub NodeId);

/// What was placed on a node, kept for `node-lost` records. Pirates are
/// kept as ranges: a million of them cost the coordinator one entry.
pub(super) enum Placed {
    Pirates {
        first: Address,
        count: u32,
    },
    /// An instance and its graph record (a lost node may not have passed
    /// its own records on yet).
    Instance(Box<NodeRecord>),
}

impl Placed {
    pub(super) fn actors(&self) -> usize {
        match self {
            Placed::Pirates { count, .. } => *count as usize,
            Placed::Instance(_) => 1,
        }
    }
}

/// State shared with the control loop. The plain fields are set before
/// the control loop starts and never change.
#[derive(Default)]
pub(super) struct Shared {
    /// Requests waiting for a reply, by id, with the node asked.
    pub waiting: Mutex<HashMap<u64, (NodeId, oneshot::Sender<Reply>)>>,
    pub lost: Mutex<BTreeSet<NodeId>>,
    pub last_seen: Mutex<HashMap<NodeId, Instant>>,
    /// What was placed on each node, for `node-lost` records: addresses,
    /// with the graph record of instances (a lost node may not have
    /// passed its own records on yet).
    pub placed: Mutex<HashMap<NodeId, Vec<Placed>>>,
    /// Who hears of a lost node (the controllers of the FSM and asgard).
    pub watchers: Mutex<Vec<DerivedActorRef<NodeLost>>>,
    pub edda: Option<ActorRef<edda::Msg>>,
    /// Each node's name and address, for the log line of its loss.
    pub node_names: HashMap<NodeId, (String, String)>,
    /// Set once the nodes are told to stop: links closing then are expected.
    pub stopping: AtomicBool,
    /// Spans the nodes sent at Flush.
    pub spans: Mutex<Vec<Span>>,
    pub heartbeat_timeout: Duration,
    /// Links between nodes given up while both nodes lived, by their
    /// ends (the lower id first), with the messages they cost.
    pub lost_links: Mutex<BTreeMap<(NodeId, NodeId), u64>>,
}
