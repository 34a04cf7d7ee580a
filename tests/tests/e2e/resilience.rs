//! Resilience: a dependency whose instances all hang for a while (`-kv
//! outage:`), called with a timeout, a retry and a circuit breaker; and a
//! slow dependency whose late answers are counted and ignored.

use super::*;

/// db (3 instances) behind api (3 instances) behind the denominator. api
/// calls db with a 50 ms timeout, one retry 10 ms later, and a breaker that
/// opens at 50% failures of at least 10 calls over 2 s and sleeps 1 s.
const OUTAGE_ARCH: &str = r#"{"arch": "res", "services": [
 {"name": "db", "package": "store", "count": 3, "regions": 1,
  "service_time": {"dist": "exp", "mean": "1ms"}, "concurrency": 4},
 {"name": "api", "package": "karyon", "count": 3, "regions": 1, "dependencies": ["db"],
  "resilience": {"timeout": "50ms", "retries": 1, "backoff": "10ms",
   "circuit_breaker": {"error_percent": 50, "window": "2s", "volume": 10, "sleep": "1s"}}},
 {"name": "www", "package": "denominator", "dependencies": ["api"]}]}"#;

/// The outage: db hangs from 3 s to 6 s into the traffic of a 10 s run.
const OUTAGE: [&str; 2] = ["-kv", "outage:db@3s+3s"];

fn outage_run(extra: &[&str]) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("res_arch.json"), OUTAGE_ARCH).unwrap();
    let mut args = vec![
        "-a",
        "res_arch.json",
        "-d",
        "10",
        "--seed",
        "5",
        "-kv",
        "chat:5ms",
    ];
    args.extend(OUTAGE);
    args.extend(["-c", "--http", "none"]);
    args.extend(extra);
    let run = Run::ok_in(dir, &args);
    let summary = read_json(&run.path("summary.json"));
    (run, summary)
}

