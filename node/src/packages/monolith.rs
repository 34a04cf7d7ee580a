//! monolith: a LAMP-style web server (PHP and friends) that does its work
//! itself and talks straight to its caches and databases: each request goes
//! to a random dependency and the answer back to the caller.

use super::service::Proxy;

pub struct Monolith;

impl Proxy for Monolith {}
