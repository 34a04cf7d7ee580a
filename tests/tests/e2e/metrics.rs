//! Seeing the simulation: metrics over HTTP while it runs, metrics and flow
//! files after, the viewer's server, and the live stream.

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

/// A plain HTTP/1.0 GET: (status code, body).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Starts spigo and waits for the log line naming its HTTP address. The
/// caller waits for (or kills) the process it gets back.
#[allow(clippy::zombie_processes)]
fn start_with_http(args: &[&str], dir: &Path, marker: &str) -> (std::process::Child, String) {
    let mut child = spigo()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "no '{marker}' line"
        );
        if let Some(rest) = line.split(marker).nth(1) {
            let addr = rest
                .trim()
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap()
                .to_string();
            // Keep reading stderr so the process never blocks on it.
            std::thread::spawn(move || for _ in lines.lines() {});
            return (child, addr);
        }
    }
}

#[test]
fn metrics_are_served_while_running_and_written_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["-a", "netflixoss", "-d", "4", "-c", "--http", "127.0.0.1:0"];
    let (mut child, addr) = start_with_http(&args, dir.path(), "HTTP metrics now available at ");
    std::thread::sleep(Duration::from_secs(2));
    let (status, body) = http_get(&addr, "/debug/vars");
    assert_eq!(status, 200);
    let vars: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(vars["spigo"]["arch"], "netflixoss");
    assert!(
        vars["spigo"]["services"]["homepage"]["response"]["count"]
            .as_u64()
            .unwrap()
            > 0,
        "{vars}"
    );
    let (status, prom) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(prom.contains("# TYPE spigo_response_seconds histogram"));
    assert!(
        prom.contains("spigo_response_seconds_bucket{arch=\"netflixoss\",service=\"homepage\",region=\"us-east-1\",le=\"+Inf\"}"),
        "{prom}"
    );
    assert!(child.wait().unwrap().success());

    let metrics = read_json(&dir.path().join("json_metrics/netflixoss_metrics.json"));
    let response = &metrics["services"]["wwwproxy"]["response"];
    for k in [
        "count", "min_us", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
    ] {
        assert!(response[k].is_number(), "{k} missing: {response}");
    }
    let csv =
        std::fs::read_to_string(dir.path().join("json_metrics/netflixoss_metrics.csv")).unwrap();
    assert!(csv.starts_with("service,metric,count,"));
    let flow = read_json(&dir.path().join("json_metrics/netflixoss_flow.json"));
    let spans = flow.as_array().expect("a list of spans");
    assert!(spans.len() > 100);
    let mut ids: std::collections::HashMap<String, BTreeSet<String>> = Default::default();
    for s in spans {
        ids.entry(s["traceId"].as_str().unwrap().into())
            .or_default()
            .insert(s["id"].as_str().unwrap().into());
    }
    for s in spans {
        assert_eq!(s["id"].as_str().unwrap().len(), 16);
        if let Some(parent) = s["parentId"].as_str() {
            assert!(
                ids[s["traceId"].as_str().unwrap()].contains(parent),
                "orphan span {s}"
            );
        }
    }
}

#[test]
fn trace_sampling_keeps_fewer_flows() {
    let count = |extra: &[&str]| flow_of("3", extra).len();
    let (all, some) = (count(&[]), count(&["--trace-sample", "0.2"]));
    assert!(
        some > 0 && some < all / 2,
        "{some} of {all} spans kept at 0.2"
    );
}

