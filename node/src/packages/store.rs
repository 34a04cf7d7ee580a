//! store: a generic key/value store, standing in for mysql, memcache,
//! evcache and the `cache`, `volume` and `riak` packages. It answers gets
//! from its map (empty if it has no such key), and copies every put to the
//! peers it depends on that run the same package (a master/slave pair, a
//! replicated cache).

use super::service::{Behaviour, Core};
use compact_str::CompactString;
use spigo_proto::{Gotocol, Imposition, Intention};
use std::collections::HashMap;

pub struct Store;

pub struct State {
    data: HashMap<CompactString, CompactString>,
}

impl Behaviour for Store {
    type State = State;

    fn init(_: &Core) -> State {
        State {
            data: HashMap::new(),
        }
    }

    fn request(&self, core: &mut Core, state: &mut State, msg: Gotocol) {
        match (msg.imposition, &msg.intention) {
            (Imposition::GetRequest, _) => core.answer_get(&msg, &state.data),
            (Imposition::Put, Intention::Pair(kv)) => {
                state.data.insert(kv[0].clone(), kv[1].clone());
                core.delivered();
                let own = core.package();
                let peers = core
                    .deps()
                    .iter()
                    .filter(|d| d.package == own)
                    .flat_map(|d| d.live().map(|p| p.addr));
                for peer in peers {
                    let ctx = core.child_of(msg.ctx);
                    let copy = msg.intention.clone();
                    // A peer out of reach misses this write.
                    let _ = core.life().send(peer, Imposition::Replicate, ctx, copy);
                }
            }
            (Imposition::Replicate, Intention::Pair(kv)) => {
                state.data.insert(kv[0].clone(), kv[1].clone());
            }
            _ => {}
        }
    }
}
