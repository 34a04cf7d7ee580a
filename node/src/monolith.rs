//! monolith: a LAMP-style web server (PHP and friends) that does its work
//! itself and talks straight to its caches and databases: each request goes
//! to a random dependency and the answer back to the caller.

use crate::service::{self, Behaviour, Core};
use spigo_proto::Gotocol;

pub struct Monolith;

impl Behaviour for Monolith {
    type State = ();

    fn init(_: &Core) {}

    fn request(&self, core: &mut Core, _: &mut (), msg: Gotocol) {
        service::proxy(core, msg);
    }
}
