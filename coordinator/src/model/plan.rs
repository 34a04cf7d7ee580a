//! What asgard will create: every instance of every tier, named and placed.
//!
//! A plan comes from an architecture (counts scaled by `-p`, spread over the
//! `-w` regions and their zones, numbered as spigo numbers them) or from a
//! graph being reloaded (`-r`: exactly the instances the graph names, with
//! dependencies read off its edges).

use anyhow::{bail, Context, Result};
use spigo_proto::arch::{Architecture, ServiceSpec, EUREKA};
use spigo_proto::archaius::{ip_metadata, zone_ip, Config, Location, ANY};
use spigo_proto::capacity::show;
use spigo_proto::graphjson::GraphDoc;
use spigo_proto::names::instance_name;
use spigo_proto::resilience::Calls;
use spigo_proto::spec::DependencySpec;
use spigo_proto::work::{Parts, Work};
use spigo_proto::{Name, Package};
use std::collections::{BTreeMap, HashMap, HashSet};

pub(crate) struct PlannedInstance {
    pub name: Name,
    pub location: Location,
    pub metadata: String,
}

/// One service: created together, before the services that depend on it.
pub(crate) struct Tier {
    pub service: String,
    pub package: Package,
    pub dependencies: Vec<DependencySpec>,
    pub cross_region: bool,
    /// How long its instances take over a request, and how many they
    /// take on at once; `None`: they answer at once.
    pub work: Option<Work>,
    /// What its instances do when a dependency is slow or failing;
    /// `None`: wait and pass failures on.
    pub calls: Option<Calls>,
    pub instances: Vec<PlannedInstance>,
}

impl Plan {
    /// The tiers in waves: runs of consecutive tiers none of which depends
    /// on another tier of its run. Asgard creates a wave at once and waits
    /// for it once; a tier still starts only after every tier it depends on
    /// has registered, as when each tier was its own wave, but an
    /// architecture of 1,000 services in five layers waits five times
    /// instead of a thousand.
    pub(crate) fn waves(&self) -> Vec<std::ops::Range<usize>> {
        let mut waves = Vec::new();
        let mut start = 0;
        let mut in_wave: HashSet<&str> = HashSet::new();
        for (i, tier) in self.tiers.iter().enumerate() {
            let needs_wave = tier
                .dependencies
                .iter()
                .any(|d| d.service != tier.service && in_wave.contains(d.service.as_str()));
            if needs_wave {
                waves.push(start..i);
                start = i;
                in_wave.clear();
            }
            in_wave.insert(&tier.service);
        }
        if start < self.tiers.len() {
            waves.push(start..self.tiers.len());
        }
        waves
    }
}

impl Tier {
    /// spigo's log line for creating this tier.
    pub(crate) fn describe(&self) -> String {
        match self.instances.first().map(|i| i.location) {
            Some(l) if l.region == ANY => format!("Create cross region: {}", self.service),
            Some(l) if l.zone == ANY => format!("Create cross zone: {}", self.service),
            _ => format!("Create service: {}", self.service),
        }
    }
}

pub(crate) struct Plan {
    pub arch: String,
    /// Service the chaos monkey picks from ("" = none).
    pub victim: String,
    pub tiers: Vec<Tier>,
    /// Regions with instances, for eureka registries.
    pub regions: u8,
}

impl Plan {
    #[cfg(test)]
    pub(crate) fn instance_count(&self) -> usize {
        self.tiers.iter().map(|t| t.instances.len()).sum()
    }
}

/// Hands out each zone's IP addresses in creation order.
#[derive(Default)]
struct Ips(HashMap<(u8, u8), u32>);

impl Ips {
    fn next(&mut self, cfg: &Config, at: Location) -> String {
        let region = if at.region == ANY { 0 } else { at.region };
        let zone = if at.zone == ANY { 0 } else { at.zone };
        let n = self.0.entry((region, zone)).or_insert(0);
        *n += 1;
        let block = cfg.regions[region as usize].zones[zone as usize].block;
        ip_metadata(zone_ip(block, *n))
    }
}

