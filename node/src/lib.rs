//! spigo-node: the actor runtime of one OS process.
//!
//! A node hosts nanoservice actors (one file per package: [`pirate`],
//! [`eureka`], [`zuul`], ...; what they share is in [`service`]), an address
//! table that maps [`Address`](spigo_proto::Address) to mailboxes, a delay
//! queue for timers, traffic [`metrics`], and an [`edda`] shard that batches
//! graph events to the coordinator. The coordinator process runs one too.

pub mod bench;
pub mod budget;
pub mod clock;
pub mod denominator;
pub mod edda;
pub mod elb;
pub mod eureka;
pub mod flows;
pub mod gateway;
pub mod karyon;
pub mod latency;
pub mod link;
pub mod metrics;
pub mod monolith;
pub mod pirate;
pub mod priam_cassandra;
pub mod runtime;
pub mod server;
pub mod service;
pub mod spawn;
pub mod staash;
pub mod store;
pub mod table;
#[cfg(test)]
pub(crate) mod testkit;
mod timers;
pub mod tls;
pub mod zuul;

pub use runtime::{Runtime, SendError, SpawnError};

use spigo_proto::Gotocol;

/// What a mailbox in the address table accepts: a Gotocol message from
/// another actor, or a timer the actor set for itself (the tag tells which).
#[derive(Debug)]
pub enum Delivery {
    Message(Gotocol),
    Timer(u32),
}
