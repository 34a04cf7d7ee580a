//! FSM: the Flexible Simulation Manager (spigo's joke: also the Flying
//! Spaghetti Monster). It creates the pirates, seeds their social network,
//! lets them talk for the run's duration, then says Goodbye to each and waits
//! until every pirate has answered.
//!
//! Every random choice comes from one seeded generator and depends only on
//! pirate indices, never on timing or placement, so the same `--seed` gives
//! the same buddies, gold and (at `-d 0`) the same graph edges.

use super::controller::{self, Controller, Targets};
use super::interrupt::Interrupt;
use super::progress::Progress;
use crate::cluster::Cluster;
use crate::error::{self, Error};
use crate::logging;
use crate::model::architectures::Seeding;
use crate::model::placement::pirate_ranges;
use anyhow::{Context, Result};
use futures::future::join_all;
use indicatif::ProgressBar;
use ractor::Actor;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use spigo_node::{clock, SendError};
use spigo_proto::archaius::{default_regions, ip_metadata, zone_ip, Location};
use spigo_proto::names::instance_name;
use spigo_proto::time::GoDuration;
use spigo_proto::{Address, Gotocol, GraphEvent, Imposition, Intention, Name, NodeRecord};
use std::time::{Duration, Instant};

pub(crate) const ARCH: &str = "fsm";
const REGION: &str = "atlantic";
const ZONE: &str = "bermuda";
const SERVICE: &str = "blackbeard";
const PACKAGE: &str = "pirate";

pub(crate) struct Options {
    pub seeding: Seeding,
    pub duration: Duration,
    pub seed: u64,
    /// Ends the chatting early on Ctrl-C or SIGTERM.
    pub interrupt: Interrupt,
    /// Told when the chatting begins and ends.
    pub progress: Progress,
}

/// What the run measured, for the summary and the benchmark figures.
pub(crate) struct Report {
    pub pirates: u32,
    pub spawned_in: Duration,
    pub delivered: u64,
    pub setup: Duration,
    pub shutdown: Duration,
}

/// The short graph name of pirate `i`.
fn short_name(seeding: &Seeding, i: u32) -> String {
    match seeding {
        Seeding::Graph(doc) => doc.nodes[i as usize].name.clone(),
        Seeding::Random(_) => {
            let instance = instance_name(SERVICE, i as usize);
            format!("{ARCH}.{REGION}.{ZONE}.{instance}")
        }
    }
}

/// The full nine-part name of pirate `i`.
fn full_name(seeding: &Seeding, i: u32) -> String {
    match seeding {
        Seeding::Graph(doc) => {
            let short = &doc.nodes[i as usize].name;
            Name::from_graph_name(short, PACKAGE).map_or_else(|_| short.clone(), |n| n.to_string())
        }
        Seeding::Random(_) => {
            let instance = instance_name(SERVICE, i as usize);
            format!("{ARCH}.{REGION}.{ZONE}..{instance}...{SERVICE}.{PACKAGE}")
        }
    }
}

/// Both names of pirate `i`.
#[cfg(test)]
fn names(seeding: &Seeding, i: u32) -> (String, String) {
    (short_name(seeding, i), full_name(seeding, i))
}

/// Two distinct buddies for pirate `i`, neither being `i` (with only two
/// pirates there is one candidate, named twice).
fn pick_buddies(rng: &mut SmallRng, i: u32, n: u32) -> [u32; 2] {
    let other = |rng: &mut SmallRng, avoid: &[u32]| loop {
        let b = rng.random_range(0..n);
        if !avoid.contains(&b) {
            return b;
        }
    };
    let first = other(rng, &[i]);
    let second = if n > 2 {
        other(rng, &[i, first])
    } else {
        first
    };
    [first, second]
}

