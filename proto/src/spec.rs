//! What a node needs to start one instance: everything asgard decided about
//! it, as plain data that can travel to another process.

use crate::arch::Package;
use crate::archaius::Location;
use crate::{Address, NodeRecord};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A service this instance depends on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencySpec {
    /// The service's name, which the instance asks eureka for.
    pub service: CompactString,
    /// Its package, which tells the caller how to use it (staash, for one,
    /// looks in caches before databases).
    pub package: Package,
}

/// One instance to start, as asgard planned it and its node receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Its address, full name, package, metadata and location; eureka
    /// records it in the graph when the instance registers.
    pub record: NodeRecord,
    /// The actor type to run.
    pub package: Package,
    /// The service it belongs to: the name it registers under and others
    /// poll for.
    pub service: CompactString,
    /// The services it calls, found through eureka.
    pub dependencies: Vec<DependencySpec>,
    /// Eureka registries to poll; the first is the one it registers with.
    pub registries: Vec<Address>,
    /// How often it asks its registries what changed (`-u`).
    pub eureka_poll: Duration,
    /// Depends on `eureka`: links to its peers in other regions too
    /// (priamCassandra's multi-region replication).
    pub cross_region: bool,
    /// Seeds the instance's own random choices.
    pub seed: u64,
    /// A request that has been passed on more times than this is dropped
    /// (`-kv hops:N`).
    pub hop_limit: u8,
    /// A denominator's pacing (`-kv arrivals:`, `-kv load:`); `None` for
    /// every other instance, and for spigo's fixed interval, so the
    /// instances that never send traffic carry one pointer, not the shape.
    pub traffic: Option<Box<crate::load::Shape>>,
    /// Its service's work model (service time, concurrency, queue; see
    /// [`crate::work`]); `None` for services that answer at once, as all
    /// of spigo's do.
    pub work: Option<Box<crate::work::Work>>,
    /// What it does when a dependency is slow or failing (timeouts,
    /// retries, breakers, fallbacks; see [`crate::resilience`]); `None`
    /// for callers that wait and pass failures on, as spigo's do.
    pub calls: Option<Box<crate::resilience::Calls>>,
}

impl InstanceSpec {
    /// Where the instance runs (its record's location).
    pub fn location(&self) -> Location {
        self.record.location
    }
}
