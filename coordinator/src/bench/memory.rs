//! `spigo bench memory`: what one actor costs, and whose cost it is.
//!
//! Spawns N actors of each kind in turn in this process and keeps them all
//! alive, so each kind's cost is the growth of resident memory while it was
//! spawned, divided by N. A bare ractor actor (no state, no address-table
//! slot) is ractor's fixed cost; a pirate or a NetflixOSS instance minus
//! that is ours. The sizes of our per-actor structures are printed beside,
//! so the part that is ours can be traced to its fields.

use crate::error::{self, Error};
use anyhow::{Context, Result};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use spigo_node::packages::{pirate, service, spawn, supervisor};
use spigo_node::runtime::metrics::current_rss;
use spigo_node::runtime::table;
use spigo_node::Runtime;
use spigo_proto::arch::Package;
use spigo_proto::archaius::Location;
use spigo_proto::names::{instance_name, Name};
use spigo_proto::spec::{DependencySpec, InstanceSpec};
use spigo_proto::{Address, NodeRecord};
use std::time::{Duration, Instant};

/// An actor with nothing of its own: what ractor costs before we add any.
struct Bare;

impl Actor for Bare {
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<()>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

/// One kind's figures.
struct Cost {
    bytes_each: f64,
    took: Duration,
    /// Allocations by size, in `alloc-count` builds.
    #[cfg(feature = "alloc-count")]
    tally: super::counting::Tally,
}

fn rss() -> Result<u64> {
    current_rss().context("cannot read this process's resident memory (/proc/self/status)")
}

/// Resident growth per actor while `spawn` ran.
async fn measure<F, Fut>(n: u32, spawn: F) -> Result<Cost>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let before = rss()?;
    let t0 = Instant::now();
    #[cfg(feature = "alloc-count")]
    let (spawned, tally) = super::counting::count(spawn()).await;
    #[cfg(not(feature = "alloc-count"))]
    let spawned = spawn().await;
    spawned?;
    let took = t0.elapsed();
    let after = rss()?;
    Ok(Cost {
        bytes_each: after.saturating_sub(before) as f64 / n as f64,
        took,
        #[cfg(feature = "alloc-count")]
        tally,
    })
}

/// A karyon instance as asgard would describe it: one dependency, one
/// registry, a full nine-part name and metadata.
fn karyon_spec(at: Address, registry: Address, i: u32) -> InstanceSpec {
    let instance = instance_name("homepage", i as usize);
    let name = Name::new(
        "netflixoss",
        "us-east-1",
        "zoneA",
        &instance,
        "homepage",
        "karyon",
    );
    InstanceSpec {
        record: NodeRecord {
            id: at,
            name: name.to_string(),
            package: "karyon".into(),
            metadata: format!("IP/54.198.{}.{},node/node1", (i >> 8) & 255, i & 255),
            location: Location::new(0, 0),
        },
        package: Package::Karyon,
        service: "homepage".into(),
        dependencies: vec![DependencySpec {
            service: "staash".into(),
            package: Package::Staash,
        }],
        registries: vec![registry],
        // Long enough that no poll runs while the figures are taken.
        eureka_poll: Duration::from_secs(3600),
        cross_region: false,
        seed: i as u64,
        hop_limit: spigo_proto::archaius::DEFAULT_HOPS,
        traffic: None,
        work: None,
        calls: None,
    }
}

/// `--actors N`: how many of each kind.
pub(crate) async fn memory(actors: u32) -> error::Result<()> {
    if actors == 0 {
        return Err(Error::usage("--actors: at least 1"));
    }
    Ok(costs(actors).await?)
}

