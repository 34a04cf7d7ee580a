//! `spigo bench ...`: measurements of spigo itself, one file per command.
//!
//! - `link`: messages per second over a link between two node processes.
//! - `memory`: what one actor costs, split into ractor's part and ours.

#[cfg(feature = "alloc-count")]
pub(crate) mod counting;
mod link;
mod memory;

pub(crate) use link::{link, Options as LinkOptions};
pub(crate) use memory::memory;
