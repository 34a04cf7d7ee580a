//! asgard: builds an architecture and runs it (named after Netflix's cloud
//! deployment console). It starts one eureka registry per zone of every
//! region in use and cross-connects them, creates the plan's services tier
//! by tier (a tier first registers, then looks for its dependencies, and
//! a tier that depends on it starts once it has found them, so a graph made
//! at `-d 0` is already complete and the same every time; tiers that do not
//! depend on each other go in one wave, see `Plan::waves`), lets the denominators drive
//! traffic, sends the chaos monkey half way through, and shuts everything
//! down in order: traffic first, then instances, then registries.

use super::controller::{self, Controller, Targets};
use super::interrupt::Interrupt;
use super::progress::Progress;
use crate::cluster::Cluster;
use crate::error::{self, Error};
use crate::model::placement::Placement;
use crate::model::plan::{Plan, Tier};
use crate::output::writers::label;
use anyhow::{Context, Result};
use futures::future::join_all;
use ractor::Actor;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use spigo_node::{clock, Runtime, SendError};
use spigo_proto::archaius::{Config, CrashAt, Location, OutageAt, ANY};
use spigo_proto::load::Shape;
use spigo_proto::names::instance_name;
use spigo_proto::spec::InstanceSpec;
use spigo_proto::time::GoDuration;
use spigo_proto::{
    Address, Exit, Gotocol, Imposition, Intention, Name, NodeId, NodeRecord, Package,
};
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

/// How long a tier may take to register and find its dependencies before
/// asgard goes on without the stragglers (only a lost node makes any).
const BARRIER_LIMIT: Duration = Duration::from_secs(30);

/// How long in-flight requests get to finish once traffic stops.
const DRAIN: Duration = Duration::from_millis(250);

pub(crate) struct Options {
    pub seed: u64,
    pub duration: Duration,
    pub chat: Duration,
    pub eureka_poll: Duration,
    /// `-kv crash:SERVICE@TIME`: one instance of SERVICE panics then.
    pub crash: Option<CrashAt>,
    /// `-kv outage:SERVICE@TIME+LENGTH`: every instance of SERVICE stops
    /// answering then, for LENGTH.
    pub outage: Option<OutageAt>,
    /// `-kv hops:N`: how many times a request may be passed on.
    pub hop_limit: u8,
    /// `-kv arrivals:`, `-kv load:`: how the denominator paces requests.
    pub shape: Shape,
    /// Ends the traffic early on Ctrl-C or SIGTERM.
    pub interrupt: Interrupt,
    /// Told when the traffic begins and ends.
    pub progress: Progress,
}

pub(crate) struct Report {
    pub per_package: BTreeMap<Package, usize>,
    pub setup: Duration,
    pub victim: Option<String>,
    /// When the traffic began, and when each fault struck (what it was),
    /// for `--svg`'s timeline.
    pub began: Instant,
    pub faults: Vec<(Instant, String)>,
}

struct Instance {
    addr: Address,
    package: Package,
    name: String,
}

/// Sends a Gotocol from asgard (whose replies go to the controller).
fn tell(
    rt: &Runtime,
    to: Address,
    from: Address,
    imposition: Imposition,
    intention: Intention,
) -> Result<()> {
    match rt.send(
        to,
        Gotocol::new(imposition, Some(from), clock::now(), intention),
    ) {
        // A node lost on the way: its instances are accounted for already.
        Err(SendError::NoRoute(_) | SendError::LinkDown(_)) if to.node != rt.node() => Ok(()),
        other => other.with_context(|| format!("asgard cannot reach {to}")),
    }
}

/// Adds a set of addresses to per-node counts: what the controller waits for.
fn count<'a>(targets: &mut Targets, addrs: impl IntoIterator<Item = &'a Address>) {
    for a in addrs {
        *targets.entry(a.node).or_default() += 1;
    }
}

