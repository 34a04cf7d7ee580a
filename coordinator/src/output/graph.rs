//! The graph a run writes, as edda merges it from the events of every node.
//!
//! Edda resolves addresses to names, de-duplicates nodes and edges (shards
//! may report the same edge, and `-f` folds many instances into one service
//! node), and keeps the entries in the order they happened so the writers
//! can replay the architecture's evolution. This file is the model only:
//! the actor that feeds it is in `edda.rs`, the formats it is written in
//! are in `writers/`, and whoever watches it grow (the live viewer) does so
//! through [`Watch`].

use spigo_proto::{Address, Exit, GraphEvent, Name, NodeRecord, StampedEvent, Timestamp};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A vertex of the written graph (an instance, or a service under `-f`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Vertex {
    pub name: String,
    pub package: String,
    pub metadata: String,
}

/// One line of the graph's history, by vertex index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Entry {
    Node {
        vertex: u32,
    },
    /// `id` numbers edges 1, 2, ... in the order they appear (`e1`, `e2`).
    Edge {
        id: u32,
        source: u32,
        target: u32,
    },
    Forget {
        id: u32,
        source: u32,
        target: u32,
    },
    Done {
        vertex: u32,
        exit: Exit,
    },
}

/// Hears of every entry as the graph makes it: `--live` viewers see the
/// graph grow (`http::LiveFeed`), without the graph knowing about JSON or
/// HTTP.
pub(crate) trait Watch: Send + Sync {
    fn made(&self, vertices: &[Vertex], time: Timestamp, entry: &Entry);
}

/// The merged graph: vertices, and the timed history of entries.
#[derive(Default)]
pub(crate) struct Graph {
    /// Collapse instances to services (`-f`).
    filter: bool,
    pub vertices: Vec<Vertex>,
    by_name: HashMap<String, u32>,
    by_addr: HashMap<Address, u32>,
    /// Edges currently present, with the id they were recorded under.
    live_edges: HashMap<(u32, u32), u32>,
    done: HashSet<u32>,
    pub entries: Vec<(Timestamp, Entry)>,
    next_edge: u32,
    /// Events whose addresses were not yet known (their node event is still
    /// on its way from another shard).
    waiting: Vec<StampedEvent>,
    /// An address became known since waiting events were last tried: only
    /// then can any of them resolve.
    new_addresses: bool,
    /// Events that never resolved, reported at the end.
    pub unresolved: u64,
    /// Live viewers (`--live`) hear of every entry as it is made.
    feed: Option<Arc<dyn Watch>>,
    /// Events received from every shard, to check none went missing.
    pub received: u64,
}

impl Graph {
    pub(crate) fn new(filter: bool) -> Graph {
        Graph {
            filter,
            ..Graph::default()
        }
    }

    /// Publishes every new entry to live viewers as well.
    pub(crate) fn with_feed(mut self, feed: Option<Arc<dyn Watch>>) -> Graph {
        self.feed = feed;
        self
    }

    fn push(&mut self, time: Timestamp, entry: Entry) {
        if let Some(feed) = &self.feed {
            feed.made(&self.vertices, time, &entry);
        }
        self.entries.push((time, entry));
    }

    pub(crate) fn add(&mut self, ev: StampedEvent) {
        self.received += 1;
        if !self.apply(&ev) {
            self.waiting.push(ev);
        }
    }

    /// Applies any waiting events that can now be resolved; call when a batch
    /// has been added.
    pub(crate) fn settle(&mut self) {
        if self.waiting.is_empty() || !std::mem::take(&mut self.new_addresses) {
            return;
        }
        let waiting = std::mem::take(&mut self.waiting);
        for ev in waiting {
            if !self.apply(&ev) {
                self.waiting.push(ev);
            }
        }
    }

    /// Everything is in: whatever still cannot be resolved is counted,
    /// except the `node-lost` ends of instances a lost node never got to
    /// register.
    pub(crate) fn finish(&mut self) {
        self.settle();
        let lost_unborn = |e: &StampedEvent| {
            matches!(
                e.event,
                GraphEvent::Done {
                    exit: Exit::NodeLost,
                    ..
                }
            )
        };
        self.unresolved += self.waiting.iter().filter(|e| !lost_unborn(e)).count() as u64;
        self.waiting.clear();
        self.entries.sort_by_key(|(t, _)| *t);
    }

