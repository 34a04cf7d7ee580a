//! One simulation run from flags to files: start the runtime and edda, run
//! the FSM or asgard, flush every graph event, write the graph, print the
//! summary.

use crate::architectures::{Resolved, Work};
use crate::cli::{Cli, UsageError, DEFAULT_HTTP};
use crate::cluster::{self, Cluster, Nodes};
use crate::edda::{self, Edda, Graph, LocalSink};
use crate::http::{LiveFeed, Snapshot, Web};
use crate::writers::{self, gexf, graphjson, graphml, RunInfo};
use crate::{asgard, fsm};
use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use ractor::{Actor, ActorRef};
use spigo_node::packages::edda::{self as shard, EddaShard};
use spigo_node::runtime::metrics::{peak_rss, Traffic};
use spigo_node::runtime::{EdgeCounts, Overload, Settings};
use spigo_node::{clock, Runtime};
use spigo_proto::archaius::Config;
use spigo_proto::cluster::{MetricsReport, NodeReport, PairReport, Reach, Span};
use spigo_proto::time::GoDuration;
use spigo_proto::NodeId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The edda actors of a run that writes a graph.
struct Recorder {
    shard: ActorRef<shard::Msg>,
    shard_at: spigo_proto::Address,
    edda: ActorRef<edda::Msg>,
}

impl Recorder {
    async fn start(
        rt: &Arc<Runtime>,
        filter: bool,
        feed: Option<Arc<LiveFeed>>,
    ) -> Result<Recorder> {
        let (edda, _) = Actor::spawn(None, Edda, Graph::new(filter).with_feed(feed))
            .await
            .context("cannot start edda")?;
        let shard_at = rt.reserve(1)?;
        let args = shard::Arguments {
            rt: rt.clone(),
            me: shard_at,
            sink: Box::new(LocalSink(edda.clone())),
        };
        let (shard, _) = Actor::spawn(None, EddaShard, args)
            .await
            .context("cannot start the edda shard")?;
        rt.register(shard_at, &shard)?;
        Ok(Recorder {
            shard,
            shard_at,
            edda,
        })
    }

    /// Flushes the shard and takes the merged graph from edda, with the
    /// number of events the local shard sent.
    async fn finish(self) -> Result<(Graph, u64)> {
        let sent =
            ractor::call!(self.shard, shard::Msg::Flush).context("edda shard did not flush")?;
        let graph = ractor::call!(self.edda, edda::Msg::Finish).context("edda did not finish")?;
        self.shard.stop(None);
        self.edda.stop(None);
        Ok((graph, sent))
    }
}

/// Fails early, before any simulation time is spent, if the graph files
/// could not be written. Folders it had to create for the test are removed
/// again (the writers create them when they write), so a run that stops
/// before writing leaves nothing behind.
pub fn check_writable(dir: &Path, flag: &str) -> Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        UsageError::error(format!("{flag}: cannot {what} {}: {e}", dir.display()))
    };
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.as_os_str().is_empty() && !d.exists() {
        missing.push(d.to_path_buf());
        d = d.parent().unwrap_or(Path::new(""));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail("create", e))?;
    let probe = dir.join(format!(".spigo-probe-{}", std::process::id()));
    let written = std::fs::write(&probe, b"");
    let _ = std::fs::remove_file(probe);
    // Innermost first: each is empty once its child is gone.
    for created in &missing {
        let _ = std::fs::remove_dir(created);
    }
    written.map_err(|e| fail("write in", e))
}

/// Where the graph files of this run go.
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub gml: Option<PathBuf>,
    pub gexf: Option<PathBuf>,
}

impl Outputs {
    pub fn new(cli: &Cli, stem: &str) -> Outputs {
        Outputs {
            json: cli
                .graphjson
                .then(|| cli.out.join("json").join(format!("{stem}.json"))),
            gml: cli
                .graphml
                .then(|| cli.out.join("gml").join(format!("{stem}.graphml"))),
            gexf: cli
                .gexf
                .then(|| cli.out.join("gexf").join(format!("{stem}.gexf"))),
        }
    }

