//! GEXF 1.3: the graph with its history, for Gephi's timeline.
//!
//! GraphML is a still picture of everything that ever existed; GEXF keeps
//! the history the GraphJSON lists, as a dynamic graph: a node lives from
//! its `node` entry to its `done` entry (if any), an edge from its `edge`
//! entry to its `forget` entry (if any). Gephi can then replay the
//! architecture being built and the chaos monkey's victim going away.
//!
//! Two choices are made for the readers rather than by the format:
//!
//! - Times are `timeformat="double"`, seconds since the run started (that
//!   start is given in the description). `dateTime` would suit Gephi as
//!   well, but networkx's `read_gexf` (checked with 3.6.1) has no parser for
//!   it and fails with `KeyError: 'dateTime'` on the first `start`; `date`
//!   reads back as plain strings and makes Gephi show whole days, for runs
//!   that last seconds.
//! - There is one `<edge>` per (source, target) pair. A pair that was
//!   forgotten and linked again gets one `<spell>` per interval rather than
//!   a second `<edge>`: Gephi's importer refuses parallel edges or merges
//!   them (per its settings), losing intervals either way, and networkx
//!   would read the whole file as a multigraph. networkx cannot read a
//!   spell without an end, so the last spell of such an edge, if still
//!   open, ends at the graph's last entry; a lone interval keeps the open
//!   end GEXF allows.

use super::{label, rfc3339, RunInfo, VERSION};
use crate::output::graph::{Entry, Graph};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::writer::ElementWriter;
use quick_xml::Writer;
use spigo_proto::Timestamp;
use std::collections::HashMap;
use std::io::{self, Write};

/// The node attributes, declared once and given by every node (id, title).
const NODE_ATTRIBUTES: [(&str, &str); 2] = [("package", "package"), ("metadata", "metadata")];

/// One time an edge was present; `id` is edda's edge id (`e<id>`).
struct Spell {
    id: u32,
    start: Timestamp,
    end: Option<Timestamp>,
}

/// Every (source, target) pair ever linked, with its spells.
struct Pair {
    source: u32,
    target: u32,
    spells: Vec<Spell>,
}

/// What the writer needs besides the entries: when each node ended and the
/// edges grouped by pair. Only indices and times, never text, so the
/// document itself is streamed.
struct History {
    node_end: Vec<Option<Timestamp>>,
    pairs: Vec<Pair>,
}

impl History {
    fn of(graph: &Graph) -> History {
        let mut node_end = vec![None; graph.vertices.len()];
        let mut pairs: Vec<Pair> = Vec::new();
        let mut by_pair: HashMap<(u32, u32), usize> = HashMap::new();
        for (time, entry) in &graph.entries {
            match *entry {
                Entry::Edge { id, source, target } => {
                    let i = *by_pair.entry((source, target)).or_insert_with(|| {
                        pairs.push(Pair {
                            source,
                            target,
                            spells: Vec::new(),
                        });
                        pairs.len() - 1
                    });
                    pairs[i].spells.push(Spell {
                        id,
                        start: *time,
                        end: None,
                    });
                }
                Entry::Done { vertex, .. } => {
                    if let Some(end) = node_end.get_mut(vertex as usize) {
                        end.get_or_insert(*time);
                    }
                }
                Entry::Node { .. } | Entry::Forget { .. } => {}
            }
        }
        // Forgets in a second pass: with the clocks of several processes a
        // forget may sort before the edge it ends.
        for (time, entry) in &graph.entries {
            if let Entry::Forget { id, source, target } = *entry {
                if let Some(&i) = by_pair.get(&(source, target)) {
                    if let Some(spell) = pairs[i].spells.iter_mut().find(|s| s.id == id) {
                        spell.end.get_or_insert(*time);
                    }
                }
            }
        }
        let last = graph.entries.last().map_or(Timestamp(0), |(t, _)| *t);
        for pair in &mut pairs {
            tidy(&mut pair.spells, last);
        }
        History { node_end, pairs }
    }
}

