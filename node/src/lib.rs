//! spigo-node: the actor runtime of one OS process.
//!
//! A node hosts nanoservice actors (one file per package: [`pirate`], ...),
//! an address table that maps [`Address`](spigo_proto::Address) to mailboxes,
//! a delay queue for timers, and an [`edda`] shard that batches graph events
//! to the coordinator. The coordinator process runs one of these too.

pub mod clock;
pub mod edda;
pub mod pirate;
pub mod runtime;
pub mod table;
mod timers;

pub use runtime::{Runtime, SendError, SpawnError};

use spigo_proto::Gotocol;

/// What a mailbox in the address table accepts: a Gotocol message from
/// another actor, or a timer the actor set for itself (the tag tells which).
#[derive(Debug)]
pub enum Delivery {
    Message(Gotocol),
    Timer(u32),
}
