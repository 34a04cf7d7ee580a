//! Service architectures: netflixoss, lamp, migration, architecture files,
//! regions and scale, reload, chaos monkey, traffic.

use super::*;
use std::collections::{BTreeMap, BTreeSet};

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
    assert_eq!(edge_set(&graph).len(), 30, "spigo's migration step 0");
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

/// The built-in example of the README's saturation walk-through: at the
/// default load nothing saturates, every tier reports its work model and
/// its guarded calls, and the series have every second.
#[test]
fn the_resilient_example_runs_below_saturation() {
    let run = Run::ok(&[
        "-a",
        "netflixoss-resilient",
        "-d",
        "3",
        "--seed",
        "1",
        "-c",
        "--http",
        "none",
    ]);
    let s = read_json(&run.path("summary.json"));
    let services = &s["services"];
    for name in [
        "homepage",
        "login",
        "subscriber",
        "cassSubscriber",
        "wwwproxy",
    ] {
        let u = services[name]["utilisation"].as_f64().unwrap_or(-1.0);
        assert!((0.0..0.5).contains(&u), "{name} utilisation {u}");
    }
    for (caller, dep) in [
        ("wwwproxy", "homepage"),
        ("wwwproxy", "login"),
        ("homepage", "subscriber"),
    ] {
        let e = &services[caller]["dependencies"][dep];
        assert!(e["calls"].as_u64().unwrap() > 0, "{caller} -> {dep}: {e}");
    }
    let gets = &s["requests"]["gets"];
    let (sent, answered) = (
        gets["sent"].as_f64().unwrap(),
        gets["answered"].as_f64().unwrap(),
    );
    assert!(sent > 100.0 && answered / sent >= 0.9, "{gets}");
    let homepage = &s["series"]["services"]["homepage"];
    assert_eq!(
        homepage["work"]["utilisation"].as_array().unwrap().len(),
        s["series"]["t_s"].as_array().unwrap().len()
    );
    assert!(run
        .path("json_metrics/netflixoss-resilient_series.csv")
        .exists());
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

/// Service -> (package, instances) of a graph; an instance's service is
/// its name's last part without the number.
fn services(graph: &Value) -> BTreeMap<String, (String, usize)> {
    let mut m: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for (name, package) in packages(graph) {
        let service = name
            .split('.')
            .nth(3)
            .unwrap()
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string();
        let e = m.entry(service).or_insert((package.clone(), 0));
        assert_eq!(e.0, package, "{name}");
        e.1 += 1;
    }
    m
}

/// The migration, step by step, as spigo builds it: per-service packages
/// and counts at -p 100 and -p 200 (fixed counts stay), the regions each
/// step spans, and no chaos monkey.
#[test]
fn migration_steps_as_spigo_builds_them() {
    // (step, regions, [(service, package, count per region at -p 100, fixed)])
    let base = |step: u32| -> Vec<(&str, &str, usize, bool)> {
        let mut s = Vec::new();
        if step >= 5 {
            s.push(("cassTurtle", "priamCassandra", 12, false));
        }
        if step <= 5 {
            s.push(("rds-mysql", "store", 2, true));
        }
        match step {
            0 => {}
            1 | 2 => s.push(("memcache", "store", 1, true)),
            _ => s.push(("evcache", "store", 3, true)),
        }
        if step >= 3 {
            s.push(("turtle", "staash", 6, false));
        }
        let php = if step >= 3 { "karyon" } else { "monolith" };
        s.push(("php", php, 9, false));
        if step >= 4 {
            s.push(("node", "karyon", 9, false));
        }
        if step >= 2 {
            s.push(("wwwproxy", "zuul", 9, false));
        }
        s.push(("www-elb", "elb", 1, true));
        s
    };
    let nodes_at_100 = [13, 14, 23, 31, 40, 52, 50, 99, 99, 148];
    for step in 0..=9u32 {
        let regions = match step {
            0..=6 => 1,
            7 | 8 => 2,
            _ => 3,
        };
        for p in [100usize, 200] {
            let s = step.to_string();
            let ps = p.to_string();
            // -w 1 for every step: steps 7 to 9 set their own regions.
            let run = Run::ok(&["-a", "migration", "-s", &s, "-p", &ps, "-d", "0", "-j"]);
            let graph = run.graph_json(&format!("json/migration{step}.json"));
            let mut want: BTreeMap<String, (String, usize)> = base(step)
                .into_iter()
                .map(|(name, package, n, fixed)| {
                    let n = if fixed { n } else { n * p / 100 };
                    (name.to_string(), (package.to_string(), n * regions))
                })
                .collect();
            want.insert("www".into(), ("denominator".into(), 1));
            assert_eq!(services(&graph), want, "step {step} at -p {p}");
            if p == 100 {
                assert_eq!(
                    entries(&graph, "node").len(),
                    nodes_at_100[step as usize],
                    "step {step}"
                );
            }
            assert!(
                !run.stderr().contains("chaosmonkey delete"),
                "step {step}: the migration has no chaos monkey"
            );
        }
    }
}

/// Architecture files in spigo's (Go's) style: `null` and absent fields are
/// zero values, unknown fields are ignored, and the run is named after
/// `-a`, not after the file's `arch` field.
#[test]
fn go_style_files_run_with_zero_values() {
    let file = fixture("arch/bookshop_arch.json");
    for regions in [1usize, 2] {
        let w = regions.to_string();
        let run = Run::ok(&["-a", file.to_str().unwrap(), "-w", &w, "-d", "1", "-j"]);
        assert!(!run.path("json/bookshop-v2.json").exists());
        let graph = run.graph_json("json/bookshop.json");
        assert_eq!(graph["arch"], "bookshop");
        assert!(node_set(&graph).iter().all(|n| n.starts_with("bookshop.")));
        let r = regions;
        let want = [
            ("books-db", "store", 3 * r),
            ("sessions", "store", 2 * r),
            // regions absent: one global instance.
            ("settings", "store", 1),
            ("catalog", "karyon", 6 * r),
            // count null: one cross-zone instance per region.
            ("search", "karyon", r),
            ("front", "zuul", 3 * r),
            ("front-elb", "elb", r),
            ("www", "denominator", 1),
        ];
        let want: BTreeMap<String, (String, usize)> = want
            .iter()
            .map(|(s, p, n)| (s.to_string(), (p.to_string(), *n)))
            .collect();
        // catalog's instances carry machine, container and process parts.
        let mut got: BTreeMap<String, (String, usize)> = BTreeMap::new();
        for (name, package) in packages(&graph) {
            let parts: Vec<&str> = name.split('.').collect();
            let part = if parts.len() > 4 { parts[4] } else { parts[3] };
            let service = part.trim_end_matches(|c: char| c.is_ascii_digit());
            got.entry(service.to_string()).or_insert((package, 0)).1 += 1;
        }
        assert_eq!(got, want, "-w {regions}");
        assert!(packages(&graph)
            .keys()
            .any(|n| n.contains(".m5-large.catalog00.shop/catalog.java")));
        assert!(run.stderr().contains("chaosmonkey delete: bookshop."));
    }
    // A file that names only services and links: every one global.
    let file = fixture("arch/links_only_arch.json");
    let run = Run::ok(&["-a", file.to_str().unwrap(), "-d", "1", "-j"]);
    let graph = run.graph_json("json/links_only.json");
    let names = node_set(&graph);
    let want: BTreeSet<String> = ["ledger00", "billing00", "portal00", "dns00"]
        .iter()
        .map(|s| format!("links_only.*.*.{s}"))
        .collect();
    assert_eq!(names, want);
    let edges = edge_set(&graph);
    for (s, t) in [
        ("dns", "portal"),
        ("portal", "billing"),
        ("portal", "ledger"),
        ("billing", "ledger"),
    ] {
        let pair = (
            format!("links_only.*.*.{s}00"),
            format!("links_only.*.*.{t}00"),
        );
        assert!(edges.contains(&pair), "{pair:?} in {edges:?}");
    }
}

/// `-a yow` runs `json_arch/yow_arch.json` as `yow` whatever its `arch`
/// field says, and `-r` then finds `json/yow.json`.
#[test]
fn names_follow_the_arch_argument() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("json_arch")).unwrap();
    std::fs::copy(
        fixture("arch/bookshop_arch.json"),
        dir.path().join("json_arch/yow_arch.json"),
    )
    .unwrap();
    std::fs::copy(
        fixture("arch/bookshop_arch.json"),
        dir.path().join("my.shop_arch.json"),
    )
    .unwrap();
    let first = Run::ok_in(dir, &["-a", "yow", "-d", "0", "-j", "-g"]);
    let graph = first.graph_json("json/yow.json");
    assert!(first.path("gml/yow.graphml").exists());
    assert!(
        first.stdout().starts_with("yow summary"),
        "{}",
        first.stdout()
    );
    let original = node_set(&graph);
    assert!(
        original.iter().all(|n| n.starts_with("yow.")),
        "{original:?}"
    );
    let second = Run::ok_in(first.dir, &["-a", "yow", "-r", "-d", "0", "-j"]);
    assert_eq!(node_set(&second.graph_json("json/yow.json")), original);
    // A name that cannot be one part of an instance name is refused.
    let third = Run::new_in(second.dir, &["-a", "my.shop_arch.json", "-d", "0"]);
    assert_refused(
        &third.out,
        "the architecture's name 'my.shop' (from -a/--arch) must not contain '.'",
    );
}
