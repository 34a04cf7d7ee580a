//! Which node hosts what, within what each node can hold.
//!
//! The unit of placement is a region, or each region's zones when there are
//! more nodes than regions, so every node has work. A zone's eureka registry
//! lives with the zone's instances; a cross-zone instance (elb) lives with
//! its region's first zone and a global one (denominator) with the first
//! region's. Units go to nodes round-robin when that fits every node's
//! memory budget; otherwise the largest units go first, each to the node
//! with the most room left. Pirates are split into contiguous ranges, as
//! evenly as the nodes' budgets allow.

use super::plan::{Plan, Tier};
use spigo_proto::archaius::{Config, Location, ANY};
use spigo_proto::capacity::{fill, show, EDGE_BYTES, INSTANCE_BYTES, PIRATE_BYTES};
use spigo_proto::NodeId;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// A node and the bytes it can still take.
pub(crate) type Room = (NodeId, u64);

/// What did not fit, for one line of error.
#[derive(Debug, thiserror::Error)]
#[error("out of memory budget: {what} need about {}, and {holders}", show(*.need))]
pub(crate) struct DoesNotFit {
    pub what: String,
    pub need: u64,
    holders: String,
}

impl DoesNotFit {
    /// `who` names a node, or for this process alone (node 0) the limit
    /// that applies to it.
    fn new(what: String, need: u64, rooms: &[Room], who: &dyn Fn(NodeId) -> String) -> Self {
        let room: u64 = rooms.iter().map(|r| r.1).sum();
        let holders = match rooms {
            [(0, r)] => format!(
                "this process can take about {} ({}); raise --max-memory, or spread the run over nodes (--nodes, --join)",
                show(*r),
                who(0)
            ),
            [(n, r)] => format!(
                "{} can take about {}; give it more --max-memory, or add nodes",
                who(*n),
                show(*r)
            ),
            _ => format!(
                "the {} nodes can take about {} ({}); give them more --max-memory, or add nodes",
                rooms.len(),
                show(room),
                rooms
                    .iter()
                    .map(|&(n, r)| format!("{} {}", who(n), show(r)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        DoesNotFit {
            what,
            need,
            holders,
        }
    }
}

pub(crate) struct Placement {
    /// The node of each unit.
    units: Vec<NodeId>,
    /// Zones per region in use.
    zones: Vec<usize>,
    by_zone: bool,
}

impl Placement {
    /// Places `plan`'s units on the nodes in `rooms` (in the order given).
    pub(crate) fn new(
        rooms: &[Room],
        cfg: &Config,
        plan: &Plan,
        name: &dyn Fn(NodeId) -> String,
    ) -> Result<Placement, DoesNotFit> {
        let zones: Vec<usize> = (0..plan.regions as usize)
            .map(|r| cfg.regions[r].zones.len())
            .collect();
        let mut p = Placement {
            by_zone: rooms.len() > zones.len(),
            units: Vec::new(),
            zones,
        };
        let count = if p.by_zone {
            p.zones.iter().sum()
        } else {
            p.zones.len()
        };
        let loads = p.unit_loads(plan, count);
        let round_robin: Vec<NodeId> = (0..count).map(|u| rooms[u % rooms.len()].0).collect();
        p.units = if fits(&round_robin, &loads, rooms) {
            round_robin
        } else {
            largest_first(&loads, rooms).ok_or_else(|| {
                let n: usize = plan.tiers.iter().map(|t| t.instances.len()).sum();
                DoesNotFit::new(format!("{n} instances"), loads.iter().sum(), rooms, name)
            })?
        };
        Ok(p)
    }

    fn unit_of(&self, at: Location) -> usize {
        let r = if at.region == ANY {
            0
        } else {
            at.region as usize
        };
        let z = if at.zone == ANY { 0 } else { at.zone as usize };
        if self.by_zone {
            self.zones[..r].iter().sum::<usize>() + z
        } else {
            r
        }
    }

    /// The node hosting instances at `at`.
    pub(crate) fn node_for(&self, at: Location) -> NodeId {
        self.units[self.unit_of(at)]
    }

    /// Estimated bytes of each unit: its instances, and the dependency
    /// links each holds (every instance of a dependency it can see: its
    /// zone's, its region's cross-zone ones and the global ones; a whole
    /// region from a cross-zone instance; everything from a global one or
    /// a service that spans regions).
    fn unit_loads(&self, plan: &Plan, units: usize) -> Vec<u64> {
        #[derive(Default)]
        struct Counts {
            total: u64,
            region: HashMap<u8, u64>,
            zone: HashMap<(u8, u8), u64>,
        }
        let mut by_service: HashMap<&str, Counts> = HashMap::new();
        for tier in &plan.tiers {
            let c = by_service.entry(tier.service.as_str()).or_default();
            for i in &tier.instances {
                let at = i.location;
                c.total += 1;
                *c.region.entry(at.region).or_default() += 1;
                *c.zone.entry((at.region, at.zone)).or_default() += 1;
            }
        }
        let visible = |c: &Counts, at: Location, cross_region: bool| -> u64 {
            if cross_region || at.region == ANY {
                return c.total;
            }
            let global = c.region.get(&ANY).copied().unwrap_or(0);
            if at.zone == ANY {
                return c.region.get(&at.region).copied().unwrap_or(0) + global;
            }
            let zone = c.zone.get(&(at.region, at.zone)).copied().unwrap_or(0);
            let cross_zone = c.zone.get(&(at.region, ANY)).copied().unwrap_or(0);
            zone + cross_zone + global
        };
        let mut loads = vec![0u64; units];
        for tier in &plan.tiers {
            // A dependency with no instances adds no links.
            let deps: Vec<&Counts> = tier
                .dependencies
                .iter()
                .filter_map(|d| by_service.get(d.service.as_str()))
                .collect();
            for i in &tier.instances {
                let links: u64 = deps
                    .iter()
                    .map(|c| visible(c, i.location, tier.cross_region))
                    .sum();
                loads[self.unit_of(i.location)] += INSTANCE_BYTES + links * EDGE_BYTES;
            }
        }
        loads
    }

    /// One line per node: what it hosts.
    pub(crate) fn describe(&self, cfg: &Config, nodes: &[NodeId]) -> Vec<(NodeId, String)> {
        nodes
            .iter()
            .map(|&node| {
                let mut parts = Vec::new();
                for (r, &zones) in self.zones.iter().enumerate() {
                    let here: Vec<&str> = (0..zones)
                        .filter(|&z| self.node_for(Location::new(r as u8, z as u8)) == node)
                        .map(|z| cfg.regions[r].zones[z].name.as_str())
                        .collect();
                    let region = &cfg.regions[r].name;
                    if here.len() == zones {
                        parts.push(region.clone());
                    } else if !here.is_empty() {
                        parts.push(format!("{region} ({})", here.join(" ")));
                    }
                }
                if self.node_for(Location::GLOBAL) == node {
                    parts.push("global".into());
                }
                if parts.is_empty() {
                    parts.push("nothing (no room)".into());
                }
                (node, parts.join(", "))
            })
            .collect()
    }
}

impl Placement {
    /// Where a tier's instances go, for `-v`: how many in each zone (`*`
    /// for cross-zone and global ones) and, with several nodes, on which
    /// node. One line per service, however many instances it has.
    pub(crate) fn tier_line(
        &self,
        cfg: &Config,
        tier: &Tier,
        node_name: Option<&dyn Fn(NodeId) -> String>,
    ) -> String {
        let mut counts: BTreeMap<(Location, NodeId), usize> = BTreeMap::new();
        for i in &tier.instances {
            *counts
                .entry((i.location, self.node_for(i.location)))
                .or_default() += 1;
        }
        let parts: Vec<String> = counts
            .into_iter()
            .map(|((at, node), n)| {
                let (region, zone) = cfg.names(at);
                match node_name {
                    Some(name) => format!("{region}/{zone} {n} on {}", name(node)),
                    None => format!("{region}/{zone} {n}"),
                }
            })
            .collect();
        format!(
            "placement: {} {} instances: {}",
            tier.service,
            tier.instances.len(),
            parts.join(", ")
        )
    }
}

fn fits(assignment: &[NodeId], loads: &[u64], rooms: &[Room]) -> bool {
    rooms.iter().all(|&(node, room)| {
        let used: u64 = assignment
            .iter()
            .zip(loads)
            .filter(|(n, _)| **n == node)
            .map(|(_, l)| l)
            .sum();
        used <= room
    })
}

/// Largest unit first, each to the node with the most room left.
fn largest_first(loads: &[u64], rooms: &[Room]) -> Option<Vec<NodeId>> {
    let mut left: Vec<Room> = rooms.to_vec();
    let mut order: Vec<usize> = (0..loads.len()).collect();
    order.sort_by_key(|&u| std::cmp::Reverse(loads[u]));
    let mut units = vec![0; loads.len()];
    for u in order {
        let best = left.iter_mut().max_by_key(|(_, room)| *room)?;
        if best.1 < loads[u] {
            return None;
        }
        best.1 -= loads[u];
        units[u] = best.0;
    }
    Some(units)
}

/// Contiguous pirate index ranges, one per node that gets any, as even as
/// the nodes' rooms allow.
pub(crate) fn pirate_ranges(
    rooms: &[Room],
    n: u32,
    name: &dyn Fn(NodeId) -> String,
) -> Result<Vec<(NodeId, Range<u32>)>, DoesNotFit> {
    let caps: Vec<u64> = rooms.iter().map(|r| r.1 / PIRATE_BYTES).collect();
    let shares = fill(n as u64, &caps).ok_or_else(|| {
        DoesNotFit::new(format!("{n} pirates"), n as u64 * PIRATE_BYTES, rooms, name)
    })?;
    let mut start = 0u32;
    let mut out = Vec::new();
    for (&(node, _), share) in rooms.iter().zip(shares) {
        let end = start + share as u32;
        if end > start {
            out.push((node, start..end));
        }
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plan::{from_architecture, Layout};
    use spigo_proto::Architecture;

    const PLENTY: u64 = 1 << 40;

    fn name(n: NodeId) -> String {
        format!("node{n}")
    }

    fn netflixoss(regions: u8) -> (Config, Plan) {
        let cfg = Config::default();
        let arch =
            Architecture::parse(crate::model::architectures::NETFLIXOSS, "netflixoss").unwrap();
        let plan = from_architecture(&arch, &cfg, &Layout::new(&cfg, regions)).unwrap();
        (cfg, plan)
    }

    fn rooms(ids: &[NodeId], room: u64) -> Vec<Room> {
        ids.iter().map(|&n| (n, room)).collect()
    }

    #[test]
    fn regions_then_zones_spread_over_nodes() {
        let (cfg, plan) = netflixoss(3);
        let p = Placement::new(&rooms(&[1, 2, 3], PLENTY), &cfg, &plan, &name).unwrap();
        assert_eq!(p.node_for(Location::new(0, 2)), 1);
        assert_eq!(p.node_for(Location::new(1, ANY)), 2);
        assert_eq!(p.node_for(Location::new(2, 0)), 3);
        assert_eq!(p.node_for(Location::GLOBAL), 1);
        let lines = p.describe(&cfg, &[1, 2, 3]);
        assert_eq!(lines[1], (2, "us-west-2".to_string()));
        assert_eq!(lines[0], (1, "us-east-1, global".to_string()));

        let (cfg, plan) = netflixoss(1);
        let p = Placement::new(&rooms(&[1, 2], PLENTY), &cfg, &plan, &name).unwrap();
        assert_eq!(p.node_for(Location::new(0, 0)), 1);
        assert_eq!(p.node_for(Location::new(0, 1)), 2);
        assert_eq!(p.node_for(Location::new(0, 2)), 1);
        assert_eq!(
            p.describe(&cfg, &[1, 2])[1],
            (2, "us-east-1 (zoneB)".to_string())
        );

        let (cfg, plan) = netflixoss(2);
        let single = Placement::new(&rooms(&[0], PLENTY), &cfg, &plan, &name).unwrap();
        assert_eq!(single.node_for(Location::new(1, 2)), 0);
    }

    #[test]
    fn units_move_to_nodes_with_room_or_do_not_fit() {
        let (cfg, plan) = netflixoss(2);
        let p0 = Placement::new(&rooms(&[1, 2], PLENTY), &cfg, &plan, &name).unwrap();
        let loads = p0.unit_loads(&plan, 2);
        assert!(loads[0] > loads[1], "the first region has the global tier");
        // node1 can hold nothing: both regions go to node2.
        let tight = [(1, 1000), (2, loads[0] + loads[1])];
        let p = Placement::new(&tight, &cfg, &plan, &name).unwrap();
        assert_eq!(p.node_for(Location::new(0, 0)), 2);
        assert_eq!(p.node_for(Location::new(1, 0)), 2);
        assert_eq!(p.describe(&cfg, &[1, 2])[0].1, "nothing (no room)");
        // Not enough anywhere: one line saying how much is missing.
        let e = Placement::new(&[(1, 1000), (2, loads[1])], &cfg, &plan, &name)
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("out of memory budget: "), "{e}");
        assert!(e.contains(" instances need about "), "{e}");
        assert!(e.contains("the 2 nodes can take about"), "{e}");
        assert!(e.contains("node1 1000 B"), "{e}");
    }

    #[test]
    fn dependency_links_count_in_the_estimate() {
        // Ten times the instances is a hundred times the links: each
        // instance sees ten times as many of its dependencies.
        let cfg = Config::default();
        let arch =
            Architecture::parse(crate::model::architectures::NETFLIXOSS, "netflixoss").unwrap();
        let small = from_architecture(&arch, &cfg, &Layout::new(&cfg, 1)).unwrap();
        let big_cfg = Config {
            population: 1000,
            ..Config::default()
        };
        let big = from_architecture(&arch, &big_cfg, &Layout::new(&big_cfg, 1)).unwrap();
        let load = |plan: &Plan| {
            let p = Placement::new(&rooms(&[0], PLENTY), &cfg, plan, &name).unwrap();
            p.unit_loads(plan, 1)[0]
        };
        let n = |plan: &Plan| plan.tiers.iter().map(|t| t.instances.len()).sum::<usize>() as u64;
        let links = |plan: &Plan| (load(plan) - n(plan) * INSTANCE_BYTES) / EDGE_BYTES;
        assert!(links(&small) > 0);
        assert!(
            links(&big) > 50 * links(&small),
            "{} {}",
            links(&big),
            links(&small)
        );
    }

    #[test]
    fn pirates_split_into_ranges() {
        let r = |ids: &[NodeId]| rooms(ids, PLENTY);
        assert_eq!(
            pirate_ranges(&r(&[1, 2]), 5, &name).unwrap(),
            vec![(1, 0..3), (2, 3..5)]
        );
        assert_eq!(pirate_ranges(&r(&[0]), 7, &name).unwrap(), vec![(0, 0..7)]);
        assert_eq!(
            pirate_ranges(&r(&[1, 2, 3]), 2, &name).unwrap(),
            vec![(1, 0..1), (2, 1..2)]
        );
        // A node with room for 10 pirates takes 10; the other the rest.
        let uneven = [(1, 10 * PIRATE_BYTES), (2, PLENTY)];
        assert_eq!(
            pirate_ranges(&uneven, 100, &name).unwrap(),
            vec![(1, 0..10), (2, 10..100)]
        );
        let e = pirate_ranges(&[(0, 1 << 30)], 1_000_000, &name)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("out of memory budget: 1000000 pirates need about 7.5 GiB, and this process can take about 1.0 GiB (node0)"),
            "{e}"
        );
    }
}