    pub fn check(&self) -> Result<()> {
        for path in self.json.iter().chain(&self.gml).chain(&self.gexf) {
            check_writable(path.parent().expect("joined above"), "--out")?;
        }
        Ok(())
    }

    fn any(&self) -> bool {
        self.json.is_some() || self.gml.is_some() || self.gexf.is_some()
    }
}

enum Outcome {
    Pirates(fsm::Report),
    Services(asgard::Report),
}

/// How a run ended, for the exit status.
pub enum Ending {
    Complete,
    /// The run finished and its graph was written, but nodes were lost.
    NodesLost,
}

/// Where the nodes come from, per the flags.
fn nodes(cli: &Cli) -> Result<Nodes> {
    match (cli.nodes, &cli.join) {
        (Some(_), Some(_)) => Err(UsageError::error(
            "--nodes and --join cannot be used together",
        )),
        (Some(0), None) => Err(UsageError::error("--nodes: at least 1 node")),
        (Some(n), None) => Ok(Nodes::Start(n)),
        (None, Some(list)) => crate::cli::join(list, cli.cookie.secret.as_deref()),
        (None, None) => Ok(Nodes::Local),
    }
}

pub async fn run(
    cli: Cli,
    cfg: Config,
    resolved: Resolved,
    outputs: Outputs,
    args: Vec<String>,
) -> Result<Ending> {
    let started = clock::now();
    let arch = resolved.arch.clone();
    let seed = cfg.seed.unwrap_or_else(rand::random);
    let collect = cli.collect()?;
    // The nodes first: a refused cookie or an unreachable node is reported
    // before anything else happens.
    let cluster_opts = cluster::Options {
        nodes: nodes(&cli)?,
        tls: cli.tls.load()?,
        seed,
        collect,
        heartbeat_timeout: cli.heartbeat_timeout,
        max_memory: cli.max_memory,
        cpuprofile: cli.cpuprofile.clone(),
    };
    let rt = Runtime::with(Settings {
        node: 0,
        log_messages: cli.msglog,
        latency: resolved.latency.clone(),
        seed,
        collect,
    });
    let feed = cli.live.then(|| Arc::new(LiveFeed::default()));
    let recorder = match outputs.any() || feed.is_some() {
        true => Some(Recorder::start(&rt, cfg.filter, feed.clone()).await?),
        false => None,
    };
    let shard = recorder.as_ref().map(|r| r.shard_at);
    let edda = recorder.as_ref().map(|r| r.edda.clone());
    let cluster = Arc::new(Cluster::connect(rt.clone(), shard, edda, cluster_opts).await?);
    let web = match cli.http_addr() {
        Some(addr) => start_web(&cli, addr, &arch, &args, feed.clone(), &cluster).await?,
        None => None,
    };
    tracing::info!("{arch}: seed {seed} (repeat with --seed {seed})");
    if recorder.is_some() {
        tracing::info!("{arch}.edda: starting");
    }
    if let Some(path) = &cli.save_config {
        let mut saved = cfg.clone();
        saved.seed = Some(seed);
        let text = serde_json::to_string_pretty(&saved)?;
        writers::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
        tracing::info!("{arch}: configuration saved to {}", path.display());
    }

    let outcome = run_work(&cluster, &cfg, resolved.work, seed, &arch).await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            cluster.stop().await;
            return Err(e);
        }
    };
    let mut reports = cluster.flush().await;
    let lost = cluster.lost();
    let mut metrics = rt.metrics_report();
    let mut pairs = rt.latency_report();
    let EdgeCounts {
        mut made,
        mut forgotten,
    } = rt.edge_counts();
    // The reports' figures and delays move into the totals.
    for (_, r) in &mut reports {
        crate::metrics::merge(&mut metrics, std::mem::take(&mut r.metrics));
        pairs.append(&mut r.latency);
        made += r.edges_made;
        forgotten += r.edges_forgotten;
    }
    if let Some((web, refresher)) = &web {
        refresher.abort();
        let snapshot = Snapshot {
            metrics,
            nodes: cluster.nodes.len(),
            lost: lost.len(),
        };
        web.update(&snapshot);
        metrics = snapshot.metrics;
    }

    let info = RunInfo {
        arch: arch.clone(),
        args: format!("[{}]", args.join(" ")),
        started,
    };
    let mut graph_size = None;
    if let Some(recorder) = recorder {
        let (graph, local_sent) = recorder.finish().await?;
        // Every event a shard sent must have reached edda.
        let sent = local_sent + reports.iter().map(|(_, r)| r.events_sent).sum::<u64>();
        if lost.is_empty() && sent != graph.received {
            tracing::warn!(
                "edda: shards sent {sent} graph events but {} arrived",
                graph.received
            );
        } else {
            tracing::info!(
                "edda: {} graph events received ({sent} sent by live shards)",
                graph.received
            );
        }
        if graph.unresolved > 0 {
            tracing::warn!(
                "edda: {} events named instances it never saw",
                graph.unresolved
            );
        }
        write_graph(&graph, &outputs, &info)?;
        graph_size = Some((graph.vertices.len(), graph.edge_count()));
        tracing::info!("{arch}.edda: closing");
    }
    if cli.collect {
        let mut spans = rt.flows().map(|f| f.take()).unwrap_or_default();
        spans.extend(cluster.take_spans());
        write_metrics(&cli.out, &resolved.output, &metrics, &spans, &info)?;
    }
    if let Some(feed) = &feed {
        feed.end();
    }
    cluster.stop().await;
    tracing::info!("spigo: {arch} complete");
    let mut traffic = Traffic::default();
    traffic.merge_report(&metrics.traffic);
    match outcome {
        Outcome::Pirates(r) => print_fsm_summary(&arch, &r, graph_size, cluster.is_local()),
        Outcome::Services(r) => print_services_summary(&arch, &r, &traffic, made, forgotten),
    }
    print_latency(&cfg, &pairs);
    print_overload(&rt, &reports);
    print_nodes(&cluster, &reports);
    if let (Some((web, _)), true) = (&web, cli.live) {
        linger(web).await;
    }
    if lost.is_empty() {
        Ok(Ending::Complete)
    } else {
        Ok(Ending::NodesLost)
    }
}

