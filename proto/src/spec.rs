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
    pub service: CompactString,
    pub package: Package,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Its address, full name, package, metadata and location; eureka
    /// records it in the graph when the instance registers.
    pub record: NodeRecord,
    pub package: Package,
    pub service: CompactString,
    pub dependencies: Vec<DependencySpec>,
    /// Eureka registries to poll; the first is the one it registers with.
    pub registries: Vec<Address>,
    pub eureka_poll: Duration,
    /// Depends on `eureka`: links to its peers in other regions too
    /// (priamCassandra's multi-region replication).
    pub cross_region: bool,
    /// Seeds the instance's own random choices.
    pub seed: u64,
}

impl InstanceSpec {
    pub fn location(&self) -> Location {
        self.record.location
    }
}
