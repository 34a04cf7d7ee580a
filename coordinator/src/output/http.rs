//! The HTTP side of spigo: metrics while a simulation runs, and the graph
//! viewer.
//!
//! One server serves both. During a run (`-c` or `--live`) it answers
//! `/debug/vars` (expvar-style JSON) and `/metrics` (Prometheus text, with
//! histogram buckets), from a snapshot refreshed every second across all
//! nodes. `spigo serve` and `--live` also serve the viewer page, the list of
//! graphs under `json/`, the graph files themselves, and (live) a stream of
//! graph entries and metrics as server-sent events. Everything the page
//! needs comes from this server: it works offline.

use super::graph::{Entry, Vertex, Watch};
use super::metrics::{merged_by_region, merged_services, services_json, ServiceHistograms};
use super::prometheus::{self, Process, Scrape};
use super::rates::WorkRates;
use super::writers::graphjson::entry_json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::stream::{self, Stream, StreamExt};
use serde_json::{json, Value};
use spigo_proto::cluster::{EdgeReport, MetricsReport, StationReport, TrafficReport};
use spigo_proto::Timestamp;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

const INDEX_HTML: &str = include_str!("../../web/index.html");
const VIEWER_JS: &str = include_str!("../../web/viewer.js");

/// What the live stream carries.
#[derive(Clone, Debug)]
pub(crate) enum Live {
    /// One GraphJSON entry, as a JSON object.
    Entry(Arc<str>),
    Metrics(Arc<str>),
    End,
}

/// The graph as it grows, for `--live` viewers: every entry so far, and a
/// channel for the ones to come.
pub(crate) struct LiveFeed {
    history: Mutex<Vec<Arc<str>>>,
    tx: broadcast::Sender<Live>,
    ended: AtomicBool,
}

impl Default for LiveFeed {
    fn default() -> Self {
        LiveFeed {
            history: Mutex::default(),
            tx: broadcast::channel(65_536).0,
            ended: AtomicBool::new(false),
        }
    }
}

impl LiveFeed {
    pub(crate) fn entry(&self, json: String) {
        let json: Arc<str> = json.into();
        let mut history = self.history.lock().expect("history lock");
        history.push(json.clone());
        let _ = self.tx.send(Live::Entry(json));
    }

    pub(crate) fn metrics(&self, json: String) {
        let _ = self.tx.send(Live::Metrics(json.into()));
    }

    pub(crate) fn end(&self) {
        let _history = self.history.lock().expect("history lock");
        self.ended.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Live::End);
    }

    /// Everything so far, then what follows (no gap, no repeat: both are
    /// taken under the lock entries are published under).
    fn subscribe(&self) -> (Vec<Arc<str>>, broadcast::Receiver<Live>, bool) {
        let history = self.history.lock().expect("history lock");
        (
            history.clone(),
            self.tx.subscribe(),
            self.ended.load(Ordering::SeqCst),
        )
    }
}

/// The viewer's stream carries each entry as the GraphJSON file has it.
impl Watch for LiveFeed {
    fn made(&self, vertices: &[Vertex], time: Timestamp, entry: &Entry) {
        self.entry(entry_json(vertices, time, entry));
    }
}

/// The latest figures, refreshed while a simulation runs.
#[derive(Default)]
pub(crate) struct Snapshot {
    pub metrics: MetricsReport,
    pub nodes: usize,
    pub lost: usize,
}

/// A snapshot as the handlers serve it: its services merged once, when it
/// arrives, not on every request.
#[derive(Default)]
struct Figures {
    traffic: TrafficReport,
    services: BTreeMap<String, ServiceHistograms>,
    /// The same, kept apart by region for `/metrics`.
    by_region: BTreeMap<(String, u8), ServiceHistograms>,
    delivered: u64,
    nodes: usize,
    lost: usize,
}