fn n(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The durations (ms) of api's SERVER spans: from a request arriving at
/// api to api answering it, whether with a value or a failure.
fn api_answer_times(run: &Run) -> Vec<f64> {
    let flow = run.graph_json("json_metrics/res_flow.json");
    let mut d: Vec<f64> = (flow.as_array().unwrap().iter())
        .filter(|s| s["kind"] == "SERVER" && s["localEndpoint"]["serviceName"] == "api")
        .map(|s| n(&s["duration"]) / 1000.0)
        .collect();
    d.sort_by(f64::total_cmp);
    d
}

/// What the breakers did and how the gets ended, checked against the
/// outage and the settings.
fn check_outage(s: &Value, run: &Run) {
    let edge = &s["services"]["api"]["dependencies"]["db"];
    let b = &edge["breaker"];
    // Each of the three api instances' breakers opened (some more than
    // once: a failed probe re-opens), and each closed again.
    assert!(n(&b["opened"]) >= 3.0, "{edge:#}");
    assert_eq!(n(&b["closed"]), 3.0, "{edge:#}");
    assert!(n(&b["half_opened"]) >= 3.0, "{edge:#}");
    // Detection: opened after the outage began and within the window.
    let opened = n(&b["first_open_s"]);
    assert!(
        (3.0..3.0 + 2.0).contains(&opened),
        "first opened at {opened} s"
    );
    // Recovery through half-open: the last breaker closed after the outage
    // ended, within a sleep and a poll of it.
    let closed = n(&b["last_close_s"]);
    assert!(
        (6.0..6.0 + 1.5).contains(&closed),
        "last closed at {closed} s"
    );
    let gets = &s["requests"]["gets"]["failed"];
    assert!(n(&gets["timeout"]) > 0.0, "{gets:#}");
    assert!(n(&gets["short_circuited"]) > 0.0, "{gets:#}");
    assert!(
        n(&edge["retried"]) > 0.0 && n(&edge["timeout"]) > 0.0,
        "{edge:#}"
    );
    // Calls made: each ended answered, failed or timed out.
    assert_eq!(
        n(&edge["calls"]),
        n(&edge["ok"]) + n(&edge["failed"]) + n(&edge["timeout"]),
        "{edge:#}"
    );
    // The hung stores took requests and answered none.
    assert!(n(&s["services"]["db"]["failed"]["outage"]) > 0.0);
    check_series(s, run);
    // api answers every request within its budget: two attempts of 50 ms
    // and the 10 ms backoff between them (a few ms for the runtime).
    let times = api_answer_times(run);
    let p99 = times[times.len() * 99 / 100];
    let max = *times.last().unwrap();
    assert!(p99 <= 110.0 + 15.0, "api p99 {p99} ms");
    assert!(max <= 110.0 + 40.0, "api max {max} ms");
}

/// The per-second series tell the same story second by second: no
/// breaker open before the outage, never more open than there are
/// callers, none at the end; short-circuits only while they are open; and
/// the seconds add up to the run's calls.
fn check_series(s: &Value, run: &Run) {
    let series = &s["series"];
    let list = |v: &Value| -> Vec<f64> { v.as_array().unwrap().iter().map(n).collect() };
    let t = list(&series["t_s"]);
    let db = &series["services"]["api"]["dependencies"]["db"];
    let open = list(&db["breakers_open"]);
    let short = list(&db["short_circuited"]);
    assert_eq!(open.len(), t.len(), "{db:#}");
    for (i, &at) in t.iter().enumerate() {
        if at < 3.0 {
            assert_eq!((open[i], short[i]), (0.0, 0.0), "at {at} s: {db:#}");
        }
        assert!(open[i] <= 3.0, "{} breakers open of 3 at {at} s", open[i]);
    }
    assert!(open.contains(&3.0), "{open:?}");
    assert_eq!(*open.last().unwrap(), 0.0, "{open:?}");
    let mut calls = 0.0;
    for (i, c) in list(&db["calls"]).into_iter().enumerate() {
        calls += c * (t[i] - if i == 0 { 0.0 } else { t[i - 1] });
    }
    let total = n(&s["services"]["api"]["dependencies"]["db"]["calls"]);
    assert!(
        (calls - total).abs() <= 0.05 * total,
        "series {calls} against {total}"
    );
    let util = list(&series["services"]["db"]["work"]["utilisation"]);
    assert!(util.iter().all(|u| (0.0..=1.0).contains(u)), "{util:?}");
    let csv = std::fs::read_to_string(run.path("json_metrics/res_series.csv")).unwrap();
    assert!(csv.starts_with("t_s,service,dependency,figure,value\n"));
    assert!(
        csv.contains(",api,db,breakers_open,3\n"),
        "no second with 3 open"
    );
}

#[test]
fn a_breaker_opens_on_a_hung_dependency_and_closes_once_it_answers() {
    let (run, s) = outage_run(&[]);
    check_outage(&s, &run);
    assert!(run
        .stderr()
        .contains("outage: 3 instances of db stop answering for 3s"));
}

#[test]
fn over_three_nodes_the_breakers_do_the_same() {
    let (one, s1) = outage_run(&[]);
    let (three, s3) = outage_run(&["--nodes", "3"]);
    check_outage(&s1, &one);
    check_outage(&s3, &three);
    let b = |s: &Value, k: &str| n(&s["services"]["api"]["dependencies"]["db"]["breaker"][k]);
    assert_eq!(b(&s1, "closed"), b(&s3, "closed"));
    // How the gets ended, as fractions of those sent, agree within 2 points.
    let share = |s: &Value, k: &str| {
        let g = &s["requests"]["gets"];
        n(&g["failed"][k]) / n(&g["sent"])
    };
    for k in ["timeout", "short_circuited"] {
        let (a, c) = (share(&s1, k), share(&s3, k));
        assert!(
            (a - c).abs() <= 0.02,
            "{k}: {a:.3} in one process, {c:.3} over three"
        );
    }
}

#[test]
fn late_answers_after_a_timeout_are_counted_and_ignored() {
    // A store whose service time has a long tail (p99 60 ms) behind a
    // 20 ms timeout, no retry, an empty answer as the fallback.
    let arch = r#"{"arch": "slow", "services": [
     {"name": "db", "package": "store", "count": 2, "regions": 1,
      "service_time": {"dist": "lognormal", "mean": "8ms", "p99": "60ms"}},
     {"name": "api", "package": "karyon", "count": 2, "regions": 1, "dependencies": ["db"],
      "resilience": {"timeout": "20ms", "fallback": "empty"}},
     {"name": "www", "package": "denominator", "dependencies": ["api"]}]}"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slow_arch.json"), arch).unwrap();
    let run = Run::ok_in(dir, &["-a", "slow_arch.json", "-d", "3", "--seed", "2"]);
    let s = read_json(&run.path("summary.json"));
    let edge = &s["services"]["api"]["dependencies"]["db"];
    let (timeout, late, fallback) = (n(&edge["timeout"]), n(&edge["late"]), n(&edge["fallback"]));
    assert!(timeout > 0.0, "{edge:#}");
    // Every timed-out attempt was answered by the fallback, and its late
    // answer, when it came before the run ended, was ignored.
    assert_eq!(fallback, timeout, "{edge:#}");
    assert!(late > 0.0 && late <= timeout, "{edge:#}");
    // The fallback's answers count as answered: no get failed.
    let failed = &s["requests"]["gets"]["failed"];
    let total: f64 = failed.as_object().unwrap().values().map(n).sum();
    assert_eq!(total, 0.0, "{failed:#}");
    // api never took much longer than its timeout.
    let p = &s["services"]["api"]["response_ms"];
    assert!(n(&p["max"]) <= 20.0 + 30.0, "{p:#}");
}

#[test]
fn spigos_files_make_no_guarded_calls() {
    let run = Run::ok(&["-a", "netflixoss", "-d", "1", "--seed", "1"]);
    let s = read_json(&run.path("summary.json"));
    for (name, service) in s["services"].as_object().unwrap() {
        assert!(service.get("dependencies").is_none(), "{name}: {service:#}");
        assert!(service["utilisation"].is_null(), "{name}: {service:#}");
    }
}
