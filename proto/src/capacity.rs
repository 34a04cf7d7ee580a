//! Memory budgets (`--max-memory`): what a share of a simulation costs a
//! process, so the coordinator can place work by what each node can hold
//! and a node can refuse more than that instead of being killed for it.
//!
//! The figures are measured (`spigo bench memory`, and the slope of node
//! peak RSS over populations; see the README's "Memory" section) and
//! rounded up a little: an estimate that is low lets a process be killed,
//! one that is a few percent high only refuses a little early.

use serde::{Deserialize, Serialize};

/// A pirate: ractor's ~7.2 KB per actor plus ~0.15 KB of ours; 7.3 to
/// 7.7 KB measured from 100k to 1M pirates.
pub const PIRATE_BYTES: u64 = 8_000;
/// A NetflixOSS instance without its dependency links: the actor (~7.9
/// KB), its eureka record and what polling it costs; ~14.7 KB measured.
pub const INSTANCE_BYTES: u64 = 16_000;
/// One dependency link an instance holds (an adopted address, its entry in
/// the registry's answers): ~31 B measured.
pub const EDGE_BYTES: u64 = 32;
/// A node's own runtime once it is busy (worker threads, tables, link
/// buffers), whatever it uses when it has just started.
pub const BASE_BYTES: u64 = 32 << 20;

/// Work refused because it would not fit in a process's memory budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("out of memory budget: {what} need about {}, and {} is free ({limit})", show(*.need), show(*.free))]
pub struct OverBudget {
    /// What was asked for, as the error names it (`400000 pirates`).
    pub what: String,
    /// The bytes it would take, estimated.
    pub need: u64,
    /// The bytes the budget has left.
    pub free: u64,
    /// Which limit: `--max-memory 600 MB` or the machine's available memory.
    pub limit: String,
}

/// Parses a size: bytes, or a number with K, M, G or T (powers of 1024,
/// as in `docker run -m`; `Mi`, `MB`, `MiB` all mean the same).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("'{text}' is not a size (use e.g. 600M, 4G, 1.5G)");
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.to_ascii_uppercase().trim_end_matches('B') {
        "" => 0,
        "K" | "KI" => 10,
        "M" | "MI" => 20,
        "G" | "GI" => 30,
        "T" | "TI" => 40,
        _ => return Err(bad()),
    };
    let bytes = value * (1u64 << shift) as f64;
    // Below this nothing runs; above it the number is a typo.
    if !(1.0..=(1u64 << 60) as f64).contains(&bytes) {
        return Err(format!("'{text}' is not a size between 1 byte and 1 EiB"));
    }
    Ok(bytes as u64)
}

/// A size for people, in the powers of 1024 that `--max-memory` takes:
/// `740 MiB`, `7.5 GiB`.
pub fn show(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit >= 3 && value < 100.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// Splits `n` items over nodes that can hold `caps[i]` each: as evenly as
/// the capacities allow (a node that cannot take an even share takes what
/// it can and the rest is shared among the others). `None` if they cannot
/// hold `n` between them.
pub fn fill(n: u64, caps: &[u64]) -> Option<Vec<u64>> {
    if caps.iter().map(|&c| c as u128).sum::<u128>() < n as u128 {
        return None;
    }
    let mut share = vec![0u64; caps.len()];
    let mut open: Vec<usize> = (0..caps.len()).collect();
    let mut left = n;
    // Each round either places everything or fills at least one node.
    while left > 0 {
        let k = open.len() as u64;
        let even = left / k;
        let mut extra = left % k;
        let mut next = Vec::new();
        let mut placed = 0;
        for &i in &open {
            let want = even + u64::from(extra > 0);
            let room = caps[i] - share[i];
            let take = want.min(room);
            if take == want && extra > 0 {
                extra -= 1;
            }
            share[i] += take;
            placed += take;
            if share[i] < caps[i] {
                next.push(i);
            }
        }
        left -= placed;
        if placed == 0 {
            return None;
        }
        open = next;
    }
    Some(share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("600M"), Ok(600 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        for bad in ["", "M", "10x", "-1G", "1e3", "0", "2000P", "1.2.3G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_show_for_people() {
        assert_eq!(show(600 << 20), "600 MiB");
        assert_eq!(show(15 << 29), "7.5 GiB");
        assert_eq!(show(12_000), "12 KiB");
        assert_eq!(show(500), "500 B");
        assert_eq!(show(34 << 40), "34.0 TiB");
        assert_eq!(show(200 << 30), "200 GiB");
    }

    #[test]
    fn shares_are_even_where_capacities_allow() {
        assert_eq!(fill(10, &[100, 100]), Some(vec![5, 5]));
        assert_eq!(fill(7, &[100, 100, 100]), Some(vec![3, 2, 2]));
        assert_eq!(fill(100, &[10, 1000]), Some(vec![10, 90]));
        assert_eq!(fill(100, &[10, 20, 1000]), Some(vec![10, 20, 70]));
        assert_eq!(fill(30, &[10, 20]), Some(vec![10, 20]));
        assert_eq!(fill(31, &[10, 20]), None);
        assert_eq!(fill(5, &[0, 9]), Some(vec![0, 5]));
        assert_eq!(fill(0, &[1, 1]), Some(vec![0, 0]));
        assert_eq!(
            fill(u64::MAX, &[u64::MAX, u64::MAX]).map(|s| s.len()),
            Some(2)
        );
    }
}
