//! Service architectures: netflixoss, lamp, migration, architecture files,
//! regions and scale, reload, chaos monkey, traffic.

use super::*;
use std::collections::BTreeMap;

/// Node name -> package of a graph.
fn packages(graph: &Value) -> BTreeMap<String, String> {
    entries(graph, "node")
        .into_iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap().to_string(),
                n["package"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn netflixoss_matches_spigos_graph() {
    let run = Run::ok(&["-a", "netflixoss", "-d", "2", "-j", "--seed", "3"]);
    let graph = run.graph_json("json/netflixoss.json");
    let expect = [
        ("priamCassandra", 6),
        ("store", 3),
        ("staash", 6),
        ("karyon", 42),
        ("zuul", 6),
        ("elb", 1),
        ("denominator", 1),
    ];
    assert_eq!(package_counts(&graph), counts(&expect));
    let pkg = packages(&graph);
    assert!(pkg
        .keys()
        .all(|n| !n.contains("eureka") && !n.contains("edda")));
    assert!(pkg.contains_key("netflixoss.us-east-1.zoneA.cassSubscriber00"));
    assert!(pkg.contains_key("netflixoss.us-east-1.*.www-elb00"));
    assert!(pkg.contains_key("netflixoss.*.*.www00"));
    // Every instance is linked to the tier below it, zone-local for the
    // request tiers as in spigo's graph.
    let edges = edge_set(&graph);
    let zone = |n: &str| n.split('.').nth(2).unwrap().to_string();
    for (name, p) in &pkg {
        let targets: Vec<&String> = edges
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, t)| t)
            .collect();
        let want = match p.as_str() {
            "karyon" => "staash",
            "zuul" => "karyon",
            "staash" => "priamCassandra",
            "elb" => "zuul",
            "denominator" => "elb",
            _ => continue,
        };
        assert!(
            targets.iter().any(|t| pkg[*t] == want),
            "{name} has no {want}"
        );
        if p == "karyon" || p == "zuul" {
            assert!(
                targets.iter().all(|t| zone(t) == zone(name)),
                "{name} left its zone"
            );
        }
    }
    assert_eq!(
        edges.len(),
        259,
        "the edge count of spigo's own netflixoss graph"
    );
    // Half way through, the chaos monkey deleted a homepage instance.
    let log = run.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("chaosmonkey delete: "))
        .expect("chaos monkey line");
    let victim = line.rsplit(' ').next().unwrap();
    assert!(victim.contains(".homepage"), "{line}");
    let done = entries(&graph, "done");
    assert!(done
        .iter()
        .any(|d| d["done"] == victim && d["exit"] == "chaosmonkey"));
    let forgets = entries(&graph, "forget");
    assert!(!forgets.is_empty() && forgets.iter().all(|f| f["target"] == victim));
    assert!(run.summary("requests").contains("answered"));
}

#[test]
fn lamp_and_migration_steps() {
    let run = Run::ok(&["-a", "lamp", "-d", "0", "-j"]);
    let graph = run.graph_json("json/lamp.json");
    assert_eq!(entries(&graph, "node").len(), 23);
    assert_eq!(edge_set(&graph).len(), 73);
    let run = Run::ok(&["-a", "migration", "-s", "0", "-d", "0", "-j"]);
    let graph = run.graph_json("json/migration0.json");
    assert_eq!(entries(&graph, "node").len(), 13);
    let run = Run::ok(&["-a", "migration", "-s", "8", "-d", "1", "-j"]);
    let graph = run.graph_json("json/migration8.json");
    let pkg = packages(&graph);
    let region = |n: &str| n.split('.').nth(1).unwrap().to_string();
    let cross = edge_set(&graph)
        .into_iter()
        .filter(|(s, t)| pkg[s] == "priamCassandra" && region(s) != region(t))
        .count();
    assert!(cross > 0, "step 8 connects the regions' Cassandra rings");
    let run = Run::ok(&["-a", "migration", "-s", "7", "-d", "1", "-j"]);
    let graph = run.graph_json("json/migration7.json");
    let pkg = packages(&graph);
    assert!(edge_set(&graph)
        .iter()
        .all(|(s, t)| pkg[s] != "priamCassandra" || region(s) == region(t)));
}

#[test]
fn regions_and_scale_multiply_tiers() {
    let one = package_counts(&Run::ok(&["-d", "0", "-j"]).graph_json("json/netflixoss.json"));
    let three_run = Run::ok(&["-d", "1", "-j", "-w", "3"]);
    let graph = three_run.graph_json("json/netflixoss.json");
    let three = package_counts(&graph);
    let double = package_counts(
        &Run::ok(&["-d", "0", "-j", "-p", "200"]).graph_json("json/netflixoss.json"),
    );
    for (p, n) in &one {
        if p == "denominator" {
            assert_eq!(three[p], 1);
            continue;
        }
        assert_eq!(three[p], n * 3, "{p} with -w 3");
        if p != "elb" {
            assert_eq!(double[p], n * 2, "{p} with -p 200");
        }
    }
    let pkg = packages(&graph);
    let region = |n: &str| n.split('.').nth(1).unwrap().to_string();
    assert!(edge_set(&graph)
        .iter()
        .any(|(s, t)| pkg[s] == "priamCassandra"
            && pkg[t] == "priamCassandra"
            && region(s) != region(t)));
}

