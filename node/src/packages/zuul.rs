//! zuul: Netflix's edge API proxy. It takes requests from the load balancer
//! and passes each to a random instance of the services behind it (zone
//! local, as NetflixOSS routes), sending responses back the way they came.

use super::service::Proxy;

pub struct Zuul;

impl Proxy for Zuul {}
