//! Memory budgets: nodes announce what they can hold (`--max-memory`), the
//! coordinator places by it, and a population that does not fit is refused
//! in one line before anything is spawned.

use super::*;

const COOKIE: &str = "budget-test-cookie";

/// A node with a memory budget.
fn node(max_memory: &str) -> NodeProcess {
    NodeProcess::start(COOKIE, &["--max-memory", max_memory])
}

fn join(nodes: &[&NodeProcess], args: &[&str]) -> Run {
    let list = nodes
        .iter()
        .map(|n| n.addr.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let dir = tempfile::tempdir().unwrap();
    let out = spigo()
        .args(args)
        .args(["--join", &list])
        .env("SPIGO_COOKIE", COOKIE)
        .current_dir(dir.path())
        .output()
        .unwrap();
    Run { dir, out }
}

/// The pirate numbers each node was given, from the log.
fn pirates_per_node(log: &str) -> Vec<u32> {
    log.lines()
        .filter_map(|l| l.split("hosts pirates ").nth(1))
        .map(|range| {
            let (a, b) = range.split_once("..").unwrap();
            b.trim().parse::<u32>().unwrap() - a.parse::<u32>().unwrap() + 1
        })
        .collect()
}

#[test]
fn a_population_over_every_budget_is_refused_in_one_line() {
    let run = Run::new(&[
        "-a",
        "fsm",
        "-p",
        "100000",
        "-d",
        "0",
        "-j",
        "--nodes",
        "2",
        "--max-memory",
        "200M",
        "-q",
    ]);
    let err = run.stderr();
    assert_eq!(run.out.status.code(), Some(2), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("spigo: "))
        .unwrap_or_else(|| panic!("no error line in:\n{err}"));
    assert!(
        line.starts_with("spigo: out of memory budget: 100000 pirates need about 763 MiB, and the 2 nodes can take about"),
        "{line}"
    );
    assert!(line.contains("node1 ") && line.contains("node2 "), "{line}");
    assert!(
        !run.path("json").exists(),
        "no graph for a run that never ran"
    );

    // One process alone, with the same budget.
    let run = Run::new(&[
        "-a",
        "fsm",
        "-p",
        "100000",
        "-d",
        "0",
        "--max-memory",
        "200M",
    ]);
    assert_eq!(run.out.status.code(), Some(2));
    assert!(
        run.stderr().contains("this process can take about")
            && run.stderr().contains("(--max-memory 200 MiB)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn pirates_are_placed_by_what_each_node_can_hold() {
    let small = node("80M");
    let big = node("2G");
    let run = join(
        &[&small, &big],
        &["-a", "fsm", "-p", "20000", "-d", "0", "-j"],
    );
    let log = run.stderr();
    assert!(run.out.status.success(), "{log}");
    let shares = pirates_per_node(&log);
    assert_eq!(shares.iter().sum::<u32>(), 20000, "{log}");
    let [on_small, on_big] = shares[..] else {
        panic!("{shares:?}\n{log}");
    };
    // 80M holds about 8,000 pirates after the node's own needs and the
    // tenth kept free: not an even 10,000, and the big node takes the rest.
    assert!(on_small < 9_500 && on_small > 4_000, "{shares:?}");
    assert!(on_big > 10_500, "{shares:?}");
    assert!(log.contains("room for about"), "{log}");
    let graph = run.graph_json("json/fsm.json");
    assert_eq!(entries(&graph, "node").len(), 20000);
}

#[test]
fn regions_move_off_a_node_without_room() {
    let tiny = node("1M");
    let big = node("2G");
    let run = join(
        &[&tiny, &big],
        &["-a", "netflixoss", "-w", "2", "-p", "200", "-d", "1", "-j"],
    );
    let log = run.stderr();
    assert!(run.out.status.success(), "{log}");
    assert!(log.contains("hosts nothing (no room)"), "{log}");
    assert!(log.contains("hosts us-east-1, us-west-2, global"), "{log}");
    let graph = run.graph_json("json/netflixoss.json");
    assert!(entries(&graph, "node").len() > 200);
}