#[test]
fn serve_lists_and_serves_graphs_and_the_viewer() {
    let made = Run::ok(&["-a", "migration", "-s", "2", "-d", "0", "-j"]);
    let dir = made.dir.path();
    let out = dir.to_str().unwrap().to_string();
    let (mut child, addr) =
        start_with_http(&["serve", "--port", "0", "--out", &out], dir, "on http://");
    let (status, list) = http_get(&addr, "/api/graphs");
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["live"], false);
    assert_eq!(list["graphs"][0]["name"], "migration2");
    assert_eq!(list["graphs"][0]["step"], 2);
    let (status, graph) = http_get(&addr, "/json/migration2.json");
    assert_eq!(status, 200);
    assert!(graph.contains("\"arch\":\"migration\""));
    assert_eq!(http_get(&addr, "/json/..%2Fsecret.json").0, 400);
    let (status, page) = http_get(&addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("viewer.js"));
    assert!(
        !page.contains("https://"),
        "the page must not load anything from the internet"
    );
    assert_eq!(http_get(&addr, "/viewer.js").0, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn live_runs_stream_the_growing_graph() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "-a",
        "fsm",
        "-p",
        "50",
        "-d",
        "3",
        "--live",
        "--http",
        "127.0.0.1:0",
    ];
    let (mut child, addr) = start_with_http(&args, dir.path(), "live graph at ");
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /api/live HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !(seen.contains("event: entry")
        && seen.contains("\"node\"")
        && seen.contains("event: metrics"))
    {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early:\n{seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let (_, list) = http_get(&addr, "/api/graphs");
    assert!(list.contains("\"live\":true"));
    assert!(child.wait().unwrap().success());
}

/// The spans of a two-second NetflixOSS run with `-c`, this seed and
/// `extra` flags.
fn flow_of(seed: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "-a",
        "netflixoss",
        "-d",
        "2",
        "-c",
        "--http",
        "none",
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    let run = Run::ok(&args);
    let flow = run.graph_json("json_metrics/netflixoss_flow.json");
    flow.as_array().expect("a list of spans").clone()
}

#[test]
fn trace_ids_are_128_bits_from_the_seed_and_no_child_outlives_a_call() {
    let spans = flow_of("5", &[]);
    let traces = |spans: &[Value]| -> BTreeSet<String> {
        spans
            .iter()
            .map(|s| s["traceId"].as_str().unwrap().to_string())
            .collect()
    };
    let ids = traces(&spans);
    assert!(ids.iter().all(|t| t.len() == 32
        && t.chars().all(|c| c.is_ascii_hexdigit())
        && !t.starts_with("0000000000000000")));
    // A run's ids share their high half, drawn from the seed: the same
    // seed gives it again (which traces a real-time run makes can differ
    // by a request), and a run with another seed shares no id.
    let high = |ids: &BTreeSet<String>| -> BTreeSet<String> {
        ids.iter().map(|t| t[..16].to_string()).collect()
    };
    assert_eq!(high(&ids).len(), 1, "{ids:?}");
    assert_eq!(high(&traces(&flow_of("5", &[]))), high(&ids));
    let other = traces(&flow_of("6", &[]));
    assert!(other.is_disjoint(&ids));
    assert!(high(&other).is_disjoint(&high(&ids)));

    // Puts and replications are fire-and-forget: producer and consumer
    // spans. Gets are calls: client and server.
    let mut ends: std::collections::HashMap<(String, String), (u64, bool)> = Default::default();
    for s in &spans {
        let name = s["name"].as_str().unwrap();
        let kind = s["kind"].as_str().unwrap();
        match name {
            "getrequest" => assert!(kind == "CLIENT" || kind == "SERVER", "{s}"),
            "put" | "replicate" => assert!(kind == "PRODUCER" || kind == "CONSUMER", "{s}"),
            other => panic!("unexpected span {other}: {s}"),
        }
        let end = s["timestamp"].as_u64().unwrap() + s["duration"].as_u64().unwrap();
        let key = (
            s["traceId"].as_str().unwrap().into(),
            s["id"].as_str().unwrap().into(),
        );
        let call = kind == "CLIENT" || kind == "SERVER";
        let e = ends.entry(key).or_insert((0, call));
        e.0 = e.0.max(end);
        e.1 &= call;
    }
    assert!(
        spans.iter().any(|s| s["kind"] == "PRODUCER"),
        "no put was traced"
    );
    // A span id names one span of its trace, except where Zipkin's RPC
    // model shares it: the denominator's CLIENT and its first SERVER,
    // which says so. Messaging spans never share one.
    let mut by_id: std::collections::HashMap<(&str, &str), Vec<&Value>> = Default::default();
    for s in &spans {
        let key = (s["traceId"].as_str().unwrap(), s["id"].as_str().unwrap());
        by_id.entry(key).or_default().push(s);
    }
    for (key, same) in &by_id {
        match same.as_slice() {
            [_] => {}
            [a, b] => {
                let (client, server) = if a["kind"] == "CLIENT" {
                    (a, b)
                } else {
                    (b, a)
                };
                assert_eq!(client["kind"], "CLIENT", "{key:?}: {same:?}");
                assert_eq!(server["kind"], "SERVER", "{key:?}: {same:?}");
                assert_eq!(server["shared"], true, "{key:?}: {same:?}");
            }
            _ => panic!("{key:?} names {} spans: {same:?}", same.len()),
        }
    }
    // A call (client or server) never ends before a child it waited for.
    let mut checked = 0;
    for s in &spans {
        let Some(parent) = s["parentId"].as_str() else {
            continue;
        };
        let key = (
            s["traceId"].as_str().unwrap().to_string(),
            parent.to_string(),
        );
        let (parent_end, parent_is_call) = ends[&key];
        if !parent_is_call {
            continue;
        }
        let end = s["timestamp"].as_u64().unwrap() + s["duration"].as_u64().unwrap();
        // Microsecond rounding of two clocks' readings.
        assert!(
            end <= parent_end + 2,
            "{s} ends {} us after its parent",
            end - parent_end
        );
        checked += 1;
    }
    assert!(checked > 100, "{checked} children of calls");
}

#[test]
fn serve_opens_the_graph_written_last_and_refuses_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    // Written second, and not the first by name.
    let first = Run::new_in(dir, &["-a", "fsm", "-p", "20", "-d", "0", "-j"]);
    std::thread::sleep(Duration::from_millis(20));
    let made = Run::new_in(first.dir, &["-a", "lamp", "-d", "0", "-j"]);
    assert!(made.out.status.success(), "{}", made.stderr());
    let dir = made.dir.path();
    let out = dir.to_str().unwrap().to_string();
    let (mut child, addr) =
        start_with_http(&["serve", "--port", "0", "--out", &out], dir, "on http://");
    let (_, list) = http_get(&addr, "/api/graphs");
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["graphs"][0]["name"], "fsm");
    assert_eq!(list["latest"], "lamp");
    let _ = child.kill();
    let _ = child.wait();

    let missing = dir.join("no-such-folder");
    let out = spigo()
        .args(["serve", "--port", "0", "--out", missing.to_str().unwrap()])
        .output()
        .unwrap();
    let line = assert_refused(&out, "no-such-folder");
    assert!(line.contains("--out"), "{line}");
}