/// The services of an architecture by name: looked up once per
/// dependency, which a linear search made quadratic (10,000 services spent
/// most of their planning in it).
type ByName<'a> = HashMap<&'a str, &'a ServiceSpec>;

fn dependencies(by_name: &ByName, s: &ServiceSpec) -> Vec<DependencySpec> {
    s.dependencies
        .iter()
        .filter(|d| *d != EUREKA)
        .filter_map(|d| by_name.get(d.as_str()))
        .map(|d| DependencySpec {
            service: d.name.as_str().into(),
            package: d.package,
        })
        .collect()
}

fn name_of(arch: &str, cfg: &Config, at: Location, s: &ServiceSpec, n: usize) -> Name {
    let (region, zone) = cfg.names(at);
    let prefix = if s.instance.is_empty() {
        &s.name
    } else {
        &s.instance
    };
    let mut name = Name::new(
        arch,
        region,
        zone,
        &instance_name(prefix, n),
        &s.name,
        s.package.as_str(),
    );
    name.machine = s.machine.clone();
    name.container = s.container.clone();
    name.process = s.process.clone();
    name
}

/// How an architecture is laid out: over how many regions, at what scale,
/// and whether `-s` stops it early.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    /// Regions the regional services are deployed in.
    pub regions: u8,
    /// Percent every zoned service's count is scaled by (`-p`).
    pub scale: u32,
    /// Services to create before stopping (`-s`); 0 = all.
    pub stop_after: usize,
}

impl Layout {
    /// Every service, scaled by `-p`, in `regions` regions.
    pub(crate) fn new(cfg: &Config, regions: u8) -> Layout {
        Layout {
            regions,
            scale: cfg.population,
            stop_after: 0,
        }
    }
}

/// Instances of a zoned service in each region: its count scaled, never
/// below one (a count of 0 means one cross-zone instance instead).
fn per_region(s: &ServiceSpec, layout: &Layout) -> u64 {
    ((s.count as u64 * layout.scale as u64) / 100).max(1)
}

/// Roughly what one planned instance (name, metadata, its share of the
/// coordinator's tables) costs the coordinator before anything runs.
const PLANNED_BYTES: u64 = 512;

/// Refuses, before planning it, an architecture so large that this process
/// could not even hold the plan (`-p 4294967295`).
pub(crate) fn check_size(arch: &Architecture, layout: &Layout) -> Result<()> {
    let regions = layout.regions;
    let n: u64 = arch
        .services
        .iter()
        .map(|s| match (s.is_global(), s.is_cross_zone()) {
            (true, _) => 1,
            (false, true) => regions as u64,
            (false, false) => per_region(s, layout) * regions as u64,
        })
        .sum();
    let need = n.saturating_mul(PLANNED_BYTES);
    let (free, limit) = spigo_node::runtime::budget::Budget::default().free();
    if n > u32::MAX as u64 || need > free {
        bail!(
            "out of memory budget: -p {} makes {n} instances, whose plan alone needs about {}, and this process can take about {} ({limit})",
            layout.scale,
            show(need),
            show(free)
        );
    }
    Ok(())
}

/// The work model of a service with `parts` of its own and `package`'s
/// defaults from `-kv`; the error names the service.
fn work_of(service: &str, package: Package, parts: &Parts, cfg: &Config) -> Result<Option<Work>> {
    let parts = parts.or(&cfg.work_defaults(package)?);
    parts
        .work()
        .map_err(|problem| anyhow::anyhow!("service '{service}': {problem}"))
}

