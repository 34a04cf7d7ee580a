//! GraphJSON: spigo's own graph format, read by its D3 page.
//!
//! The layout follows spigo's files line for line: a header (`arch`,
//! `version`, `args`, `date`) and a `graph` array with one entry per line,
//! each a `node`, `edge`, `forget` or `done` with its timestamp.

use super::{rfc3339, RunInfo, VERSION};
use crate::output::graph::{Entry, Graph, Vertex};
use indicatif::ProgressBar;
use spigo_proto::Timestamp;
use std::io::{self, Write};

/// Writes `s` as a JSON string.
fn quote(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::from)
}

/// Writes one entry of the `graph` array, as a JSON object on one line
/// (without a line end), straight to `out`.
pub(crate) fn write_entry(
    out: &mut impl Write,
    vertices: &[Vertex],
    time: Timestamp,
    entry: &Entry,
) -> io::Result<()> {
    let ts = rfc3339(time);
    let name = |v: u32| vertices[v as usize].name.as_str();
    match entry {
        Entry::Node { vertex } => {
            let v = &vertices[*vertex as usize];
            out.write_all(b"{\"node\":")?;
            quote(out, &v.name)?;
            out.write_all(b",\"package\":")?;
            quote(out, &v.package)?;
            write!(out, ",\"timestamp\":\"{ts}\",\"metadata\":")?;
            quote(out, &v.metadata)?;
        }
        Entry::Edge { id, source, target } | Entry::Forget { id, source, target } => {
            let kind = if matches!(entry, Entry::Edge { .. }) {
                "edge"
            } else {
                "forget"
            };
            write!(out, "{{\"{kind}\":\"e{id}\",\"source\":")?;
            quote(out, name(*source))?;
            out.write_all(b",\"target\":")?;
            quote(out, name(*target))?;
            write!(out, ",\"timestamp\":\"{ts}\"")?;
        }
        Entry::Done { vertex, exit } => {
            out.write_all(b"{\"done\":")?;
            quote(out, name(*vertex))?;
            write!(
                out,
                ",\"exit\":\"{}\",\"timestamp\":\"{ts}\"",
                exit.as_str()
            )?;
        }
    }
    out.write_all(b"}")
}

/// One entry of the `graph` array, as a JSON object on one line.
pub(crate) fn entry_json(vertices: &[Vertex], time: Timestamp, entry: &Entry) -> String {
    let mut buf = Vec::with_capacity(192);
    write_entry(&mut buf, vertices, time, entry).expect("writing to a Vec cannot fail");
    String::from_utf8(buf).expect("JSON text is UTF-8")
}

/// Writes the whole graph; `progress` counts the entries written.
pub(crate) fn write(
    out: &mut impl Write,
    graph: &Graph,
    run: &RunInfo,
    progress: &ProgressBar,
) -> io::Result<()> {
    writeln!(out, "{{")?;
    for (key, value) in [
        ("arch", run.arch.as_str()),
        ("version", VERSION),
        ("args", run.args.as_str()),
        ("date", rfc3339(run.started).as_str()),
    ] {
        write!(out, "  \"{key}\":")?;
        quote(out, value)?;
        out.write_all(b",\n")?;
    }
    writeln!(out, "  \"graph\":[")?;
    let count = graph.entries.len();
    for (i, (time, entry)) in graph.entries.iter().enumerate() {
        out.write_all(b"    ")?;
        write_entry(out, &graph.vertices, *time, entry)?;
        out.write_all(if i + 1 < count { b",\n" } else { b"\n" })?;
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
    use crate::output::writers::{run_info, FailAfter};
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
        run_info("t", "[spigo -a t]", Timestamp(1))
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