/// With `--live`, the finished graph stays on view for a moment so an open
/// page gets the end of the stream.
async fn linger(_web: &Web) {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

/// Starts the HTTP server and the task that refreshes its figures every
/// second from every node. A default address already in use only costs the
/// live figures; an address the user chose must be had.
async fn start_web(
    cli: &Cli,
    addr: &str,
    arch: &str,
    args: &[String],
    feed: Option<Arc<LiveFeed>>,
    cluster: &Arc<Cluster>,
) -> Result<Option<(Arc<Web>, tokio::task::JoinHandle<()>)>> {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) if cli.http == DEFAULT_HTTP && !cli.live => {
            tracing::warn!("http: cannot listen on {addr} ({e}); metrics go to files only (--http picks another address)");
            return Ok(None);
        }
        Err(e) => {
            return Err(UsageError::error(format!(
                "--http {addr}: cannot listen: {e}"
            )))
        }
    };
    let bound = listener.local_addr()?;
    let web = Arc::new(Web::new(cli.out.clone(), arch, args.to_vec(), feed));
    tokio::spawn(crate::http::serve(listener, web.clone()));
    if cli.collect {
        tracing::info!(
            "HTTP metrics now available at http://{bound}/debug/vars and http://{bound}/metrics"
        );
    }
    if cli.live {
        tracing::info!("live graph at http://{bound}/");
    }
    let (w, c) = (web.clone(), cluster.clone());
    let refresher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            w.update(&c.snapshot().await);
        }
    });
    Ok(Some((web, refresher)))
}

