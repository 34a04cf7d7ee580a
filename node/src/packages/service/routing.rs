//! Routing: which instance of its dependencies a request goes to.
//!
//! Only live instances are picked (one that could not be reached is
//! skipped until eureka names it again). Picks draw from the instance's
//! own seeded generator, so the same seed routes the same way.

use super::discovery::Dependency;
use rand::rngs::SmallRng;
use rand::Rng;
use spigo_proto::Address;

/// A random live instance of dependency `d`.
pub(super) fn pick_in(deps: &[Dependency], rng: &mut SmallRng, d: usize) -> Option<Address> {
    let dep = deps.get(d)?;
    let n = dep.live().count();
    if n == 0 {
        return None;
    }
    let i = rng.random_range(0..n);
    dep.live().nth(i).map(|p| p.addr)
}

/// A random live instance of a random dependency that has one.
pub(super) fn pick_any(deps: &[Dependency], rng: &mut SmallRng) -> Option<Address> {
    let has_live = |d: &&Dependency| d.live().next().is_some();
    let n = deps.iter().filter(has_live).count();
    if n == 0 {
        return None;
    }
    let i = rng.random_range(0..n);
    let d = deps
        .iter()
        .enumerate()
        .filter(|(_, d)| has_live(d))
        .nth(i)
        .map(|(d, _)| d)?;
    pick_in(deps, rng, d)
}

/// The live instance of dependency `d` after `after` in its list (the
/// first when `after` is not live, itself when it is the only one): where
/// a retry goes, as Ribbon's MaxAutoRetriesNextServer does.
pub(super) fn next_after(deps: &[Dependency], d: usize, after: Address) -> Option<Address> {
    let live: Vec<Address> = deps.get(d)?.live().map(|p| p.addr).collect();
    let at = live.iter().position(|&a| a == after);
    let next = at.map_or(0, |i| (i + 1) % live.len());
    live.get(next).copied()
}

/// The next live instance of any dependency, taking turns.
pub(super) fn round_robin(deps: &[Dependency], turn: &mut usize) -> Option<Address> {
    let all = || deps.iter().flat_map(|d| d.live().map(|p| p.addr));
    let n = all().count();
    *turn = turn.wrapping_add(1);
    if n == 0 {
        return None;
    }
    all().nth(*turn % n)
}