pub(crate) struct Web {
    /// The folder holding `json/` (graphs to list and serve).
    pub out: PathBuf,
    pub live: Option<Arc<LiveFeed>>,
    figures: RwLock<Figures>,
    pub arch: String,
    /// The run's region names, by the index services report.
    pub regions: Vec<String>,
    pub cmdline: Vec<String>,
    pub started: Instant,
    /// The same moment as Unix seconds (`process_start_time_seconds`).
    started_unix: f64,
    /// The work and call sums of the refresh before, for the live page's
    /// figures of the last interval.
    previous: Mutex<Option<Sums>>,
}

/// Per service, when: its work model's sums and its calls per dependency.
struct Sums {
    at: Instant,
    services: BTreeMap<String, (StationReport, BTreeMap<String, EdgeReport>)>,
}

impl Sums {
    fn of(merged: &BTreeMap<String, ServiceHistograms>) -> Sums {
        Sums {
            at: Instant::now(),
            services: (merged.iter())
                .map(|(name, h)| (name.clone(), (h.station, h.edges.clone())))
                .collect(),
        }
    }
}

impl Web {
    pub(crate) fn new(
        out: PathBuf,
        arch: &str,
        cmdline: Vec<String>,
        live: Option<Arc<LiveFeed>>,
    ) -> Web {
        Web {
            out,
            live,
            figures: RwLock::default(),
            arch: arch.into(),
            regions: Vec::new(),
            cmdline,
            started: Instant::now(),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            previous: Mutex::new(None),
        }
    }

    /// Publishes new figures (and, live, a metrics event for the page).
    /// The `last`, after the run, colours the page by the whole run: its
    /// last second is shutdown, when nothing works and nothing is called.
    pub(crate) fn update(&self, snapshot: &Snapshot, last: bool) {
        let services = merged_services(&snapshot.metrics);
        if let Some(live) = &self.live {
            let now = Sums::of(&services);
            let mut previous = self.previous.lock().expect("previous sums lock");
            let json = live_metrics(
                &snapshot.metrics.traffic,
                &services,
                (!last).then_some(previous.as_ref()).flatten(),
                (self.started, &now),
            );
            *previous = Some(now);
            live.metrics(json.to_string());
        }
        *self.figures.write().expect("figures lock") = Figures {
            // The counters; the latency pairs are not served.
            traffic: TrafficReport {
                latency: Vec::new(),
                failed: snapshot.metrics.traffic.failed.clone(),
                puts_failed: snapshot.metrics.traffic.puts_failed.clone(),
                ..snapshot.metrics.traffic
            },
            services,
            by_region: merged_by_region(&snapshot.metrics),
            delivered: snapshot.metrics.delivered,
            nodes: snapshot.nodes,
            lost: snapshot.lost,
        };
    }
}

pub(crate) fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/viewer.js", get(viewer_js))
        .route("/api/graphs", get(graphs))
        .route("/api/live", get(live))
        .route("/json/{name}", get(graph_file))
        .route("/debug/vars", get(debug_vars))
        .route("/metrics", get(prometheus))
        .with_state(web)
}

/// Serves until the process ends; `addr` must already be bound.
pub(crate) async fn serve(listener: tokio::net::TcpListener, web: Arc<Web>) {
    if let Err(e) = axum::serve(listener, router(web)).await {
        tracing::warn!("http: {e}");
    }
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INDEX_HTML,
    )
}

async fn viewer_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        VIEWER_JS,
    )
}

/// A graph file name: letters, digits, `-`, `_`, `.`, ending in `.json`.
fn safe_name(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".json")?;
    let ok = !stem.is_empty()
        && !stem.starts_with('.')
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    ok.then_some(stem)
}

/// Splits `migration3` into (`migration`, 3).
fn step_of(stem: &str) -> (&str, Option<u32>) {
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits == stem.len() {
        return (stem, None);
    }
    let (arch, n) = stem.split_at(stem.len() - digits);
    (arch, n.parse().ok())
}