#[test]
fn requests_are_answered() {
    let run = Run::ok(&["-a", "netflixoss", "-d", "5", "--seed", "11"]);
    let line = run.summary("requests");
    // "requests  N sent: G gets (A answered, P%, ..."
    let numbers: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse().ok())
        .collect();
    let (gets, answered) = (numbers[1], numbers[2]);
    assert!(gets > 200.0, "{line}");
    assert!(answered / gets >= 0.95, "{line}");
    assert!(run.summary("response time").contains("p99"));
}

/// Our own bad architecture files: each a one-line error naming the file
/// and the service.
#[test]
fn bad_architecture_files_are_refused() {
    let good = r#"{"arch":"t","victim":"","services":[
        {"name":"db","package":"store","count":1,"regions":1,"dependencies":[]},
        {"name":"web","package":"karyon","count":3,"regions":1,"dependencies":["db"]}]}"#;
    let cases = [
        (
            good.replace("\"karyon\"", "\"kayron\""),
            "service 'web': unknown package 'kayron'",
        ),
        (
            good.replace("\"name\":\"db\"", "\"name\":\"web\""),
            "service 'web' is defined twice",
        ),
        (
            good.replace("[\"db\"]", "[\"db\",\"cache\"]"),
            "service 'web' depends on 'cache'",
        ),
        (
            good.replace("\"count\":3", "\"count\":-3"),
            "service 'web': count must not be negative",
        ),
        (r#"{"arch":"t","services":[]}"#.to_string(), "no services"),
        (good.replace("]}", "]"), "not an architecture file"),
    ];
    let with_arch_file = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("json_arch")).unwrap();
        std::fs::write(dir.path().join("json_arch/t_arch.json"), text).unwrap();
        dir
    };
    for (text, expect) in cases {
        let run = Run::new_in(with_arch_file(&text), &["-a", "t", "-d", "0"]);
        let err = assert_refused(&run.out, expect);
        assert!(err.contains("json_arch/t_arch.json: "), "{expect}: {err}");
    }
    // The good one runs, found by name under json_arch/.
    let run = Run::ok_in(with_arch_file(good), &["-a", "t", "-d", "0", "-j"]);
    assert!(run.path("json/t.json").exists());
}

/// spigo's own architecture files: the good ones run, its `test*` bad
/// inputs fail cleanly.
#[test]
fn spigos_architecture_files_load_or_fail_cleanly() {
    let Some(dir) = reference("json_arch") else {
        return;
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let run = Run::new(&["-a", path.to_str().unwrap(), "-d", "0", "-j"]);
        let err = run.stderr();
        assert!(!err.contains("panicked"), "{name}: {err}");
        let bad = ["testBadPackage", "testDuplicate", "testMissingDep"]
            .iter()
            .any(|b| name.starts_with(b));
        if bad {
            assert_refused(&run.out, &name);
        } else {
            assert!(run.out.status.success(), "{name}: {err}");
        }
    }
}

#[test]
fn reload_rebuilds_the_same_instances() {
    let first = Run::ok(&["-a", "netflixoss", "-d", "1", "-j", "-w", "2"]);
    let original = first.graph_json("json/netflixoss.json");
    // -r reads json/<arch>.json and writes the new graph over it.
    let second = Run::ok_in(first.dir, &["-a", "netflixoss", "-r", "-d", "1", "-j"]);
    let reloaded = second.graph_json("json/netflixoss.json");
    assert_eq!(node_set(&reloaded), node_set(&original));
    assert_eq!(edge_set(&reloaded), edge_set(&original));
}

#[test]
fn spigos_graphs_reload() {
    let Some(dir) = reference("graphjson") else {
        return;
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let original = read_json(&path);
        let arch = original["arch"].as_str().unwrap().to_string();
        let run = Run::ok(&["-r", path.to_str().unwrap(), "-d", "0", "-j"]);
        let reloaded = run.graph_json(&format!("json/{arch}.json"));
        assert_eq!(
            node_set(&reloaded),
            node_set(&original),
            "{}",
            path.display()
        );
    }
}

#[test]
fn filter_collapses_instances_to_services() {
    let run = Run::ok(&["-a", "netflixoss", "-d", "1", "-j", "-f"]);
    let graph = run.graph_json("json/netflixoss.json");
    let names = node_set(&graph);
    assert!(names.contains("netflixoss.us-east-1.zoneA.homepage"));
    assert!(names.len() < 30, "{names:?}");
}

#[test]
fn configuration_saves_and_loads() {
    let first = Run::ok(&[
        "-a",
        "lamp",
        "-d",
        "0",
        "-w",
        "2",
        "-kv",
        "chat:5ms",
        "--save-config",
        "conf.json",
    ]);
    let saved = read_json(&first.path("conf.json"));
    assert_eq!(saved["arch"], "lamp");
    assert_eq!(saved["regions_used"], 2);
    assert_eq!(saved["kv"]["chat"], "5ms");
    assert_eq!(saved["regions"].as_array().unwrap().len(), 6);
    let second = Run::ok_in(first.dir, &["--config", "conf.json", "-j"]);
    let graph = second.graph_json("json/lamp.json");
    assert_eq!(
        package_counts(&graph)["monolith"],
        36,
        "two regions from the file"
    );
}
