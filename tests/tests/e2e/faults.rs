//! Faults and untrusted peers: nodes killed at each phase, a node that
//! stops answering, a coordinator that dies, mutual TLS, sustained load.

use super::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The run ended with status 3, its graph is valid JSON that records
/// the lost instances, and its summary file names the lost node.
fn assert_lost_and_recorded(code: Option<i32>, log: &str, graph: &Path) {
    assert_eq!(code, Some(3), "a lost node is exit status 3:\n{log}");
    assert!(log.contains("lost"), "{log}");
    let out = graph.parent().and_then(Path::parent).unwrap();
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["exit"], 3, "{summary:#}");
    assert_eq!(summary["ending"], "nodes lost", "{summary:#}");
    assert!(
        !summary["nodes"]["lost"].as_array().unwrap().is_empty(),
        "{summary:#}"
    );
    let graph = read_json(graph);
    let lost = entries(&graph, "done")
        .iter()
        .filter(|d| d["exit"] == "node-lost")
        .count();
    assert!(lost > 0, "no node-lost entries");
}

#[test]
fn a_killed_node_is_lost_and_the_run_finishes() {
    let mut run = Watched::start(&[
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
    ]);
    let pid = run.node_pid(2);
    // What the coordinator logs from here on.
    let before = run.log.len();
    std::thread::sleep(Duration::from_secs(2));
    signal(pid, "-9");
    let (code, log, dir) = run.finish();
    let rest = &log[before..];
    assert!(rest.contains("node2") && rest.contains("lost"), "{rest}");
    assert_lost_and_recorded(code, &log, &dir.path().join("json/netflixoss.json"));
}

#[test]
fn a_node_killed_while_spawning_is_survived() {
    let mut run = Watched::start(&[
        "-a",
        "netflixoss",
        "-w",
        "2",
        "-p",
        "2000",
        "-d",
        "2",
        "-j",
        "--nodes",
        "2",
    ]);
    let pid = run.node_pid(2);
    run.wait_for("Create service: cassSubscriber");
    signal(pid, "-9");
    let (code, log, dir) = run.finish();
    assert_eq!(code, Some(3), "{log}");
    let graph = read_json(&dir.path().join("json/netflixoss.json"));
    assert!(
        !entries(&graph, "node").is_empty(),
        "the surviving region is in the graph"
    );
}

#[test]
fn a_node_killed_during_shutdown_is_survived() {
    let mut run = Watched::start(&[
        "-a",
        "netflixoss",
        "-w",
        "2",
        "-d",
        "2",
        "-j",
        "--nodes",
        "2",
    ]);
    let pid = run.node_pid(2);
    run.wait_for("netflixoss: Shutdown");
    signal(pid, "-9");
    let (code, log, dir) = run.finish();
    assert_lost_and_recorded(code, &log, &dir.path().join("json/netflixoss.json"));
}

#[test]
fn a_node_that_stops_answering_is_lost_by_heartbeat() {
    let mut run = Watched::start(&[
        "-a",
        "netflixoss",
        "-w",
        "2",
        "-d",
        "8",
        "-j",
        "--nodes",
        "2",
        "--heartbeat-timeout",
        "2s",
    ]);
    let pid = run.node_pid(2);
    run.wait_for("denominator activity rate");
    signal(pid, "-STOP");
    let line = run.wait_for("stopped answering heartbeats");
    assert!(line.contains("node2"), "{line}");
    let (code, log, dir) = run.finish();
    // If it is still there (stopped), let it run to find its coordinator gone.
    let _ = Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status();
    assert_lost_and_recorded(code, &log, &dir.path().join("json/netflixoss.json"));
    // The stopped node, once it runs again, finds its coordinator gone.
    assert!(
        wait_gone(&[pid], Duration::from_secs(10)),
        "node2 outlived its coordinator"
    );
}

#[test]
fn nodes_exit_when_their_coordinator_is_killed() {
    let mut run = Watched::start(&["-a", "netflixoss", "-w", "2", "-d", "30", "--nodes", "2"]);
    let pids = [run.node_pid(1), run.node_pid(2)];
    run.wait_for("denominator activity rate");
    signal(run.child.id(), "-9");
    let _ = run.finish();
    assert!(
        wait_gone(&pids, Duration::from_secs(5)),
        "nodes outlived their coordinator by 5 s"
    );
}

