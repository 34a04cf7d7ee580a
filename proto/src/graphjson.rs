//! Reading GraphJSON back (spigo's `-r`): the nodes and edges of a graph
//! file written by this spigo or by spigo itself.
//!
//! Only what a reload needs is kept: node names and packages, and the edges
//! still present at the end (an edge later forgotten is dropped).

use serde::Deserialize;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// One node of a graph file, as a reload needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// The node's short graph name (see [`crate::names::Name::graph_name`]).
    pub name: String,
    /// Its package as written; the reload checks it.
    pub package: String,
    /// Its metadata (e.g. `IP/54.198.0.1`), empty when the entry has none.
    pub metadata: String,
}

/// What a reload keeps of a GraphJSON file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphDoc {
    /// The architecture the graph was written for.
    pub arch: String,
    /// Every node once, in the order the file first names it.
    pub nodes: Vec<GraphNode>,
    /// Indices into `nodes`, in the order the edges were made.
    pub edges: Vec<(usize, usize)>,
}

/// Why a graph file cannot be reloaded; each names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphJsonError {
    /// The text is not JSON, or lacks the `arch` and `graph` fields.
    #[error("{file}: not a GraphJSON file: {msg}")]
    Json {
        /// The file, as errors name it.
        file: String,
        /// What the JSON reader found.
        msg: String,
    },
    /// The graph has no nodes, so there is nothing to rebuild.
    #[error("{file}: graph has no nodes")]
    Empty {
        /// The file, as errors name it.
        file: String,
    },
    /// One entry of `graph` lacks a field or names a node the file has not
    /// defined.
    #[error("{file}: entry {entry}: {problem}")]
    Entry {
        /// The file, as errors name it.
        file: String,
        /// Its place in `graph`, counting from 1.
        entry: usize,
        /// What is wrong, as a phrase.
        problem: String,
    },
}

#[derive(Deserialize)]
struct Doc {
    arch: String,
    graph: Vec<serde_json::Map<String, serde_json::Value>>,
}

impl GraphDoc {
    /// Parses a GraphJSON document; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<GraphDoc, GraphJsonError> {
        let doc: Doc = serde_json::from_str(text).map_err(|e| GraphJsonError::Json {
            file: file.into(),
            msg: e.to_string(),
        })?;
        let mut out = GraphDoc {
            arch: doc.arch,
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        let mut index: HashMap<&str, usize> = HashMap::new();
        // Every edge made, in order, with None where it was later
        // forgotten; `live` finds the slot of a pair still present.
        let mut slots: Vec<Option<(usize, usize)>> = Vec::new();
        let mut live: HashMap<(usize, usize), usize> = HashMap::new();
        for (i, entry) in doc.graph.iter().enumerate() {
            let text_of = |key: &str| -> Result<&str, GraphJsonError> {
                entry
                    .get(key)
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| GraphJsonError::Entry {
                        file: file.into(),
                        entry: i + 1,
                        problem: format!("'{key}' missing or not text"),
                    })
            };
            if entry.contains_key("node") {
                let name = text_of("node")?;
                if !index.contains_key(name) {
                    index.insert(name, out.nodes.len());
                    out.nodes.push(GraphNode {
                        name: name.to_string(),
                        package: text_of("package")?.to_string(),
                        metadata: text_of("metadata").map(str::to_string).unwrap_or_default(),
                    });
                }
            } else if entry.contains_key("edge") || entry.contains_key("forget") {
                let end = |key: &str| -> Result<usize, GraphJsonError> {
                    let name = text_of(key)?;
                    index
                        .get(name)
                        .copied()
                        .ok_or_else(|| GraphJsonError::Entry {
                            file: file.into(),
                            entry: i + 1,
                            problem: format!("{key} '{name}' is not a node of the graph"),
                        })
                };
                let pair = (end("source")?, end("target")?);
                if entry.contains_key("edge") {
                    if let Entry::Vacant(slot) = live.entry(pair) {
                        slot.insert(slots.len());
                        slots.push(Some(pair));
                    }
                } else if let Some(slot) = live.remove(&pair) {
                    slots[slot] = None;
                }
            }
        }
        out.edges = slots.into_iter().flatten().collect();
        if out.nodes.is_empty() {
            return Err(GraphJsonError::Empty { file: file.into() });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"arch":"a","version":"v","args":"[x]","date":"d","graph":[
        {"node":"a.r.z.web00","package":"karyon","timestamp":"t","metadata":"IP/1.2.3.4"},
        {"node":"a.r.z.db00","package":"store","timestamp":"t","metadata":"IP/1.2.3.5"},
        {"edge":"e1","source":"a.r.z.web00","target":"a.r.z.db00","timestamp":"t"},
        {"edge":"e2","source":"a.r.z.db00","target":"a.r.z.web00","timestamp":"t"},
        {"forget":"e2","source":"a.r.z.db00","target":"a.r.z.web00","timestamp":"t"},
        {"done":"a.r.z.web00","exit":"normal","timestamp":"t"}
    ]}"#;

    #[test]
    fn reads_nodes_and_the_edges_left_at_the_end() {
        let g = GraphDoc::parse(DOC, "g.json").unwrap();
        assert_eq!(g.arch, "a");
        assert_eq!(g.nodes.len(), 2);
        assert_eq!(g.nodes[1].package, "store");
        assert_eq!(g.edges, vec![(0, 1)]);
    }

    #[test]
    fn problems_name_the_file_and_entry() {
        let e = GraphDoc::parse("[", "g.json").unwrap_err().to_string();
        assert!(e.starts_with("g.json: not a GraphJSON file"), "{e}");
        let bad = DOC.replace("\"target\":\"a.r.z.db00\"", "\"target\":\"a.r.z.nobody\"");
        let e = GraphDoc::parse(&bad, "g.json").unwrap_err().to_string();
        assert_eq!(
            e,
            "g.json: entry 3: target 'a.r.z.nobody' is not a node of the graph"
        );
        let e = GraphDoc::parse(r#"{"arch":"a","graph":[]}"#, "g.json").unwrap_err();
        assert_eq!(e.to_string(), "g.json: graph has no nodes");
        let e = GraphDoc::parse(r#"{"arch":"a","graph":[{"node":3}]}"#, "g.json").unwrap_err();
        assert_eq!(e.to_string(), "g.json: entry 1: 'node' missing or not text");
    }
}
