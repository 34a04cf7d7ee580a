//! Gathering a run's figures into the one [`Summary`] that the text
//! report, `summary.json` and `--summary json` are all made from: what the
//! FSM or asgard measured, the accounting, latency per pair of regions,
//! how close the run came to being overrun, and each node's and link's
//! figures. The report goes to stdout, apart from the log on stderr, so
//! that `spigo ... > report.txt` keeps only the report.

use crate::cluster::{Cluster, LostLink};
use crate::output::accounting::{Accounting, End};
use crate::output::metrics::ServiceHistograms;
use crate::output::series::Series;
use crate::output::summary::{
    self, Backlog, BrokenLink, Edges, Figures, GraphSize, LinkFigures, Memory, Messages, Ms,
    NodeFigures, NodeState, NodeSummary, Nodes, Pair, Pirates, Requests, Secs, Service, Summary,
};
use hdrhistogram::Histogram;
use spigo_node::runtime::metrics::{add_recorded, micros_histogram, peak_rss, Traffic};
use spigo_node::runtime::Overload;
use spigo_node::Runtime;
use spigo_proto::archaius::Config;
use spigo_proto::cluster::{NodeReport, PairReport, Reach};
use spigo_proto::{NodeId, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Measured one-way delays per pair of regions, next to the model, merged
/// over every process's reports.
fn latency(cfg: &Config, reports: &[PairReport]) -> Vec<Pair> {
    /// Model figure (us), late messages, delays: per (from, to, reach).
    type Merged = BTreeMap<(u8, u8, Reach), (u64, u64, Histogram<u64>)>;
    let mut merged = Merged::new();
    for r in reports {
        let (_, late, hist) = merged
            .entry((r.from, r.to, r.reach))
            .or_insert_with(|| (r.model_us, 0, micros_histogram()));
        *late += r.late;
        add_recorded(hist, &r.delay);
    }
    let name = |r: u8| {
        cfg.regions
            .get(r as usize)
            .map_or("?", |r| r.name.as_str())
            .to_string()
    };
    (merged.into_iter())
        .map(|((from, to, reach), (model, late, hist))| Pair {
            from: name(from),
            to: name(to),
            reach,
            model_ms: Ms(model),
            p50_ms: Ms(hist.value_at_quantile(0.5)),
            p99_ms: Ms(hist.value_at_quantile(0.99)),
            messages: hist.len(),
            late,
        })
        .collect()
}

/// Counts over every process: this one's and the nodes' reports, summed
/// once for the report and `summary.json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Totals {
    pub undeliverable: u64,
    pub shed: u64,
    pub crashed: u64,
    pub fenced: u64,
    pub deepest_mailbox: u64,
    pub deepest_link: u64,
}

impl Totals {
    fn over(rt: &Runtime, reports: &[(NodeId, NodeReport)]) -> Totals {
        let Overload {
            shed,
            deepest_mailbox,
            deepest_link,
        } = rt.overload();
        let mut t = Totals {
            undeliverable: rt.undeliverable(),
            shed,
            crashed: rt.crashed(),
            fenced: rt.fenced(),
            deepest_mailbox: deepest_mailbox as u64,
            deepest_link: deepest_link as u64,
        };
        for (_, r) in reports {
            t.undeliverable += r.undeliverable;
            t.shed += r.shed;
            t.crashed += r.crashed;
            t.fenced += r.fenced;
            t.deepest_mailbox = t.deepest_mailbox.max(r.deepest_mailbox);
            t.deepest_link = t.deepest_link.max(r.deepest_link);
        }
        t
    }
}

/// What the run hands over once its work is done and every report is in.
pub(super) struct Inputs<'a> {
    pub arch: &'a str,
    pub seed: u64,
    pub args: &'a [String],
    pub cfg: &'a Config,
    pub end: End,
    pub exit: u8,
    /// Wall-clock time the run took so far.
    pub duration: Duration,
    /// Where an interrupt ended simulated time.
    pub interrupted: Option<Duration>,
    pub instances: BTreeMap<String, usize>,
    pub setup: Duration,
    pub pirates: Option<Pirates>,
    pub victim: Option<String>,
    pub edges: Edges,
    pub graph: Option<GraphSize>,
    pub graphjson: Option<String>,
    pub traffic: &'a Traffic,
    pub accounting: &'a Accounting,
    pub services: &'a BTreeMap<String, ServiceHistograms>,
    pub pairs: &'a [PairReport],
    pub cluster: &'a Cluster,
    pub reports: &'a [(NodeId, NodeReport)],
    pub lost: &'a BTreeSet<NodeId>,
    pub lost_links: &'a [LostLink],
    /// Messages delivered to mailboxes over every process.
    pub delivered: u64,
    /// When the traffic began (services only).
    pub began: Option<Timestamp>,
    /// The per-second series, when the run was sampled (`-c`, `--svg`).
    pub series: Option<Series>,
}