#[test]
fn joined_nodes_exit_when_their_coordinator_is_killed() {
    let cluster = LocalCluster::start(2);
    let pids = cluster.pids();
    let mut coordinator = spigo()
        .args([
            "-a",
            "lamp",
            "-d",
            "30",
            "--join",
            &cluster.join,
            "--cookie",
            cluster.cookie.trim(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(coordinator.stderr.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("denominator activity rate") {
            break;
        }
    }
    let _ = coordinator.kill();
    let _ = coordinator.wait();
    // Checked before the cluster is dropped, which would stop them.
    assert!(
        wait_gone(&pids, Duration::from_secs(5)),
        "joined nodes outlived their coordinator by 5 s"
    );
}

/// A CA and certificates for the node and the coordinator, as PEM files.
fn certificates(dir: &Path, name: &str) -> [PathBuf; 3] {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let files = [
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
        dir.join(format!("{name}-ca.pem")),
    ];
    std::fs::write(&files[0], cert.pem()).unwrap();
    std::fs::write(&files[1], key.serialize_pem()).unwrap();
    std::fs::write(&files[2], ca.pem()).unwrap();
    files
}

#[test]
fn mutual_tls_links_only_admit_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let [cert, key, ca] = certificates(dir.path(), "cluster");
    let [other_cert, other_key, other_ca] = certificates(dir.path(), "stranger");
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let tls = |c: &PathBuf, k: &PathBuf, a: &PathBuf| {
        vec![
            "--tls-cert".to_string(),
            s(c),
            "--tls-key".into(),
            s(k),
            "--tls-ca".into(),
            s(a),
        ]
    };

    let node_tls = tls(&cert, &key, &ca);
    let node_tls: Vec<&str> = node_tls.iter().map(String::as_str).collect();
    let node = NodeProcess::start("c00kie-for-tls", &node_tls);
    let addr = node.addr.clone();
    let join = |extra: Vec<String>| {
        let mut args = vec![
            "-a".to_string(),
            "lamp".into(),
            "-d".into(),
            "0".into(),
            "--join".into(),
            addr.clone(),
            "--cookie".into(),
            "c00kie-for-tls".into(),
        ];
        args.extend(extra);
        spigo()
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let plain = join(vec![]);
    let stranger = join(tls(&other_cert, &other_key, &other_ca));
    let member = join(tls(&cert, &key, &ca));
    drop(node);
    assert_eq!(
        plain.status.code(),
        Some(2),
        "a plain coordinator must be refused"
    );
    let said = String::from_utf8_lossy(&plain.stderr);
    assert!(
        said.contains("the peer speaks TLS and this end does not"),
        "{said}"
    );
    assert_eq!(
        stranger.status.code(),
        Some(2),
        "a coordinator from another CA must be refused"
    );
    assert!(String::from_utf8_lossy(&stranger.stderr).contains(&addr));
    assert!(
        member.status.success(),
        "{}",
        String::from_utf8_lossy(&member.stderr)
    );

    // And the other way round: a TLS coordinator meeting a plain node.
    let plain_node = NodeProcess::start("c00kie-for-tls", &[]);
    let mut args = vec!["-a", "lamp", "-d", "0", "--join", &plain_node.addr];
    let member_tls = tls(&cert, &key, &ca);
    args.extend(member_tls.iter().map(String::as_str));
    let out = spigo()
        .args(&args)
        .env("SPIGO_COOKIE", "c00kie-for-tls")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("the peer does not speak TLS and this end does"),
        "{said}"
    );
    drop(plain_node);

    // --nodes passes the certificates on to the nodes it starts.
    let mut args = vec![
        "-a".to_string(),
        "lamp".into(),
        "-d".into(),
        "1".into(),
        "--nodes".into(),
        "2".into(),
    ];
    args.extend(tls(&cert, &key, &ca));
    let spread = spigo()
        .args(&args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        spread.status.success(),
        "{}",
        String::from_utf8_lossy(&spread.stderr)
    );
}

#[test]
fn memory_stays_flat_under_sustained_load() {
    let mut run = Watched::start(&[
        "-a",
        "netflixoss",
        "-p",
        "500",
        "-w",
        "3",
        "-d",
        "20",
        "-kv",
        "chat:1ms",
        "--nodes",
        "3",
    ]);
    let pids = [run.node_pid(1), run.node_pid(2), run.node_pid(3)];
    run.wait_for("denominator activity rate");
    std::thread::sleep(Duration::from_secs(6));
    let warm: Vec<u64> = pids.iter().map(|&p| rss_kb(p)).collect();
    std::thread::sleep(Duration::from_secs(10));
    let later: Vec<u64> = pids.iter().map(|&p| rss_kb(p)).collect();
    let (code, log, _dir) = run.finish();
    assert_eq!(code, Some(0), "{log}");
    for (w, l) in warm.iter().zip(&later) {
        assert!(
            *l as f64 <= *w as f64 * 1.15 + 2048.0,
            "node memory grew from {w} kB to {l} kB"
        );
    }
}

/// Ctrl-C (SIGINT) or SIGTERM ends simulated time early and keeps
/// everything: the nodes stop cleanly, the graph is written with what was
/// simulated, the report says where it stopped, and the exit status is 130.
#[test]
fn an_interrupt_stops_early_and_keeps_everything() {
    for (sig, args) in [
        (
            "-INT",
            &[
                "-a",
                "netflixoss",
                "-w",
                "2",
                "-d",
                "30",
                "-j",
                "--nodes",
                "2",
            ][..],
        ),
        (
            "-TERM",
            &["-a", "fsm", "-p", "500", "-d", "30", "-j", "-g"][..],
        ),
    ] {
        let mut run = Watched::start(args);
        let nodes: Vec<u32> = if args.contains(&"--nodes") {
            vec![run.node_pid(1), run.node_pid(2)]
        } else {
            Vec::new()
        };
        // Traffic (or chatting) has begun.
        run.wait_for_any(&["denominator activity rate", "Talk amongst yourselves"]);
        std::thread::sleep(Duration::from_secs(2));
        let sent = Instant::now();
        signal(run.child.id(), sig);
        let (code, log, dir) = run.finish();
        let took = sent.elapsed();
        assert_eq!(code, Some(130), "{sig}: {log}");
        assert!(took < Duration::from_secs(10), "{sig}: took {took:?}");
        assert!(log.contains("interrupted at "), "{sig}: {log}");
        let arch = args[1];
        let graph = read_json(&dir.path().join(format!("json/{arch}.json")));
        assert!(
            entries(&graph, "node").len() > 50,
            "{sig}: the graph was written"
        );
        assert!(
            entries(&graph, "done")
                .iter()
                .all(|d| d["exit"] == "normal"),
            "{sig}: everything left cleanly"
        );
        if arch == "fsm" {
            assert!(dir.path().join("gml/fsm.graphml").exists());
        }
        assert!(
            wait_gone(&nodes, Duration::from_secs(10)),
            "{sig}: no node left"
        );
    }
}

/// A second interrupt aborts at once.
#[test]
fn a_second_interrupt_aborts() {
    let mut run = Watched::start(&["-a", "netflixoss", "-d", "30"]);
    run.wait_for("denominator activity rate");
    signal(run.child.id(), "-INT");
    run.wait_for("interrupted: ending the simulation now");
    signal(run.child.id(), "-INT");
    let (code, log, _) = run.finish();
    assert_eq!(code, Some(130), "{log}");
}

/// The one instance named by the log's crash line, which must be the only
/// line naming it; the graph records it done with exit `crashed`.
fn assert_crash_recorded(log: &str, graph: &Value) {
    let crashed: Vec<&str> = log.lines().filter(|l| l.contains(" crashed: ")).collect();
    assert_eq!(crashed.len(), 1, "one crash line:\n{log}");
    let name = crashed[0]
        .split_whitespace()
        .find(|w| w.contains(".cassSubscriber"))
        .unwrap_or_else(|| panic!("the crash line names the instance: {}", crashed[0]));
    assert_eq!(
        log.lines().filter(|l| l.contains(name)).count(),
        1,
        "{name} is named once:\n{log}"
    );
    let done: Vec<&Value> = entries(graph, "done")
        .into_iter()
        .filter(|d| d["exit"] == "crashed")
        .collect();
    assert_eq!(done.len(), 1, "one crashed entry");
    assert_eq!(done[0]["done"], name);
}

/// netflixoss for 3 s, one cassSubscriber instance crashing 1 s in.
fn run_with_crash(extra: &[&str]) -> Run {
    let mut args = vec!["-a", "netflixoss", "-d", "3", "-j", "--seed", "4"];
    args.extend(["-kv", "crash:cassSubscriber@1s"]);
    args.extend(extra);
    let run = Run::ok(&args);
    assert_crash_recorded(&run.stderr(), &run.graph_json("json/netflixoss.json"));
    assert!(run
        .summary("crashed")
        .starts_with("crashed          1 instances"));
    // Traffic went on after the crash, and ended as usual.
    assert!(
        run.stderr().contains("netflixoss: Exit"),
        "{}",
        run.stderr()
    );
    run
}

#[test]
fn a_panicking_instance_is_recorded_crashed_and_the_run_goes_on() {
    run_with_crash(&[]);
}

#[test]
fn an_instance_crashed_on_a_node_is_recorded_by_that_nodes_supervisor() {
    let run = run_with_crash(&["-w", "2", "--nodes", "2"]);
    assert!(
        run.stderr().contains("joined as node 2"),
        "{}",
        run.stderr()
    );
}
