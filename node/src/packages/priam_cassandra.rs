//! priamCassandra: a Cassandra node managed by Netflix's Priam. The nodes
//! of one zone form a token ring: tokens are spread evenly over the 32-bit
//! space and a key belongs to the node whose range holds the key's crc32.
//! A client's request is passed to the key's owner in this zone; the owner
//! answers gets from its data and, on a put, replicates to the owner in each
//! other zone of the region and, when the service depends on `eureka`, to
//! one node in each other region, which re-replicates to its own zones.

use super::service::{Behaviour, Core, Peer};
use compact_str::CompactString;
use spigo_proto::archaius::Location;
use spigo_proto::{Address, Gotocol, Imposition, Intention};
use std::collections::{BTreeSet, HashMap};

pub struct PriamCassandra;

pub struct State {
    data: HashMap<CompactString, CompactString>,
    /// Index of the dependency on its own service (its ring peers).
    peers: Option<usize>,
    /// Scratch space for [`State::owner`], kept to save an allocation per
    /// request.
    ring: Vec<Address>,
}

/// Position of `key` on a ring of `n` evenly spaced tokens.
pub fn token_slot(key: &str, n: usize) -> usize {
    let hash = crc32fast::hash(key.as_bytes()) as u64;
    ((hash * n as u64) >> 32) as usize
}

impl State {
    fn peer_list<'a>(&self, core: &'a Core) -> &'a [Peer] {
        self.peers
            .map_or(&[], |d| core.deps()[d].adopted.as_slice())
    }

    fn is_peer(&self, core: &Core, addr: Option<Address>) -> Option<Location> {
        let addr = addr?;
        self.peer_list(core)
            .iter()
            .find(|p| p.addr == addr)
            .map(|p| p.location)
    }

    /// The owner of `key` among the ring members at `at` (this node counts
    /// when `at` is its own location). Members are ordered by address so
    /// every node computes the same ring.
    fn owner(&mut self, core: &Core, at: Location, key: &str) -> Option<Address> {
        let peers = self
            .peers
            .map_or(&[][..], |d| core.deps()[d].adopted.as_slice());
        let ring = &mut self.ring;
        ring.clear();
        ring.extend(
            peers
                .iter()
                .filter(|p| p.alive && p.location == at)
                .map(|p| p.addr),
        );
        if at == core.location() {
            ring.push(core.me());
        }
        if ring.is_empty() {
            return None;
        }
        // The member that sorting the ring would put at the key's slot.
        let slot = token_slot(key, ring.len());
        Some(*ring.select_nth_unstable(slot).1)
    }

    fn other_zones(&self, core: &Core) -> BTreeSet<Location> {
        let here = core.location();
        self.peer_list(core)
            .iter()
            .map(|p| p.location)
            .filter(|l| l.region == here.region && *l != here)
            .collect()
    }

    /// One location per other region: the same zone number if it exists.
    fn other_regions(&self, core: &Core) -> Vec<Location> {
        let here = core.location();
        let mut by_region: HashMap<u8, Location> = HashMap::new();
        for l in self.peer_list(core).iter().map(|p| p.location) {
            if l.region != here.region {
                let e = by_region.entry(l.region).or_insert(l);
                if l.zone == here.zone {
                    *e = l;
                }
            }
        }
        let mut out: Vec<Location> = by_region.into_values().collect();
        out.sort();
        out
    }

    fn replicate_to(&mut self, core: &mut Core, targets: Vec<Location>, msg: &Gotocol, key: &str) {
        for at in targets {
            if let Some(owner) = self.owner(core, at, key) {
                let ctx = core.child_of(msg.ctx);
                // A replica out of reach misses this write, as in Cassandra
                // without hinted handoff.
                let _ = core
                    .life()
                    .send(owner, Imposition::Replicate, ctx, msg.intention.clone());
            }
        }
    }

    /// Handles a request this node owns (or was handed by a peer).
    fn serve(&mut self, core: &mut Core, msg: Gotocol) {
        match (msg.imposition, &msg.intention) {
            (Imposition::GetRequest, _) => core.answer_get(&msg, &self.data),
            (Imposition::Put, Intention::Pair(kv)) => {
                let key = kv[0].clone();
                self.data.insert(key.clone(), kv[1].clone());
                core.delivered();
                let mut targets: Vec<Location> = self.other_zones(core).into_iter().collect();
                if core.spec.cross_region {
                    targets.extend(self.other_regions(core));
                }
                self.replicate_to(core, targets, &msg, &key);
            }
            _ => {}
        }
    }
}

impl Behaviour for PriamCassandra {
    type State = State;

    fn init(core: &Core) -> State {
        State {
            data: HashMap::new(),
            peers: core
                .deps()
                .iter()
                .position(|d| d.service == core.spec.service),
            ring: Vec::new(),
        }
    }

    fn request(&self, core: &mut Core, state: &mut State, msg: Gotocol) {
        match msg.imposition {
            Imposition::GetRequest | Imposition::Put => {
                // A peer handing over a request: this node owns it.
                if state.is_peer(core, msg.reply_to).is_some() {
                    return state.serve(core, msg);
                }
                let key = match &msg.intention {
                    Intention::Text(k) => k.clone(),
                    Intention::Pair(kv) => kv[0].clone(),
                    _ => return state.serve(core, msg),
                };
                match state.owner(core, core.location(), &key) {
                    Some(owner) if owner != core.me() && core.call(owner, &msg, 0).is_ok() => {}
                    _ => state.serve(core, msg),
                }
            }
            Imposition::GetResponse => core.pass_back(msg),
            Imposition::Replicate => {
                let Intention::Pair(kv) = &msg.intention else {
                    return;
                };
                let key = kv[0].clone();
                state.data.insert(key.clone(), kv[1].clone());
                // From another region: spread it over this region's zones.
                let from = state.is_peer(core, msg.reply_to);
                if from.is_some_and(|l| l.region != core.location().region) {
                    let targets = state.other_zones(core).into_iter().collect();
                    state.replicate_to(core, targets, &msg, &key);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_the_ring() {
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            counts[token_slot(&format!("key{i}"), 4)] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
        assert_eq!(token_slot("why?", 1), 0);
    }
}
