//! A lost node: its link closed or it stopped answering heartbeats. Its
//! instances are recorded as done with exit `node-lost`, whoever waits on
//! it stops waiting, and the run goes on without it.

use super::state::{NodeLost, Placed, Shared};
use crate::output::edda;
use spigo_node::clock;
use spigo_proto::{Address, Exit, GraphEvent, NodeId, StampedEvent};
use std::sync::atomic::Ordering;

/// Records node `node` as lost, once: logs it, releases whoever waits for
/// its answers, records its actors as done with exit `node-lost`, and tells
/// every watcher.
pub(super) fn node_lost(shared: &Shared, node: NodeId, why: &str) {
    if shared.stopping.load(Ordering::SeqCst) || !shared.lost.lock().unwrap().insert(node) {
        return;
    }
    let (name, addr) = shared
        .node_names
        .get(&node)
        .map_or(("", ""), |(n, a)| (n.as_str(), a.as_str()));
    let placed = shared
        .placed
        .lock()
        .unwrap()
        .remove(&node)
        .unwrap_or_default();
    tracing::error!(
        "{name} ({addr}) lost: {why}; {} actors went with it",
        placed.iter().map(Placed::actors).sum::<usize>()
    );
    // Whoever waited for an answer from it will not get one.
    shared
        .waiting
        .lock()
        .unwrap()
        .retain(|_, (n, _)| *n != node);
    if let Some(edda) = &shared.edda {
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
    for w in shared.watchers.lock().unwrap().iter() {
        let _ = w.send_message(NodeLost(node));
    }
}
