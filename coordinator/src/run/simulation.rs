//! One simulation run from flags to files: check every input, start the
//! runtime and edda, form the cluster, run the FSM or asgard, flush every
//! graph event, write the files, print the summary.

use super::interrupt::{Interrupt, EXIT_INTERRUPTED};
use super::progress::{self, Counting, Progress};
use super::summary::{self, Inputs};
use super::timeline::{Moments, Sampler};
use super::{asgard, faults, fsm};
use crate::cluster::{self, Cluster, Nodes, TlsFiles, TlsPaths};
use crate::error::{self, Error, EXIT_NODES_LOST};
use crate::model::architectures::{self, Resolved, Work};
use crate::model::cycles;
use crate::output::accounting::{Accounting, End};
use crate::output::edda::Recorder;
use crate::output::files::{check_writable, write_graph, write_metrics, Formats, Outputs, Written};
use crate::output::graph::Watch;
use crate::output::http::{self, LiveFeed, Snapshot, Web};
use crate::output::metrics;
use crate::output::summary::{Edges, GraphSize, Pirates, Secs};
use crate::output::svg::Pictures;
use crate::output::writers::{self, RunInfo};
use spigo_node::packages::supervisor;
use spigo_node::runtime::metrics::Traffic;
use spigo_node::runtime::{EdgeCounts, Settings};
use spigo_node::{clock, Runtime};
use spigo_proto::archaius::Config;
use spigo_proto::time::GoDuration;
use spigo_proto::Timestamp;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where spigo served its metrics: `localhost:8123/debug/vars`.
pub(crate) const DEFAULT_HTTP: &str = "127.0.0.1:8123";

/// What one simulation is asked for, as `cli` reads it off the flags;
/// the settings a `--config` file may hold as well are in the [`Config`].
pub(crate) struct Options {
    /// How `-a` or `-r` name the architecture.
    pub arch: architectures::Args,
    /// `-j`, `-g`, `--gexf`.
    pub formats: Formats,
    /// `--out`: the folder every file goes under.
    pub out: PathBuf,
    pub save_config: Option<PathBuf>,
    pub cpuprofile: Option<PathBuf>,
    /// `-m`: log every message received.
    pub msglog: bool,
    /// `-c`: collect metrics and request flows.
    pub collect: bool,
    /// `--live`: serve the viewer during the run.
    pub live: bool,
    /// `--svg`: draw the graph and the timeline.
    pub svg: bool,
    pub trace_sample: f64,
    /// `--http`: an address, or "none".
    pub http: String,
    /// `--nodes N`.
    pub nodes: Option<u16>,
    /// `--join host:port,...`.
    pub join: Option<String>,
    /// `--cookie` or `SPIGO_COOKIE`.
    pub cookie: Option<String>,
    /// `--tls-cert/--tls-key/--tls-ca`, all three or none.
    pub tls: Option<TlsPaths>,
    pub heartbeat_timeout: Duration,
    /// `--connect-timeout`.
    pub connect_timeout: Duration,
    pub max_memory: Option<u64>,
    /// `--summary`: the report on stdout as text or as JSON.
    pub summary: SummaryFormat,
    /// `--linger`: how long the HTTP server stays up after the run.
    pub linger: Option<Duration>,
}

/// How the end-of-run report is printed on stdout (`<out>/summary.json`
/// is written either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SummaryFormat {
    #[default]
    Text,
    Json,
}

impl Options {
    /// The HTTP address, if the run serves one: with `-c` or `--live`,
    /// unless `--http none`.
    fn http_addr(&self) -> Option<&str> {
        (self.collect || self.live)
            .then_some(self.http.as_str())
            .filter(|a| *a != "none")
    }

    /// `--trace-sample` when collecting (`-c`).
    fn collect(&self) -> error::Result<Option<f64>> {
        if !(0.0..=1.0).contains(&self.trace_sample) {
            return Err(Error::usage(format!(
                "--trace-sample: {} is not a fraction between 0 and 1",
                self.trace_sample
            )));
        }
        // The live panel and --svg's timeline need per-service figures
        // even without -c; they keep no flows then.
        Ok(match (self.collect, self.live || self.svg) {
            (true, _) => Some(self.trace_sample),
            (false, true) => Some(0.0),
            (false, false) => None,
        })
    }
}

