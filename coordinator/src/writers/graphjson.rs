//! GraphJSON: spigo's own graph format, read by its D3 page.
//!
//! The layout follows spigo's files line for line: a header (`arch`,
//! `version`, `args`, `date`) and a `graph` array with one entry per line,
//! each a `node`, `edge`, `forget` or `done` with its timestamp.

use super::{rfc3339, RunInfo, VERSION};
use crate::edda::{Entry, Graph, Vertex};
use indicatif::ProgressBar;
use spigo_proto::Timestamp;
use std::io::{self, Write};

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialise")
}

/// One entry of the `graph` array, as a JSON object on one line.
pub fn entry_json(vertices: &[Vertex], time: Timestamp, entry: &Entry) -> String {
    let ts = rfc3339(time);
    let name = |v: u32| quoted(&vertices[v as usize].name);
    match entry {
        Entry::Node { vertex } => {
            let v = &vertices[*vertex as usize];
            format!(
                "{{\"node\":{},\"package\":{},\"timestamp\":\"{ts}\",\"metadata\":{}}}",
                quoted(&v.name),
                quoted(&v.package),
                quoted(&v.metadata)
            )
        }
        Entry::Edge { id, source, target } | Entry::Forget { id, source, target } => {
            let kind = if matches!(entry, Entry::Edge { .. }) {
                "edge"
            } else {
                "forget"
            };
            format!(
                "{{\"{kind}\":\"e{id}\",\"source\":{},\"target\":{},\"timestamp\":\"{ts}\"}}",
                name(*source),
                name(*target)
            )
        }
        Entry::Done { vertex, exit } => format!(
            "{{\"done\":{},\"exit\":\"{}\",\"timestamp\":\"{ts}\"}}",
            name(*vertex),
            exit.as_str()
        ),
    }
}

/// Writes the whole graph; `progress` counts the entries written.
pub fn write(
    out: &mut impl Write,
    graph: &Graph,
    run: &RunInfo,
    progress: &ProgressBar,
) -> io::Result<()> {
    writeln!(out, "{{")?;
    writeln!(out, "  \"arch\":{},", quoted(&run.arch))?;
    writeln!(out, "  \"version\":{},", quoted(VERSION))?;
    writeln!(out, "  \"args\":{},", quoted(&run.args))?;
    writeln!(out, "  \"date\":{},", quoted(&rfc3339(run.started)))?;
    writeln!(out, "  \"graph\":[")?;
    for (i, (time, entry)) in graph.entries.iter().enumerate() {
        let comma = if i + 1 < graph.entries.len() { "," } else { "" };
        writeln!(
            out,
            "    {}{comma}",
            entry_json(&graph.vertices, *time, entry)
        )?;
        if i % 4096 == 0 {
            progress.set_position(i as u64);
        }
    }
    writeln!(out, "  ]")?;
    writeln!(out, "}}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::writers::FailAfter;
    use spigo_proto::{Address, Exit, GraphEvent, Name, NodeRecord, StampedEvent};

    pub(crate) fn sample_graph() -> Graph {
        let mut g = Graph::new(false);
        for i in 0..3u32 {
            g.add(StampedEvent {
                time: Timestamp(1_000 + i as u64),
                event: GraphEvent::Node(Box::new(NodeRecord {
                    id: Address::new(0, i),
                    name: Name::new("t", "us-east-1", "zoneA", &format!("x\"{i}"), "x", "karyon")
                        .to_string(),
                    package: "karyon".into(),
                    metadata: format!("IP/54.198.0.{}", i + 1),
                    location: Default::default(),
                })),
            });
        }
        g.add(StampedEvent {
            time: Timestamp(2_000),
            event: GraphEvent::Edge {
                source: Address::new(0, 0),
                target: Address::new(0, 1),
            },
        });
        g.add(StampedEvent {
            time: Timestamp(2_001),
            event: GraphEvent::Forget {
                source: Address::new(0, 0),
                target: Address::new(0, 1),
            },
        });
        g.add(StampedEvent {
            time: Timestamp(2_002),
            event: GraphEvent::Done {
                id: Address::new(0, 2),
                exit: Exit::ChaosMonkey,
            },
        });
        g.finish();
        g
    }

    fn run() -> RunInfo {
        RunInfo {
            arch: "t".into(),
            args: "[spigo -a t]".into(),
            started: Timestamp(1),
        }
    }

    #[test]
    fn writes_spigo_field_names_and_valid_json() {
        let mut buf = Vec::new();
        write(&mut buf, &sample_graph(), &run(), &ProgressBar::hidden()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["arch"], "t");
        let graph = v["graph"].as_array().unwrap();
        assert_eq!(graph.len(), 6);
        assert_eq!(graph[0]["node"], "t.us-east-1.zoneA.x\"0");
        assert_eq!(graph[0]["package"], "karyon");
        assert_eq!(graph[0]["metadata"], "IP/54.198.0.1");
        assert_eq!(graph[3]["edge"], "e1");
        assert_eq!(graph[3]["source"], "t.us-east-1.zoneA.x\"0");
        assert_eq!(graph[4]["forget"], "e1");
        assert_eq!(graph[5]["done"], "t.us-east-1.zoneA.x\"2");
        assert_eq!(graph[5]["exit"], "chaosmonkey");
        for entry in graph {
            assert!(
                entry["timestamp"]
                    .as_str()
                    .unwrap()
                    .starts_with("1970-01-01T")
                    || entry["timestamp"]
                        .as_str()
                        .unwrap()
                        .starts_with("1969-12-31T")
            );
        }
    }

    #[test]
    fn write_errors_are_reported() {
        assert!(write(
            &mut FailAfter(100),
            &sample_graph(),
            &run(),
            &ProgressBar::hidden()
        )
        .is_err());
    }
}