/// Scales, names and places an architecture's services as `layout` says;
/// refused when a service's work model (its own and its package's
/// defaults together) makes no sense.
pub(crate) fn from_architecture(
    arch: &Architecture,
    cfg: &Config,
    layout: &Layout,
) -> Result<Plan> {
    let (regions, step) = (layout.regions, layout.stop_after);
    let mut ips = Ips::default();
    let services = if step > 0 {
        &arch.services[..step.min(arch.services.len())]
    } else {
        &arch.services[..]
    };
    let by_name: ByName = arch.services.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut tiers = Vec::new();
    for s in services {
        let mut instances = Vec::new();
        let mut add = |at: Location, n: usize, ips: &mut Ips| {
            instances.push(PlannedInstance {
                name: name_of(&arch.arch, cfg, at, s, n),
                location: at,
                metadata: ips.next(cfg, at),
            })
        };
        if s.is_global() {
            add(Location::GLOBAL, 0, &mut ips);
        } else {
            for r in 0..regions {
                if s.is_cross_zone() {
                    add(Location::new(r, ANY), 0, &mut ips);
                    continue;
                }
                let zones = cfg.regions[r as usize].zones.len();
                let count = per_region(s, layout) as usize;
                for i in 0..count {
                    add(Location::new(r, (i % zones) as u8), i, &mut ips);
                }
            }
        }
        tiers.push(Tier {
            service: s.name.clone(),
            package: s.package,
            dependencies: dependencies(&by_name, s),
            cross_region: s.cross_region(),
            work: work_of(&s.name, s.package, &s.work, cfg)?,
            calls: (!s.calls.is_empty()).then(|| s.calls.clone()),
            instances,
        });
    }
    Ok(Plan {
        arch: arch.arch.clone(),
        victim: if services.iter().any(|s| s.name == arch.victim) {
            arch.victim.clone()
        } else {
            String::new()
        },
        tiers,
        regions,
    })
}

/// A reloaded graph, for asgard: the instances it names, grouped into
/// services (ordered so dependencies come first), with dependencies read
/// off the edges. An edge to the same service in another region means the
/// service links across regions (spigo's `eureka` dependency).
pub(crate) fn from_graph(doc: &GraphDoc, cfg: &Config, file: &str) -> Result<Plan> {
    let mut services: Vec<(String, Package)> = Vec::new();
    let mut members: BTreeMap<usize, Vec<PlannedInstance>> = BTreeMap::new();
    let mut service_of: Vec<usize> = Vec::new();
    // Each node's region, as edges compare them: ANY for a node whose name
    // does not read back as written (no instance of its service bears it).
    let mut region_of: Vec<u8> = Vec::new();
    let mut regions_seen = 0u8;
    for node in &doc.nodes {
        let package = Package::parse(&node.package).with_context(|| {
            format!(
                "{file}: node '{}' has package '{}', which asgard cannot run",
                node.name, node.package
            )
        })?;
        let name = Name::from_graph_name(&node.name, &node.package)
            .with_context(|| format!("{file}: node '{}'", node.name))?;
        let location =
            locate(cfg, &name).with_context(|| format!("{file}: node '{}'", node.name))?;
        if location.region != ANY {
            regions_seen = regions_seen.max(location.region + 1);
        }
        let s = match services.iter().position(|(s, _)| *s == name.service) {
            Some(s) => s,
            None => {
                services.push((name.service.clone(), package));
                services.len() - 1
            }
        };
        service_of.push(s);
        region_of.push(if name.graph_name() == node.name {
            location.region
        } else {
            ANY
        });
        members.entry(s).or_default().push(PlannedInstance {
            name,
            location,
            metadata: node.metadata.clone(),
        });
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); services.len()];
    let mut cross_region = vec![false; services.len()];
    for &(a, b) in &doc.edges {
        let (sa, sb) = (service_of[a], service_of[b]);
        if !deps[sa].contains(&sb) {
            deps[sa].push(sb);
        }
        if sa == sb && region_of[a] != region_of[b] {
            cross_region[sa] = true;
        }
    }
    let mut tiers = Vec::new();
    for s in dependency_order(&deps) {
        tiers.push(Tier {
            service: services[s].0.clone(),
            package: services[s].1,
            dependencies: deps[s]
                .iter()
                .map(|&d| DependencySpec {
                    service: services[d].0.as_str().into(),
                    package: services[d].1,
                })
                .collect(),
            cross_region: cross_region[s],
            // A graph says nothing of work: only the packages' defaults.
            work: work_of(&services[s].0, services[s].1, &Parts::default(), cfg)?,
            calls: None,
            instances: members.remove(&s).unwrap_or_default(),
        });
    }
    Ok(Plan {
        arch: doc.arch.clone(),
        victim: String::new(),
        tiers,
        regions: regions_seen.max(1),
    })
}

