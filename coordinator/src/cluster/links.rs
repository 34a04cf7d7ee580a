//! Links between two nodes that stayed down: a node reports a peer it has
//! not reached for the heartbeat timeout ([`LinkDown`]), and the
//! coordinator decides what it means. A peer that still answers the
//! coordinator is alive, so only the link is lost: the run goes on,
//! degraded, and ends with status 3 naming the link. A peer that answers
//! nobody is lost as a node, as if its own heartbeats had stopped.

use super::losses::node_lost;
use super::state::Shared;
use spigo_node::Runtime;
use spigo_proto::cluster::LinkDown;
use spigo_proto::NodeId;

/// A link between two nodes the run went on without.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LostLink {
    /// The two nodes, the lower id first.
    pub ends: (NodeId, NodeId),
    /// Messages either end could not send over it, as reported when it
    /// was given up.
    pub undeliverable: u64,
}

/// The links given up so far.
pub(super) fn lost_links(shared: &Shared) -> Vec<LostLink> {
    let links = shared.lost_links.lock().unwrap();
    links
        .iter()
        .map(|(&ends, &undeliverable)| LostLink {
            ends,
            undeliverable,
        })
        .collect()
}

/// What the coordinator makes of a node's report that its link to a peer
/// stayed down.
pub(super) fn link_down(shared: &Shared, rt: &Runtime, down: LinkDown) {
    let LinkDown {
        from,
        to,
        undeliverable,
        silent_ms,
    } = down;
    {
        let lost = shared.lost.lock().unwrap();
        if lost.contains(&from) || lost.contains(&to) {
            return;
        }
    }
    let name = |n: NodeId| {
        shared
            .node_names
            .get(&n)
            .map_or_else(|| format!("node {n}"), |(name, _)| name.clone())
    };
    let answers = rt
        .silent_for(to)
        .is_some_and(|s| s < shared.heartbeat_timeout);
    if !answers {
        let why = format!(
            "{} could not reach it for {:.1}s, and it does not answer the coordinator",
            name(from),
            silent_ms as f64 / 1e3
        );
        rt.remove_link(to);
        node_lost(shared, to, &why);
        return;
    }
    let ends = (from.min(to), from.max(to));
    let mut links = shared.lost_links.lock().unwrap();
    let first = !links.contains_key(&ends);
    *links.entry(ends).or_default() += undeliverable;
    if first {
        tracing::error!(
            "link {} <-> {} lost: down for {:.1}s ({undeliverable} messages undeliverable \
             so far), both nodes still answer the coordinator: the run goes on degraded",
            name(ends.0),
            name(ends.1),
            silent_ms as f64 / 1e3
        );
    }
}
