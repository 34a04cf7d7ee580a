//! docker-compose files turned into architecture files (`spigo compose2arch`).

use super::*;
use std::collections::BTreeMap;

fn fixture(name: &str) -> String {
    format!("{}/fixtures/compose/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The service of a graph node: its instance name without the number
/// (`shop.us-east-1.zoneA.web00` -> `web`).
fn service_of(node: &str) -> String {
    node.rsplit('.')
        .next()
        .unwrap()
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .to_string()
}

/// Converts the fixture, runs the architecture for a second in the same
/// folder, and returns the run (its folder holds `json/<arch>.json`).
fn simulate(fixture_name: &str, arch: &str) -> (Run, Value) {
    let conv = Run::ok(&["compose2arch", &fixture(fixture_name)]);
    let text = conv.stdout();
    assert!(text.starts_with('{') && text.ends_with("}\n"), "{text}");
    let file = conv.path(&format!("{arch}_arch.json"));
    std::fs::write(&file, &text).unwrap();
    let run = Run::ok_in(conv.dir, &["-a", file.to_str().unwrap(), "-d", "1", "-j"]);
    // "requests  N sent: G gets (A answered, ..."
    let requests = run.summary("requests");
    let answered: u64 = requests
        .split('(')
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(answered > 0, "no traffic got through: '{requests}'");
    let graph = run.graph_json(&format!("json/{arch}.json"));
    (run, graph)
}

/// Instances per service.
fn instances(graph: &Value) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for n in entries(graph, "node") {
        *m.entry(service_of(n["node"].as_str().unwrap()))
            .or_default() += 1;
    }
    m
}

/// Which services have an instance linked to an instance of which.
fn service_edges(graph: &Value) -> BTreeSet<(String, String)> {
    edge_set(graph)
        .into_iter()
        .map(|(s, t)| (service_of(&s), service_of(&t)))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The links a three-tier web -> api -> db/cache app makes, behind spigo's
/// DNS and load balancer.
const WEB_API_DB: &[(&str, &str)] = &[
    ("www", "www-elb"),
    ("www-elb", "web"),
    ("web", "api"),
    ("api", "db"),
    ("api", "cache"),
];

#[test]
fn v1_links_become_dependencies() {
    let (_run, graph) = simulate("v1-links.yml", "v1-links");
    assert_eq!(
        instances(&graph),
        counts(&[
            ("web", 3),
            ("api", 3),
            ("db", 3),
            ("cache", 3),
            ("www-elb", 1),
            ("www", 1)
        ])
    );
    assert_eq!(
        package_counts(&graph),
        counts(&[
            ("zuul", 3),
            ("karyon", 3),
            ("store", 6),
            ("elb", 1),
            ("denominator", 1)
        ])
    );
    assert!(entries(&graph, "node")
        .iter()
        .all(|n| n["node"].as_str().unwrap().starts_with("v1-links.")));
    assert_eq!(service_edges(&graph), pairs(WEB_API_DB));
}

#[test]
fn v2_depends_on_map_with_scale() {
    let (_run, graph) = simulate("v2-depends-map.yml", "v2-depends-map");
    assert_eq!(
        instances(&graph),
        counts(&[
            ("web", 3),
            ("api", 2),
            ("db", 3),
            ("cache", 3),
            ("www-elb", 1),
            ("www", 1)
        ])
    );
    assert_eq!(service_edges(&graph), pairs(WEB_API_DB));
}

#[test]
fn v3_replicas_and_a_cassandra_ring() {
    let (_run, graph) = simulate("v3-replicas.yml", "v3-replicas");
    assert_eq!(
        instances(&graph),
        counts(&[
            ("web", 2),
            ("api", 4),
            ("db", 6),
            ("cache", 1),
            ("www-elb", 1),
            ("www", 1)
        ])
    );
    assert_eq!(package_counts(&graph)["priamCassandra"], 6);
    let mut want = WEB_API_DB.to_vec();
    want.push(("db", "db"));
    assert_eq!(service_edges(&graph), pairs(&want));
}

#[test]
fn bad_compose_files_give_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for (name, yaml, want) in [
        (
            "broken.yml",
            "services:\n  web:\n    image: [nginx\n",
            "broken.yml: line ",
        ),
        (
            "missing.yml",
            "services:\n  web:\n    depends_on: [db]\n",
            "missing.yml: service 'web' depends on 'db', which is not a service",
        ),
        ("empty.yml", "version: '3'\n", "empty.yml: no services"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        let run = Run::new(&["compose2arch", path.to_str().unwrap()]);
        let stderr = assert_refused(&run.out, want);
        assert!(
            stderr.starts_with("spigo compose2arch: "),
            "{name}: {stderr}"
        );
        assert!(run.stdout().is_empty(), "{name}: {}", run.stdout());
    }
}