/// A simulation whose input files are all read and checked. The flags of
/// the cluster and of collecting (`--nodes`, `--join`, TLS,
/// `--trace-sample`) are checked by [`run`] as it starts, inside the CPU
/// profile.
pub(crate) struct Prepared {
    opts: Options,
    cfg: Config,
    resolved: Resolved,
    outputs: Outputs,
    pictures: Option<Pictures>,
}

impl Prepared {
    /// `--cpuprofile`: the profile covers the whole run, so `main` starts
    /// it before the runtime.
    pub(crate) fn cpuprofile(&self) -> Option<&Path> {
        self.opts.cpuprofile.as_deref()
    }
}

/// Reads and checks every input (the architecture or graph to reload, the
/// latency file, the folders to write in) before any actor starts.
pub(crate) fn prepare(opts: Options, cfg: Config) -> error::Result<Prepared> {
    let resolved = architectures::resolve(&opts.arch, &cfg).map_err(Error::BadInput)?;
    faults::check(&cfg, &resolved.work)?;
    let outputs = Outputs::new(&opts.out, opts.formats, &resolved.output);
    outputs.check()?;
    let pictures = opts.svg.then(|| Pictures::new(&opts.out, &resolved.output));
    pictures.as_ref().map(Pictures::check).transpose()?;
    if let Some(path) = &opts.save_config {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        check_writable(dir, "--save-config")?;
    }
    if opts.linger.is_some() && opts.http_addr().is_none() {
        return Err(Error::usage(
            "--linger: this run serves no HTTP (it needs -c or --live, and an --http address)",
        ));
    }
    Ok(Prepared {
        opts,
        cfg,
        resolved,
        outputs,
        pictures,
    })
}

enum Outcome {
    Pirates(fsm::Report),
    Services(asgard::Report),
}

impl Outcome {
    /// Instances per package.
    fn instances(&self) -> BTreeMap<String, usize> {
        match self {
            Outcome::Pirates(r) => BTreeMap::from([("pirate".to_string(), r.pirates as usize)]),
            Outcome::Services(r) => (r.per_package.iter())
                .map(|(p, n)| (p.to_string(), *n))
                .collect(),
        }
    }
}

/// How a run ended, for the exit status.
pub(crate) enum Ending {
    Complete,
    /// The run finished and its graph was written, but nodes (or links
    /// between nodes) were lost.
    NodesLost,
    /// Ctrl-C or SIGTERM ended simulated time early; everything simulated
    /// until then was written.
    Interrupted,
}

impl Ending {
    /// The ending, as the accounting of requests still on their way sees
    /// it.
    fn end(&self) -> End {
        match self {
            Ending::Complete => End::Complete,
            Ending::NodesLost => End::NodesLost,
            Ending::Interrupted => End::Interrupted,
        }
    }

    pub(crate) fn exit_status(&self) -> u8 {
        match self {
            Ending::Complete => 0,
            Ending::NodesLost => EXIT_NODES_LOST,
            Ending::Interrupted => EXIT_INTERRUPTED,
        }
    }
}