/// Services ordered so each comes after what it depends on (cycles other
/// than self-dependencies are broken in file order).
fn dependency_order(deps: &[Vec<usize>]) -> Vec<usize> {
    let mut done: HashSet<usize> = HashSet::new();
    let mut order = Vec::new();
    fn visit(
        s: usize,
        deps: &[Vec<usize>],
        done: &mut HashSet<usize>,
        on_path: &mut HashSet<usize>,
        order: &mut Vec<usize>,
    ) {
        if done.contains(&s) || !on_path.insert(s) {
            return;
        }
        for &d in &deps[s] {
            if d != s {
                visit(d, deps, done, on_path, order);
            }
        }
        on_path.remove(&s);
        done.insert(s);
        order.push(s);
    }
    for s in 0..deps.len() {
        visit(s, deps, &mut done, &mut HashSet::new(), &mut order);
    }
    order
}

/// A name's region and zone as indices into the configuration.
fn locate(cfg: &Config, name: &Name) -> Result<Location> {
    if name.region == "*" {
        return Ok(Location::GLOBAL);
    }
    let r = cfg
        .regions
        .iter()
        .position(|r| r.name == name.region)
        .with_context(|| format!("region '{}' is not in the configuration", name.region))?;
    if name.zone == "*" {
        return Ok(Location::new(r as u8, ANY));
    }
    let z = cfg.regions[r]
        .zones
        .iter()
        .position(|z| z.name == name.zone)
        .with_context(|| format!("zone '{}' is not a zone of {}", name.zone, name.region))?;
    Ok(Location::new(r as u8, z as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netflixoss() -> Architecture {
        Architecture::parse(
            include_str!("../../json_arch/netflixoss_arch.json"),
            "netflixoss",
        )
        .unwrap()
    }

    fn per_package(plan: &Plan) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for t in &plan.tiers {
            *m.entry(t.package.as_str()).or_default() += t.instances.len();
        }
        m
    }

    #[test]
    fn tiers_wait_only_for_what_they_depend_on() {
        let plan = from_architecture(
            &netflixoss(),
            &Config::default(),
            &Layout::new(&Config::default(), 1),
        )
        .unwrap();
        let waves = plan.waves();
        let names = |r: &std::ops::Range<usize>| -> Vec<&str> {
            plan.tiers[r.clone()]
                .iter()
                .map(|t| t.service.as_str())
                .collect()
        };
        // Every tier once, in order, and none with a dependency in its wave.
        assert_eq!(
            waves.iter().map(|w| w.len()).sum::<usize>(),
            plan.tiers.len()
        );
        assert!(waves.windows(2).all(|w| w[0].end == w[1].start));
        for w in &waves {
            let here = names(w);
            for t in &plan.tiers[w.clone()] {
                assert!(
                    t.dependencies
                        .iter()
                        .all(|d| d.service == t.service || !here.contains(&d.service.as_str())),
                    "{} waits for its own wave {here:?}",
                    t.service
                );
            }
        }
        assert!(
            waves.len() < plan.tiers.len(),
            "{:?}",
            waves.iter().map(names).collect::<Vec<_>>()
        );
    }

    #[test]
    fn netflixoss_has_spigos_65_instances() {
        let plan = from_architecture(
            &netflixoss(),
            &Config::default(),
            &Layout::new(&Config::default(), 1),
        )
        .unwrap();
        assert_eq!(plan.instance_count(), 65);
        let m = per_package(&plan);
        assert_eq!(m["priamCassandra"], 6);
        assert_eq!(m["karyon"], 42);
        assert_eq!(m["elb"], 1);
        assert_eq!(m["denominator"], 1);
        let first = &plan.tiers[0].instances;
        assert_eq!(
            first[0].name.graph_name(),
            "netflixoss.us-east-1.zoneA.cassSubscriber00"
        );
        assert_eq!(
            first[1].name.graph_name(),
            "netflixoss.us-east-1.zoneB.cassSubscriber01"
        );
        assert_eq!(first[3].metadata, "IP/54.198.0.2");
        let elb = &plan.tiers[6].instances[0];
        assert_eq!(elb.name.graph_name(), "netflixoss.us-east-1.*.www-elb00");
        let dns = &plan.tiers[7].instances[0];
        assert_eq!(dns.name.graph_name(), "netflixoss.*.*.www00");
        assert_eq!(plan.victim, "homepage");
    }

    #[test]
    fn scale_and_regions_multiply_counts() {
        let plan = from_architecture(
            &netflixoss(),
            &Config::default(),
            &Layout::new(&Config::default(), 3),
        )
        .unwrap();
        assert_eq!(plan.instance_count(), 64 * 3 + 1);
        let cfg = Config {
            population: 1000,
            ..Config::default()
        };
        let plan = from_architecture(&netflixoss(), &cfg, &Layout::new(&cfg, 3)).unwrap();
        assert_eq!(plan.instance_count(), 1894, "spigo's -p 1000 -w 3");
        let plan = from_architecture(
            &netflixoss(),
            &Config::default(),
            &Layout {
                stop_after: 3,
                ..Layout::new(&Config::default(), 1)
            },
        )
        .unwrap();
        assert_eq!(plan.tiers.len(), 3);
        assert_eq!(plan.victim, "", "the victim is not created before step 5");
    }

    #[test]
    fn reloaded_graphs_keep_their_instances() {
        let text = r#"{"arch":"t","graph":[
            {"node":"t.us-east-1.zoneA.db00","package":"store","timestamp":"x","metadata":"IP/1.1.1.1"},
            {"node":"t.us-west-2.zoneA.db01","package":"store","timestamp":"x","metadata":"IP/1.1.1.2"},
            {"node":"t.us-east-1.zoneB.web00","package":"karyon","timestamp":"x","metadata":"IP/1.1.1.3"},
            {"node":"t.*.*.www00","package":"denominator","timestamp":"x","metadata":"IP/1.1.1.4"},
            {"edge":"e1","source":"t.*.*.www00","target":"t.us-east-1.zoneB.web00","timestamp":"x"},
            {"edge":"e2","source":"t.us-east-1.zoneB.web00","target":"t.us-east-1.zoneA.db00","timestamp":"x"},
            {"edge":"e3","source":"t.us-east-1.zoneA.db00","target":"t.us-west-2.zoneA.db01","timestamp":"x"}
        ]}"#;
        let doc = GraphDoc::parse(text, "g").unwrap();
        let plan = from_graph(&doc, &Config::default(), "g").unwrap();
        let order: Vec<&str> = plan.tiers.iter().map(|t| t.service.as_str()).collect();
        assert_eq!(order, ["db", "web", "www"]);
        assert!(plan.tiers[0].cross_region);
        assert_eq!(plan.tiers[1].dependencies[0].service, "db");
        assert_eq!(plan.regions, 2);
        assert_eq!(plan.tiers[2].instances[0].location, Location::GLOBAL);
        let bad = text.replace("us-west-2", "mars-1");
        let doc = GraphDoc::parse(&bad, "g").unwrap();
        let e = from_graph(&doc, &Config::default(), "g").err().unwrap();
        assert!(format!("{e:#}").contains("region 'mars-1' is not in the configuration"));
    }
}
