//! Dependency cycles among the services that pass requests on (elb, zuul,
//! karyon, monolith, staash): in such a cycle (karyon A -> B -> A) a
//! request circles until the hop limit drops it, so the run names every
//! cycle in a warning at start. Stores and Cassandra rings answer
//! requests themselves (they only copy writes to their peers), so their
//! dependencies on each other make no cycle.

use super::plan::Plan;
use spigo_proto::Package;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Whether instances of `p` pass requests on to their dependencies.
fn forwards(p: Package) -> bool {
    matches!(
        p,
        Package::Elb | Package::Zuul | Package::Karyon | Package::Monolith | Package::Staash
    )
}

/// The dependency cycles among forwarding services, each as the services
/// along it (the first repeated at the end), starting from its smallest
/// name; in name order. One depth-first walk visits each service once and
/// names the cycle each dependency back onto its path closes: every
/// circle of services has at least one, though circles sharing services
/// may be named by fewer.
pub(crate) fn cycles(plan: &Plan) -> Vec<Vec<String>> {
    let forwarding: HashMap<&str, Vec<&str>> = plan
        .tiers
        .iter()
        .filter(|t| forwards(t.package))
        .map(|t| {
            let deps = t.dependencies.iter().map(|d| d.service.as_str()).collect();
            (t.service.as_str(), deps)
        })
        .collect();
    let mut walk = Walk {
        graph: &forwarding,
        done: HashSet::new(),
        found: BTreeSet::new(),
    };
    let mut names: Vec<&str> = forwarding.keys().copied().collect();
    names.sort_unstable();
    for start in names {
        if !walk.done.contains(start) {
            walk.from(&mut vec![start]);
        }
    }
    walk.found.into_iter().collect()
}

/// A depth-first walk over the forwarding services.
struct Walk<'g, 'a> {
    graph: &'g HashMap<&'a str, Vec<&'a str>>,
    /// Services whose every dependency has been walked.
    done: HashSet<&'a str>,
    found: BTreeSet<Vec<String>>,
}

impl<'a> Walk<'_, 'a> {
    /// Walks on from the last service of `path`; a dependency already on
    /// the path closes a cycle.
    fn from(&mut self, path: &mut Vec<&'a str>) {
        let here = path[path.len() - 1];
        let graph = self.graph;
        for &next in graph.get(here).into_iter().flatten() {
            if !graph.contains_key(next) || self.done.contains(next) {
                continue;
            }
            if let Some(at) = path.iter().position(|&s| s == next) {
                self.found.insert(canonical(&path[at..]));
            } else {
                path.push(next);
                self.from(path);
                path.pop();
            }
        }
        self.done.insert(here);
    }
}

/// A cycle turned to start at its smallest name, closed by repeating it.
fn canonical(ring: &[&str]) -> Vec<String> {
    let first = (0..ring.len()).min_by_key(|&i| ring[i]).unwrap_or(0);
    let mut out: Vec<String> = (0..ring.len())
        .map(|i| ring[(first + i) % ring.len()].to_string())
        .collect();
    out.push(out[0].clone());
    out
}

/// The warning naming every cycle, if there is one.
pub(crate) fn warning(plan: &Plan, hop_limit: u8) -> Option<String> {
    let found = cycles(plan);
    if found.is_empty() {
        return None;
    }
    let named: Vec<String> = found.iter().map(|c| c.join(" -> ")).collect();
    let s = if found.len() > 1 { "s" } else { "" };
    Some(format!(
        "dependency cycle{s}: {}; requests will be dropped at the hop limit ({hop_limit})",
        named.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plan::Tier;
    use spigo_proto::spec::DependencySpec;

    fn tier(service: &str, package: Package, deps: &[&str]) -> Tier {
        Tier {
            service: service.into(),
            package,
            dependencies: deps
                .iter()
                .map(|d| DependencySpec {
                    service: (*d).into(),
                    package: Package::Karyon,
                })
                .collect(),
            cross_region: false,
            instances: Vec::new(),
            work: None,
            calls: None,
        }
    }

    fn plan(tiers: Vec<Tier>) -> Plan {
        Plan {
            arch: "test".into(),
            victim: String::new(),
            tiers,
            regions: 1,
        }
    }

    #[test]
    fn names_each_cycle_once_from_its_smallest_service() {
        let p = plan(vec![
            tier("www", Package::Denominator, &["b"]),
            tier("b", Package::Karyon, &["a", "db"]),
            tier("a", Package::Karyon, &["b"]),
            tier("c", Package::Zuul, &["c"]),
            tier("db", Package::Store, &["db"]),
        ]);
        let found = cycles(&p);
        assert_eq!(found, [vec!["a", "b", "a"], vec!["c", "c"]]);
        assert_eq!(
            warning(&p, 32).unwrap(),
            "dependency cycles: a -> b -> a, c -> c; requests will be dropped at the hop limit (32)"
        );
    }

    #[test]
    fn trees_and_store_rings_have_no_cycle() {
        let p = plan(vec![
            tier("www", Package::Denominator, &["elb"]),
            tier("elb", Package::Elb, &["zuul"]),
            tier("zuul", Package::Zuul, &["k1", "k2"]),
            tier("k1", Package::Karyon, &["k2", "ring"]),
            tier("k2", Package::Karyon, &["ring"]),
            tier("ring", Package::PriamCassandra, &["ring"]),
        ]);
        assert!(cycles(&p).is_empty());
        assert_eq!(warning(&p, 32), None);
    }
}
