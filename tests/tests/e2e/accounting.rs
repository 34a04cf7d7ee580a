//! The accounting every run leaves in `<out>/summary.json`: the check that
//! every e2e run goes through ([`check_summary`], called by [`Run`] and
//! [`Watched::finish`](super::Watched::finish)), and the tests of its
//! fields, of an interrupted run's, and of the hop limit that ends a
//! dependency cycle.

use super::{entries, fixture, read_json, signal, Run, Watched};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a run with these arguments, in `dir`, writes its files.
pub(crate) fn out_dir(dir: &Path, args: &[&str]) -> PathBuf {
    match args.iter().position(|a| *a == "--out") {
        Some(i) if i + 1 < args.len() => dir.join(args[i + 1]),
        _ => dir.to_path_buf(),
    }
}

/// The GraphJSON file the summary's run wrote, if it wrote one.
fn graph_file(out: &Path, summary: &Value) -> Option<PathBuf> {
    Some(out.join(summary["graphjson"].as_str()?))
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a count"))
}

/// If the run wrote `<out>/summary.json`: every request sent is answered,
/// delivered or failed (`sent == answered + delivered + sum(failed)`), for
/// gets and puts alike, and its edges are the graph file's.
pub fn check_summary(out: &Path) {
    let path = out.join("summary.json");
    if !path.exists() {
        return;
    }
    let s = read_json(&path);
    let r = &s["requests"];
    let sum = |failed: &Value| -> u64 { failed.as_object().unwrap().values().map(count).sum() };
    let failed = sum(&r["failed"]);
    assert_eq!(
        count(&r["sent"]),
        count(&r["answered"]) + count(&r["delivered"]) + failed,
        "the accounting does not add up: {r:#}"
    );
    let (gets, puts) = (&r["gets"], &r["puts"]);
    assert_eq!(
        count(&gets["sent"]),
        count(&gets["answered"]) + sum(&gets["failed"]),
        "{r:#}"
    );
    assert_eq!(
        count(&puts["sent"]),
        count(&puts["delivered"]) + sum(&puts["failed"]),
        "{r:#}"
    );
    if let Some(graph) = graph_file(out, &s) {
        let graph = read_json(&graph);
        let edges = &s["edges"];
        assert_eq!(
            count(&edges["made"]),
            entries(&graph, "edge").len() as u64,
            "edges made"
        );
        assert_eq!(
            count(&edges["forgotten"]),
            entries(&graph, "forget").len() as u64,
            "edges forgotten"
        );
    }
}

/// The fields the issue fixes, with their types.
fn assert_interface(s: &Value) {
    assert!(s["arch"].is_string(), "{s:#}");
    assert!(s["seed"].is_u64(), "{s:#}");
    assert!(s["version"].is_string(), "{s:#}");
    assert!(s["graphjson"].is_string() || s["graphjson"].is_null());
    assert!(s["interrupted"].is_boolean(), "{s:#}");
    let instances = s["instances"].as_object().expect("instances");
    assert!(instances.values().all(Value::is_u64), "{s:#}");
    assert!(s["edges"]["made"].is_u64() && s["edges"]["forgotten"].is_u64());
    let r = &s["requests"];
    assert!(r["sent"].is_u64() && r["answered"].is_u64(), "{r:#}");
    let failed = r["failed"].as_object().expect("requests.failed");
    assert!(failed.values().all(Value::is_u64), "{r:#}");
    for service in s["services"].as_object().expect("services").values() {
        assert!(service["requests"].is_u64(), "{service:#}");
        for f in ["mean", "p50", "p99", "max"] {
            assert!(service["response_ms"][f].is_number(), "{f}: {service:#}");
        }
    }
}

