//! spigo-proto: the pure data of a spigo simulation, shared by every process.
//!
//! Everything here is plain values with no I/O and no actors: the [`Gotocol`]
//! message every nanoservice speaks, the [`Address`] that names an actor
//! anywhere in a cluster, dotted instance [`names`], [`graph`] events that edda (Netflix's record of cloud
//! state; here, what writes the graphs) records, [`arch`]itecture files, [`archaius`] configuration, instance
//! [`spec`]s, the denominator's traffic [`load`] shape, a service's [`work`] model (service time, concurrency, queue), a caller's [`resilience`] (timeouts, retries, breakers, fallbacks), memory budgets ([`capacity`]), the [`graphjson`] reader, small [`time`] helpers, and the
//! [`wire`] encoding used between processes (and what [`fit`]s in one frame) (the only module that knows the
//! encoding crate), and what a peer may send before it has proved the cookie ([`preauth`]).

#![warn(missing_docs)]

pub mod address;
pub mod arch;
pub mod archaius;
pub mod capacity;
pub mod cluster;
pub mod fit;
pub mod gotocol;
pub mod graph;
pub mod graphjson;
pub mod latency;
pub mod load;
pub mod names;
pub mod preauth;
pub mod resilience;
pub mod spec;
pub mod time;
pub mod wire;
pub mod work;

pub use address::{Address, NodeId};
pub use arch::{Architecture, Package};
pub use archaius::Location;
pub use gotocol::{Gotocol, Imposition, Intention, Reason, TraceContext};
pub use graph::{Exit, GraphEvent, NodeRecord, StampedEvent};
pub use names::Name;
pub use time::Timestamp;
