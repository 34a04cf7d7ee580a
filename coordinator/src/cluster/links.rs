//! Links between two nodes that stayed down: a node reports a peer it has
//! not reached for the heartbeat timeout ([`LinkDown`]), and the
//! coordinator (its state actor, `state.rs`) decides what it means. A peer
//! that still answers the coordinator is alive, so only the link is lost:
//! the run goes on, degraded, and ends with status 3 naming the link. A
//! peer that answers nobody is lost as a node, as if its own heartbeats
//! had stopped.

use spigo_proto::cluster::LinkDown;
use spigo_proto::NodeId;
use std::collections::{BTreeMap, BTreeSet};

/// A link between two nodes the run went on without.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LostLink {
    /// The two nodes, the lower id first.
    pub ends: (NodeId, NodeId),
    /// Messages either end could not send over it, as reported when it
    /// was given up.
    pub undeliverable: u64,
}

/// What a [`LinkDown`] report means.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// One end is lost already: nothing more to decide.
    Moot,
    /// The peer answers nobody: it is lost as a node, for this reason.
    PeerLost(String),
    /// Both ends answer the coordinator: only the link is lost.
    LinkLost,
}

/// Judges `down`, given the nodes lost so far and whether its peer still
/// answers the coordinator.
pub(super) fn judge(
    down: &LinkDown,
    lost: &BTreeSet<NodeId>,
    peer_answers: bool,
    name: &dyn Fn(NodeId) -> String,
) -> Verdict {
    if lost.contains(&down.from) || lost.contains(&down.to) {
        return Verdict::Moot;
    }
    if peer_answers {
        return Verdict::LinkLost;
    }
    Verdict::PeerLost(format!(
        "{} could not reach it for {:.1}s, and it does not answer the coordinator",
        name(down.from),
        down.silent_ms as f64 / 1e3
    ))
}

/// The links given up so far, by their ends (the lower id first), with the
/// messages they cost.
#[derive(Default)]
pub(super) struct LostLinks(BTreeMap<(NodeId, NodeId), u64>);

impl LostLinks {
    /// Adds what `down` reports; the first report of a link is logged.
    pub(super) fn record(&mut self, down: &LinkDown, name: &dyn Fn(NodeId) -> String) {
        let ends = (down.from.min(down.to), down.from.max(down.to));
        let first = !self.0.contains_key(&ends);
        *self.0.entry(ends).or_default() += down.undeliverable;
        if first {
            tracing::error!(
                "link {} <-> {} lost: down for {:.1}s ({} messages undeliverable \
                 so far), both nodes still answer the coordinator: the run goes on degraded",
                name(ends.0),
                name(ends.1),
                down.silent_ms as f64 / 1e3,
                down.undeliverable
            );
        }
    }

    pub(super) fn list(&self) -> Vec<LostLink> {
        self.0
            .iter()
            .map(|(&ends, &undeliverable)| LostLink {
                ends,
                undeliverable,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(from: NodeId, to: NodeId, undeliverable: u64) -> LinkDown {
        LinkDown {
            from,
            to,
            undeliverable,
            silent_ms: 3_000,
        }
    }

    #[test]
    fn a_peer_that_answers_loses_only_the_link() {
        let name = |n: NodeId| format!("node{n}");
        let lost = BTreeSet::new();
        assert_eq!(judge(&down(2, 1, 5), &lost, true, &name), Verdict::LinkLost);
        let Verdict::PeerLost(why) = judge(&down(2, 1, 5), &lost, false, &name) else {
            panic!("a silent peer is lost");
        };
        assert!(why.contains("node2 could not reach it for 3.0s"), "{why}");
        assert_eq!(
            judge(&down(2, 1, 5), &BTreeSet::from([1]), false, &name),
            Verdict::Moot
        );
        let mut links = LostLinks::default();
        links.record(&down(2, 1, 5), &name);
        links.record(&down(1, 2, 7), &name);
        assert_eq!(
            links.list(),
            [LostLink {
                ends: (1, 2),
                undeliverable: 12
            }]
        );
    }
}
