//! `spigo bench ...`: measurements of spigo itself, one file per command.
//!
//! - `link`: messages per second over a link between two node processes.
//! - `memory`: what one actor costs, split into ractor's part and ours.
//! - `steady`: CPU, context switches and memory per message of running
//!   simulations, each the real binary as a child process (`rusage.rs`
//!   reads what the child cost), with what the machine itself charges
//!   for waking and for a cold actor's message beside them (`floor.rs`).

#[cfg(feature = "alloc-count")]
pub(crate) mod counting;
mod floor;
mod link;
mod memory;
pub(crate) mod rusage;
mod steady;

pub(crate) use link::{link, Options as LinkOptions};
pub(crate) use memory::memory;
pub(crate) use steady::{steady, Options as SteadyOptions};
