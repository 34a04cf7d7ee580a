//! Fences: the nodes this process refuses to hear from any more.
//!
//! When the coordinator declares a node lost, it tells every survivor to
//! fence it (`Request::Fence`): from then on whatever still arrives from it
//! (a partition healed, a stopped process continued) is refused and
//! counted, never delivered, so nothing it does afterwards reaches a
//! figure. The set is read for every frame a gateway takes in, so an empty
//! one costs one relaxed load.

use spigo_proto::NodeId;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct Fences {
    /// Whether `nodes` has any: the common case never locks.
    any: AtomicBool,
    nodes: Mutex<BTreeSet<NodeId>>,
}

impl Fences {
    /// Fences `node`; false if it was fenced already.
    pub(crate) fn fence(&self, node: NodeId) -> bool {
        let added = self.nodes.lock().expect("fences lock").insert(node);
        self.any.store(true, Ordering::Release);
        added
    }

    pub(crate) fn contains(&self, node: NodeId) -> bool {
        self.any.load(Ordering::Acquire) && self.nodes.lock().expect("fences lock").contains(&node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_is_kept() {
        let f = Fences::default();
        assert!(!f.contains(2));
        assert!(f.fence(2));
        assert!(!f.fence(2), "once");
        assert!(f.contains(2) && !f.contains(3));
    }
}