#[test]
fn the_summary_file_has_the_interface_fields() {
    let run = Run::ok(&["-a", "netflixoss", "-d", "3", "--seed", "5", "-j"]);
    let s = read_json(&run.path("summary.json"));
    assert_interface(&s);
    assert_eq!(s["arch"], "netflixoss");
    assert_eq!(s["seed"], 5);
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["interrupted"], false);
    assert_eq!(s["instances"]["denominator"], 1);
    assert!(count(&s["requests"]["answered"]) > 0, "{s:#}");
    assert!(count(&s["services"]["www"]["response_ms"]["count"]) > 0);
    assert!(count(&s["services"]["wwwproxy"]["requests"]) > 0);

    let fsm = Run::ok(&["-a", "fsm", "-p", "30", "-d", "0"]);
    let s = read_json(&fsm.path("summary.json"));
    assert_interface(&s);
    assert_eq!(s["instances"]["pirate"], 30);
    assert_eq!(s["requests"]["sent"], 0);
}

#[test]
fn an_interrupted_run_says_so_in_its_summary() {
    let mut run = Watched::start(&["-a", "netflixoss", "-d", "30"]);
    run.wait_for("denominator activity rate");
    std::thread::sleep(Duration::from_secs(1));
    signal(run.child.id(), "-INT");
    let (code, log, dir) = run.finish();
    assert_eq!(code, Some(130), "{log}");
    let s = read_json(&dir.path().join("summary.json"));
    assert_interface(&s);
    assert_eq!(s["interrupted"], true);
    assert_eq!(s["exit"], 130);
    assert!(s["simulated_s"].as_f64().unwrap() < 30.0, "{s:#}");
}

/// Two karyon services that call each other: every request circles until
/// the hop limit drops it. The run ends on time in bounded memory, and the
/// cycle and its cost are named.
#[test]
fn a_dependency_cycle_is_named_and_ended_by_the_hop_limit() {
    let arch = fixture("arch/cycle_arch.json");
    let args = ["-a", arch.to_str().unwrap(), "-d", "4", "-kv", "chat:1ms"];
    let run = Run::ok(&args);
    let log = run.stderr();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("dependency cycle"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("WARN")
            && warnings[0].contains("ping -> pong -> ping")
            && warnings[0].contains("hop limit (32)"),
        "{log}"
    );
    let s = read_json(&run.path("summary.json"));
    assert_eq!(s["exit"], 0);
    assert!(s["duration_s"].as_f64().unwrap() < 30.0, "{s:#}");
    assert!(count(&s["requests"]["failed"]["hop limit"]) > 0, "{s:#}");
    let peak = run.summary("peak memory");
    let mb: f64 = peak.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(mb < 200.0, "{peak}");

    // A lower limit is taken, and named.
    let low = Run::ok(&["-a", arch.to_str().unwrap(), "-d", "1", "-kv", "hops:4"]);
    assert!(low.stderr().contains("hop limit (4)"), "{}", low.stderr());
}

#[test]
fn summary_json_prints_the_file_and_the_text_comes_from_the_same_figures() {
    let run = Run::ok(&[
        "-a",
        "netflixoss",
        "-d",
        "2",
        "--seed",
        "3",
        "--summary",
        "json",
    ]);
    let printed: Value = serde_json::from_str(&run.stdout()).expect("stdout is the JSON");
    let file = read_json(&run.path("summary.json"));
    assert_eq!(printed, file);
    assert_interface(&file);
    assert!(file["args"].as_array().unwrap().len() > 3, "{file:#}");
    assert!(file["commit"].as_str().unwrap().starts_with("commit "));
    assert!(file["latency"].as_array().is_some_and(|l| !l.is_empty()));
    assert!(file["memory"]["peak_bytes"].as_u64().unwrap() > 0);

    let text = Run::ok(&["-a", "netflixoss", "-d", "2", "--seed", "3"]);
    let file = read_json(&text.path("summary.json"));
    let out = text.stdout();
    let line = format!(
        "  requests         {} sent: {} gets ({} answered",
        file["requests"]["sent"], file["requests"]["gets"]["sent"], file["requests"]["answered"]
    );
    assert!(out.contains(&line), "{out}\n{line}");
}

#[test]
fn linger_needs_an_http_server() {
    let run = Run::new(&["-a", "netflixoss", "-d", "1", "--linger", "1s"]);
    assert_eq!(run.out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.out.stderr);
    assert!(err.contains("--linger"), "{err}");
}
