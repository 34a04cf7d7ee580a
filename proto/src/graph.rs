//! Graph events: what edda records about the architecture as it evolves.
//!
//! Actors report by [`Address`]; only node events carry names, so an edge costs
//! sixteen bytes on the wire and edda resolves addresses to names when it
//! writes the graph.

use crate::{Address, Location, Timestamp};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A new instance: its graph name, package and metadata (e.g. `IP/54.198.0.1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The instance's address, by which later edges and `done` entries
    /// refer to it.
    pub id: Address,
    /// The full nine-part name (see [`crate::names`]).
    pub name: String,
    /// The package as graphs show it, e.g. `karyon` (or `pirate` for fsm).
    pub package: CompactString,
    /// Free text for the graph's `metadata` field, e.g. `IP/54.198.0.1`.
    pub metadata: String,
    /// Region and zone, so registries and routing need not parse names.
    pub location: Location,
}

/// Why an instance finished, as written in a graph's `done` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Exit {
    /// Told to stop at the end of the run (spigo writes `normal`).
    Normal,
    /// Killed by the chaos monkey.
    ChaosMonkey,
    /// Its node process went away mid-run.
    NodeLost,
    /// Its handler panicked; its node's supervisor recorded the end (a
    /// Goodbye with this exit, from asgard's crash injector `-kv crash:`,
    /// asks an instance to panic).
    Crashed,
}

impl Exit {
    /// The word a graph's `done` entry uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Exit::Normal => "normal",
            Exit::ChaosMonkey => "chaosmonkey",
            Exit::NodeLost => "node-lost",
            Exit::Crashed => "crashed",
        }
    }

    /// The exit a `done` entry names, `None` for a word it does not know.
    pub fn parse(s: &str) -> Option<Exit> {
        [
            Exit::Normal,
            Exit::ChaosMonkey,
            Exit::NodeLost,
            Exit::Crashed,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// A change to the architecture's graph, reported to edda as it happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GraphEvent {
    /// An instance appeared (boxed, so the frequent edge events stay small).
    Node(Box<NodeRecord>),
    /// `source` depends on, or knows, `target`.
    Edge {
        /// The instance that calls or knows the other.
        source: Address,
        /// The instance it calls or knows.
        target: Address,
    },
    /// `source` no longer uses `target`.
    Forget {
        /// The instance that stopped using the other.
        source: Address,
        /// The instance no longer used.
        target: Address,
    },
    /// An instance finished.
    Done {
        /// The instance.
        id: Address,
        /// Why it finished.
        exit: Exit,
    },
}

impl fmt::Display for GraphEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphEvent::Node(n) => write!(f, "node {} {}", n.name, n.package),
            GraphEvent::Edge { source, target } => write!(f, "edge {source} > {target}"),
            GraphEvent::Forget { source, target } => write!(f, "forget {source} > {target}"),
            GraphEvent::Done { id, exit } => write!(f, "done {id} {}", exit.as_str()),
        }
    }
}

/// A graph event with the time it happened, as batched to edda.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampedEvent {
    /// When the event happened; graphs are written in this order.
    pub time: Timestamp,
    /// What happened.
    pub event: GraphEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_reasons_round_trip_as_text() {
        for e in [
            Exit::Normal,
            Exit::ChaosMonkey,
            Exit::NodeLost,
            Exit::Crashed,
        ] {
            assert_eq!(Exit::parse(e.as_str()), Some(e));
        }
        assert_eq!(Exit::parse("weird"), None);
    }

    #[test]
    fn edge_events_are_small() {
        assert!(std::mem::size_of::<GraphEvent>() <= 24);
    }
}
