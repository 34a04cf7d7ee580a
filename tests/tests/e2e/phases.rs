//! Faults at each phase of a run that the other fault tests do not reach:
//! an interrupt while the architecture is still being built, while the
//! nodes shut down and while the files are written; a node paused for less
//! than the heartbeat timeout; a coordinator killed while it writes. Each
//! asserts the exit status, a valid graph, no process left behind and how
//! long the run took to react.

use super::*;
use std::time::{Duration, Instant};

/// None of `pids` runs (ten seconds at most to exit).
fn assert_none_left(pids: &[u32], case: &str) {
    assert!(
        wait_gone(pids, Duration::from_secs(10)),
        "{case}: a node was left"
    );
}

/// An interrupt at a phase other than traffic still ends in a complete set
/// of files with what was simulated, within a few seconds: exit 130 during
/// set-up, and as if nothing happened once simulated time is over.
#[test]
fn an_interrupt_at_each_phase_keeps_everything() {
    let netflixoss = [
        "-a",
        "netflixoss",
        "-w",
        "2",
        "-p",
        "2000",
        "-d",
        "4",
        "-j",
        "--nodes",
        "2",
    ];
    // (phase, the log line that says it has begun, the exit status): once
    // simulated time is over, an interrupt cuts nothing short.
    for (phase, line, status) in [
        ("set-up", "Create service: cassSubscriber", 130),
        ("shutdown", "netflixoss: Shutdown", 0),
    ] {
        let mut run = Watched::start(&netflixoss);
        let nodes = [run.node_pid(1), run.node_pid(2)];
        run.wait_for(line);
        let sent = Instant::now();
        signal(run.child.id(), "-INT");
        let (code, log, dir) = run.finish();
        let took = sent.elapsed();
        assert_eq!(code, Some(status), "{phase}: {log}");
        assert!(took < Duration::from_secs(15), "{phase}: took {took:?}");
        let graph = read_json(&dir.path().join("json/netflixoss.json"));
        assert!(
            entries(&graph, "node").len() > 100,
            "{phase}: the graph holds what was built"
        );
        assert!(
            !entries(&graph, "done")
                .iter()
                .any(|d| d["exit"] == "node-lost"),
            "{phase}: no node was lost"
        );
        assert_none_left(&nodes, phase);
    }
}

/// Writing is not cut short by an interrupt: the files come out whole.
#[test]
fn an_interrupt_while_writing_finishes_the_files() {
    let mut run = Watched::start(&["-a", "fsm", "-p", "100000", "-d", "0", "-j", "-g"]);
    run.wait_for("wrote ./json/fsm.json");
    signal(run.child.id(), "-INT");
    let (code, log, dir) = run.finish();
    // The simulation was over: the run is complete.
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("results are complete"), "{log}");
    assert!(!log.contains("interrupted at"), "{log}");
    assert_eq!(
        entries(&read_json(&dir.path().join("json/fsm.json")), "node").len(),
        100_000
    );
    let gml = read_graphml(&dir.path().join("gml/fsm.graphml"));
    assert_eq!(gml.nodes.len(), 100_000, "the graphml is whole");
}

/// A node paused for less than the heartbeat timeout is not lost: the run
/// completes as if nothing happened.
#[test]
fn a_node_paused_briefly_is_ridden_out() {
    let mut run = Watched::start(&[
        "-a",
        "netflixoss",
        "-w",
        "2",
        "-d",
        "5",
        "-j",
        "--nodes",
        "2",
        "--heartbeat-timeout",
        "5s",
    ]);
    let pid = run.node_pid(2);
    run.wait_for("denominator activity rate");
    signal(pid, "-STOP");
    std::thread::sleep(Duration::from_millis(1500));
    signal(pid, "-CONT");
    let (code, log, dir) = run.finish();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("lost"), "{log}");
    let graph = read_json(&dir.path().join("json/netflixoss.json"));
    assert!(
        !entries(&graph, "done")
            .iter()
            .any(|d| d["exit"] == "node-lost"),
        "nothing was lost"
    );
    assert_none_left(&[pid], "paused");
}

/// A coordinator killed while it writes leaves at most a temporary file,
/// never a half-written graph under the real name; the next run into the
/// folder removes the temporary and writes a whole graph.
#[test]
fn a_coordinator_killed_while_writing_leaves_nothing_behind() {
    let args = ["-a", "fsm", "-p", "100000", "-d", "0", "-j", "-g"];
    let mut run = Watched::start(&args);
    run.wait_for("wrote ./json/fsm.json");
    signal(run.child.id(), "-9");
    let (code, _, dir) = run.finish();
    assert_eq!(code, None, "killed by the signal");
    let gml = dir.path().join("gml");
    // The kill can come before the GraphML's folder is made: then nothing
    // of it is there, which is whole too.
    let names = || -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&gml) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    // Whatever is there under the real name is whole.
    if names().iter().any(|n| n == "fsm.graphml") {
        assert_eq!(read_graphml(&gml.join("fsm.graphml")).nodes.len(), 100_000);
    }
    let again = Run::ok_in(dir, &["-a", "fsm", "-p", "100", "-d", "0", "-g"]);
    assert_eq!(names(), ["fsm.graphml"], "only the new graph is left");
    assert_eq!(
        read_graphml(&again.path("gml/fsm.graphml")).nodes.len(),
        100
    );
}
