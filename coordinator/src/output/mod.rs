//! What a run leaves behind or shows while it runs: the graph edda merges
//! from every node, the files it is written to, the metrics merged from
//! every node, the HTTP server (metrics and the graph viewer) and the CPU
//! profile. Nothing here knows about the cluster or the simulation; the
//! layers above hand it what to record and write.
//!
//! - `graph.rs`: the merged graph (vertices and the timed history of entries).
//! - `edda.rs`: the actor that merges every shard's events into it.
//! - `writers/`: GraphJSON, GraphML, GEXF and the metrics files, written atomically.
//! - `files.rs`: which files a run writes, checked before the run and written after.
//! - `metrics.rs`: per-service figures merged over nodes and summarised.
//! - `rates.rs`: work-model and guarded-call figures over one stretch (a second, a refresh).
//! - `series.rs`: the per-second series of a run, as JSON and CSV.
//! - `accounting.rs`: every request answered, delivered or failed with a reason.
//! - `summary/`: every figure of a run in one struct: `<out>/summary.json`, the text report.
//! - `http.rs`: `/debug/vars`, `/metrics`, the viewer and its live stream.
//! - `prometheus.rs`: the `/metrics` text, as promtool and Prometheus want it.
//! - `profile.rs`: `--cpuprofile`.
//! - `svg/`: `--svg`, pictures of the graph and of the run's timeline.

pub(crate) mod accounting;
pub(crate) mod edda;
pub(crate) mod files;
pub(crate) mod graph;
pub(crate) mod http;
pub(crate) mod metrics;
pub(crate) mod profile;
pub(crate) mod prometheus;
pub(crate) mod rates;
pub(crate) mod series;
pub(crate) mod summary;
pub(crate) mod svg;
pub(crate) mod writers;
