//! One simulation: from its checked inputs to the files and the report.
//!
//! - `simulation.rs`: the run from start to end: runtime, edda, cluster,
//!   the work, the files, the summary.
//! - `fsm.rs`: the pirates (`-a fsm`).
//! - `asgard.rs`: every other architecture: registries, tiers, traffic,
//!   the chaos monkey, shutdown in order.
//! - `controller.rs`: the mailbox both answer to, counting replies per node.
//! - `progress.rs`: the status line (or log lines) while simulated time
//!   passes.
//! - `summary.rs`: the end-of-run report on stdout.
//! - `timeline.rs`: `--svg`'s per-second sampler, the timeline's series.

pub(crate) mod asgard;
pub(crate) mod controller;
mod faults;
pub(crate) mod fsm;
pub(crate) mod interrupt;
pub(crate) mod progress;
pub(crate) mod simulation;
mod summary;
mod timeline;
