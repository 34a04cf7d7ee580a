//! GraphML: the XML graph format yEd, Gephi and networkx read.
//!
//! spigo's own GraphML used `data` keys it never declared, which strict
//! readers refuse. Here every key is declared before use. Nodes carry their
//! package and metadata as plain attributes, plus yEd node graphics (a label
//! and a colour per package) that yEd draws and other readers ignore.

use super::{label, RunInfo};
use crate::output::graph::{Entry, Graph};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use spigo_proto::Package;
use std::io::{self, Write};

/// One colour per package, so tiers stand out in yEd.
fn colour(package: &str) -> &'static str {
    match package {
        "pirate" => "#FFCC00",
        "denominator" => "#9999FF",
        "elb" => "#CC99FF",
        "zuul" => "#99CCFF",
        "karyon" => "#99FF99",
        "monolith" => "#FF9966",
        "staash" => "#66CCCC",
        "priamCassandra" => "#FF6666",
        _ if Package::parse(package).is_some_and(Package::is_store) => "#CCCCCC",
        _ => "#FFFFFF",
    }
}

pub(crate) fn write(out: &mut impl Write, graph: &Graph, run: &RunInfo) -> io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("graphml")
        .with_attributes([
            ("xmlns", "http://graphml.graphdrawing.org/xmlns"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("xmlns:y", "http://www.yworks.com/xml/graphml"),
            (
                "xsi:schemaLocation",
                "http://graphml.graphdrawing.org/xmlns http://www.yworks.com/xml/schema/graphml/1.1/ygraphml.xsd",
            ),
        ])
        .write_inner_content(|w| {
            for (id, target, name) in [
                ("package", "node", "package"),
                ("metadata", "node", "metadata"),
                ("created", "node", "timestamp"),
                ("since", "edge", "timestamp"),
                ("arch", "graph", "arch"),
                ("args", "graph", "args"),
            ] {
                w.create_element("key")
                    .with_attributes([
                        ("id", id),
                        ("for", target),
                        ("attr.name", name),
                        ("attr.type", "string"),
                    ])
                    .write_empty()?;
            }
            w.create_element("key")
                .with_attributes([("id", "graphics"), ("for", "node"), ("yfiles.type", "nodegraphics")])
                .write_empty()?;
            w.create_element("graph")
                .with_attributes([("id", run.arch.as_str()), ("edgedefault", "directed")])
                .write_inner_content(|w| write_graph(w, graph, run))?;
            Ok(())
        })?;
    w.get_mut().write_all(b"\n")
}

fn data<W: Write>(w: &mut Writer<W>, key: &str, value: &str) -> io::Result<()> {
    w.create_element("data")
        .with_attribute(("key", key))
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn write_graph<W: Write>(w: &mut Writer<W>, graph: &Graph, run: &RunInfo) -> io::Result<()> {
    data(w, "arch", &run.arch)?;
    data(w, "args", &run.args)?;
    // Nodes first, then every edge that was ever made (a static picture of
    // the whole run; forgets and dones are in the GraphJSON history).
    for (time, entry) in &graph.entries {
        if let Entry::Node { vertex } = entry {
            let v = &graph.vertices[*vertex as usize];
            w.create_element("node")
                .with_attribute(("id", v.name.as_str()))
                .write_inner_content(|w| {
                    data(w, "package", &v.package)?;
                    data(w, "metadata", &v.metadata)?;
                    data(w, "created", &super::rfc3339(*time))?;
                    w.create_element("data")
                        .with_attribute(("key", "graphics"))
                        .write_inner_content(|w| {
                            w.create_element("y:ShapeNode").write_inner_content(|w| {
                                w.create_element("y:Fill")
                                    .with_attributes([
                                        ("color", colour(&v.package)),
                                        ("transparent", "false"),
                                    ])
                                    .write_empty()?;
                                w.create_element("y:NodeLabel")
                                    .write_text_content(BytesText::new(label(&v.name)))?;
                                w.create_element("y:Shape")
                                    .with_attribute(("type", "ellipse"))
                                    .write_empty()?;
                                Ok(())
                            })?;
                            Ok(())
                        })?;
                    Ok(())
                })?;
        }
    }
    for (time, entry) in &graph.entries {
        if let Entry::Edge { id, source, target } = entry {
            let id = format!("e{id}");
            w.create_element("edge")
                .with_attributes([
                    ("id", id.as_str()),
                    ("source", graph.vertices[*source as usize].name.as_str()),
                    ("target", graph.vertices[*target as usize].name.as_str()),
                ])
                .write_inner_content(|w| data(w, "since", &super::rfc3339(*time)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::writers::graphjson::tests::sample_graph;
    use crate::output::writers::{run_info, FailAfter};
    use spigo_proto::Timestamp;

    fn run() -> RunInfo {
        run_info("t<&>", "[spigo -a t]", Timestamp(1))
    }

    #[test]
    fn every_used_key_is_declared_and_text_is_escaped() {
        let mut buf = Vec::new();
        write(&mut buf, &sample_graph(), &run()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let declared: Vec<&str> = text
            .match_indices("<key id=\"")
            .map(|(i, m)| {
                let rest = &text[i + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        for (i, m) in text.match_indices("<data key=\"") {
            let rest = &text[i + m.len()..];
            let key = &rest[..rest.find('"').unwrap()];
            assert!(declared.contains(&key), "undeclared key {key}");
        }
        assert!(text.contains("t&lt;&amp;&gt;"));
        assert!(text.contains("x&quot;0") || text.contains("x\"0"));
        assert_eq!(text.matches("<node ").count(), 3);
        assert_eq!(text.matches("<edge ").count(), 1);
    }

    #[test]
    fn write_errors_are_reported() {
        assert!(write(&mut FailAfter(300), &sample_graph(), &run()).is_err());
    }
}
