//! elb: an AWS Elastic Load Balancer, one per region, spanning its zones.
//! It spreads requests round-robin over every instance behind it and relays
//! the answers.

use super::service::{proxy_with, Behaviour, Core};
use spigo_proto::Gotocol;

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
        proxy_with(core, msg, |core| core.round_robin(&mut state.next));
    }
}
