//! The pirate social network: graph files, seeds, filters, message log.

use super::*;

#[test]
fn fsm_writes_graphjson_and_graphml() {
    let run = Run::ok(&["-a", "fsm", "-p", "200", "-d", "1", "-j", "-g"]);
    let graph = run.graph_json("json/fsm.json");
    assert_eq!(graph["arch"], "fsm");
    for field in ["version", "args", "date"] {
        assert!(graph[field].is_string(), "missing {field}");
    }
    let nodes = entries(&graph, "node");
    assert_eq!(nodes.len(), 200);
    assert_eq!(nodes[0]["package"], "pirate");
    assert!(nodes[0]["metadata"]
        .as_str()
        .unwrap()
        .starts_with("IP/54.198."));
    let names: BTreeSet<&str> = nodes.iter().map(|n| n["node"].as_str().unwrap()).collect();
    assert!(names.contains("fsm.atlantic.bermuda.blackbeard06"));
    let edges = edge_set(&graph);
    assert!(edges.len() >= 200, "only {} edges", edges.len());
    for (s, t) in &edges {
        assert!(names.contains(s.as_str()) && names.contains(t.as_str()));
        assert_ne!(s, t, "a pirate is never its own buddy");
    }

    let gml = read_graphml(&run.path("gml/fsm.graphml"));
    assert_eq!(gml.nodes.len(), 200);
    assert_eq!(gml.edges.len(), edges.len());
    let log = run.stderr();
    assert!(log.contains("fsm: Delivered "), "{log}");
    assert!(log.contains("fsm: Exit"), "{log}");
}

#[test]
fn same_seed_gives_the_same_graph_at_zero_duration() {
    let args = |seed: &'static str| ["-a", "fsm", "-p", "500", "-d", "0", "-j", "--seed", seed];
    let a = edge_set(&Run::ok(&args("42")).graph_json("json/fsm.json"));
    let b = edge_set(&Run::ok(&args("42")).graph_json("json/fsm.json"));
    let c = edge_set(&Run::ok(&args("43")).graph_json("json/fsm.json"));
    assert_eq!(a.len(), 1000, "two distinct buddies each");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn out_folder_is_created_and_left_clean() {
    let run = Run::ok(&[
        "-a", "fsm", "-p", "20", "-d", "0", "-j", "-g", "--out", "deep/er",
    ]);
    for dir in ["deep/er/json", "deep/er/gml"] {
        let files: Vec<String> = std::fs::read_dir(run.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 1, "{dir}: {files:?}");
        assert!(!files[0].starts_with('.'), "temporary file left: {files:?}");
    }
}

#[test]
fn filter_collapses_pirates_into_their_service() {
    let run = Run::ok(&["-a", "fsm", "-p", "50", "-d", "0", "-j", "-f"]);
    let graph = run.graph_json("json/fsm.json");
    let nodes = entries(&graph, "node");
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["node"], "fsm.atlantic.bermuda.blackbeard");
}

#[test]
fn message_log_shows_delivery_times() {
    let run = Run::ok(&["-a", "fsm", "-p", "5", "-d", "0", "-m"]);
    let log = run.stderr();
    let line = log
        .lines()
        .find(|l| {
            l.contains("blackbeard01: gotocol: ")
                && l.contains(" NameDrop fsm.atlantic.bermuda.blackbeard")
        })
        .unwrap_or_else(|| panic!("no NameDrop line in\n{log}"));
    assert!(
        line.contains("us NameDrop") || line.contains("ms NameDrop"),
        "{line}"
    );
    assert!(log.contains(" Goodbye fsm"), "{log}");
}

#[test]
fn no_graph_flags_write_no_files() {
    let run = Run::ok(&["-a", "fsm", "-p", "10", "-d", "0"]);
    assert!(!run.path("json").exists() && !run.path("gml").exists());
}
