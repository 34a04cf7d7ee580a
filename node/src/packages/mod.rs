//! The actors of a simulation: one file per package, plus the pirate.
//!
//! Every actor kind lives the one lifecycle of `lifecycle.rs` (named by a
//! Hello, told where edda is by an Inform, stopped by a Goodbye it
//! answers); a kind's file says only what it does beyond that. The NetflixOSS packages share
//! the [`service`] core (discovery, routing, requests, tracing) and each
//! add a [`Behaviour`](service::Behaviour). [`spawn`] maps a package name
//! to its actor.

pub mod denominator;
pub mod edda;
pub mod elb;
pub mod eureka;
pub mod karyon;
pub(crate) mod lifecycle;
pub mod monolith;
pub mod pirate;
pub mod priam_cassandra;
pub mod service;
pub mod spawn;
pub mod staash;
pub mod store;
pub mod supervisor;
pub mod zuul;