    pub(crate) fn edge_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|(_, e)| matches!(e, Entry::Edge { .. }))
            .count()
    }

    /// The forget entries (edges dropped), as the graph file holds them.
    pub(crate) fn forget_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|(_, e)| matches!(e, Entry::Forget { .. }))
            .count()
    }

    /// Returns false if the event names an address edda has not seen yet.
    fn apply(&mut self, ev: &StampedEvent) -> bool {
        let time = ev.time;
        match &ev.event {
            GraphEvent::Node(record) => {
                self.add_node(record, time);
                true
            }
            GraphEvent::Edge { source, target } => {
                let (Some(&s), Some(&t)) = (self.by_addr.get(source), self.by_addr.get(target))
                else {
                    return false;
                };
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    self.live_edges.entry((s, t))
                {
                    self.next_edge += 1;
                    slot.insert(self.next_edge);
                    let id = self.next_edge;
                    self.push(
                        time,
                        Entry::Edge {
                            id,
                            source: s,
                            target: t,
                        },
                    );
                }
                true
            }
            GraphEvent::Forget { source, target } => {
                let (Some(&s), Some(&t)) = (self.by_addr.get(source), self.by_addr.get(target))
                else {
                    return false;
                };
                if let Some(id) = self.live_edges.remove(&(s, t)) {
                    self.push(
                        time,
                        Entry::Forget {
                            id,
                            source: s,
                            target: t,
                        },
                    );
                }
                true
            }
            GraphEvent::Done { id, exit } => {
                let Some(&v) = self.by_addr.get(id) else {
                    return false;
                };
                if self.done.insert(v) {
                    self.push(
                        time,
                        Entry::Done {
                            vertex: v,
                            exit: *exit,
                        },
                    );
                }
                true
            }
        }
    }

    fn add_node(&mut self, record: &NodeRecord, time: Timestamp) {
        let display = match Name::parse(&record.name) {
            Ok(n) if self.filter => n.service_name(),
            Ok(n) => n.graph_name(),
            // Names are built by spigo itself; keep a malformed one verbatim.
            Err(_) => record.name.clone(),
        };
        let vertex = match self.by_name.get(&display) {
            Some(&v) => v,
            None => {
                let v = self.vertices.len() as u32;
                self.vertices.push(Vertex {
                    name: display.clone(),
                    package: record.package.to_string(),
                    metadata: record.metadata.clone(),
                });
                self.by_name.insert(display, v);
                self.push(time, Entry::Node { vertex: v });
                v
            }
        };
        if self.by_addr.insert(record.id, vertex).is_none() {
            self.new_addresses = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: u32, instance: &str, service: &str) -> StampedEvent {
        StampedEvent {
            time: Timestamp(i as u64),
            event: GraphEvent::Node(Box::new(NodeRecord {
                id: Address::new(0, i),
                name: Name::new("a", "r", "z", instance, service, "karyon").to_string(),
                package: "karyon".into(),
                metadata: format!("IP/10.0.0.{i}"),
                location: Default::default(),
            })),
        }
    }

    fn edge(t: u64, s: u32, d: u32) -> StampedEvent {
        StampedEvent {
            time: Timestamp(t),
            event: GraphEvent::Edge {
                source: Address::new(0, s),
                target: Address::new(0, d),
            },
        }
    }

    #[test]
    fn duplicates_collapse_and_edges_wait_for_their_nodes() {
        let mut g = Graph::new(false);
        g.add(edge(10, 1, 2)); // arrives before either node
        g.add(node(1, "web00", "web"));
        g.add(node(2, "db00", "db"));
        g.add(node(2, "db00", "db"));
        g.settle();
        g.add(edge(11, 1, 2));
        g.add(StampedEvent {
            time: Timestamp(12),
            event: GraphEvent::Forget {
                source: Address::new(0, 1),
                target: Address::new(0, 2),
            },
        });
        g.add(edge(13, 1, 2));
        g.add(edge(14, 1, 99)); // never resolves
        g.finish();
        assert_eq!(g.vertices.len(), 2);
        assert_eq!(g.vertices[0].name, "a.r.z.web00");
        let kinds: Vec<String> = g
            .entries
            .iter()
            .map(|(_, e)| match e {
                Entry::Node { vertex } => format!("n{vertex}"),
                Entry::Edge { id, .. } => format!("e{id}"),
                Entry::Forget { id, .. } => format!("f{id}"),
                Entry::Done { .. } => "d".into(),
            })
            .collect();
        assert_eq!(kinds, ["n0", "n1", "e1", "f1", "e2"]);
        assert_eq!(g.unresolved, 1);
    }

    #[test]
    fn filter_folds_instances_into_services() {
        let mut g = Graph::new(true);
        for (i, inst) in ["web00", "web01", "web02"].iter().enumerate() {
            g.add(node(i as u32, inst, "web"));
        }
        g.add(node(3, "db00", "db"));
        for i in 0..3 {
            g.add(edge(10 + i as u64, i, 3));
        }
        g.finish();
        assert_eq!(g.vertices.len(), 2);
        assert_eq!(g.vertices[0].name, "a.r.z.web");
        assert_eq!(g.edge_count(), 1);
    }
}
