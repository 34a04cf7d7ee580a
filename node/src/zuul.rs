//! zuul: Netflix's edge API proxy. It takes requests from the load balancer
//! and passes each to a random instance of the services behind it (zone
//! local, as NetflixOSS routes), sending responses back the way they came.

use crate::service::{self, Behaviour, Core};
use spigo_proto::Gotocol;

pub struct Zuul;

impl Behaviour for Zuul {
    type State = ();

    fn init(_: &Core) {}

    fn request(&self, core: &mut Core, _: &mut (), msg: Gotocol) {
        service::proxy(core, msg);
    }
}
