//! End-to-end tests: each runs the real `spigo` binary (built once by cargo
//! for the whole test run) in a scratch folder and checks what a user would
//! see: exit status, log lines, graph files.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `spigo` binary of this workspace, freshly built.
fn spigo() -> Command {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    let path = BIN.get_or_init(|| {
        escargot::CargoBuild::new()
            .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
            .package("spigo")
            .bin("spigo")
            .current_release()
            .current_target()
            .run()
            .expect("cargo builds spigo")
            .path()
            .to_path_buf()
    });
    Command::new(path)
}

/// Runs spigo with `args` inside a fresh scratch folder.
struct Run {
    dir: tempfile::TempDir,
    out: Output,
}

impl Run {
    fn new(args: &[&str]) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let out = spigo().args(args).current_dir(dir.path()).output().unwrap();
        Run { dir, out }
    }

    fn ok(args: &[&str]) -> Run {
        let run = Run::new(args);
        assert!(
            run.out.status.success(),
            "spigo {args:?} failed:\n{}",
            run.stderr()
        );
        assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
        run
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn graph_json(&self, rel: &str) -> Value {
        let text = std::fs::read_to_string(self.path(rel)).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn entries<'a>(graph: &'a Value, kind: &str) -> Vec<&'a Value> {
    graph["graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get(kind).is_some())
        .collect()
}

fn edge_set(graph: &Value) -> BTreeSet<(String, String)> {
    entries(graph, "edge")
        .into_iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Node ids, edge endpoints and declared keys of a GraphML file.
struct GraphMl {
    nodes: BTreeSet<String>,
    edges: Vec<(String, String)>,
}

fn read_graphml(path: &Path) -> GraphMl {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut keys, mut used) = (BTreeSet::new(), BTreeSet::new());
    let mut g = GraphMl {
        nodes: BTreeSet::new(),
        edges: Vec::new(),
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &str| {
                    e.try_get_attribute(name)
                        .unwrap()
                        .map(|a| a.unescape_value().unwrap().into_owned())
                };
                match e.name().as_ref() {
                    b"key" => {
                        keys.insert(attr("id").unwrap());
                    }
                    b"data" => {
                        used.insert(attr("key").unwrap());
                    }
                    b"node" => {
                        assert!(g.nodes.insert(attr("id").unwrap()), "duplicate node");
                    }
                    b"edge" => g
                        .edges
                        .push((attr("source").unwrap(), attr("target").unwrap())),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert!(
        used.is_subset(&keys),
        "undeclared keys: {:?}",
        used.difference(&keys)
    );
    g
}

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
    let args = |seed: &'static str| ["-p", "500", "-d", "0", "-j", "--seed", seed];
    let a = edge_set(&Run::ok(&args("42")).graph_json("json/fsm.json"));
    let b = edge_set(&Run::ok(&args("42")).graph_json("json/fsm.json"));
    let c = edge_set(&Run::ok(&args("43")).graph_json("json/fsm.json"));
    assert_eq!(a.len(), 1000, "two distinct buddies each");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn out_folder_is_created_and_left_clean() {
    let run = Run::ok(&["-p", "20", "-d", "0", "-j", "-g", "--out", "deep/er"]);
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
    let run = Run::ok(&["-p", "50", "-d", "0", "-j", "-f"]);
    let graph = run.graph_json("json/fsm.json");
    let nodes = entries(&graph, "node");
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["node"], "fsm.atlantic.bermuda.blackbeard");
}

#[test]
fn message_log_shows_delivery_times() {
    let run = Run::ok(&["-p", "5", "-d", "0", "-m"]);
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
    let run = Run::ok(&["-p", "10", "-d", "0"]);
    assert!(!run.path("json").exists() && !run.path("gml").exists());
}

#[test]
fn bad_input_is_one_line_and_a_nonzero_exit() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let not_a_dir = format!("{}/sub", file.path().display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-d", "10x"], "10x"),
        (vec!["-p", "1"], "-p/--population"),
        (vec!["-p", "-3"], "-3"),
        (vec!["-p", "many"], "many"),
        (vec!["-a", "nosuch"], "known: fsm"),
        (vec!["--bogus"], "--bogus"),
        (vec!["--seed", "x"], "x"),
        (vec!["-j", "-p", "10", "--out", &not_a_dir], "--out"),
    ];
    for (args, expect) in cases {
        let run = Run::new(&args);
        let err = run.stderr();
        assert!(!run.out.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}:\n{err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn help_lists_spigo_flags() {
    let out = spigo().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "-a, --arch",
        "-d, --duration",
        "-p, --population",
        "-j, --graphjson",
        "-g, --graphml",
        "-m, --msglog",
    ] {
        assert!(text.contains(flag), "missing {flag} in\n{text}");
    }
}
