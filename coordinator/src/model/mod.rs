//! What a run builds, decided before any actor starts: which architecture
//! (`-a`: built in, a file, or the migration's steps; `-r`: a graph to
//! reload), the plan of every instance it names, and which node hosts
//! which part within the nodes' memory budgets. Nothing here runs or
//! writes anything; it only reads input files and refuses bad ones.
//!
//! - `architectures.rs`: `-a`/`-r` to a [`architectures::Resolved`] run: pirates or services.
//! - `plan.rs`: every instance of every tier, named and placed in a zone.
//! - `placement.rs`: which node hosts which region or zone, and the pirates' ranges.
//! - `cycles.rs`: dependency cycles among services that pass requests on, for a warning.
//! - `migration.rs`: the ten steps from LAMP to NetflixOSS (`-a migration -s N`).

pub(crate) mod architectures;
pub(crate) mod cycles;
pub(crate) mod migration;
pub(crate) mod placement;
pub(crate) mod plan;