/// The graphs under `json/`, by name, and which was written last: the
/// page opens on that one (the run just made), not the first by name.
/// `spigo serve --out DIR` needs DIR to be there: serving a folder that
/// does not exist would only ever list nothing.
pub(crate) fn check_served(out: &std::path::Path) -> crate::error::Result<()> {
    match std::fs::metadata(out) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(crate::error::Error::usage(format!(
            "--out {}: not a folder",
            out.display()
        ))),
        Err(e) => Err(crate::error::Error::usage_because(
            format!("--out {}: cannot serve it", out.display()),
            e,
        )),
    }
}

async fn graphs(State(web): State<Arc<Web>>) -> Json<Value> {
    let mut latest: Option<(std::time::SystemTime, String)> = None;
    let mut list: Vec<Value> = std::fs::read_dir(web.out.join("json"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_str()?.to_string();
            let stem = safe_name(&file)?.to_string();
            if let Ok(written) = e.metadata().and_then(|m| m.modified()) {
                if latest.as_ref().is_none_or(|(t, _)| written > *t) {
                    latest = Some((written, stem.clone()));
                }
            }
            let (arch, step) = step_of(&stem);
            Some(json!({"name": stem, "file": format!("/json/{file}"), "arch": arch, "step": step}))
        })
        .collect();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let latest = latest.map(|(_, name)| name);
    Json(json!({"live": web.live.is_some(), "graphs": list, "latest": latest}))
}

async fn graph_file(State(web): State<Arc<Web>>, UrlPath(name): UrlPath<String>) -> Response {
    if safe_name(&name).is_none() {
        return (StatusCode::BAD_REQUEST, "not a graph file name").into_response();
    }
    match tokio::fs::read(web.out.join("json").join(&name)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such graph").into_response(),
    }
}

