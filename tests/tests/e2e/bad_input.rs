//! Bad flags and files: one line, a non-zero exit, never a panic.

use super::*;

/// Every kind of bad input, with the text its one-line error must contain.
/// Files named in a row are written into the run's folder first. The same
/// table is in the README.
/// Arguments, files to write first (name, content), expected error text.
type Case = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

const CASES: &[Case] = &[
    // Flags
    (&["-d", "10x"], &[], "'10x' is not a duration"),
    (&["-d", "-1"], &[], "'-1' is not a duration"),
    (&["-p", "-3"], &[], "-3 is not in 0..="),
    (&["-p", "99999999999"], &[], "99999999999"),
    (&["-p", "0"], &[], "the scale must be at least 1%"),
    (
        &["-a", "fsm", "-p", "1"],
        &[],
        "fsm needs at least 2 pirates",
    ),
    (
        &["-w", "7"],
        &[],
        "-w/--regions: 7 regions asked, the configuration has 6",
    ),
    (&["-w", "300"], &[], "300"),
    (
        &["-a", "nosuch"],
        &[],
        "known: fsm, migration, netflixoss, lamp, netflixoss-resilient",
    ),
    (
        &["-a", "migration", "-s", "10"],
        &[],
        "migration has steps 0 to 9",
    ),
    (&["-u", "0"], &[], "-u/--eureka-poll"),
    (&["-kv", "chat"], &[], "-kv: 'chat' is not key:value"),
    (&["-kv", "chat:soon"], &[], "-kv chat"),
    (&["-kv", "crash:zuul"], &[], "-kv crash: 'zuul' is not SERVICE@TIME"),
    (
        &["-a", "netflixoss", "-kv", "crash:nosuch@1s"],
        &[],
        "netflixoss has no service 'nosuch'",
    ),
    (
        &["-a", "netflixoss", "-d", "2", "-kv", "crash:wwwproxy@3s"],
        &[],
        "-kv crash: 3s is not within the run's 2s (-d)",
    ),
    (
        &["-a", "fsm", "-kv", "crash:pirate@1s"],
        &[],
        "-kv crash: the fsm has no services to crash",
    ),
    (
        &["-kv", "hops:0"],
        &[],
        "-kv hops: '0' is not a hop limit from 1 to 255",
    ),
    (&["-kv", "hops:300"], &[], "-kv hops: '300'"),
    (&["--seed", "x"], &[], "'x'"),
    (&["--bogus"], &[], "--bogus"),
    (
        &["-c", "--trace-sample", "2"],
        &[],
        "--trace-sample: 2 is not a fraction",
    ),
    (&["--latency-scale", "-1"], &[], "--latency-scale"),
    (
        &["-c", "--http", "nonsense"],
        &[],
        "--http nonsense: cannot listen",
    ),
    (
        &["-j", "--out", "a-file/sub"],
        &[("a-file", "")],
        "--out: cannot create a-file/sub/json",
    ),
    (
        &["--gexf", "-d", "0", "--out", "a-file/sub"],
        &[("a-file", "")],
        "--out: cannot create a-file/sub/gexf",
    ),
    (
        &["--save-config", "a-file/conf.json", "-d", "0"],
        &[("a-file", "")],
        "--save-config: cannot create a-file",
    ),
    (
        &[
            "-a",
            "fsm",
            "-p",
            "100",
            "-d",
            "0",
            "--cpuprofile",
            "a-file/cpu.pb",
        ],
        &[("a-file", "")],
        "--cpuprofile: cannot create a-file",
    ),
    // Cluster flags
    (&["--nodes", "0"], &[], "--nodes: at least 1 node"),
    (
        &["--nodes", "2", "--join", "127.0.0.1:1"],
        &[],
        "cannot be used together",
    ),
    (
        &["--join", "nohost"],
        &[],
        "--join: 'nohost' is not host:port",
    ),
    (
        &["--join", "127.0.0.1:1"],
        &[],
        "needs the cluster's cookie",
    ),
    (
        &["--join", "127.0.0.1:1", "--cookie", "x"],
        &[],
        "cannot reach node 127.0.0.1:1",
    ),
    (
        &["--join", "192.0.2.1:4697", "--cookie", "short"],
        &[],
        "a cookie of 5 bytes is too short for --join 192.0.2.1:4697, beyond loopback",
    ),
    (&["--tls-cert", "c.pem"], &[], "--tls-key"),
    (
        &[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-ca",
            "a.pem",
        ],
        &[],
        "--tls-cert c.pem",
    ),
    (
        &[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-ca",
            "a.pem",
        ],
        &[("c.pem", "not a certificate")],
        "--tls-cert c.pem: no certificate",
    ),
    // Files
    (
        &["-a", "bad.json"],
        &[("bad.json", "{\"arch\": ")],
        "bad.json: not an architecture file",
    ),
    (
        &["-a", "t.json"],
        &[(
            "t.json",
            r#"{"arch":"t","services":[{"name":"x","package":"nosuch","count":1,"regions":1}]}"#,
        )],
        "t.json: service 'x': unknown package 'nosuch'",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"package":"store"}]}"#)],
        "t.json: service '#1': the service has no name",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"x","package":"store","count":"2"}]}"#)],
        "t.json: service 'x': count must be a whole number, not a string",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"x","package":"store","service_time":"fast"}]}"#)],
        "t.json: service 'x': service_time: 'fast' is not a duration",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"x","package":"store","service_time":{"dist":"gamma","mean":"5ms"}}]}"#)],
        "service_time: 'gamma' is not a distribution (fixed, exp, lognormal, empirical)",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"x","package":"store","service_time":{"dist":"lognormal","mean":"5ms"}}]}"#)],
        "t.json: service 'x': service_time needs a p99",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"x","package":"store","service_time":{"dist":"lognormal","mean":"5ms","p99":"1ms"}}]}"#)],
        "a lognormal's p99 must be above its mean",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"x","package":"store","concurrency":0}]}"#)],
        "t.json: service 'x': concurrency must be a whole number from 1 (got 0)",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"x","package":"store","queue":3}]}"#)],
        "t.json: service 'x': queue needs a concurrency (without one nothing waits)",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"db","package":"store"},{"name":"x","package":"karyon","dependencies":["db"],"resilience":{"timeout":"soon"}}]}"#)],
        "t.json: service 'x': resilience's timeout: 'soon' is not a duration",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"db","package":"store"},{"name":"x","package":"karyon","dependencies":["db"],"resilience":{"retries":99}}]}"#)],
        "resilience's retries must be a whole number from 0 to 10",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"db","package":"store"},{"name":"x","package":"karyon","dependencies":["db"],"resilience":{"circuit_breaker":{"error_percent":0}}}]}"#)],
        "circuit_breaker's error_percent must be a whole number from 1 to 100",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"db","package":"store"},{"name":"x","package":"karyon","dependencies":["db"],"resilience":{"fallback":"cached"}}]}"#)],
        "resilience's fallback 'cached' is not fail, empty or cache",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"db","package":"store"},{"name":"x","package":"karyon","dependencies":["db"],"resilience":{"timeuot":"1s"}}]}"#)],
        "resilience has no setting 'timeuot'",
    ),
    (
        &["-a", "t.json"],
        &[("t.json", r#"{"services":[{"name":"db","package":"store"},{"name":"x","package":"karyon","dependencies":["db"],"resilience_for":{"nosuch":{"timeout":"1s"}}}]}"#)],
        "resilience_for names 'nosuch', which is not one of its dependencies",
    ),
    (
        &["-kv", "outage:homepage"],
        &[],
        "-kv outage: 'homepage' is not SERVICE@TIME+LENGTH (e.g. db@10s+5s)",
    ),
    (
        &["-a", "netflixoss", "-kv", "outage:nosuch@1s+1s"],
        &[],
        "-kv outage: netflixoss has no service 'nosuch'",
    ),
    (
        &["-a", "netflixoss", "-d", "2", "-kv", "outage:homepage@3s+1s"],
        &[],
        "-kv outage: 3s is not within the run's 2s (-d)",
    ),
    (
        &["-kv", "service_time.nosuch:1ms"],
        &[],
        "-kv service_time.nosuch: 'nosuch' is not a package (known: denominator, elb,",
    ),
    (
        &["-kv", "concurrency.karyon:0"],
        &[],
        "-kv concurrency.karyon: concurrency must be at least 1",
    ),
    (
        &["-kv", "service_time.karyon:exp:soon"],
        &[],
        "-kv service_time.karyon: 'soon' is not a duration",
    ),
    (
        &["-a", "my.shop.json"],
        &[("my.shop.json", r#"{"services":[{"name":"x","package":"store"}]}"#)],
        "my.shop.json: the architecture's name 'my.shop' (from -a/--arch) must not contain '.' or '*'",
    ),
    (
        &["-r", "g.json"],
        &[("g.json", "[1,2")],
        "g.json: not a GraphJSON file",
    ),
    (
        &["-r", "g.json"],
        &[(
            "g.json",
            r#"{"arch":"a","graph":[{"edge":"e1","source":"a.b.c.d00","target":"x","timestamp":"t"}]}"#,
        )],
        "g.json: entry 1: source 'a.b.c.d00' is not a node of the graph",
    ),
    (
        &["-r", "missing.json"],
        &[],
        "-r/--reload: cannot read missing.json",
    ),
    (
        &["--config", "c.json"],
        &[("c.json", "{")],
        "--config: c.json",
    ),
    (
        &["--config", "c.json"],
        &[("c.json", r#"{"colour": "blue"}"#)],
        "unknown field `colour`",
    ),
    (
        &["--config", "c.json"],
        &[("c.json", r#"{"regions_used": 9}"#)],
        "--config: c.json: -w/--regions: 9 regions asked",
    ),
    (
        &["--config", "c.json"],
        &[(
            "c.json",
            r#"{"regions": [{"name": "east", "zones": [{"name": "a", "block": "54.1.0.0"}]},
                {"name": "east", "zones": [{"name": "a", "block": "54.2.0.0"}]}]}"#,
        )],
        "--config: c.json: region 'east' is defined twice",
    ),
    (
        &["--config", "c.json"],
        &[(
            "c.json",
            r#"{"regions": [{"name": "us.east", "zones": [{"name": "a", "block": "54.1.0.0"}]}]}"#,
        )],
        "--config: c.json: region name 'us.east' must not contain '.'",
    ),
    (
        &["--config", "c.json"],
        &[(
            "c.json",
            r#"{"regions": [{"name": "east", "zones": [{"name": "a", "block": "54.1.0.0"},
                {"name": "b", "block": "54.1.0.0"}]}]}"#,
        )],
        "--config: c.json: zones 'east.a' and 'east.b' both use block 54.1.0.0",
    ),
    (
        &["--latency", "l.json"],
        &[(
            "l.json",
            r#"{"intra_zone_ms": 1, "cross_zone_ms": 2, "regions": {}}"#,
        )],
        "l.json: no round-trip figure for us-east-1 <-> us-west-2",
    ),
    (
        &["--latency", "l.json"],
        &[(
            "l.json",
            r#"{"intra_zone_ms": 1e300, "cross_zone_ms": 2, "regions": {}}"#,
        )],
        "l.json: intra_zone_ms must be a number from 0 to 3600000, got 1e300",
    ),
    (
        &["--latency-scale", "1e300"],
        &[],
        "--latency-scale: 1e300 makes a round trip longer than 3600000ms",
    ),
    (
        &["--latency", "missing.json"],
        &[],
        "--latency: cannot read missing.json",
    ),
    // Other commands
    (
        &["node", "--listen", "127.0.0.1:0"],
        &[],
        "a cookie is required",
    ),
    (
        &["node", "--listen", "nowhere", "--cookie", "x"],
        &[],
        "--listen nowhere",
    ),
    (
        &["node", "--listen", "0.0.0.0:0", "--cookie", "short"],
        &[],
        "a cookie of 5 bytes is too short for --listen 0.0.0.0:0, beyond loopback",
    ),
    (&["bench", "link", "--nodes", "1"], &[], "needs 2 nodes"),
];

#[test]
fn bad_input_is_one_line_and_exit_status_2() {
    for (args, files, expect) in CASES {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in *files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let out = spigo()
            .args(*args)
            .current_dir(dir.path())
            .env_remove("SPIGO_COOKIE")
            .output()
            .unwrap();
        assert_refused(&out, expect);
        for output in ["json", "gml", "gexf", "json_metrics"] {
            assert!(
                !dir.path().join(output).exists(),
                "{args:?} left {output}/ behind"
            );
        }
    }
}

#[test]
fn help_lists_spigo_flags() {
    let out = spigo().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "-a, --arch",
        "-d, --duration",
        "-p, --population",
        "-j, --graphjson",
        "-g, --graphml",
        "-m, --msglog",
    ] {
        assert!(text.contains(flag), "missing {flag} in\n{text}");
    }
}

/// `spigo ... | head`: a reader that goes away early is not a crash.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spigo()
        .args(["-a", "fsm", "-p", "50", "-d", "0", "-j"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(dir.path().join("json/fsm.json").exists());
}
