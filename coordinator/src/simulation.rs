//! One simulation run from flags to files: start the runtime and edda, run
//! the architecture, flush every graph event, write the graph.

use crate::cli::Cli;
use crate::edda::{self, Edda, Graph, LocalSink};
use crate::fsm;
use crate::writers::{self, graphjson, graphml, RunInfo};
use anyhow::{Context, Result};
use ractor::{Actor, ActorRef};
use spigo_node::edda::{self as shard, EddaShard};
use spigo_node::{clock, Runtime};
use spigo_proto::time::GoDuration;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The edda actors of a run that writes a graph.
struct Recorder {
    shard: ActorRef<shard::Msg>,
    shard_at: spigo_proto::Address,
    edda: ActorRef<edda::Msg>,
}

impl Recorder {
    async fn start(rt: &Arc<Runtime>, arch: &str, filter: bool) -> Result<Recorder> {
        let (edda, _) = Actor::spawn(None, Edda, Graph::new(filter))
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
        tracing::info!("{arch}.edda: starting");
        Ok(Recorder {
            shard,
            shard_at,
            edda,
        })
    }

    /// Flushes the shard and takes the merged graph from edda.
    async fn finish(self) -> Result<Graph> {
        let sent =
            ractor::call!(self.shard, shard::Msg::Flush).context("edda shard did not flush")?;
        let graph = ractor::call!(self.edda, edda::Msg::Finish).context("edda did not finish")?;
        tracing::debug!("edda: {sent} events from the local shard");
        self.shard.stop(None);
        self.edda.stop(None);
        Ok(graph)
    }
}

/// Fails early, before any simulation time is spent, if the graph files
/// could not be written.
fn check_writable(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out: cannot create {}", dir.display()))?;
    let probe = dir.join(format!(".spigo-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("--out: cannot write in {}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

pub async fn run(cli: Cli, args: Vec<String>) -> Result<()> {
    let started = clock::now();
    let arch = cli.arch.clone();
    let json_path: Option<PathBuf> = cli
        .graphjson
        .then(|| cli.out.join("json").join(format!("{arch}.json")));
    let gml_path: Option<PathBuf> = cli
        .graphml
        .then(|| cli.out.join("gml").join(format!("{arch}.graphml")));
    for path in json_path.iter().chain(&gml_path) {
        check_writable(path.parent().expect("joined above"))?;
    }
    let seed = cli.seed.unwrap_or_else(rand::random);
    tracing::info!("{arch}: seed {seed} (repeat with --seed {seed})");

    let rt = Runtime::new(0, cli.msglog);
    let recorder = match cli.writes_graph() {
        true => Some(Recorder::start(&rt, &arch, cli.filter).await?),
        false => None,
    };
    let opts = fsm::Options {
        population: cli.population,
        duration: cli.duration,
        seed,
        edda: recorder.as_ref().map(|r| r.shard_at),
    };
    let report = fsm::run(&rt, &opts).await?;

    let mut graph_size = None;
    if let Some(recorder) = recorder {
        let graph = recorder.finish().await?;
        if graph.unresolved > 0 {
            tracing::warn!(
                "edda: {} events named instances it never saw",
                graph.unresolved
            );
        }
        let info = RunInfo {
            arch: arch.clone(),
            args: format!("[{}]", args.join(" ")),
            started,
        };
        if let Some(path) = &json_path {
            writers::write_atomically(path, |w| graphjson::write(w, &graph, &info))?;
            tracing::info!("{arch}.edda: wrote {}", path.display());
        }
        if let Some(path) = &gml_path {
            writers::write_atomically(path, |w| graphml::write(w, &graph, &info))?;
            tracing::info!("{arch}.edda: wrote {}", path.display());
        }
        graph_size = Some((graph.vertices.len(), graph.edge_count()));
        tracing::info!("{arch}.edda: closing");
    }
    tracing::info!("spigo: {arch} complete");
    print_summary(&arch, &report, cli.population, graph_size);
    Ok(())
}

/// Peak resident memory of this process, where the OS tells it.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The end-of-run figures, on stdout so they can be captured apart from the
/// log.
fn print_summary(arch: &str, r: &fsm::Report, pirates: u32, graph: Option<(usize, usize)>) {
    let rate = r.delivered as f64 / r.setup.as_secs_f64().max(1e-9);
    println!("{arch} summary");
    println!("  pirates          {pirates}");
    println!("  spawned in       {}", GoDuration(r.spawned_in));
    println!(
        "  set-up messages  {} in {} ({:.2}M msg/s)",
        r.delivered,
        GoDuration(r.setup),
        rate / 1e6
    );
    println!("  shutdown in      {}", GoDuration(r.shutdown));
    if let Some((nodes, edges)) = graph {
        println!("  graph            {nodes} nodes, {edges} edges");
    }
    if let Some(peak) = peak_rss_bytes() {
        println!(
            "  peak memory      {:.0} MB ({:.1} KB per pirate)",
            peak as f64 / 1e6,
            peak as f64 / 1e3 / pirates as f64
        );
    }
}