/// Writes `json_metrics/<stem>_metrics.json`, `_metrics.csv` and `_flow.json`.
fn write_metrics(
    out: &Path,
    stem: &str,
    metrics: &MetricsReport,
    spans: &[Span],
    info: &RunInfo,
) -> Result<()> {
    let dir = out.join("json_metrics");
    let services = crate::metrics::merged_services(metrics);
    let json = dir.join(format!("{stem}_metrics.json"));
    writers::write_atomically(&json, |w| {
        writers::metrics::write_json(w, &metrics.traffic, &services, info)
    })?;
    let csv = dir.join(format!("{stem}_metrics.csv"));
    writers::write_atomically(&csv, |w| writers::metrics::write_csv(w, &services))?;
    let flows = dir.join(format!("{stem}_flow.json"));
    writers::write_atomically(&flows, |w| writers::metrics::write_flows(w, spans))?;
    tracing::info!(
        "{stem}: wrote {}, {} and {} ({} spans)",
        json.display(),
        csv.display(),
        flows.display(),
        spans.len()
    );
    Ok(())
}

async fn run_work(
    cluster: &Cluster,
    cfg: &Config,
    work: Work,
    seed: u64,
    arch: &str,
) -> Result<Outcome> {
    Ok(match work {
        Work::Pirates(seeding) => {
            let opts = fsm::Options {
                seeding,
                duration: cfg.duration,
                seed,
            };
            Outcome::Pirates(fsm::run(cluster, &opts).await?)
        }
        Work::Services(plan) => {
            tracing::info!("{arch}: scaling to {}%", cfg.population);
            let opts = asgard::Options {
                seed,
                duration: cfg.duration,
                chat: cfg.chat()?,
                eureka_poll: cfg.eureka_poll,
            };
            Outcome::Services(asgard::run(cluster, &plan, cfg, &opts).await?)
        }
    })
}

fn write_graph(graph: &Graph, outputs: &Outputs, info: &RunInfo) -> Result<()> {
    let arch = &info.arch;
    if let Some(path) = &outputs.json {
        let bar = crate::logging::progress(graph.entries.len() as u64, "writing graph");
        writers::write_atomically(path, |w| graphjson::write(w, graph, info, &bar))?;
        bar.finish_and_clear();
        tracing::info!("{arch}.edda: wrote {}", path.display());
    }
    if let Some(path) = &outputs.gml {
        writers::write_atomically(path, |w| graphml::write(w, graph, info))?;
        tracing::info!("{arch}.edda: wrote {}", path.display());
    }
    if let Some(path) = &outputs.gexf {
        writers::write_atomically(path, |w| gexf::write(w, graph, info))?;
        tracing::info!("{arch}.edda: wrote {}", path.display());
    }
    Ok(())
}

/// Measured one-way delays per pair of regions, next to the model.
fn print_latency(cfg: &Config, reports: &[PairReport]) {
    if reports.is_empty() {
        return;
    }
    /// Model figure (us), late messages, delays: per (from, to, reach).
    type Merged = BTreeMap<(u8, u8, Reach), (u64, u64, Histogram<u64>)>;
    let mut merged = Merged::new();
    for r in reports {
        let (_, late, hist) = merged.entry((r.from, r.to, r.reach)).or_insert_with(|| {
            (
                r.model_us,
                0,
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            )
        });
        *late += r.late;
        for &(v, n) in &r.delay {
            let _ = hist.record_n(v.max(1), n);
        }
    }
    let name = |r: u8| cfg.regions.get(r as usize).map_or("?", |r| r.name.as_str());
    report!("  latency          one way: model, measured p50 / p99, messages, late");
    for ((from, to, reach), (model, late, hist)) in merged {
        let pair = match reach {
            Reach::Zone => format!("{} within a zone", name(from)),
            Reach::CrossZone => format!("{} across zones", name(from)),
            Reach::Region => format!("{} -> {}", name(from), name(to)),
        };
        let us = |v: u64| GoDuration(std::time::Duration::from_micros(v));
        report!(
            "    {pair:<32} {} {} / {} {} {late}",
            us(model),
            us(hist.value_at_quantile(0.5)),
            us(hist.value_at_quantile(0.99)),
            hist.len()
        );
    }
}