/// `--linger`: after the run has written everything, `/metrics` still
/// answers with the final figures, and Ctrl-C ends the wait early.
#[test]
fn linger_keeps_the_final_figures_scrapable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    let args = [
        "-a",
        "netflixoss",
        "-d",
        "1",
        "-c",
        "--http",
        "127.0.0.1:0",
        "--linger",
        "30s",
        "--out",
        &out,
    ];
    let (mut child, addr) = start_with_http(&args, dir.path(), "HTTP metrics now available at ");
    let summary = dir.path().join("summary.json");
    let waited = std::time::Instant::now();
    while !summary.exists() {
        assert!(waited.elapsed() < Duration::from_secs(30), "no summary");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    // The final scrape has the figures the summary has.
    let scraped = |prefix: &str| -> u64 {
        (body.lines())
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} missing:\n{body}"))
            .parse()
            .unwrap()
    };
    let gets = scraped("spigo_requests_total{arch=\"netflixoss\",kind=\"get\"} ");
    let puts = scraped("spigo_requests_total{arch=\"netflixoss\",kind=\"put\"} ");
    let answered = scraped("spigo_gets_answered_total{arch=\"netflixoss\"} ");
    let summary = read_json(&summary);
    let requests = &summary["requests"];
    assert!(gets > 0, "{body}");
    assert_eq!(gets, requests["gets"]["sent"].as_u64().unwrap());
    assert_eq!(answered, requests["gets"]["answered"].as_u64().unwrap());
    let forked = requests["puts"]["forked"].as_u64().unwrap();
    assert_eq!(puts + forked, requests["puts"]["sent"].as_u64().unwrap());
    let asked = std::time::Instant::now();
    super::signal(child.id(), "-INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(asked.elapsed() < Duration::from_secs(10));
}
