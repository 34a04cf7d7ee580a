//! A lost node: its link closed or it stopped answering heartbeats. Its
//! instances are recorded as done with exit `node-lost`, whoever watches
//! for losses is told, and the run goes on without it. The cluster's state
//! (`state.rs`), which keeps these records, also releases whoever waits for
//! its answers and fences it.
//!
//! Fencing: every survivor is told (`Request::Fence`) to drop its link to
//! the lost node and refuse whatever still comes from it, and so does this
//! process, so nothing the lost node does afterwards (a partition healed,
//! a stopped process continued) reaches a figure: its late traffic, graph
//! events and reports are counted as `fenced` and dropped. The lost node
//! is told too, ahead of the link's close, in case it ever hears: it then
//! exits with a line saying it was fenced.

use crate::output::edda;
use ractor::{ActorRef, DerivedActorRef};
use spigo_node::clock;
use spigo_proto::{Address, Exit, GraphEvent, NodeId, NodeRecord, StampedEvent};
use std::collections::{BTreeSet, HashMap};

/// A node is lost: the error of a request it will never answer, and the
/// news every watcher of losses gets (the controller's `NodeLost`).
#[derive(Debug, thiserror::Error)]
#[error("node {0} is lost")]
pub(crate) struct NodeLost(pub NodeId);

/// What was placed on a node, kept for `node-lost` records. Pirates are
/// kept as ranges: a million of them cost the coordinator one entry.
pub(crate) enum Placed {
    Pirates {
        first: Address,
        count: u32,
    },
    /// An instance and its graph record (a lost node may not have passed
    /// its own records on yet).
    Instance(Box<NodeRecord>),
}

impl Placed {
    fn actors(&self) -> usize {
        match self {
            Placed::Pirates { count, .. } => *count as usize,
            Placed::Instance(_) => 1,
        }
    }
}

/// What losses are made of: the nodes lost, what was placed on each, and
/// who hears of them.
pub(super) struct Losses {
    pub lost: BTreeSet<NodeId>,
    /// What was placed on each node, for `node-lost` records.
    pub placed: HashMap<NodeId, Vec<Placed>>,
    /// Who hears of a lost node (the controllers of the FSM and asgard).
    pub watchers: Vec<DerivedActorRef<NodeLost>>,
    pub edda: Option<ActorRef<edda::Msg>>,
    /// Each node's name and address, for the log line of its loss.
    pub node_names: HashMap<NodeId, (String, String)>,
    /// Set once the nodes are told to stop: links closing then are expected.
    pub stopping: bool,
}

impl Losses {
    pub(super) fn new(
        edda: Option<ActorRef<edda::Msg>>,
        node_names: HashMap<NodeId, (String, String)>,
    ) -> Losses {
        Losses {
            lost: BTreeSet::new(),
            placed: HashMap::new(),
            watchers: Vec::new(),
            edda,
            node_names,
            stopping: false,
        }
    }

    /// `watcher` hears of every node lost, those lost already first.
    pub(super) fn watch(&mut self, watcher: DerivedActorRef<NodeLost>) {
        for &lost in &self.lost {
            let _ = watcher.send_message(NodeLost(lost));
        }
        self.watchers.push(watcher);
    }

    /// Records node `node` as lost, once: logs it, records its actors as
    /// done with exit `node-lost`, and tells every watcher. False if it
    /// was lost already (or the nodes are being stopped).
    pub(super) fn node_lost(&mut self, node: NodeId, why: &str) -> bool {
        if self.stopping || !self.lost.insert(node) {
            return false;
        }
        let (name, addr) = self
            .node_names
            .get(&node)
            .map_or(("", ""), |(n, a)| (n.as_str(), a.as_str()));
        let placed = self.placed.remove(&node).unwrap_or_default();
        tracing::error!(
            "{name} ({addr}) lost: {why}; {} actors went with it",
            placed.iter().map(Placed::actors).sum::<usize>()
        );
        if let Some(edda) = &self.edda {
            record_lost(edda, node, placed);
        }
        for w in &self.watchers {
            let _ = w.send_message(NodeLost(node));
        }
        true
    }
}

/// Records what was placed on `node` as done with exit `node-lost`.
fn record_lost(edda: &ActorRef<edda::Msg>, node: NodeId, placed: Vec<Placed>) {
    let now = clock::now();
    // In batches of at most MAX_EVENTS, each sent as it fills.
    let mut batch: Vec<StampedEvent> = Vec::new();
    let mut emit = |event: GraphEvent| {
        batch.push(StampedEvent { time: now, event });
        if batch.len() == spigo_proto::cluster::MAX_EVENTS {
            let _ = edda.send_message(edda::Msg::Batch(std::mem::take(&mut batch)));
        }
    };
    let done = |id| GraphEvent::Done {
        id,
        exit: Exit::NodeLost,
    };
    for p in placed {
        match p {
            Placed::Pirates { first, count } => {
                for i in 0..count {
                    emit(done(Address::new(node, first.index + i)));
                }
            }
            // Edda ignores a record it has already; one that never left
            // the lost node is still known here.
            Placed::Instance(record) => {
                let id = record.id;
                emit(GraphEvent::Node(record));
                emit(done(id));
            }
        }
    }
    if !batch.is_empty() {
        let _ = edda.send_message(edda::Msg::Batch(batch));
    }
}
