//! One simulation over several node processes on 127.0.0.1.

use super::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn node_set(graph: &Value) -> BTreeSet<String> {
    entries(graph, "node")
        .iter()
        .map(|n| n["node"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn three_nodes_build_the_graph_one_process_builds() {
    let args = [
        "-a",
        "netflixoss",
        "-w",
        "3",
        "-d",
        "3",
        "-j",
        "--seed",
        "5",
    ];
    let single = Run::ok(&args);
    let mut spread_args = args.to_vec();
    spread_args.extend(["--nodes", "3"]);
    let spread = Run::ok(&spread_args);
    let (a, b) = (
        single.graph_json("json/netflixoss.json"),
        spread.graph_json("json/netflixoss.json"),
    );
    assert_eq!(node_set(&a), node_set(&b));
    assert_eq!(edge_set(&a), edge_set(&b));
    let log = spread.stderr();
    for (node, region) in [
        ("node1", "us-east-1"),
        ("node2", "us-west-2"),
        ("node3", "eu-west-1"),
    ] {
        assert!(
            log.lines().any(
                |l| l.contains(&format!("  {node} ")) && l.contains(&format!("hosts {region}"))
            ),
            "{node} should host {region}:\n{log}"
        );
    }
    // Metadata says which node hosted each instance.
    assert!(entries(&b, "node")
        .iter()
        .all(|n| n["metadata"].as_str().unwrap().contains(",node/node")));
    assert!(spread.stdout().contains("node3"), "{}", spread.stdout());
}

#[test]
fn pirates_over_two_nodes_match_one_process() {
    let args = ["-a", "fsm", "-p", "10000", "--seed", "7", "-d", "0", "-j"];
    let single = Run::ok(&args);
    let mut spread_args = args.to_vec();
    spread_args.extend(["--nodes", "2"]);
    let spread = Run::ok(&spread_args);
    let (a, b) = (
        single.graph_json("json/fsm.json"),
        spread.graph_json("json/fsm.json"),
    );
    assert_eq!(edge_set(&a).len(), 20_000);
    assert_eq!(edge_set(&a), edge_set(&b));
    // Every pirate said Goodbye: the FSM only exits once they all have.
    assert!(spread.stderr().contains("fsm: Exit"));
    assert!(spread.stdout().contains("pirates          10000"));
}

#[test]
fn nodes_started_by_the_deploy_script_can_be_joined() {
    let state = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local-cluster.sh");
    let bin = spigo().get_program().to_owned();
    let out = Command::new(&script)
        .arg("2")
        .env("SPIGO_BIN", &bin)
        .env("SPIGO_CLUSTER_DIR", state.path())
        .env_remove("SPIGO_COOKIE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let join = printed
        .lines()
        .find_map(|l| l.strip_prefix("--join "))
        .expect("a --join line")
        .to_string();
    let cookie = std::fs::read_to_string(state.path().join("cookie")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = spigo()
        .args(["-a", "lamp", "-d", "1", "-j", "--join", &join])
        .env("SPIGO_COOKIE", &cookie)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stop = Command::new(&script)
        .arg("stop")
        .env("SPIGO_CLUSTER_DIR", state.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stop.status.success());
    let graph: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("json/lamp.json")).unwrap())
            .unwrap();
    assert_eq!(entries(&graph, "node").len(), 23);
    assert!(
        !String::from_utf8_lossy(&run.stderr).contains(cookie.trim()),
        "the cookie was printed"
    );
}

#[test]
fn a_killed_node_is_lost_and_the_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let mut coordinator = spigo()
        .args([
            "-a",
            "netflixoss",
            "-w",
            "3",
            "-d",
            "6",
            "-j",
            "--nodes",
            "3",
            "--seed",
            "2",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The coordinator logs each node's pid as it joins.
    let mut log = BufReader::new(coordinator.stderr.take().unwrap());
    let started = Instant::now();
    let mut pid = None;
    let mut seen = String::new();
    while pid.is_none() && started.elapsed() < Duration::from_secs(30) {
        let mut line = String::new();
        if log.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("joined as node 2") && line.contains("pid ") {
            pid = line
                .split("pid ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .map(str::to_string);
        }
        seen.push_str(&line);
    }
    let pid = pid.unwrap_or_else(|| panic!("no pid for node2 in:\n{seen}"));
    std::thread::sleep(Duration::from_secs(2));
    let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut log, &mut rest).unwrap();
    let status = coordinator.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "a lost node is exit status 3:\n{rest}"
    );
    assert!(rest.contains("node2") && rest.contains("lost"), "{rest}");
    let graph: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("json/netflixoss.json")).unwrap(),
    )
    .unwrap();
    let lost = entries(&graph, "done")
        .iter()
        .filter(|d| d["exit"] == "node-lost")
        .count();
    assert!(lost > 0, "the lost instances are recorded");
}

#[test]
fn a_wrong_cookie_is_refused() {
    let node = NodeProcess::start("the-right-cookie-0123", &["--name", "testnode"]);
    let run = spigo()
        .args([
            "-a",
            "lamp",
            "-d",
            "0",
            "--join",
            &node.addr,
            "--cookie",
            "a-wrong-one",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "node {} refused this coordinator: wrong cookie",
            node.addr
        )),
        "{err}"
    );
    // The node is still there for the right coordinator.
    let dir = tempfile::tempdir().unwrap();
    let ok = spigo()
        .args(["-a", "lamp", "-d", "0", "--join", &node.addr])
        .env("SPIGO_COOKIE", "the-right-cookie-0123")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
