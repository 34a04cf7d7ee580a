//! Which node hosts what.
//!
//! Regions go to nodes round-robin; when there are more nodes than regions,
//! each region's zones are spread instead, so every node has work. A zone's
//! eureka registry lives with the zone's instances; a cross-zone instance
//! (elb) lives with its region's first zone and a global one (denominator)
//! with the first region's. Pirates are split into contiguous ranges.

use spigo_proto::archaius::{Config, Location, ANY};
use spigo_proto::NodeId;
use std::ops::Range;

pub struct Placement {
    workers: Vec<NodeId>,
    /// Zones per region in use.
    zones: Vec<usize>,
    by_zone: bool,
}

impl Placement {
    pub fn new(workers: Vec<NodeId>, cfg: &Config, regions: u8) -> Placement {
        let zones: Vec<usize> = (0..regions as usize)
            .map(|r| cfg.regions[r].zones.len())
            .collect();
        Placement {
            by_zone: workers.len() > zones.len(),
            workers,
            zones,
        }
    }

    /// The node hosting instances at `at`.
    pub fn node_for(&self, at: Location) -> NodeId {
        let r = if at.region == ANY {
            0
        } else {
            at.region as usize
        };
        let z = if at.zone == ANY { 0 } else { at.zone as usize };
        let unit = if self.by_zone {
            self.zones[..r].iter().sum::<usize>() + z
        } else {
            r
        };
        self.workers[unit % self.workers.len()]
    }

    /// One line per node: what it hosts.
    pub fn describe(&self, cfg: &Config) -> Vec<(NodeId, String)> {
        self.workers
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
                (node, parts.join(", "))
            })
            .collect()
    }
}

/// Contiguous pirate index ranges, one per node.
pub fn pirate_ranges(workers: &[NodeId], n: u32) -> Vec<(NodeId, Range<u32>)> {
    let k = workers.len() as u64;
    workers
        .iter()
        .enumerate()
        .map(|(i, &node)| {
            let start = (i as u64 * n as u64 / k) as u32;
            let end = ((i as u64 + 1) * n as u64 / k) as u32;
            (node, start..end)
        })
        .filter(|(_, r)| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_then_zones_spread_over_nodes() {
        let cfg = Config::default();
        let p = Placement::new(vec![1, 2, 3], &cfg, 3);
        assert_eq!(p.node_for(Location::new(0, 2)), 1);
        assert_eq!(p.node_for(Location::new(1, ANY)), 2);
        assert_eq!(p.node_for(Location::new(2, 0)), 3);
        assert_eq!(p.node_for(Location::GLOBAL), 1);
        let lines = p.describe(&cfg);
        assert_eq!(lines[1], (2, "us-west-2".to_string()));
        assert_eq!(lines[0], (1, "us-east-1, global".to_string()));

        let p = Placement::new(vec![1, 2], &cfg, 1);
        assert_eq!(p.node_for(Location::new(0, 0)), 1);
        assert_eq!(p.node_for(Location::new(0, 1)), 2);
        assert_eq!(p.node_for(Location::new(0, 2)), 1);
        assert_eq!(p.describe(&cfg)[1], (2, "us-east-1 (zoneB)".to_string()));

        let single = Placement::new(vec![0], &cfg, 2);
        assert_eq!(single.node_for(Location::new(1, 2)), 0);
    }

    #[test]
    fn pirates_split_into_ranges() {
        assert_eq!(pirate_ranges(&[1, 2], 5), vec![(1, 0..2), (2, 2..5)]);
        assert_eq!(pirate_ranges(&[0], 7), vec![(0, 0..7)]);
        assert_eq!(pirate_ranges(&[1, 2, 3], 2), vec![(2, 0..1), (3, 1..2)]);
    }
}
