//! End-to-end tests: each runs the real `spigo` binary (built once by cargo
//! for the whole test run) in a scratch folder and checks what a user would
//! see: exit status, log lines, summary, graph files. This file holds the
//! fixture helpers; the tests are grouped by subject in the modules below.

mod accounting;
mod architectures;
mod bad_input;
mod cli;
mod cluster;
mod compose;
mod faults;
mod fsm;
mod gexf;
mod latency;
mod layout;
mod links;
mod load;
mod metrics;
mod netns;
mod phases;
mod profile;
mod progress;
mod resilience;
mod scale;
mod security;
mod session;
mod svg;
mod watch;

pub use accounting::check_summary;
pub use watch::{alive, signal, wait_gone, Watched};

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use spigo_tests::spigo;

/// A `spigo node` on a free loopback port, killed when dropped.
pub struct NodeProcess {
    child: std::process::Child,
    pub addr: String,
}

impl NodeProcess {
    /// Starts a node with the cookie in `SPIGO_COOKIE` and these extra
    /// flags, and returns once it listens.
    pub fn start(cookie: &str, extra: &[&str]) -> NodeProcess {
        let (child, addr) = start_node(spigo(), "127.0.0.1:0", cookie, extra);
        NodeProcess { child, addr }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` (the spigo binary, perhaps wrapped) as `spigo node
/// --listen LISTEN` with the cookie in `SPIGO_COOKIE` and these extra flags,
/// and returns it with the address it says it listens on, once it does.
pub fn start_node(
    command: Command,
    listen: &str,
    cookie: &str,
    extra: &[&str],
) -> (std::process::Child, String) {
    start_node_logging(command, listen, cookie, extra, std::process::Stdio::null())
}

/// [`start_node`], with the node's log going to `log`.
pub fn start_node_logging(
    mut command: Command,
    listen: &str,
    cookie: &str,
    extra: &[&str],
    log: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = command
        .args(["node", "--listen", listen])
        .args(extra)
        .env("SPIGO_COOKIE", cookie)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(addr.contains(':'), "the node said '{line}'");
    (child, addr)
}

/// Nodes started by `deploy/local-cluster.sh N`, stopped by the script
/// when dropped.
pub struct LocalCluster {
    state: tempfile::TempDir,
    nodes: usize,
    stopped: bool,
    /// The `--join` list the script printed.
    pub join: String,
    /// The cluster's cookie, as the script saved it.
    pub cookie: String,
}

impl LocalCluster {
    fn script() -> Command {
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local-cluster.sh"))
    }

    /// Starts `nodes` nodes of this workspace's spigo with a fresh cookie.
    pub fn start(nodes: usize) -> LocalCluster {
        let state = tempfile::tempdir().unwrap();
        let out = LocalCluster::script()
            .arg(nodes.to_string())
            .env("SPIGO_BIN", spigo().get_program())
            .env("SPIGO_CLUSTER_DIR", state.path())
            .env_remove("SPIGO_COOKIE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "local-cluster.sh {nodes}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        let join = printed
            .lines()
            .find_map(|l| l.strip_prefix("--join "))
            .unwrap_or_else(|| panic!("no --join line in:\n{printed}"))
            .to_string();
        let cookie = std::fs::read_to_string(state.path().join("cookie")).unwrap();
        LocalCluster {
            state,
            nodes,
            stopped: false,
            join,
            cookie,
        }
    }

    /// The pid of each node, from the script's pid files.
    pub fn pids(&self) -> Vec<u32> {
        (1..=self.nodes)
            .map(|i| {
                std::fs::read_to_string(self.state.path().join(format!("node{i}.pid")))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    /// `local-cluster.sh stop`; whether it succeeded.
    pub fn stop(&mut self) -> bool {
        self.stopped = true;
        LocalCluster::script()
            .arg("stop")
            .env("SPIGO_CLUSTER_DIR", self.state.path())
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if !self.stopped {
            self.stop();
        }
    }
}

/// spigo run with some arguments inside a fresh scratch folder.
pub struct Run {
    pub dir: tempfile::TempDir,
    pub out: Output,
}

impl Run {
    pub fn new(args: &[&str]) -> Run {
        Run::new_in(tempfile::tempdir().unwrap(), args)
    }

    /// spigo run inside `dir`, which may hold files from an earlier run or
    /// written by the test. Its summary file, if it wrote one, must add up
    /// ([`check_summary`]).
    pub fn new_in(dir: tempfile::TempDir, args: &[&str]) -> Run {
        let out = spigo().args(args).current_dir(dir.path()).output().unwrap();
        check_summary(&accounting::out_dir(dir.path(), args));
        Run { dir, out }
    }

    pub fn ok(args: &[&str]) -> Run {
        Run::ok_in(tempfile::tempdir().unwrap(), args)
    }

    /// [`Run::new_in`] that must succeed without a panic.
    pub fn ok_in(dir: tempfile::TempDir, args: &[&str]) -> Run {
        let run = Run::new_in(dir, args);
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
        read_json(&self.path(rel))
    }
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Input spigo refused: exit status 2 and one line on stderr, without a
/// panic, containing `expect`. Returns that stderr.
pub fn assert_refused(out: &Output, expect: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "expected '{expect}': {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "expected one line '{expect}':\n{err}"
    );
    assert!(err.contains(expect), "expected '{expect}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
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
pub fn package_counts(graph: &Value) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for n in entries(graph, "node") {
        *m.entry(n["package"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

/// The folder of spigo's own files (`../shared/reference` next to the
/// workspace), or `SPIGO_REFERENCE`; None where it is not provided.
/// A file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

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

/// The node names of a graph.
pub fn node_set(graph: &Value) -> BTreeSet<String> {
    entries(graph, "node")
        .iter()
        .map(|n| n["node"].as_str().unwrap().to_string())
        .collect()
}

/// A name -> count map from a literal list, to compare with
/// [`package_counts`] and the like.
pub fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
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

/// Node ids and edge endpoints of a GraphML file. Reading it also checks
/// that every data key it uses is declared.
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