/// One registry per zone of each region, on the zone's node: `[region][zone]`.
async fn start_registries(
    cluster: &Cluster,
    placement: &Placement,
    plan: &Plan,
    cfg: &Config,
    controller: Address,
) -> Result<Vec<Vec<Address>>> {
    let rt = &cluster.rt;
    let mut all: Vec<Vec<Address>> = Vec::new();
    let mut per_node: BTreeMap<NodeId, Vec<Address>> = BTreeMap::new();
    for r in 0..plan.regions {
        let mut zones = Vec::new();
        for z in 0..cfg.regions[r as usize].zones.len() {
            let node = placement.node_for(Location::new(r, z as u8));
            let at = cluster.alloc(node, 1)?;
            per_node.entry(node).or_default().push(at);
            zones.push(at);
        }
        all.push(zones);
    }
    let spawns = per_node
        .into_iter()
        .map(|(node, addrs)| cluster.spawn_registries(node, addrs));
    for r in join_all(spawns).await {
        r.context("cannot start eureka")?;
    }
    for (r, zones) in all.iter().enumerate() {
        let mut names = Vec::new();
        for (z, &at) in zones.iter().enumerate() {
            let (region, zone) = cfg.names(Location::new(r as u8, z as u8));
            let name = Name::new(
                &plan.arch,
                region,
                zone,
                &instance_name("eureka", z),
                "eureka",
                "eureka",
            )
            .graph_name();
            tracing::info!("{name}: starting");
            rt.note_name(at, &name);
            tell(
                rt,
                at,
                controller,
                Imposition::Hello,
                Intention::Text(name.as_str().into()),
            )?;
            if let Some(edda) = cluster.edda_shard(at.node) {
                tell(rt, at, edda, Imposition::Inform, Intention::None)?;
            }
            names.push(name);
        }
        for (a, from) in zones.iter().zip(&names) {
            for (b, to) in zones.iter().zip(&names).filter(|(b, _)| *b != a) {
                tracing::info!("Eureka cross connect from: {from} to {to}");
                tell(
                    rt,
                    *a,
                    *b,
                    Imposition::NameDrop,
                    Intention::Text("eureka".into()),
                )?;
            }
        }
    }
    Ok(all)
}

/// The registries an instance at `at` polls; the first is its home.
fn registries_for(registries: &[Vec<Address>], at: Location, cross_region: bool) -> Vec<Address> {
    let mut out: Vec<Address> = match (at.region, at.zone) {
        (ANY, _) => registries.iter().flatten().copied().collect(),
        (r, ANY) => registries[r as usize].clone(),
        (r, z) => vec![registries[r as usize][z as usize]],
    };
    if cross_region && at.region != ANY {
        for (r, zones) in registries.iter().enumerate() {
            if r != at.region as usize {
                let z = if at.zone == ANY {
                    0
                } else {
                    (at.zone as usize).min(zones.len() - 1)
                };
                out.push(zones[z]);
            }
        }
    }
    out
}

/// What a wave spawns on each node.
type Orders = BTreeMap<NodeId, Vec<InstanceSpec>>;

/// Gives a tier's instances their addresses and adds their spawn orders
/// to `orders`; the instances go to `out`.
fn place_tier(
    cluster: &Cluster,
    placement: &Placement,
    tier: &Tier,
    registries: &[Vec<Address>],
    opts: &Options,
    orders: &mut Orders,
    out: &mut Vec<Instance>,
) -> Result<()> {
    // How graph metadata names each node, made once per node.
    let mut suffixes: BTreeMap<NodeId, String> = BTreeMap::new();
    for planned in &tier.instances {
        let node = placement.node_for(planned.location);
        let addr = cluster.alloc(node, 1)?;
        let suffix = suffixes
            .entry(node)
            .or_insert_with(|| cluster.metadata_suffix(node));
        let spec = InstanceSpec {
            record: NodeRecord {
                id: addr,
                name: planned.name.to_string(),
                package: tier.package.as_str().into(),
                metadata: format!("{}{suffix}", planned.metadata),
                location: planned.location,
            },
            package: tier.package,
            service: tier.service.as_str().into(),
            dependencies: tier.dependencies.clone(),
            registries: registries_for(registries, planned.location, tier.cross_region),
            eureka_poll: opts.eureka_poll,
            cross_region: tier.cross_region,
            seed: opts.seed,
            hop_limit: opts.hop_limit,
            traffic: (tier.package == Package::Denominator && opts.shape != Shape::default())
                .then(|| Box::new(opts.shape)),
            work: tier.work.clone().map(Box::new),
            calls: tier.calls.clone().map(Box::new),
        };
        orders.entry(node).or_default().push(spec);
        out.push(Instance {
            addr,
            package: tier.package,
            name: planned.name.graph_name(),
        });
    }
    Ok(())
}