/// Runs a prepared simulation; `args` is the command line, for the files.
pub(crate) async fn run(prepared: Prepared, args: Vec<String>) -> error::Result<Ending> {
    let Prepared {
        opts,
        cfg,
        resolved,
        outputs,
        pictures,
    } = prepared;
    let started = clock::now();
    // Caught from here on: before, a signal ends the process as usual
    // (nothing has been simulated yet).
    let interrupt = Interrupt::listen();
    let arch = resolved.arch.clone();
    let seed = cfg.seed.unwrap_or_else(rand::random);
    let collect = opts.collect()?;
    // The nodes first: a refused cookie or an unreachable node is reported
    // before anything else happens.
    let cluster_opts = cluster::Options {
        nodes: Nodes::from_flags(opts.nodes, opts.join.as_deref(), opts.cookie.as_deref())?,
        tls: opts.tls.as_ref().map(TlsFiles::load).transpose()?,
        seed,
        collect,
        heartbeat_timeout: opts.heartbeat_timeout,
        connect_timeout: opts.connect_timeout,
        max_memory: opts.max_memory,
        cpuprofile: opts.cpuprofile.clone(),
    };
    let rt = Runtime::with(Settings {
        node: 0,
        log_messages: opts.msglog,
        latency: resolved.latency.clone(),
        seed,
        collect,
    })
    .map_err(Error::failed)?;
    supervisor::start(&rt)
        .await
        .map_err(|e| Error::failed(anyhow::anyhow!("cannot start the supervisor: {e}")))?;
    let feed = opts.live.then(|| Arc::new(LiveFeed::default()));
    let recorder = match outputs.any() || feed.is_some() || pictures.is_some() {
        true => {
            let watch = feed.clone().map(|f| f as Arc<dyn Watch>);
            Some(Recorder::start(&rt, cfg.filter, watch).await?)
        }
        false => None,
    };
    let shard = recorder.as_ref().map(|r| r.shard_at);
    let edda = recorder.as_ref().map(|r| r.edda.clone());
    let cluster = Arc::new(Cluster::connect(rt.clone(), shard, edda, cluster_opts).await?);
    let web = match opts.http_addr() {
        Some(addr) => {
            let regions = cfg.regions.iter().map(|r| r.name.to_string()).collect();
            let site = Site {
                addr,
                arch: &arch,
                args: &args,
                regions,
            };
            start_web(&opts, site, feed.clone(), &cluster).await?
        }
        None => None,
    };
    tracing::info!("{arch}: seed {seed} (repeat with --seed {seed})");
    if recorder.is_some() {
        tracing::info!("{arch}.edda: starting");
    }
    if let Some(path) = &opts.save_config {
        let mut saved = cfg.clone();
        saved.seed = Some(seed);
        let text = serde_json::to_string_pretty(&saved).map_err(Error::failed)?;
        writers::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
        tracing::info!("{arch}: configuration saved to {}", path.display());
    }

    let progress = Progress::default();
    let counting = match resolved.work {
        Work::Pirates(_) => Counting::Messages,
        Work::Services(_) => Counting::Requests,
    };
    let shown = tokio::spawn(progress::show(
        cluster.clone(),
        progress.clone(),
        arch.clone(),
        cfg.duration,
        counting,
    ));
    // The series go into summary.json, the metrics files and the picture.
    let sampler = (pictures.is_some() || opts.collect)
        .then(|| Sampler::start(cluster.clone(), counting.into(), cfg.duration));
    let outcome = run_work(
        &cluster,
        &cfg,
        resolved.work,
        seed,
        &arch,
        &interrupt,
        &progress,
    )
    .await;
    // Whether the work ended or failed, the line goes before what follows.
    progress.end();
    let _ = shown.await;
    let samples = match sampler {
        Some(s) => s.stop().await,
        None => None,
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            cluster.stop().await;
            return Err(e);
        }
    };
    let mut reports = cluster.flush().await;
    let lost = cluster.lost().await;
    let lost_links = cluster.lost_links().await;
    let mut metrics = rt.metrics_report();
    let mut pairs = rt.latency_report();
    let EdgeCounts {
        mut made,
        mut forgotten,
    } = rt.edge_counts();
    // The reports' figures and delays move into the totals.
    for (_, r) in &mut reports {
        metrics::merge(&mut metrics, *std::mem::take(&mut r.metrics));
        pairs.append(&mut r.latency);
        made += r.edges_made;
        forgotten += r.edges_forgotten;
    }
    if let Some((web, refresher, _)) = &web {
        refresher.abort();
        let snapshot = Snapshot {
            metrics,
            nodes: cluster.nodes.len(),
            lost: lost.len(),
        };
        web.update(&snapshot, true);
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
        if let Some(pictures) = &pictures {
            pictures.write_graph(&graph, &resolved.output)?;
        }
        graph_size = Some((graph.vertices.len(), graph.edge_count()));
        // The summary says what the graph file holds (with -f, edges
        // between services, not instances).
        (made, forgotten) = (graph.edge_count() as u64, graph.forget_count() as u64);
        tracing::info!("{arch}.edda: closing");
    }
    let series = match samples {
        Some(samples) => {
            let interrupted_at = interrupt.interrupted_at();
            let moments = match &outcome {
                Outcome::Services(r) => Moments {
                    began: Some(r.began),
                    events: r.faults.clone(),
                    interrupted_at,
                },
                Outcome::Pirates(r) => {
                    Moments::of_pirates(&samples, r.shutdown, cfg.duration, interrupted_at)
                }
            };
            let (timeline, series) = samples.finish(cfg.duration, moments);
            if let Some(pictures) = &pictures {
                pictures.write_timeline(&timeline, &resolved.output)?;
            }
            Some(series)
        }
        None => None,
    };
    if opts.collect {
        let mut spans = rt.flows().map(|f| f.take()).unwrap_or_default();
        spans.extend(cluster.take_spans().await);
        let written = Written {
            metrics: &metrics,
            spans: &spans,
            series: series.as_ref(),
        };
        write_metrics(&opts.out, &resolved.output, &written, &info, seed)?;
    }
    if let Some(feed) = &feed {
        feed.end();
    }
    cluster.stop().await;
    tracing::info!("spigo: {arch} complete");
    let mut traffic = Traffic::default();
    traffic.merge_report(&metrics.traffic);
    let interrupted = interrupt.interrupted_at();
    let whole = lost.is_empty() && lost_links.is_empty();
    let ending = match (interrupted, whole) {
        (Some(_), _) => Ending::Interrupted,
        (None, true) => Ending::Complete,
        (None, false) => Ending::NodesLost,
    };
    let accounting = Accounting::of(&traffic, ending.end());
    let services = metrics::merged_services(&metrics);
    let (setup, pirates, victim) = match &outcome {
        Outcome::Pirates(r) => (
            r.setup,
            Some(Pirates {
                count: r.pirates,
                spawned_in_s: Secs(r.spawned_in),
                setup_messages: r.delivered,
                shutdown_s: Secs(r.shutdown),
            }),
            None,
        ),
        Outcome::Services(r) => (r.setup, None, r.victim.clone()),
    };
    let summary = summary::gather(Inputs {
        arch: &arch,
        seed,
        args: &args,
        cfg: &cfg,
        end: ending.end(),
        exit: ending.exit_status(),
        duration: clock::now().since(started),
        interrupted,
        instances: outcome.instances(),
        setup,
        pirates,
        victim,
        edges: Edges { made, forgotten },
        graph: graph_size.map(|(nodes, edges)| GraphSize { nodes, edges }),
        graphjson: (outputs.json.as_ref())
            .map(|p| p.strip_prefix(&opts.out).unwrap_or(p).display().to_string()),
        traffic: &traffic,
        accounting: &accounting,
        services: &services,
        pairs: &pairs,
        cluster: &cluster,
        reports: &reports,
        lost: &lost,
        lost_links: &lost_links,
        delivered: metrics.delivered,
        began: match &outcome {
            Outcome::Services(r) => {
                let now = clock::now();
                Some(Timestamp(
                    now.0.saturating_sub(r.began.elapsed().as_nanos() as u64),
                ))
            }
            Outcome::Pirates(_) => None,
        },
        series,
    });
    summary::log_faults(&rt, &reports, &summary);
    // The report first: a summary.json that cannot be written still
    // leaves the figures on stdout, next to the error.
    match opts.summary {
        SummaryFormat::Text => report!("{}", summary.text().trim_end()),
        SummaryFormat::Json => report!("{}", summary.to_json()),
    }
    summary.write(&opts.out)?;
    if let Some(at) = interrupted {
        let seconds = |d: std::time::Duration| format!("{:.1} s", d.as_secs_f64());
        tracing::warn!(
            "{arch}: interrupted at {} of {}",
            seconds(at),
            seconds(cfg.duration)
        );
    }
    if let Some((web, _, bound)) = &web {
        match opts.linger {
            Some(d) => {
                tracing::info!(
                    "http: still serving the final figures at http://{bound}/ for {} (Ctrl-C ends it sooner)",
                    GoDuration(d)
                );
                interrupt.sleep(d).await;
            }
            None if opts.live => linger(web).await,
            None => {}
        }
    }
    Ok(ending)
}