/// Spawns `n` of each kind and prints what each cost.
async fn costs(n: u32) -> Result<()> {
    let rt = Runtime::new(0, false).map_err(Error::failed)?;
    // Supervised, as in a run: a child costs its supervisor an entry.
    supervisor::start(&rt)
        .await
        .context("cannot start the supervisor")?;
    // Everything the measurement itself holds is allocated up front.
    let mut bare: Vec<ActorRef<()>> = Vec::with_capacity(n as usize);
    // Warm up: the first actors pay for the runtime's own first allocations.
    for _ in 0..1000 {
        let (actor, _) = Actor::spawn(None, Bare, ()).await?;
        actor.stop(None);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let ractor_only = measure(n, || async {
        for _ in 0..n {
            let (actor, _) = Actor::spawn(None, Bare, ())
                .await
                .context("cannot spawn an actor")?;
            bare.push(actor);
        }
        Ok(())
    })
    .await?;

    let pirates = measure(n, || async {
        let first = rt.reserve(n)?;
        pirate::spawn_many(&rt, first, n, 1).await?;
        Ok(())
    })
    .await?;

    let registry = rt.reserve(1)?;
    let instances = measure(n, || async {
        let first = rt.reserve(n)?;
        for i in 0..n {
            let at = Address::new(0, first.index + i);
            spawn::spawn_instance(&rt, karyon_spec(at, registry, i)).await?;
        }
        Ok(())
    })
    .await?;

    let kb = |b: f64| b / 1000.0;
    let bare_b = ractor_only.bytes_each;
    report!("memory per actor, {n} of each kind alive at once (growth of resident memory)");
    report!(
        "  ractor actor, nothing of ours   {:>6.2} KB   spawned in {:.1} us each",
        kb(bare_b),
        ractor_only.took.as_secs_f64() * 1e6 / n as f64
    );
    for (what, cost) in [("pirate", &pirates), ("netflixoss instance", &instances)] {
        report!(
            "  {what:<31} {:>6.2} KB   = ractor {:.2} KB + ours {:.2} KB; spawned in {:.1} us each",
            kb(cost.bytes_each),
            kb(bare_b),
            kb(cost.bytes_each - bare_b),
            cost.took.as_secs_f64() * 1e6 / n as f64
        );
    }
    #[cfg(feature = "alloc-count")]
    report_allocations(
        n,
        [
            ("ractor actor", &ractor_only),
            ("pirate", &pirates),
            ("netflixoss instance", &instances),
        ],
    );
    #[cfg(not(feature = "alloc-count"))]
    report!("  (allocations by size: cargo run --release --features alloc-count -- bench memory)");
    report!("  ours, by structure:");
    report!(
        "    pirate state                  {:>5} B + buddies and benefactors on the heap",
        pirate::STATE_BYTES
    );
    report!(
        "    instance state (core)         {:>5} B + names, metadata, dependencies on the heap",
        service::CORE_BYTES
    );
    report!(
        "    address-table slot            {:>5} B",
        table::SLOT_BYTES
    );
    drop(bare);
    Ok(())
}

/// What the counting allocator saw, per actor of each kind.
#[cfg(feature = "alloc-count")]
fn report_allocations(n: u32, kinds: [(&str, &Cost); 3]) {
    report!("  allocations per actor (size x count), from the counting allocator:");
    let per = |c: u64| c as f64 / n as f64;
    for (what, cost) in kinds {
        let t = &cost.tally;
        let shown: Vec<String> = t
            .sizes
            .iter()
            .filter(|&&(_, c)| per(c) >= 0.5)
            .map(|&(s, c)| format!("{s} x {:.1}", per(c)))
            .collect();
        report!(
            "    {what:<29} {:>5.0} B allocated, {:.0} B freed again: {}",
            t.allocated() as f64 / n as f64,
            t.freed as f64 / n as f64,
            shown.join(", ")
        );
        if t.overflow > 0 {
            report!(
                "      ({} allocations of rarer sizes not counted)",
                t.overflow
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_measured_instance_is_a_real_one() {
        let spec = karyon_spec(Address::new(0, 5), Address::new(0, 1), 7);
        let name = Name::parse(&spec.record.name).unwrap();
        assert_eq!(name.graph_name(), "netflixoss.us-east-1.zoneA.homepage07");
        assert_eq!(spec.dependencies.len(), 1);
    }
}
