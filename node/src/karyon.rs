//! karyon: Netflix's base server for business-logic microservices (the
//! prototype every new service is copied from). It calls a random
//! dependency for each request and relays the answer.

use crate::service::{self, Behaviour, Core};
use spigo_proto::Gotocol;

pub struct Karyon;

impl Behaviour for Karyon {
    type State = ();

    fn init(_: &Core) {}

    fn request(&self, core: &mut Core, _: &mut (), msg: Gotocol) {
        service::proxy(core, msg);
    }
}
