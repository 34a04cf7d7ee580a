//! A lost node: its link closed or it stopped answering heartbeats. Its
//! instances are recorded as done with exit `node-lost`, whoever waits on
//! it stops waiting, it is fenced, and the run goes on without it.
//!
//! Fencing: every survivor is told (`Request::Fence`) to drop its link to
//! the lost node and refuse whatever still comes from it, and so does this
//! process, so nothing the lost node does afterwards (a partition healed,
//! a stopped process continued) reaches a figure: its late traffic, graph
//! events and reports are counted as `fenced` and dropped. The lost node
//! is told too, ahead of the link's close, in case it ever hears: it then
//! exits with a line saying it was fenced.

use super::state::{NodeLost, Placed, State};
use crate::output::edda;
use spigo_node::clock;
use spigo_proto::cluster::{Frame, Request};
use spigo_proto::{Address, Exit, GraphEvent, NodeId, StampedEvent};

/// Records node `node` as lost, once: logs it, releases whoever waits for
/// its answers, records its actors as done with exit `node-lost`, and tells
/// every watcher.
pub(super) fn node_lost(state: &mut State, node: NodeId, why: &str) {
    if state.stopping || !state.lost.insert(node) {
        return;
    }
    let (name, addr) = state
        .node_names
        .get(&node)
        .map_or(("", ""), |(n, a)| (n.as_str(), a.as_str()));
    let placed = state.placed.remove(&node).unwrap_or_default();
    tracing::error!(
        "{name} ({addr}) lost: {why}; {} actors went with it",
        placed.iter().map(Placed::actors).sum::<usize>()
    );
    // Whoever waited for an answer from it will not get one.
    state.waiting.retain(|_, (n, _)| *n != node);
    fence(state, node);
    if let Some(edda) = &state.edda {
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
    for w in &state.watchers {
        let _ = w.send_message(NodeLost(node));
    }
}

/// Fences `node`: tells it (if it can still hear), this process, and every
/// node not lost. Their answers are not awaited (no request waits for
/// them): a survivor lost meanwhile is fenced in its turn.
fn fence(state: &mut State, node: NodeId) {
    let tell = |state: &mut State, to: NodeId| {
        let id = state.next_id();
        let body = Request::Fence(node);
        let _ = state.rt.send_frame(to, Frame::Request { id, body });
    };
    // Queued ahead of the link's close, which the fence below makes.
    tell(state, node);
    state.rt.fence(node);
    let survivors: Vec<NodeId> = state
        .node_names
        .keys()
        .copied()
        .filter(|n| !state.lost.contains(n))
        .collect();
    for s in survivors {
        tell(state, s);
    }
}
