//! The files a simulation writes: where they go, the check that they can
//! be written before any simulation time is spent, and writing them at the
//! end (the graph in every format asked for, and the metrics files).

use super::graph::Graph;
use super::metrics::merged_services;
use super::series::Series;
use super::writers::{self, gexf, graphjson, graphml, RunInfo};
use crate::error::{self, Error};
use crate::logging;
use anyhow::Result;
use spigo_proto::cluster::{MetricsReport, Span};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Fails early, before any simulation time is spent, if the graph files
/// could not be written. Folders it had to create for the test are removed
/// again (the writers create them when they write), so a run that stops
/// before writing leaves nothing behind.
pub(crate) fn check_writable(dir: &Path, flag: &str) -> error::Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        Error::usage_because(format!("{flag}: cannot {what} {}", dir.display()), e)
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
pub(crate) struct Outputs {
    pub json: Option<PathBuf>,
    pub gml: Option<PathBuf>,
    pub gexf: Option<PathBuf>,
}

/// Which graph formats a run writes (`-j`, `-g`, `--gexf`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Formats {
    pub graphjson: bool,
    pub graphml: bool,
    pub gexf: bool,
}

impl Outputs {
    /// The files of `formats` under `out`, named `stem`.
    pub(crate) fn new(out: &Path, formats: Formats, stem: &str) -> Outputs {
        Outputs {
            json: formats
                .graphjson
                .then(|| out.join("json").join(format!("{stem}.json"))),
            gml: formats
                .graphml
                .then(|| out.join("gml").join(format!("{stem}.graphml"))),
            gexf: formats
                .gexf
                .then(|| out.join("gexf").join(format!("{stem}.gexf"))),
        }
    }

    pub(crate) fn check(&self) -> error::Result<()> {
        for path in self.json.iter().chain(&self.gml).chain(&self.gexf) {
            check_writable(path.parent().expect("joined above"), "--out")?;
        }
        Ok(())
    }

    pub(crate) fn any(&self) -> bool {
        self.json.is_some() || self.gml.is_some() || self.gexf.is_some()
    }
}

/// What `-c` writes.
pub(crate) struct Written<'a> {
    pub metrics: &'a MetricsReport,
    pub spans: &'a [Span],
    /// The per-second series (none when the run was not sampled).
    pub series: Option<&'a Series>,
}

/// Writes `json_metrics/<stem>_metrics.json`, `_metrics.csv`, `_flow.json`
/// (trace ids from the run's `seed`), and `_series.json` and `_series.csv`.
pub(crate) fn write_metrics(
    out: &Path,
    stem: &str,
    written: &Written,
    info: &RunInfo,
    seed: u64,
) -> Result<()> {
    let Written {
        metrics,
        spans,
        series,
    } = *written;
    let dir = out.join("json_metrics");
    if let Some(series) = series {
        let json = dir.join(format!("{stem}_series.json"));
        writers::write_atomically(&json, |w| {
            serde_json::to_writer(&mut *w, series).map_err(std::io::Error::other)?;
            writeln!(w)
        })?;
        let csv = dir.join(format!("{stem}_series.csv"));
        writers::write_atomically(&csv, |w| series.write_csv(w))?;
    }
    let services = merged_services(metrics);
    let json = dir.join(format!("{stem}_metrics.json"));
    writers::write_atomically(&json, |w| {
        writers::metrics::write_json(w, &metrics.traffic, &services, info)
    })?;
    let csv = dir.join(format!("{stem}_metrics.csv"));
    writers::write_atomically(&csv, |w| writers::metrics::write_csv(w, &services))?;
    let flows = dir.join(format!("{stem}_flow.json"));
    writers::write_atomically(&flows, |w| writers::metrics::write_flows(w, spans, seed))?;
    tracing::info!(
        "{stem}: wrote {}, {} and {} ({} spans)",
        json.display(),
        csv.display(),
        flows.display(),
        spans.len()
    );
    Ok(())
}

/// Writes the graph in every format asked for.
pub(crate) fn write_graph(graph: &Graph, outputs: &Outputs, info: &RunInfo) -> Result<()> {
    let arch = &info.arch;
    if let Some(path) = &outputs.json {
        let bar = logging::progress(graph.entries.len() as u64, "writing graph");
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
