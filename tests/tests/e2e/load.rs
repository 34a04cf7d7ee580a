//! The denominator's pacing: `-kv arrivals:poisson` (a Poisson process at
//! the chat rate) and `-kv load:` profiles, measured from what the run
//! itself recorded.

use super::*;

/// Requests the denominator itself sent (gets and puts, not the copies a
/// put fans out to), from summary.json.
fn sent_by_the_denominator(run: &Run) -> f64 {
    let s = read_json(&run.path("summary.json"));
    let r = &s["requests"];
    let n = |v: &Value| v.as_u64().unwrap() as f64;
    n(&r["gets"]["sent"]) + n(&r["puts"]["sent"]) - n(&r["puts"]["forked"])
}

/// The gaps between the requests that start traces (the denominator's
/// CLIENT and PRODUCER spans), in microseconds, in order.
fn arrival_gaps(run: &Run) -> Vec<f64> {
    let flow = run.graph_json("json_metrics/netflixoss_flow.json");
    let mut starts: Vec<u64> = (flow.as_array().unwrap().iter())
        .filter(|s| s.get("parentId").is_none())
        .filter(|s| s["kind"] == "CLIENT" || s["kind"] == "PRODUCER")
        .map(|s| s["timestamp"].as_u64().unwrap())
        .collect();
    starts.sort_unstable();
    starts.windows(2).map(|w| (w[1] - w[0]) as f64).collect()
}

/// Standard deviation over mean: 1 for exponential gaps, near 0 for a
/// fixed interval.
fn variation(gaps: &[f64]) -> f64 {
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    var.sqrt() / mean
}

#[test]
fn poisson_arrivals_keep_the_rate_and_spread_like_an_exponential() {
    let base = [
        "-a",
        "netflixoss",
        "-d",
        "4",
        "-kv",
        "chat:5ms",
        "-c",
        "--http",
        "none",
        "--seed",
        "3",
    ];
    let fixed = Run::ok(&base);
    let mut args = base.to_vec();
    args.extend(["-kv", "arrivals:poisson"]);
    let poisson = Run::ok(&args);
    // 200 requests a second for 4 s either way.
    for (run, what) in [(&fixed, "fixed"), (&poisson, "poisson")] {
        let sent = sent_by_the_denominator(run);
        assert!((680.0..=920.0).contains(&sent), "{what}: {sent} sent");
    }
    let (f, p) = (
        variation(&arrival_gaps(&fixed)),
        variation(&arrival_gaps(&poisson)),
    );
    assert!(f < 0.5, "fixed gaps vary by {f:.2}");
    assert!((0.75..=1.25).contains(&p), "poisson gaps vary by {p:.2}");
}

#[test]
fn a_step_in_the_load_triples_the_rate_from_then_on() {
    let run = Run::ok(&[
        "-a",
        "netflixoss",
        "-d",
        "4",
        "-kv",
        "load:step:2s:3",
        "--http",
        "none",
        "--seed",
        "3",
    ]);
    // 100/s for 2 s, then 300/s for 2 s.
    let sent = sent_by_the_denominator(&run);
    assert!((680.0..=920.0).contains(&sent), "{sent} sent");
}

#[test]
fn pacing_settings_that_cannot_be_met_are_refused() {
    for (kv, expect) in [
        (
            "arrivals:bursty",
            "-kv arrivals: 'bursty' is not fixed or poisson",
        ),
        ("load:step:30s:2", "past the end of the run"),
        ("load:ramp:0:2", "not a rate factor above zero"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = spigo()
            .args(["-a", "netflixoss", "-d", "4", "-kv", kv])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_refused(&out, expect);
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "{kv}: refused but wrote files"
        );
    }
}