/// Every figure of the run, in one struct.
pub(super) fn gather(i: Inputs) -> Summary {
    let rt = &i.cluster.rt;
    let totals = Totals::over(rt, i.reports);
    let (lost_links, broken) = links(i.cluster, i.lost_links, i.reports);
    let local = i.cluster.is_local();
    Summary {
        arch: i.arch.to_string(),
        seed: i.seed,
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("SPIGO_COMMIT"),
        args: i.args.to_vec(),
        interrupted: i.end == End::Interrupted,
        ending: summary::ending(i.end, !i.lost.is_empty()),
        exit: i.exit,
        duration_s: Secs(i.duration),
        simulated_s: Secs(i.interrupted.unwrap_or(i.cfg.duration)),
        planned_s: Secs(i.cfg.duration),
        instances: i.instances,
        setup_s: Secs(i.setup),
        pirates: i.pirates,
        chaos_victim: i.victim,
        edges: i.edges,
        graph: i.graph,
        graphjson: i.graphjson,
        requests: Requests::of(i.accounting),
        response_ms: Figures::of(&i.traffic.latency),
        services: Service::all(i.services, i.interrupted.unwrap_or(i.cfg.duration), i.began),
        latency: latency(i.cfg, i.pairs),
        backlog: Backlog {
            deepest_mailbox: totals.deepest_mailbox,
            deepest_link: totals.deepest_link,
        },
        undeliverable: totals.undeliverable,
        shed: totals.shed,
        crashed: totals.crashed,
        fenced: totals.fenced,
        memory: Memory {
            peak_bytes: peak_rss(),
        },
        nodes: Nodes {
            count: i.cluster.nodes.len(),
            lost: (i.cluster.nodes.iter())
                .filter(|n| i.lost.contains(&n.id))
                .map(|n| n.name.clone())
                .collect(),
            each: nodes(i.cluster, i.lost, i.reports),
            coordinator: (!local).then(|| {
                let links = rt.link_counts();
                LinkFigures {
                    messages_in: links.messages_in,
                    messages_out: links.messages_out,
                    refused: links.refused(),
                }
            }),
        },
        links: summary::Links {
            lost: lost_links,
            broken,
        },
        messages: Messages {
            delivered: i.delivered,
            held: (i.pairs.iter())
                .flat_map(|p| &p.delay)
                .map(|&(_, n)| n)
                .sum(),
        },
        series: i.series,
    }
}

/// The log's side of the faults: which process refused what, where a
/// total alone would not say.
pub(super) fn log_faults(rt: &Runtime, reports: &[(NodeId, NodeReport)], s: &Summary) {
    if s.fenced > 0 {
        let each: Vec<String> = std::iter::once(format!("coordinator: {}", rt.fenced()))
            .chain(
                reports
                    .iter()
                    .map(|(n, r)| format!("node {n}: {}", r.fenced)),
            )
            .collect();
        tracing::warn!(
            "fenced: {} frames refused from nodes declared lost ({})",
            s.fenced,
            each.join(", ")
        );
    }
    let refused = s.nodes.coordinator.map_or(0, |c| c.refused)
        + reports.iter().map(|(_, r)| r.refused).sum::<u64>();
    if refused > 0 {
        tracing::warn!("links: {refused} frames or messages refused as malformed or misaddressed");
    }
}

/// Each node: its final report's figures, or why there is none.
fn nodes(
    cluster: &Cluster,
    lost: &BTreeSet<NodeId>,
    reports: &[(NodeId, NodeReport)],
) -> Vec<NodeSummary> {
    (cluster.nodes.iter())
        .map(|n| {
            let report = reports.iter().find(|(id, _)| *id == n.id);
            NodeSummary {
                name: n.name.clone(),
                addr: n.addr.clone(),
                state: match report {
                    Some(_) => NodeState::Reported,
                    None if lost.contains(&n.id) => NodeState::Lost,
                    None => NodeState::NoReport,
                },
                report: report.map(|(_, r)| NodeFigures {
                    peak_bytes: r.peak_rss,
                    messages_in: r.messages_in,
                    messages_out: r.messages_out,
                    undeliverable: r.undeliverable,
                    refused: r.refused,
                    fenced: r.fenced,
                }),
            }
        })
        .collect()
}

/// Every link between nodes that broke: lost ones (the run went on
/// without them), and the others with how often they broke and came back;
/// each with the messages it cost (both ends' undeliverable counts).
fn links(
    cluster: &Cluster,
    lost: &[LostLink],
    reports: &[(NodeId, NodeReport)],
) -> (Vec<summary::LostLink>, Vec<BrokenLink>) {
    let name = |id: NodeId| {
        cluster
            .node(id)
            .map_or_else(|| format!("node {id}"), |n| n.name.clone())
    };
    // Per pair of nodes (lower id first): breaks, repairs, undeliverable.
    let mut pairs: BTreeMap<(NodeId, NodeId), (u64, u64, u64)> = BTreeMap::new();
    for (id, r) in reports {
        for l in &r.links {
            let pair = pairs
                .entry(((*id).min(l.peer), (*id).max(l.peer)))
                .or_default();
            pair.0 = pair.0.max(l.breaks);
            pair.1 = pair.1.max(l.repairs);
            pair.2 += l.undeliverable;
        }
    }
    let lost = (lost.iter())
        .map(|l| {
            let reported = l.undeliverable;
            let cost = pairs
                .remove(&l.ends)
                .map_or(reported, |p| p.2.max(reported));
            summary::LostLink {
                between: [name(l.ends.0), name(l.ends.1)],
                undeliverable: cost,
            }
        })
        .collect();
    let broken = (pairs.into_iter())
        .map(|((a, b), (breaks, repairs, cost))| BrokenLink {
            between: [name(a), name(b)],
            breaks,
            repairs,
            undeliverable: cost,
        })
        .collect();
    (lost, broken)
}