/// With `--live`, the finished graph stays on view for a moment so an open
/// page gets the end of the stream.
async fn linger(_web: &Web) {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

/// Starts the HTTP server and the task that refreshes its figures every
/// second from every node. A default address already in use only costs the
/// live figures; an address the user chose must be had.
/// What the HTTP server is told about the run.
struct Site<'a> {
    addr: &'a str,
    arch: &'a str,
    args: &'a [String],
    /// Region names by index, for `/metrics` labels.
    regions: Vec<String>,
}

async fn start_web(
    opts: &Options,
    Site {
        addr,
        arch,
        args,
        regions,
    }: Site<'_>,
    feed: Option<Arc<LiveFeed>>,
    cluster: &Arc<Cluster>,
) -> error::Result<Option<(Arc<Web>, tokio::task::JoinHandle<()>, SocketAddr)>> {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        // --live and --linger are about the server itself: it must be had.
        Err(e) if opts.http == DEFAULT_HTTP && !opts.live && opts.linger.is_none() => {
            tracing::warn!("http: cannot listen on {addr} ({e}); metrics go to files only (--http picks another address)");
            return Ok(None);
        }
        Err(e) => {
            return Err(Error::usage_because(
                format!("--http {addr}: cannot listen"),
                e,
            ))
        }
    };
    let bound = listener.local_addr().map_err(Error::failed)?;
    let mut web = Web::new(opts.out.clone(), arch, args.to_vec(), feed);
    web.regions = regions;
    let web = Arc::new(web);
    tokio::spawn(http::serve(listener, web.clone()));
    if opts.collect {
        tracing::info!(
            "HTTP metrics now available at http://{bound}/debug/vars and http://{bound}/metrics"
        );
    }
    if opts.live {
        tracing::info!("live graph at http://{bound}/");
    }
    let (w, c) = (web.clone(), cluster.clone());
    let refresher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            w.update(&c.snapshot().await, false);
        }
    });
    Ok(Some((web, refresher, bound)))
}