async fn live(State(web): State<Arc<Web>>) -> Response {
    let Some(feed) = web.live.clone() else {
        return (StatusCode::NOT_FOUND, "not a live run").into_response();
    };
    let (history, rx, ended) = feed.subscribe();
    let past = stream::iter(history.into_iter().map(Live::Entry));
    // A viewer that falls too far behind misses entries: end its stream
    // instead, and the page reconnects and gets the whole replay.
    let future = BroadcastStream::new(rx)
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(|item| async move { item.ok() });
    let events: std::pin::Pin<Box<dyn Stream<Item = Live> + Send>> = if ended {
        Box::pin(past.chain(stream::iter([Live::End])))
    } else {
        Box::pin(past.chain(future))
    };
    let sse = events.map(|item| {
        Ok::<Event, Infallible>(match item {
            Live::Entry(json) => Event::default().event("entry").data(json.as_ref()),
            Live::Metrics(json) => Event::default().event("metrics").data(json.as_ref()),
            Live::End => Event::default().event("end").data("{}"),
        })
    });
    Sse::new(sse)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The live panel's figures: per service, answered requests and response
/// time percentiles, and over the interval since `before` (without one,
/// the whole run so far: since `started`) its utilisation and queue and
/// its guarded calls' errors: what the page colours instances and edges by.
fn live_metrics(
    t: &TrafficReport,
    merged: &BTreeMap<String, ServiceHistograms>,
    before: Option<&Sums>,
    (started, now): (Instant, &Sums),
) -> Value {
    let since = before.map_or(started, |b| b.at);
    let secs = now.at.duration_since(since).as_secs_f64();
    let none = (StationReport::default(), BTreeMap::new());
    let mut services = serde_json::Map::new();
    let mut edges = Vec::new();
    for (name, s) in merged {
        let h = &s.response;
        let (st0, edges0) = before.and_then(|b| b.services.get(name)).unwrap_or(&none);
        let work = WorkRates::between(st0, &s.station, secs);
        if h.is_empty() && work.is_none() {
            continue;
        }
        let mut figures = json!({"count": h.len()});
        if !h.is_empty() {
            figures["p50_us"] = json!(h.value_at_quantile(0.5));
            figures["p99_us"] = json!(h.value_at_quantile(0.99));
        }
        if let Some(w) = work {
            if let Some(u) = w.utilisation {
                figures["utilisation"] = json!(u);
            }
            figures["queue"] = json!(w.queue);
        }
        services.insert(name.clone(), figures);
        for (dep, e) in &s.edges {
            let c = e.since(edges0.get(dep).unwrap_or(&EdgeReport::default()));
            edges.push(json!({"service": name, "dependency": dep, "calls": c.calls,
                "errors": c.errors(), "error_rate": c.error_rate(), "breakers_open": c.open}));
        }
    }
    // "answered" of gets and puts alike would read as puts failing: a put
    // is done when it is delivered, a get when it is answered.
    let sent = t.requests + t.puts_forked;
    let done = t.responses + t.puts_delivered;
    json!({"services": services, "edges": edges, "requests": sent, "answered": done,
           "gets": t.gets, "gets_answered": t.responses, "puts_delivered": t.puts_delivered})
}

async fn debug_vars(State(web): State<Arc<Web>>) -> Json<Value> {
    let snap = web.figures.read().expect("figures lock");
    let t = &snap.traffic;
    let services = services_json(&snap.services, false);
    Json(json!({
        "cmdline": web.cmdline,
        "memstats": {"PeakRSS": spigo_node::runtime::metrics::peak_rss().unwrap_or(0)},
        "spigo": {
            "arch": web.arch,
            "uptime_seconds": web.started.elapsed().as_secs_f64(),
            "nodes": snap.nodes,
            "nodes_lost": snap.lost,
            "requests": t.requests,
            "gets": t.gets,
            "responses": t.responses,
            "hits": t.hits,
            "services": services,
        }
    }))
}

async fn prometheus(State(web): State<Arc<Web>>) -> impl IntoResponse {
    let snap = web.figures.read().expect("figures lock");
    let text = prometheus::render(&Scrape {
        arch: &web.arch,
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("SPIGO_COMMIT").trim_start_matches("commit "),
        regions: &web.regions,
        traffic: &snap.traffic,
        services: &snap.by_region,
        delivered: snap.delivered,
        nodes: snap.nodes,
        lost: snap.lost,
        process: Process {
            resident_bytes: spigo_node::runtime::metrics::current_rss(),
            cpu_seconds: crate::bench::rusage::this_process()
                .ok()
                .map(|d| d.as_secs_f64()),
            start_time: web.started_unix,
        },
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_names_are_checked() {
        assert_eq!(safe_name("netflixoss.json"), Some("netflixoss"));
        assert_eq!(safe_name("migration3.json"), Some("migration3"));
        assert_eq!(safe_name("../etc/passwd"), None);
        assert_eq!(safe_name(".hidden.json"), None);
        assert_eq!(safe_name("a b.json"), None);
        assert_eq!(safe_name("x.txt"), None);
    }

    #[test]
    fn steps_are_read_off_names() {
        assert_eq!(step_of("migration3"), ("migration", Some(3)));
        assert_eq!(step_of("netflixoss"), ("netflixoss", None));
        assert_eq!(step_of("42"), ("42", None));
    }

    #[test]
    fn live_feed_replays_then_follows() {
        let feed = LiveFeed::default();
        feed.entry("{\"node\":\"a\"}".into());
        let (past, mut rx, ended) = feed.subscribe();
        assert_eq!(past.len(), 1);
        assert!(!ended);
        feed.entry("{\"node\":\"b\"}".into());
        assert!(matches!(rx.try_recv(), Ok(Live::Entry(e)) if e.contains('b')));
        feed.end();
        assert!(matches!(rx.try_recv(), Ok(Live::End)));
        assert!(feed.subscribe().2);
    }
}