/// Spawns a wave's instances (one order per node) and greets each.
async fn spawn_wave(
    cluster: &Cluster,
    orders: Orders,
    controller: Address,
    created: &[Instance],
) -> Result<()> {
    let rt = &cluster.rt;
    let spawns = orders
        .into_iter()
        .map(|(node, specs)| cluster.spawn_instances(node, specs));
    for r in join_all(spawns).await {
        r.context("cannot create the architecture's instances")?;
    }
    for i in created {
        rt.note_name(i.addr, &i.name);
        tell(
            rt,
            i.addr,
            controller,
            Imposition::Hello,
            Intention::Text(i.name.as_str().into()),
        )?;
        if let Some(edda) = cluster.edda_shard(i.addr.node) {
            tell(rt, i.addr, edda, Imposition::Inform, Intention::None)?;
        }
    }
    Ok(())
}

pub(crate) async fn run(
    cluster: &Cluster,
    plan: &Plan,
    cfg: &Config,
    opts: &Options,
) -> error::Result<Report> {
    let rt = &cluster.rt;
    let arch = &plan.arch;
    let started = Instant::now();
    let rooms = cluster.rooms().await;
    let name = |id| cluster.worker_name(id);
    let placement = Placement::new(&rooms, cfg, plan, &name).map_err(Error::refused)?;
    if !cluster.is_local() {
        tracing::info!("{arch}: placement over {} nodes", cluster.nodes.len());
        let ids: Vec<NodeId> = rooms.iter().map(|r| r.0).collect();
        for (node, what) in placement.describe(cfg, &ids) {
            let n = cluster.node(node).expect("a worker");
            tracing::info!("  {} {} hosts {what}", n.name, n.addr);
        }
    }
    let (controller, _) = Actor::spawn(None, Controller, ())
        .await
        .context("cannot start asgard's controller")?;
    let me = rt.reserve(1).map_err(Error::failed)?;
    rt.register(me, &controller).map_err(Error::failed)?;
    rt.note_name(me, "asgard");
    cluster.watch_losses(controller.get_derived());

    let registries = start_registries(cluster, &placement, plan, cfg, me).await?;
    let mut instances: Vec<Instance> = Vec::new();
    // Every instance so far, per node.
    let mut all = Targets::new();
    // Where the victim service's instances are in `instances`.
    let mut victims: Vec<Range<usize>> = Vec::new();
    // ...and those of the crash injector's service.
    let mut crashable: Vec<Range<usize>> = Vec::new();
    // ...and those of the outage's service.
    let mut dark: Vec<Range<usize>> = Vec::new();
    for wave in plan.waves() {
        let (began, first) = (Instant::now(), instances.len());
        let mut orders = Orders::new();
        for tier in &plan.tiers[wave.clone()] {
            tracing::info!("{}", tier.describe());
            let from = instances.len();
            place_tier(
                cluster,
                &placement,
                tier,
                &registries,
                opts,
                &mut orders,
                &mut instances,
            )
            .with_context(|| format!("cannot create {}", tier.service))?;
            if tracing::enabled!(tracing::Level::DEBUG) {
                let on: Option<&dyn Fn(NodeId) -> String> = (!cluster.is_local()).then_some(&name);
                tracing::debug!("{arch}: {}", placement.tier_line(cfg, tier, on));
            }
            if tier.service == plan.victim {
                victims.push(from..instances.len());
            }
            if opts
                .crash
                .as_ref()
                .is_some_and(|c| c.service == tier.service)
            {
                crashable.push(from..instances.len());
            }
            if (opts.outage.as_ref()).is_some_and(|o| o.service == tier.service) {
                dark.push(from..instances.len());
            }
        }
        spawn_wave(cluster, orders, me, &instances[first..]).await?;
        let spawned = began.elapsed();
        count(&mut all, instances[first..].iter().map(|i| &i.addr));
        controller::wait_for_within(
            &controller,
            Imposition::Hello,
            all.clone(),
            arch,
            BARRIER_LIMIT,
        )
        .await?;
        let registered = began.elapsed();
        for i in &instances[first..] {
            tell(
                rt,
                i.addr,
                me,
                Imposition::NameDrop,
                Intention::Text("eureka".into()),
            )?;
        }
        controller::wait_for_within(
            &controller,
            Imposition::Inform,
            all.clone(),
            arch,
            BARRIER_LIMIT,
        )
        .await?;
        tracing::debug!(
            "{arch}: wave of {} services, {} instances: spawned in {}, registered by {}, dependencies found by {}",
            wave.len(),
            instances.len() - first,
            GoDuration(spawned),
            GoDuration(registered),
            GoDuration(began.elapsed()),
        );
    }
    let setup = started.elapsed();
    tracing::info!(
        "{arch}: {} instances up in {}",
        instances.len(),
        GoDuration(setup)
    );
    let denominators: Vec<Address> = instances
        .iter()
        .filter(|i| i.package == Package::Denominator)
        .map(|i| i.addr)
        .collect();
    tracing::info!(
        "{arch}: denominator activity rate {}",
        GoDuration(opts.chat)
    );
    for &d in &denominators {
        tell(rt, d, me, Imposition::Chat, Intention::Interval(opts.chat))?;
    }

    let half = opts.duration / 2;
    // The faults of the run, in the order they come.
    let mut faults = vec![(half, Fault::ChaosMonkey)];
    if let Some(crash) = opts.crash.as_ref().filter(|c| c.at < opts.duration) {
        faults.push((crash.at, Fault::Crash(crash.service.as_str())));
    }
    if let Some(o) = opts.outage.as_ref().filter(|o| o.at < opts.duration) {
        faults.push((o.at, Fault::Outage(o.service.as_str(), o.length)));
    }
    faults.sort_by_key(|(at, _)| *at);
    opts.interrupt.begin();
    opts.progress.begin(instances.len());
    let began = Instant::now();
    let mut struck: Vec<(Instant, String)> = Vec::new();
    let mut victim = None;
    // Instances a fault took already: no second fault picks them.
    let mut gone: Vec<Address> = Vec::new();
    let mut now = Duration::ZERO;
    for (at, fault) in faults {
        // An interrupted run ends before its remaining faults.
        if !opts.interrupt.sleep(at - now).await {
            break;
        }
        now = at;
        match fault {
            Fault::ChaosMonkey => {
                let of = Candidates {
                    instances: &instances,
                    ranges: &victims,
                    gone: &gone,
                };
                victim = chaos_monkey(rt, plan, of, me, opts)?;
                gone.extend(victim.as_ref().map(|(a, _)| *a));
                if let Some((_, name)) = &victim {
                    struck.push((Instant::now(), format!("chaos monkey: {}", label(name))));
                }
            }
            Fault::Crash(service) => {
                let of = Candidates {
                    instances: &instances,
                    ranges: &crashable,
                    gone: &gone,
                };
                let crashed = inject_crash(rt, of, service, me, opts)?;
                if crashed.is_some() {
                    struck.push((Instant::now(), format!("crash: {service}")));
                }
                gone.extend(crashed);
            }
            Fault::Outage(service, length) => {
                let of = dark.iter().flat_map(|r| &instances[r.clone()]);
                outage(rt, of, service, length, me);
                let t = Instant::now();
                struck.push((t, format!("outage: {service} for {}", GoDuration(length))));
                // The picture marks its end too, where it falls in the run.
                if at + length < opts.duration {
                    struck.push((t + length, format!("outage ends: {service}")));
                }
            }
        }
    }
    opts.interrupt.sleep(opts.duration - now).await;
    opts.interrupt.end();
    opts.progress.end();

    tracing::info!("{arch}: Shutdown");
    for &d in &denominators {
        let _ = tell(rt, d, me, Imposition::Chat, Intention::None);
    }
    tokio::time::sleep(DRAIN).await;
    let victim_addr = victim.as_ref().map(|(a, _)| *a);
    for i in instances.iter().filter(|i| Some(i.addr) != victim_addr) {
        // Instances on a lost node cannot be told; the controller does not
        // wait for them.
        let _ = tell(
            rt,
            i.addr,
            me,
            Imposition::Goodbye,
            Intention::Exit(Exit::Normal),
        );
    }
    controller::wait_for(&controller, Imposition::Goodbye, all.clone(), arch).await?;
    for &r in registries.iter().flatten() {
        // A registry on a lost node is gone already.
        let _ = tell(rt, r, me, Imposition::Goodbye, Intention::None);
        *all.entry(r.node).or_default() += 1;
    }
    controller::wait_for(&controller, Imposition::Goodbye, all, arch).await?;
    controller.stop(None);
    tracing::info!("{arch}: Exit");

    let mut per_package = BTreeMap::new();
    for i in &instances {
        *per_package.entry(i.package).or_default() += 1;
    }
    Ok(Report {
        per_package,
        setup,
        victim: victim.map(|(_, name)| name),
        began,
        faults: struck,
    })
}