/// Makes the spells of one edge something Gephi accepts: each ends no
/// earlier than it starts, none overlaps the one before (Gephi rejects
/// overlapping intervals), and with several spells all of them end.
fn tidy(spells: &mut [Spell], last: Timestamp) {
    spells.sort_by_key(|s| s.start);
    let several = spells.len() > 1;
    let mut previous_end: Option<Timestamp> = None;
    for i in 0..spells.len() {
        if let Some(p) = previous_end {
            spells[i].start = spells[i].start.max(p);
        }
        let start = spells[i].start;
        let end = match spells[i].end {
            Some(end) => Some(end),
            // Only the last one can still be open; an earlier one ends
            // where the next begins.
            None if i + 1 < spells.len() => Some(spells[i + 1].start),
            None if several => Some(last),
            None => None,
        };
        spells[i].end = end.map(|e| e.max(start));
        previous_end = spells[i].end;
    }
}

/// Seconds from `origin` to `t`, to the nanosecond, without going through
/// a float.
fn seconds(t: Timestamp, origin: Timestamp) -> String {
    let d = i128::from(t.0) - i128::from(origin.0);
    let sign = if d < 0 { "-" } else { "" };
    let d = d.unsigned_abs();
    format!("{sign}{}.{:09}", d / 1_000_000_000, d % 1_000_000_000)
}

/// Adds `start` and, if there is one, `end` to an element, in seconds
/// since `origin`.
fn with_interval<'a, W>(
    element: ElementWriter<'a, W>,
    start: Timestamp,
    end: Option<Timestamp>,
    origin: Timestamp,
) -> ElementWriter<'a, W> {
    let element = element.with_attribute(("start", seconds(start, origin).as_str()));
    match end {
        Some(end) => element.with_attribute(("end", seconds(end, origin).as_str())),
        None => element,
    }
}

