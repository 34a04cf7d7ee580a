//! archaius: global configuration data (named after Netflix's configuration
//! library): the regions, their zones, and the public IP blocks instances are
//! numbered from in graph metadata (`IP/54.198.0.1`).
//!
//! The /16 blocks are real AWS EC2 public ranges of each region (from AWS's
//! published `ip-ranges.json`), one per zone, so metadata looks like what an
//! architect sees in a console.

use std::net::Ipv4Addr;

pub struct Region {
    pub name: &'static str,
    /// First two octets of each zone's /16 block, zones A, B, C.
    pub blocks: [[u8; 2]; 3],
}

pub const ZONES: [&str; 3] = ["zoneA", "zoneB", "zoneC"];

/// spigo's six default regions, in its order.
pub const REGIONS: [Region; 6] = [
    Region {
        name: "us-east-1",
        blocks: [[54, 198], [54, 221], [50, 19]],
    },
    Region {
        name: "us-west-2",
        blocks: [[54, 148], [54, 185], [54, 213]],
    },
    Region {
        name: "eu-west-1",
        blocks: [[54, 72], [54, 216], [54, 228]],
    },
    Region {
        name: "eu-central-1",
        blocks: [[54, 93], [52, 28], [52, 29]],
    },
    Region {
        name: "ap-southeast-1",
        blocks: [[54, 169], [54, 179], [52, 74]],
    },
    Region {
        name: "ap-southeast-2",
        blocks: [[54, 206], [54, 252], [52, 62]],
    },
];

/// The `n`th address (counting from 1) handed out in a zone's /16 block; past
/// 65,535 hosts it carries on into the following /16.
pub fn zone_ip(block: [u8; 2], n: u32) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::new(block[0], block[1], 0, 0));
    Ipv4Addr::from(base.wrapping_add(n))
}

/// Graph metadata for an instance's address, as spigo writes it.
pub fn ip_metadata(ip: Ipv4Addr) -> String {
    format!("IP/{ip}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_up_from_the_zone_block() {
        assert_eq!(zone_ip(REGIONS[0].blocks[0], 1).to_string(), "54.198.0.1");
        assert_eq!(zone_ip(REGIONS[0].blocks[1], 256).to_string(), "54.221.1.0");
        assert_eq!(
            zone_ip(REGIONS[0].blocks[0], 65_536).to_string(),
            "54.199.0.0"
        );
        assert_eq!(ip_metadata(zone_ip([50, 19], 2)), "IP/50.19.0.2");
    }

    #[test]
    fn blocks_are_distinct() {
        let mut all: Vec<[u8; 2]> = REGIONS.iter().flat_map(|r| r.blocks).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 18);
    }
}
