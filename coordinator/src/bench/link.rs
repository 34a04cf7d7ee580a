//! `spigo bench link`: how fast messages cross between two node processes.
//!
//! One way: a blaster actor on the first node sends N messages to a sink
//! actor on the second, which says Goodbye when it has them all. Request and
//! response: pinger actors on the first node each keep a window of requests
//! outstanding to an echo actor on the second. Both run through the same
//! address table, links, batching and gateway as a simulation.

use crate::cluster::{self, Cluster, Nodes};
use crate::error::{self, Error};
use crate::run::controller::{self, Controller, Targets};
use anyhow::{Context, Result};
use ractor::Actor;
use spigo_node::{clock, Runtime};
use spigo_proto::cluster::{BenchKind, BenchSpec, Reply, Request};
use spigo_proto::time::GoDuration;
use spigo_proto::{Address, Gotocol, Imposition, Intention, NodeId};
use std::time::Instant;

async fn spawn(cluster: &Cluster, node: NodeId, specs: Vec<BenchSpec>) -> Result<()> {
    match cluster.request(node, Request::SpawnBench(specs)).await? {
        Reply::Done => Ok(()),
        other => anyhow::bail!("node {node} could not start the benchmark: {other:?}"),
    }
}

fn start(rt: &Runtime, to: Address) -> Result<()> {
    rt.send(
        to,
        Gotocol::new(Imposition::Chat, None, clock::now(), Intention::None),
    )?;
    Ok(())
}

/// What `spigo bench link` is asked to measure.
pub(crate) struct Options {
    /// `--nodes`: local nodes to start (the first two are measured).
    pub nodes: u16,
    /// `--join`: running nodes to measure between instead.
    pub join: Option<String>,
    pub cookie: Option<String>,
    /// Messages sent one way.
    pub messages: u64,
    /// Request/response round trips in all.
    pub round_trips: u64,
    /// Actors sending requests at once.
    pub pingers: u32,
    /// Requests each of them keeps outstanding.
    pub window: u32,
}

pub(crate) async fn link(args: Options) -> error::Result<()> {
    let nodes = match &args.join {
        Some(list) => Nodes::join(list, args.cookie.as_deref())?,
        None if args.nodes < 2 => {
            return Err(Error::usage("--nodes: the link benchmark needs 2 nodes"))
        }
        None => Nodes::Start(args.nodes),
    };
    if args.pingers == 0 || args.window == 0 {
        return Err(Error::usage("--pingers and --window must be at least 1"));
    }
    let rt = Runtime::new(0, false).map_err(Error::failed)?;
    let opts = cluster::Options {
        nodes,
        ..cluster::Options::local()
    };
    let cluster = Cluster::connect(rt.clone(), None, None, opts).await?;
    if cluster.nodes.len() < 2 {
        cluster.stop().await;
        return Err(Error::usage("--join: the link benchmark needs 2 nodes"));
    }
    let result = measure(&cluster, &args).await;
    cluster.stop().await;
    Ok(result?)
}

async fn measure(cluster: &Cluster, args: &Options) -> Result<()> {
    let rt = &cluster.rt;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let (ctl, _) = Actor::spawn(None, Controller, ())
        .await
        .context("cannot start the controller")?;
    let me = rt.reserve(1)?;
    rt.register(me, &ctl)?;
    cluster.watch_losses(ctl.get_derived());
    report!(
        "link benchmark: {} ({}) -> {} ({})",
        a.name,
        a.addr,
        b.name,
        b.addr
    );

    let sink = cluster.alloc(b.id, 1)?;
    let blaster = cluster.alloc(a.id, 1)?;
    let n = args.messages;
    spawn(
        cluster,
        b.id,
        vec![BenchSpec {
            at: sink,
            kind: BenchKind::Sink {
                expected: n,
                report_to: me,
            },
        }],
    )
    .await?;
    spawn(
        cluster,
        a.id,
        vec![BenchSpec {
            at: blaster,
            kind: BenchKind::Blaster {
                target: sink,
                count: n,
            },
        }],
    )
    .await?;
    let t0 = Instant::now();
    start(rt, blaster)?;
    controller::wait_for(
        &ctl,
        Imposition::Goodbye,
        Targets::from([(b.id, 1)]),
        "bench",
    )
    .await?;
    let took = t0.elapsed();
    report!(
        "  one-way            {n} messages in {}: {:.2}M msg/s",
        GoDuration(took),
        n as f64 / took.as_secs_f64() / 1e6
    );
    if cluster.lost().await.contains(&b.id) {
        anyhow::bail!("{} was lost during the benchmark", b.name);
    }

    let echo = cluster.alloc(b.id, 1)?;
    let per = (args.round_trips / args.pingers as u64).max(1);
    let first = cluster.alloc(a.id, args.pingers)?;
    let pingers: Vec<Address> = (0..args.pingers)
        .map(|i| Address::new(a.id, first.index + i))
        .collect();
    spawn(
        cluster,
        b.id,
        vec![BenchSpec {
            at: echo,
            kind: BenchKind::Echo,
        }],
    )
    .await?;
    let specs = pingers
        .iter()
        .map(|&at| BenchSpec {
            at,
            kind: BenchKind::Pinger {
                target: echo,
                count: per,
                window: args.window,
                report_to: me,
            },
        })
        .collect();
    spawn(cluster, a.id, specs).await?;
    let t0 = Instant::now();
    for &p in &pingers {
        start(rt, p)?;
    }
    let targets = Targets::from([(a.id, args.pingers as usize)]);
    controller::wait_for(&ctl, Imposition::Goodbye, targets, "bench").await?;
    let took = t0.elapsed();
    let total = per * args.pingers as u64;
    report!(
        "  request/response   {total} round trips in {}: {:.0}k/s ({} senders, {} outstanding each)",
        GoDuration(took),
        total as f64 / took.as_secs_f64() / 1e3,
        args.pingers,
        args.window
    );
    for (id, r) in cluster.flush().await {
        let name = cluster.node(id).map_or("?", |n| n.name.as_str());
        report!(
            "  {name:<18} {} messages in, {} out, peak {:.0} MB",
            r.messages_in,
            r.messages_out,
            r.peak_rss as f64 / 1e6
        );
    }
    ctl.stop(None);
    Ok(())
}
