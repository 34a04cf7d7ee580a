//! GEXF output (`--gexf`): read back, it is the same graph as the GraphJSON.

use super::*;
use std::collections::BTreeMap;

/// What the tests compare of a GEXF file.
struct Gexf {
    root: BTreeMap<String, String>,
    graph: BTreeMap<String, String>,
    nodes: BTreeSet<String>,
    /// (source, target) of every `<edge>` element.
    edges: Vec<(String, String)>,
    /// Nodes and edges without a `start` and without spells.
    untimed: usize,
}

fn read_gexf(path: &Path) -> Gexf {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut g = Gexf {
        root: BTreeMap::new(),
        graph: BTreeMap::new(),
        nodes: BTreeSet::new(),
        edges: Vec::new(),
        untimed: 0,
    };
    // An edge whose times are in spells rather than in its own `start`.
    let mut open_untimed_edge = false;
    loop {
        let (e, empty) = match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) if e.name().as_ref() == b"edge" => {
                g.untimed += usize::from(std::mem::take(&mut open_untimed_edge));
                continue;
            }
            _ => continue,
        };
        let attrs: BTreeMap<String, String> = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect();
        match e.name().as_ref() {
            b"gexf" => g.root = attrs,
            b"graph" => g.graph = attrs,
            b"node" => {
                g.untimed += usize::from(!attrs.contains_key("start"));
                assert!(g.nodes.insert(attrs["id"].clone()), "duplicate node");
            }
            b"edge" => {
                let timed = attrs.contains_key("start");
                if empty {
                    g.untimed += usize::from(!timed);
                } else {
                    open_untimed_edge = !timed;
                }
                g.edges
                    .push((attrs["source"].clone(), attrs["target"].clone()));
            }
            b"spell" => {
                assert!(attrs.contains_key("start"), "a spell without a start");
                open_untimed_edge = false;
            }
            _ => {}
        }
    }
    g
}

#[test]
fn gexf_is_the_graphjson_graph() {
    let run = Run::ok(&[
        "-a",
        "netflixoss",
        "-w",
        "2",
        "-d",
        "2",
        "-j",
        "--gexf",
        "--seed",
        "1",
    ]);
    let gexf = read_gexf(&run.path("gexf/netflixoss.gexf"));
    let graph = run.graph_json("json/netflixoss.json");
    assert_eq!(gexf.root["xmlns"], "http://gexf.net/1.3");
    assert_eq!(gexf.root["version"], "1.3");
    assert_eq!(gexf.graph["mode"], "dynamic");
    assert_eq!(gexf.graph["timeformat"], "double");
    let nodes = node_set(&graph);
    assert!(nodes.len() > 100, "only {} nodes", nodes.len());
    assert_eq!(gexf.nodes.len(), nodes.len());
    assert_eq!(gexf.nodes, nodes);
    let pairs: BTreeSet<(String, String)> = gexf.edges.iter().cloned().collect();
    assert_eq!(pairs.len(), gexf.edges.len(), "a pair written as two edges");
    assert_eq!(pairs.len(), edge_set(&graph).len());
    assert_eq!(pairs, edge_set(&graph));
    assert_eq!(gexf.untimed, 0, "a node or edge without a start");
}
