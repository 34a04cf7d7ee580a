//! End-to-end tests: each runs the real `spigo` binary (built once by cargo
//! for the whole test run) in a scratch folder and checks what a user would
//! see: exit status, log lines, summary, graph files. This file holds the
//! fixture helpers; the tests are grouped by subject in the modules below.

mod architectures;
mod bad_input;
mod cluster;
mod compose;
mod faults;
mod fsm;
mod gexf;
mod latency;
mod metrics;
mod profile;
mod scale;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `spigo` binary of this workspace, freshly built.
pub fn spigo() -> Command {
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

/// A `spigo node` on a free loopback port, killed when dropped.
pub struct NodeProcess {
    child: std::process::Child,
    pub addr: String,
}

impl NodeProcess {
    /// Starts a node with the cookie in `SPIGO_COOKIE` and these extra
    /// flags, and returns once it listens.
    pub fn start(cookie: &str, extra: &[&str]) -> NodeProcess {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = spigo()
            .args(["node", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("SPIGO_COOKIE", cookie)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().rsplit(' ').next().unwrap().to_string();
        assert!(addr.contains(':'), "the node said '{line}'");
        NodeProcess { child, addr }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// spigo run with some arguments inside a fresh scratch folder.
pub struct Run {
    pub dir: tempfile::TempDir,
    pub out: Output,
}

impl Run {
    pub fn new(args: &[&str]) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let out = spigo().args(args).current_dir(dir.path()).output().unwrap();
        Run { dir, out }
    }

    pub fn ok(args: &[&str]) -> Run {
        let run = Run::new(args);
        assert!(
            run.out.status.success(),
            "spigo {args:?} failed:\n{}",
            run.stderr()
        );
        assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
        run
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    /// The line of the end-of-run summary that starts with `label`.
    pub fn summary(&self, label: &str) -> String {
        let out = self.stdout();
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no '{label}' in summary:\n{out}"))
            .trim()
            .to_string()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn graph_json(&self, rel: &str) -> Value {
        let text = std::fs::read_to_string(self.path(rel)).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

pub fn entries<'a>(graph: &'a Value, kind: &str) -> Vec<&'a Value> {
    graph["graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get(kind).is_some())
        .collect()
}

/// How many nodes of each package a graph has.
pub fn package_counts(graph: &Value) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for n in entries(graph, "node") {
        *m.entry(n["package"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

/// The folder of spigo's own files (`../shared/reference` next to the
/// workspace), or `SPIGO_REFERENCE`; None where it is not provided.
pub fn reference(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("SPIGO_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference"));
    let dir = base.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} not found; only the project's own fixtures are checked",
            dir.display()
        );
        None
    }
}

pub fn edge_set(graph: &Value) -> BTreeSet<(String, String)> {
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
pub struct GraphMl {
    pub nodes: BTreeSet<String>,
    pub edges: Vec<(String, String)>,
}

pub fn read_graphml(path: &Path) -> GraphMl {
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