pub(crate) fn write(out: &mut impl Write, graph: &Graph, run: &RunInfo) -> io::Result<()> {
    let history = History::of(graph);
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("gexf")
        .with_attributes([
            ("xmlns", "http://gexf.net/1.3"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            (
                "xsi:schemaLocation",
                "http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd",
            ),
            ("version", "1.3"),
        ])
        .write_inner_content(|w| {
            write_meta(w, run)?;
            w.create_element("graph")
                .with_attributes([
                    ("mode", "dynamic"),
                    ("defaultedgetype", "directed"),
                    ("timeformat", "double"),
                ])
                .write_inner_content(|w| write_graph(w, graph, &history, run.started))?;
            Ok(())
        })?;
    w.get_mut().write_all(b"\n")
}

fn write_meta<W: Write>(w: &mut Writer<W>, run: &RunInfo) -> io::Result<()> {
    let started = rfc3339(run.started);
    // lastmodifieddate is an xsd:date: the day part of the start.
    let day = started.split('T').next().unwrap_or(&started);
    let description = format!(
        "{} {}; times are seconds since {started}",
        run.arch, run.args
    );
    w.create_element("meta")
        .with_attribute(("lastmodifieddate", day))
        .write_inner_content(|w| {
            w.create_element("creator")
                .write_text_content(BytesText::new(VERSION))?;
            w.create_element("description")
                .write_text_content(BytesText::new(&description))?;
            Ok(())
        })?;
    Ok(())
}

fn write_graph<W: Write>(
    w: &mut Writer<W>,
    graph: &Graph,
    history: &History,
    origin: Timestamp,
) -> io::Result<()> {
    w.create_element("attributes")
        .with_attributes([("class", "node"), ("mode", "static")])
        .write_inner_content(|w| {
            for (id, title) in NODE_ATTRIBUTES {
                w.create_element("attribute")
                    .with_attributes([("id", id), ("title", title), ("type", "string")])
                    .write_empty()?;
            }
            Ok(())
        })?;
    w.create_element("nodes").write_inner_content(|w| {
        for (time, entry) in &graph.entries {
            let Entry::Node { vertex } = *entry else {
                continue;
            };
            let v = &graph.vertices[vertex as usize];
            let end = history.node_end[vertex as usize].map(|e| e.max(*time));
            let node = w
                .create_element("node")
                .with_attributes([("id", v.name.as_str()), ("label", label(&v.name))]);
            with_interval(node, *time, end, origin).write_inner_content(|w| {
                w.create_element("attvalues").write_inner_content(|w| {
                    for ((id, _), value) in NODE_ATTRIBUTES.iter().zip([&v.package, &v.metadata]) {
                        w.create_element("attvalue")
                            .with_attributes([("for", *id), ("value", value.as_str())])
                            .write_empty()?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
        }
        Ok(())
    })?;
    w.create_element("edges").write_inner_content(|w| {
        for pair in &history.pairs {
            write_edge(w, graph, pair, origin)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_edge<W: Write>(
    w: &mut Writer<W>,
    graph: &Graph,
    pair: &Pair,
    origin: Timestamp,
) -> io::Result<()> {
    let id = format!("e{}", pair.spells[0].id);
    let edge = w.create_element("edge").with_attributes([
        ("id", id.as_str()),
        ("source", graph.vertices[pair.source as usize].name.as_str()),
        ("target", graph.vertices[pair.target as usize].name.as_str()),
    ]);
    if let [only] = &pair.spells[..] {
        with_interval(edge, only.start, only.end, origin).write_empty()?;
        return Ok(());
    }
    edge.write_inner_content(|w| {
        w.create_element("spells").write_inner_content(|w| {
            for spell in &pair.spells {
                let end = spell
                    .end
                    .expect("tidy closes every spell of an edge that has several");
                with_interval(w.create_element("spell"), spell.start, Some(end), origin)
                    .write_empty()?;
            }
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::writers::graphjson::tests::sample_graph;
    use crate::output::writers::{run_info, FailAfter};
    use quick_xml::events::BytesStart;
    use quick_xml::Reader;
    use spigo_proto::{Address, Exit, GraphEvent, Name, NodeRecord, StampedEvent};
    use std::collections::{BTreeMap, BTreeSet};

    fn run() -> RunInfo {
        run_info("t<&>", "[spigo -a t<&>]", Timestamp(1_000))
    }

    type Attrs = BTreeMap<String, String>;

    /// What a reader sees of a GEXF file.
    #[derive(Default)]
    struct Parsed {
        root: Attrs,
        graph: Attrs,
        /// Text of `creator` and `description`.
        meta: BTreeMap<String, String>,
        nodes: Vec<Attrs>,
        /// Each edge with its spells (start, end).
        edges: Vec<(Attrs, Vec<(String, String)>)>,
        declared: BTreeSet<String>,
        /// Every attvalue's `for`, per node.
        used: Vec<BTreeSet<String>>,
    }

    fn attrs(e: &BytesStart) -> Attrs {
        e.attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect()
    }

    fn parse(bytes: &[u8]) -> Parsed {
        let text = std::str::from_utf8(bytes).unwrap();
        let mut reader = Reader::from_str(text);
        let mut p = Parsed::default();
        let mut path: Vec<String> = Vec::new();
        loop {
            let event = reader.read_event().expect("well-formed XML");
            let (e, empty) = match &event {
                Event::Eof => break,
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(_) => {
                    path.pop();
                    continue;
                }
                Event::Text(t) => {
                    let name = path.last().cloned().unwrap_or_default();
                    p.meta
                        .entry(name)
                        .or_default()
                        .push_str(&t.decode().unwrap());
                    continue;
                }
                Event::GeneralRef(r) => {
                    let name = path.last().cloned().unwrap_or_default();
                    let entity = r.decode().unwrap();
                    let resolved = quick_xml::escape::resolve_predefined_entity(&entity).unwrap();
                    p.meta.entry(name).or_default().push_str(resolved);
                    continue;
                }
                _ => continue,
            };
            let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
            let a = attrs(e);
            match name.as_str() {
                "gexf" => p.root = a,
                "graph" => p.graph = a,
                "attribute" => {
                    assert_eq!(path.last().unwrap(), "attributes");
                    p.declared.insert(a["id"].clone());
                }
                "node" => {
                    p.nodes.push(a);
                    p.used.push(BTreeSet::new());
                }
                "attvalue" => {
                    assert!(path.iter().any(|n| n == "node"), "attvalue outside a node");
                    p.used.last_mut().unwrap().insert(a["for"].clone());
                }
                "edge" => p.edges.push((a, Vec::new())),
                "spell" => {
                    assert!(path.iter().any(|n| n == "edge"));
                    let spells = &mut p.edges.last_mut().unwrap().1;
                    spells.push((a["start"].clone(), a["end"].clone()));
                }
                _ => {}
            }
            if !empty {
                path.push(name);
            }
        }
        p.meta
            .retain(|k, v| (k == "creator" || k == "description") && !v.trim().is_empty());
        p
    }

    fn written(graph: &Graph) -> (String, Parsed) {
        let mut buf = Vec::new();
        write(&mut buf, graph, &run()).unwrap();
        let parsed = parse(&buf);
        (String::from_utf8(buf).unwrap(), parsed)
    }

    #[test]
    fn root_graph_and_meta_are_gexf_1_3_dynamic() {
        let (_, p) = written(&sample_graph());
        assert_eq!(p.root["xmlns"], "http://gexf.net/1.3");
        assert_eq!(p.root["version"], "1.3");
        assert_eq!(p.graph["mode"], "dynamic");
        assert_eq!(p.graph["defaultedgetype"], "directed");
        assert_eq!(p.graph["timeformat"], "double");
        assert_eq!(p.meta["creator"], VERSION);
        assert!(
            p.meta["description"].starts_with("t<&> [spigo -a t<&>]; times are seconds since "),
            "{}",
            p.meta["description"]
        );
    }

    #[test]
    fn nodes_and_edges_carry_their_intervals() {
        // sample_graph: three nodes at 1000..1002 ns, edge e1 made at 2000
        // and forgotten at 2001, the third node done at 2002. The run
        // started at 1000 ns.
        let (_, p) = written(&sample_graph());
        assert_eq!(p.nodes.len(), 3);
        assert_eq!(p.edges.len(), 1);
        let starts: Vec<&str> = p.nodes.iter().map(|n| n["start"].as_str()).collect();
        assert_eq!(starts, ["0.000000000", "0.000000001", "0.000000002"]);
        let ends: Vec<Option<&str>> = p
            .nodes
            .iter()
            .map(|n| n.get("end").map(String::as_str))
            .collect();
        assert_eq!(ends, [None, None, Some("0.000001002")]);
        assert_eq!(p.nodes[0]["id"], "t.us-east-1.zoneA.x\"0");
        assert_eq!(p.nodes[0]["label"], "x\"0");
        let (edge, spells) = &p.edges[0];
        assert_eq!(edge["id"], "e1");
        assert_eq!(edge["source"], p.nodes[0]["id"]);
        assert_eq!(edge["target"], p.nodes[1]["id"]);
        assert_eq!(edge["start"], "0.000001000");
        assert_eq!(edge["end"], "0.000001001");
        assert!(spells.is_empty());
    }

    #[test]
    fn every_attvalue_uses_a_declared_attribute() {
        let (_, p) = written(&sample_graph());
        assert_eq!(
            p.declared,
            BTreeSet::from(["package".to_string(), "metadata".to_string()])
        );
        for used in &p.used {
            assert_eq!(used, &p.declared, "every node gives every attribute");
        }
    }

    fn node(t: u64, i: u32, instance: &str) -> StampedEvent {
        StampedEvent {
            time: Timestamp(t),
            event: GraphEvent::Node(Box::new(NodeRecord {
                id: Address::new(0, i),
                name: Name::new("t", "r", "z", instance, "s", "karyon").to_string(),
                package: "kar<&>yon".into(),
                metadata: "IP/\"10.0.0.1\"".into(),
                location: Default::default(),
            })),
        }
    }

    fn link(t: u64, forget: bool, s: u32, d: u32) -> StampedEvent {
        let (source, target) = (Address::new(0, s), Address::new(0, d));
        StampedEvent {
            time: Timestamp(t),
            event: if forget {
                GraphEvent::Forget { source, target }
            } else {
                GraphEvent::Edge { source, target }
            },
        }
    }

    /// a -> b made, forgotten and made again (still there at the end);
    /// b -> a made once and kept; b done last.
    fn relinked_graph() -> Graph {
        let mut g = Graph::new(false);
        g.add(node(2_000_000_000, 0, "a<&>0"));
        g.add(node(2_000_000_000, 1, "b"));
        g.add(link(3_000_000_000, false, 0, 1));
        g.add(link(3_500_000_000, true, 0, 1));
        g.add(link(4_000_000_000, false, 0, 1));
        g.add(link(4_100_000_000, false, 1, 0));
        g.add(StampedEvent {
            time: Timestamp(5_000_000_000),
            event: GraphEvent::Done {
                id: Address::new(0, 1),
                exit: Exit::Normal,
            },
        });
        g.finish();
        g
    }

    #[test]
    fn a_pair_linked_again_is_one_edge_with_closed_spells() {
        let (_, p) = written(&relinked_graph());
        assert_eq!(p.nodes.len(), 2);
        assert_eq!(p.edges.len(), 2, "one edge per pair");
        let (ab, spells) = &p.edges[0];
        assert_eq!(ab["id"], "e1");
        assert!(!ab.contains_key("start") && !ab.contains_key("end"));
        // The second spell is still open: it ends at the last entry (b's
        // done), 5 s less the 1000 ns at which the run started.
        let expected = [
            ("2.999999000", "3.499999000"),
            ("3.999999000", "4.999999000"),
        ];
        let spells: Vec<(&str, &str)> = spells
            .iter()
            .map(|(s, e)| (s.as_str(), e.as_str()))
            .collect();
        assert_eq!(spells, expected);
        let (ba, spells) = &p.edges[1];
        assert_eq!(ba["id"], "e3");
        assert_eq!(ba["start"], "4.099999000");
        assert!(!ba.contains_key("end"), "a lone open interval stays open");
        assert!(spells.is_empty());
        assert_eq!(p.nodes[1]["end"], "4.999999000");
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let (text, p) = written(&relinked_graph());
        assert!(text.contains("t.r.z.a&lt;&amp;&gt;0"), "{text}");
        assert!(!text.contains("a<&>0"));
        assert!(text.contains("<description>t&lt;&amp;&gt; [spigo -a t&lt;&amp;&gt;]"));
        assert_eq!(p.nodes[0]["id"], "t.r.z.a<&>0");
        assert_eq!(p.nodes[0]["label"], "a<&>0");
        assert_eq!(p.edges[0].0["source"], "t.r.z.a<&>0");
        assert!(text.contains("value=\"kar&lt;&amp;&gt;yon\""), "{text}");
        assert!(text.contains("IP/&quot;10.0.0.1&quot;"), "{text}");
    }

    #[test]
    fn tidy_keeps_spells_apart_and_ordered() {
        // As clocks of different processes may give them.
        let mut spells = [
            Spell {
                id: 2,
                start: Timestamp(50),
                end: None,
            },
            Spell {
                id: 1,
                start: Timestamp(10),
                end: Some(Timestamp(60)),
            },
        ];
        tidy(&mut spells, Timestamp(40));
        let got: Vec<(u64, Option<u64>)> = spells
            .iter()
            .map(|s| (s.start.0, s.end.map(|e| e.0)))
            .collect();
        assert_eq!(got, [(10, Some(60)), (60, Some(60))]);
    }

    #[test]
    fn seconds_are_exact_and_signed() {
        assert_eq!(
            seconds(Timestamp(3_000_000_001), Timestamp(1)),
            "3.000000000"
        );
        assert_eq!(
            seconds(Timestamp(1), Timestamp(1_500_000_001)),
            "-1.500000000"
        );
        assert_eq!(
            seconds(Timestamp(u64::MAX), Timestamp(0)),
            "18446744073.709551615"
        );
    }

    #[test]
    fn write_errors_are_reported() {
        assert!(write(&mut FailAfter(300), &sample_graph(), &run()).is_err());
    }
}