pub(crate) async fn run(cluster: &Cluster, opts: &Options) -> error::Result<Report> {
    let rt = &cluster.rt;
    let n = match &opts.seeding {
        Seeding::Random(n) => *n,
        Seeding::Graph(doc) => doc.nodes.len() as u32,
    };
    tracing::info!("{ARCH}: population {n} pirates");
    let (controller, _) = Actor::spawn(None, Controller, ())
        .await
        .context("cannot start the FSM")?;
    let fsm = rt.reserve(1).map_err(Error::failed)?;
    rt.register(fsm, &controller).map_err(Error::failed)?;
    rt.note_name(fsm, ARCH);
    cluster.watch_losses(controller.get_derived());

    // Each node gets a contiguous range of pirate numbers.
    let started = Instant::now();
    let mut ranges = Vec::new();
    let name = |id| cluster.worker_name(id);
    let placed = pirate_ranges(&cluster.rooms().await, n, &name).map_err(Error::refused)?;
    for (node, range) in placed {
        let first = cluster.alloc(node, range.len() as u32)?;
        if let Some(info) = cluster.node(node) {
            tracing::info!(
                "{ARCH}: {} {} hosts pirates {}..{}",
                info.name,
                info.addr,
                range.start,
                range.end - 1
            );
        }
        ranges.push((range, first));
    }
    let spawns = ranges.iter().map(|(range, first)| {
        cluster.spawn_pirates(first.node, *first, range.len() as u32, opts.seed)
    });
    // A bar counts the local spawns (nodes spawn out of sight).
    let local_before = rt.registered() as u64;
    let bar = match cluster.is_local() {
        true => logging::progress(n as u64, "spawning pirates"),
        false => ProgressBar::hidden(),
    };
    let ticker = {
        let (bar, rt) = (bar.clone(), rt.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position((rt.registered() as u64).saturating_sub(local_before));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let spawned = join_all(spawns).await;
    ticker.abort();
    bar.finish_and_clear();
    for r in spawned {
        r.context("cannot spawn pirates")?;
    }
    // The ranges are contiguous and ascending from pirate 0.
    let pirate_at = |i: u32| {
        let (range, first) = &ranges[ranges.partition_point(|(r, _)| r.end <= i)];
        debug_assert!(range.contains(&i), "every pirate is in a range");
        Address::new(first.node, first.index + (i - range.start))
    };
    // Every pirate in order, with its address.
    let every = || {
        ranges.iter().flat_map(|(range, first)| {
            range
                .clone()
                .map(move |i| (i, Address::new(first.node, first.index + (i - range.start))))
        })
    };
    let spawned_in = started.elapsed();
    tracing::info!("{ARCH}: spawned {n} pirates in {}", GoDuration(spawned_in));

    if let Some(edda) = cluster.edda_shard(0) {
        let block = default_regions()[0].zones[0].block;
        for (range, first) in &ranges {
            let suffix = cluster.metadata_suffix(first.node);
            for i in range.clone() {
                let at = Address::new(first.node, first.index + (i - range.start));
                let metadata = match &opts.seeding {
                    Seeding::Graph(doc) => doc.nodes[i as usize].metadata.clone(),
                    Seeding::Random(_) => ip_metadata(zone_ip(block, i + 1)),
                };
                let record = NodeRecord {
                    id: at,
                    name: full_name(&opts.seeding, i),
                    package: PACKAGE.into(),
                    metadata: format!("{metadata}{suffix}"),
                    location: Location::default(),
                };
                let event = Intention::Event(GraphEvent::Node(Box::new(record)));
                rt.send(
                    edda,
                    Gotocol::new(Imposition::Inform, Some(at), clock::now(), event),
                )
                .map_err(Error::failed)?;
            }
        }
    }
    if rt.logs_messages() {
        for (i, at) in every() {
            rt.note_name(at, &short_name(&opts.seeding, i));
        }
    }
    // A reloaded graph's edges, by the pirate that knows the buddy.
    let mut known: Vec<Vec<u32>> = Vec::new();
    if let Seeding::Graph(doc) = &opts.seeding {
        known = vec![Vec::new(); n as usize];
        for &(a, b) in &doc.edges {
            known[a].push(b as u32);
        }
    }

    // With no time to talk there is nothing to chat about, and leaving Chat
    // out keeps a `-d 0` graph a pure function of the seed.
    let chatting = !opts.duration.is_zero();
    let mut rng = SmallRng::seed_from_u64(opts.seed);
    let mut delivered = 0u64;
    let setup_started = Instant::now();
    for (i, me) in every() {
        let mut send = |imposition, reply_to, intention| -> Result<()> {
            match rt.send(
                me,
                Gotocol::new(imposition, reply_to, clock::now(), intention),
            ) {
                Ok(()) => delivered += 1,
                // Its node was lost: the pirate is gone, the run goes on.
                Err(SendError::NoRoute(_) | SendError::LinkDown(_)) => {}
                Err(e) => return Err(e.into()),
            }
            Ok(())
        };
        send(
            Imposition::Hello,
            Some(fsm),
            Intention::Text(short_name(&opts.seeding, i).into()),
        )?;
        if let Some(edda) = cluster.edda_shard(me.node) {
            send(Imposition::Inform, Some(edda), Intention::None)?;
        }
        let buddies = match &opts.seeding {
            Seeding::Random(_) => pick_buddies(&mut rng, i, n).to_vec(),
            Seeding::Graph(_) => std::mem::take(&mut known[i as usize]),
        };
        for buddy in buddies {
            send(
                Imposition::NameDrop,
                Some(pirate_at(buddy)),
                Intention::None,
            )?;
        }
        send(
            Imposition::GoldCoin,
            Some(fsm),
            Intention::Gold(rng.random_range(0..100)),
        )?;
        let interval = Duration::from_millis(rng.random_range(100..=10_000));
        if chatting {
            send(Imposition::Chat, None, Intention::Interval(interval))?;
        }
    }
    let setup = setup_started.elapsed();
    tracing::info!(
        "{ARCH}: Delivered {delivered} messages in {} ({:.0} msg/s)",
        GoDuration(setup),
        delivered as f64 / setup.as_secs_f64().max(1e-9)
    );

    tracing::info!(
        "{ARCH}: Talk amongst yourselves for {}",
        GoDuration(opts.duration)
    );
    opts.interrupt.begin();
    opts.progress.begin(n as usize);
    opts.interrupt.sleep(opts.duration).await;
    opts.interrupt.end();
    opts.progress.end();

    tracing::info!("{ARCH}: Shutdown");
    let shutdown_started = Instant::now();
    let mut all = Targets::new();
    for (range, first) in &ranges {
        *all.entry(first.node).or_default() += range.len();
    }
    for (_, at) in every() {
        // Pirates on a lost node cannot hear it; the controller does not wait for them.
        let goodbye = Gotocol::new(
            Imposition::Goodbye,
            Some(fsm),
            clock::now(),
            Intention::None,
        );
        let _ = rt.send(at, goodbye);
    }
    controller::wait_for(&controller, Imposition::Goodbye, all, ARCH).await?;
    let shutdown = shutdown_started.elapsed();
    controller.stop(None);
    tracing::info!("{ARCH}: Exit");
    Ok(Report {
        pirates: n,
        spawned_in,
        delivered,
        setup,
        shutdown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buddies_are_distinct_and_never_self() {
        let mut rng = SmallRng::seed_from_u64(3);
        for n in [3u32, 4, 100] {
            for i in 0..n {
                let [a, b] = pick_buddies(&mut rng, i, n);
                assert!(a != i && b != i && a != b && a < n && b < n);
            }
        }
        assert_eq!(pick_buddies(&mut rng, 0, 2), [1, 1]);
        assert_eq!(pick_buddies(&mut rng, 1, 2), [0, 0]);
    }

    #[test]
    fn names_match_spigo() {
        let random = Seeding::Random(10);
        assert_eq!(names(&random, 6).0, "fsm.atlantic.bermuda.blackbeard06");
        assert_eq!(
            names(&random, 6).1,
            "fsm.atlantic.bermuda..blackbeard06...blackbeard.pirate"
        );
    }
}
