//! Actor addresses that stay meaningful across OS processes.
//!
//! spigo (Go) passed channels around; a channel cannot leave its process, so
//! here every actor is named by the node (process) hosting it and its slot in
//! that node's address table. The value is `Copy`, eight bytes, and travels in
//! every Gotocol message as the reply-to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a node process in a simulation; the coordinator is node 0.
pub type NodeId = u16;

/// Where an actor lives: node id plus its slot in that node's address table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    /// The node process hosting the actor.
    pub node: NodeId,
    /// The actor's slot in that node's address table.
    pub index: u32,
}

impl Address {
    /// The actor in slot `index` of node `node`.
    pub const fn new(node: NodeId, index: u32) -> Self {
        Address { node, index }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}/{}", self.node, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_small_and_copy() {
        assert!(std::mem::size_of::<Address>() <= 8);
        let a = Address::new(3, 42);
        let b = a;
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "@3/42");
    }
}
