//! karyon: Netflix's base server for business-logic microservices (the
//! prototype every new service is copied from). It calls a random
//! dependency for each request and relays the answer.

use super::service::Proxy;

pub struct Karyon;

impl Proxy for Karyon {}
