//! Liveness on every link and links repaired or reported, in the network
//! namespace lab (see `netns.rs`): a node whose coordinator goes silent
//! stops by itself; a link between two nodes that stays down is named in
//! the summary with status 3; one that comes back is re-dialled and the
//! run completes. And frames that would be over the limit (100 KB
//! service names) are split at the source, so no healthy node is lost.

use super::netns::Lab;
use super::*;
use std::time::{Duration, Instant};

const COOKIE: &str = "a-cookie-long-enough-for-the-lab-0123";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The coordinator's host stops answering (a blackhole: no FIN, no
/// reset): the node hears nothing for the heartbeat timeout, stops by
/// itself, non-zero, with one line saying why, and leaves nothing behind.
#[test]
fn a_node_whose_coordinator_goes_silent_stops_by_itself() {
    let Some(mut lab) = Lab::new(2) else {
        return;
    };
    let logs = tempfile::tempdir().unwrap();
    let node_log = logs.path().join("node1.log");
    let (addr, pid) = lab.node_logged(1, COOKIE, &node_log);
    let mut command = lab.spigo(0);
    command
        .args(["-a", "netflixoss", "-d", "30", "--join", &addr])
        .args(["--cookie", COOKIE, "--heartbeat-timeout", "3s"]);
    let mut run = Watched::start_command(command);
    run.wait_for("instances up");
    let cut = Instant::now();
    lab.silence(0, 1);
    let status = lab
        .wait_exit(pid, Duration::from_secs(3 + 5))
        .unwrap_or_else(|| panic!("the node did not stop by itself:\n{}", read(&node_log)));
    let took = cut.elapsed();
    assert_eq!(status.code(), Some(3), "{}", read(&node_log));
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(7),
        "a 3 s heartbeat timeout stopped the node after {took:?}"
    );
    let log = read(&node_log);
    let line = log
        .lines()
        .find(|l| l.contains("silent for"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains(&format!("coordinator at {}:", lab.addr(0))) && line.ends_with(": stopping"),
        "{line}"
    );
    assert_eq!(lab.left_running(), Vec::<u32>::new(), "no node left behind");
    let _ = run.child.kill();
    run.finish();
}

/// Two nodes on three hosts, the coordinator on the first, with node logs
/// and the summary kept in `files`.
struct Pair {
    lab: Lab,
    run: Watched,
    files: tempfile::TempDir,
}

impl Pair {
    fn start(timeout: &str, duration: &str) -> Option<Pair> {
        let mut lab = Lab::new(3)?;
        let files = tempfile::tempdir().unwrap();
        let (first, _) = lab.node_logged(1, COOKIE, &files.path().join("node1.log"));
        let (second, _) = lab.node_logged(2, COOKIE, &files.path().join("node2.log"));
        let join = format!("{first},{second}");
        let summary = files.path().join("summary.txt");
        let mut command = lab.spigo_into(0, Some(&summary), None);
        command
            .args([
                "-a",
                "netflixoss",
                "-w",
                "3",
                "-d",
                duration,
                "--join",
                &join,
            ])
            .args(["--cookie", COOKIE, "--heartbeat-timeout", timeout]);
        let mut run = Watched::start_command(command);
        run.wait_for("instances up");
        std::thread::sleep(Duration::from_secs(1));
        Some(Pair { lab, run, files })
    }
}

/// node1 can no longer answer node2 for longer than the heartbeat timeout,
/// while both still answer the coordinator: the link is reported and
/// lost, the run goes on degraded, and ends with status 3 and a summary
/// that names the link and what it cost.
#[test]
fn a_link_between_nodes_that_stays_down_is_reported_and_named() {
    let Some(mut pair) = Pair::start("3s", "14") else {
        return;
    };
    let cut = Instant::now();
    pair.lab.silence(1, 2);
    let line = pair
        .run
        .wait_for_all(&["link node1 <-> node2 lost", "degraded"]);
    let detected = cut.elapsed();
    assert!(
        detected < Duration::from_secs(9),
        "a 3 s heartbeat timeout reported the link after {detected:?}: {line}"
    );
    let Pair { lab, run, files } = pair;
    let (code, log, _dir) = run.finish();
    assert_eq!(code, Some(3), "a lost link is exit status 3:\n{log}");
    assert!(!log.contains(") lost:"), "no node lost:\n{log}");
    let summary = read(&files.path().join("summary.txt"));
    let named = summary
        .lines()
        .find(|l| l.contains("link node1 <-> node2 LOST"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(named.contains("messages undeliverable"), "{named}");
    for node in ["node1.log", "node2.log"] {
        let node_log = read(&files.path().join(node));
        assert!(
            node_log.contains("reporting it to the coordinator"),
            "{node}:\n{node_log}"
        );
    }
    drop(lab);
}

/// The link between the nodes is down about five seconds and back within
/// the heartbeat timeout: it is re-dialled, the log says so, what it cost
/// is counted, and the run completes with status 0.
#[test]
fn a_link_between_nodes_down_for_a_while_is_redialled() {
    let Some(pair) = Pair::start("8s", "16") else {
        return;
    };
    pair.lab.silence(1, 2);
    std::thread::sleep(Duration::from_secs(6));
    pair.lab.unsilence(1, 2);
    let Pair { lab, run, files } = pair;
    let (code, log, _dir) = run.finish();
    let node1 = read(&files.path().join("node1.log"));
    assert!(node1.contains("link to node 2 broken"), "{node1}");
    assert!(node1.contains("link to node 2 re-established"), "{node1}");
    assert_eq!(code, Some(0), "{log}\nnode1:\n{node1}");
    let summary = read(&files.path().join("summary.txt"));
    let named = summary
        .lines()
        .find(|l| l.contains("link node1 <-> node2 broke"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        named.contains("re-established 1") && named.contains("messages undeliverable"),
        "{named}"
    );
    drop(lab);
}

/// Service names of 100 KB over two nodes: spawn orders and batches that
/// would be far over the 4 MiB frame limit (with these counts a node was
/// declared lost before) are split where they are sent, so both healthy
/// nodes stay healthy and the run completes.
#[test]
fn long_service_names_over_two_nodes_stay_under_the_frame_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("json_arch")).unwrap();
    let name = |c: char| c.to_string().repeat(100_000);
    let (db, web) = (name('d'), name('w'));
    let arch = serde_json::json!({
        "arch": "long", "victim": "",
        "services": [
            {"name": db, "package": "store", "count": 12, "regions": 1, "dependencies": []},
            {"name": web, "package": "karyon", "count": 24, "regions": 1, "dependencies": [db]},
            {"name": "www", "package": "denominator", "count": 1, "regions": 1, "dependencies": [web]}
        ]
    });
    std::fs::write(
        dir.path().join("json_arch/long_arch.json"),
        arch.to_string(),
    )
    .unwrap();
    let run = Run::ok_in(dir, &["-a", "long", "-d", "4", "-j", "--nodes", "2"]);
    let err = run.stderr();
    assert!(!err.contains(" lost"), "{err}");
    assert!(!err.contains("refused a frame"), "{err}");
    let out = run.stdout();
    assert!(!out.contains("LOST"), "{out}");
    for node in ["node1", "node2"] {
        let line = run.summary(node);
        assert!(line.contains("0 refused"), "{line}");
    }
    assert!(
        err.contains("link to node 1 closed by the other end"),
        "closures are logged:\n{err}"
    );
}