/// How close the run came to being overrun (mailboxes of instances,
/// queues of links), and what was shed.
fn print_overload(rt: &Runtime, reports: &[(NodeId, NodeReport)]) {
    let Overload {
        mut shed,
        deepest_mailbox,
        deepest_link,
    } = rt.overload();
    let (mut mailbox, mut link) = (deepest_mailbox as u64, deepest_link as u64);
    for (_, r) in reports {
        shed += r.shed;
        mailbox = mailbox.max(r.deepest_mailbox);
        link = link.max(r.deepest_link);
    }
    report!("  backlog          deepest mailbox {mailbox}, deepest link queue {link}, {shed} requests shed");
}

fn print_nodes(cluster: &Cluster, reports: &[(NodeId, NodeReport)]) {
    if cluster.is_local() {
        return;
    }
    let lost = cluster.lost();
    report!("  nodes");
    for n in &cluster.nodes {
        match reports.iter().find(|(id, _)| *id == n.id) {
            Some((_, r)) => report!(
                "    {:<8} {:<22} peak {:.0} MB, {} messages in, {} out, {} undeliverable, {} refused",
                n.name,
                n.addr,
                r.peak_rss as f64 / 1e6,
                r.messages_in,
                r.messages_out,
                r.undeliverable,
                r.refused
            ),
            None if lost.contains(&n.id) => report!("    {:<8} {:<22} LOST", n.name, n.addr),
            None => report!("    {:<8} {:<22} no report", n.name, n.addr),
        }
    }
    let links = cluster.rt.link_counts();
    let (cin, cout, refused) = (links.messages_in, links.messages_out, links.refused());
    report!("    coordinator: {cin} messages in, {cout} out, {refused} refused");
    let total = refused + reports.iter().map(|(_, r)| r.refused).sum::<u64>();
    if total > 0 {
        tracing::warn!("links: {total} frames or messages refused as malformed or misaddressed");
    }
}

/// The end-of-run figures go to stdout, apart from the log.
fn print_fsm_summary(arch: &str, r: &fsm::Report, graph: Option<(usize, usize)>, local: bool) {
    let rate = r.delivered as f64 / r.setup.as_secs_f64().max(1e-9);
    report!("{arch} summary");
    report!("  pirates          {}", r.pirates);
    report!("  spawned in       {}", GoDuration(r.spawned_in));
    report!(
        "  set-up messages  {} in {} ({:.2}M msg/s)",
        r.delivered,
        GoDuration(r.setup),
        rate / 1e6
    );
    report!("  shutdown in      {}", GoDuration(r.shutdown));
    if let Some((nodes, edges)) = graph {
        report!("  graph            {nodes} nodes, {edges} edges");
    }
    match peak_rss() {
        Some(peak) if local => {
            let per = peak as f64 / 1e3 / r.pirates.max(1) as f64;
            report!(
                "  peak memory      {:.0} MB ({per:.1} KB per pirate)",
                peak as f64 / 1e6
            );
        }
        Some(peak) => report!("  coordinator      peak {:.0} MB", peak as f64 / 1e6),
        None => {}
    }
}

fn print_services_summary(arch: &str, r: &asgard::Report, t: &Traffic, made: u64, forgotten: u64) {
    let total: usize = r.per_package.values().sum();
    let packages: Vec<String> = r
        .per_package
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    report!("{arch} summary");
    report!("  instances        {total} ({})", packages.join(", "));
    report!("  set-up           {}", GoDuration(r.setup));
    report!("  edges            {made} made, {forgotten} forgotten");
    if let Some(v) = &r.victim {
        report!("  chaos monkey     deleted {v}");
    }
    let answered = if t.gets > 0 {
        100.0 * t.responses as f64 / t.gets as f64
    } else {
        0.0
    };
    report!(
        "  requests         {} sent: {} gets ({} answered, {answered:.1}%, {} found), {} puts",
        t.requests,
        t.gets,
        t.responses,
        t.hits,
        t.requests - t.gets
    );
    if t.responses > 0 {
        report!(
            "  response time    p50 {}  p99 {}  max {}",
            GoDuration(t.quantile(0.5)),
            GoDuration(t.quantile(0.99)),
            GoDuration(t.quantile(1.0))
        );
    }
    if let Some(peak) = peak_rss() {
        report!("  peak memory      {:.0} MB", peak as f64 / 1e6);
    }
}
