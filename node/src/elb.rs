//! elb: an AWS Elastic Load Balancer, one per region, spanning its zones.
//! It spreads requests round-robin over every instance behind it and relays
//! the answers.

use crate::service::{Behaviour, Core};
use spigo_proto::{Gotocol, Imposition, Intention};

pub struct Elb;

/// Position of the round-robin.
pub struct State {
    next: usize,
}

impl Behaviour for Elb {
    type State = State;

    fn init(_: &Core) -> State {
        State { next: 0 }
    }

    fn request(&self, core: &mut Core, state: &mut State, msg: Gotocol) {
        match msg.imposition {
            Imposition::GetRequest | Imposition::Put => {
                let sent = core.call_with(&msg, 0, |core| {
                    let all: Vec<_> = core
                        .deps
                        .iter()
                        .flat_map(|d| d.live().map(|p| p.addr))
                        .collect();
                    state.next = state.next.wrapping_add(1);
                    (!all.is_empty()).then(|| all[state.next % all.len()])
                });
                if !sent && msg.imposition == Imposition::GetRequest {
                    core.respond(&msg, Intention::None);
                }
            }
            Imposition::GetResponse => core.pass_back(msg),
            _ => {}
        }
    }
}
