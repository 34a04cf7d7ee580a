//! `spigo bench ...`: measurements of spigo itself, one file per command.
//!
//! - `link`: messages per second over a link between two node processes.
//! - `memory`: what one actor costs, split into ractor's part and ours.
//! - `steady`: CPU, context switches and memory per message of running
//!   simulations, each the real binary as a child process (`rusage.rs`
//!   reads what the child cost).

#[cfg(feature = "alloc-count")]
pub(crate) mod counting;
mod link;
mod memory;
mod rusage;
mod steady;

pub(crate) use link::{link, Options as LinkOptions};
pub(crate) use memory::memory;
pub(crate) use steady::{steady, Options as SteadyOptions};