async fn run_work(
    cluster: &Cluster,
    cfg: &Config,
    work: Work,
    seed: u64,
    arch: &str,
    interrupt: &Interrupt,
    progress: &Progress,
) -> error::Result<Outcome> {
    Ok(match work {
        Work::Pirates(seeding) => {
            let opts = fsm::Options {
                seeding,
                duration: cfg.duration,
                seed,
                interrupt: interrupt.clone(),
                progress: progress.clone(),
            };
            Outcome::Pirates(fsm::run(cluster, &opts).await?)
        }
        Work::Services(plan) => {
            tracing::info!("{arch}: scaling to {}%", cfg.population);
            let hop_limit = cfg.hops().map_err(Error::failed)?;
            if let Some(warning) = cycles::warning(&plan, hop_limit) {
                tracing::warn!("{arch}: {warning}");
            }
            let opts = asgard::Options {
                seed,
                duration: cfg.duration,
                chat: cfg.chat().map_err(Error::failed)?,
                eureka_poll: cfg.eureka_poll,
                crash: cfg.crash().map_err(Error::failed)?,
                outage: cfg.outage().map_err(Error::failed)?,
                hop_limit,
                shape: cfg.shape().map_err(Error::failed)?,
                interrupt: interrupt.clone(),
                progress: progress.clone(),
            };
            Outcome::Services(asgard::run(cluster, &plan, cfg, &opts).await?)
        }
    })
}
