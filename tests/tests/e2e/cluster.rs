//! One simulation over several node processes on 127.0.0.1.

use super::*;

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
    // The end-of-run report has a line for each node.
    let node3 = spread.summary("node3");
    assert!(
        node3.contains("peak ") && node3.contains(" messages in, "),
        "{node3}"
    );
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
    let mut cluster = LocalCluster::start(2);
    let dir = tempfile::tempdir().unwrap();
    let run = spigo()
        .args(["-a", "lamp", "-d", "1", "-j", "--join", &cluster.join])
        .env("SPIGO_COOKIE", &cluster.cookie)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stopped = cluster.stop();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stopped);
    let graph = read_json(&dir.path().join("json/lamp.json"));
    assert_eq!(entries(&graph, "node").len(), 23);
    assert!(
        !String::from_utf8_lossy(&run.stderr).contains(cluster.cookie.trim()),
        "the cookie was printed"
    );
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
    assert_refused(
        &run,
        &format!("node {} refused this coordinator: wrong cookie", node.addr),
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