/// What happens to a run's instances while the traffic runs.
enum Fault<'a> {
    /// Half way through (see [`chaos_monkey`]).
    ChaosMonkey,
    /// `-kv crash:SERVICE@TIME` (see [`inject_crash`]).
    Crash(&'a str),
    /// `-kv outage:SERVICE@TIME+LENGTH` (see [`outage`]).
    Outage(&'a str, Duration),
}

/// Every instance of `service` is told to take requests and answer none
/// for `length` (a hung service, not a dead one: eureka still lists its
/// instances, so callers keep calling and must time out). An instance on
/// a lost node cannot be told; the log says how many were.
fn outage<'a>(
    rt: &Runtime,
    instances: impl Iterator<Item = &'a Instance>,
    service: &str,
    length: Duration,
    me: Address,
) {
    let mut told = 0;
    for i in instances {
        if tell(rt, i.addr, me, Imposition::Chat, Intention::Dark(length)).is_ok() {
            told += 1;
        }
    }
    tracing::info!(
        "outage: {told} instances of {service} stop answering for {}",
        GoDuration(length)
    );
}

/// One instance of `service`, chosen by the seed among those no fault has
/// taken yet, is asked to panic in its handler, as a bug would make it:
/// its node's supervisor records it done with exit `crashed` and the run
/// goes on. Returns the address asked.
fn inject_crash(
    rt: &Runtime,
    of: Candidates,
    service: &str,
    me: Address,
    opts: &Options,
) -> Result<Option<Address>> {
    let Some(target) = of.pick(rt, opts.seed ^ 0xC4A5_0000) else {
        tracing::warn!("crash injector: no instance of {service} left to crash");
        return Ok(None);
    };
    // Named once, by its supervisor, when it has crashed.
    tracing::info!("crash injector: asking an instance of {service} to panic");
    tell(
        rt,
        target.addr,
        me,
        Imposition::Goodbye,
        Intention::Exit(Exit::Crashed),
    )?;
    Ok(Some(target.addr))
}

/// The instances a fault may take: those of some tiers (`ranges` of
/// `instances`) still reachable and not taken by a fault already.
struct Candidates<'a> {
    instances: &'a [Instance],
    ranges: &'a [Range<usize>],
    gone: &'a [Address],
}

impl<'a> Candidates<'a> {
    /// One of them, chosen by `seed`.
    fn pick(&self, rt: &Runtime, seed: u64) -> Option<&'a Instance> {
        let candidates: Vec<&Instance> = self
            .ranges
            .iter()
            .flat_map(|r| &self.instances[r.clone()])
            .filter(|i| rt.reachable(i.addr) && !self.gone.contains(&i.addr))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let mut rng = SmallRng::seed_from_u64(seed);
        Some(candidates[rng.random_range(0..candidates.len())])
    }
}

/// Half way through, one random instance of the victim service is told to
/// leave, as Netflix's Chaos Monkey kills instances in production.
fn chaos_monkey(
    rt: &Runtime,
    plan: &Plan,
    of: Candidates,
    me: Address,
    opts: &Options,
) -> Result<Option<(Address, String)>> {
    if plan.victim.is_empty() || opts.duration.is_zero() {
        return Ok(None);
    }
    let Some(victim) = of.pick(rt, opts.seed ^ 0xC4A0_5000) else {
        return Ok(None);
    };
    tracing::info!("chaosmonkey delete: {}", victim.name);
    tell(
        rt,
        victim.addr,
        me,
        Imposition::Goodbye,
        Intention::Exit(Exit::ChaosMonkey),
    )?;
    Ok(Some((victim.addr, victim.name.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_follow_the_visibility_rules() {
        let a = |r: u16, z: u32| Address::new(r, z);
        let regs = vec![
            vec![a(0, 0), a(0, 1), a(0, 2)],
            vec![a(1, 0), a(1, 1), a(1, 2)],
        ];
        assert_eq!(
            registries_for(&regs, Location::new(0, 1), false),
            vec![a(0, 1)]
        );
        assert_eq!(registries_for(&regs, Location::new(1, ANY), false), regs[1]);
        assert_eq!(registries_for(&regs, Location::GLOBAL, false).len(), 6);
        assert_eq!(
            registries_for(&regs, Location::new(0, 2), true),
            vec![a(0, 2), a(1, 2)]
        );
    }
}
