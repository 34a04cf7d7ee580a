//! The end-of-run report on stdout: what the FSM or asgard measured, the
//! latency per pair of regions, how close the run came to being overrun,
//! and each node's figures. The log lines go to stderr; these are apart
//! from them so that `spigo ... > report.txt` keeps only the report.

use super::{asgard, fsm};
use crate::cluster::{Cluster, LostLink};
use crate::output::accounting::Accounting;
use hdrhistogram::Histogram;
use spigo_node::runtime::metrics::{add_recorded, micros_histogram, peak_rss, Traffic};
use spigo_node::runtime::Overload;
use spigo_node::Runtime;
use spigo_proto::archaius::Config;
use spigo_proto::cluster::{NodeReport, PairReport, Reach};
use spigo_proto::time::GoDuration;
use spigo_proto::NodeId;
use std::collections::{BTreeMap, BTreeSet};

/// Measured one-way delays per pair of regions, next to the model.
pub(super) fn print_latency(cfg: &Config, reports: &[PairReport]) {
    if reports.is_empty() {
        return;
    }
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

/// Counts over every process: this one's and the nodes' reports, summed
/// once for the report and `summary.json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Totals {
    pub undeliverable: u64,
    pub shed: u64,
    pub crashed: u64,
    pub fenced: u64,
    pub deepest_mailbox: u64,
    pub deepest_link: u64,
}

impl Totals {
    pub(super) fn over(rt: &Runtime, reports: &[(NodeId, NodeReport)]) -> Totals {
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

/// How close the run came to being overrun (mailboxes of instances,
/// queues of links), and what was shed.
pub(super) fn print_overload(t: &Totals) {
    report!(
        "  backlog          deepest mailbox {}, deepest link queue {}, {} requests shed",
        t.deepest_mailbox,
        t.deepest_link,
        t.shed
    );
}

/// Instances that crashed (their handler panicked) and frames refused from
/// fenced nodes, over every process; nothing when there were none.
pub(super) fn print_faults(rt: &Runtime, reports: &[(NodeId, NodeReport)], t: &Totals) {
    let Totals {
        crashed, fenced, ..
    } = *t;
    if crashed > 0 {
        report!("  crashed          {crashed} instances (their handler panicked; done with exit crashed)");
    }
    if fenced > 0 {
        report!("  fenced           {fenced} frames refused from nodes declared lost");
        let each: Vec<String> = std::iter::once(format!("coordinator: {}", rt.fenced()))
            .chain(
                reports
                    .iter()
                    .map(|(n, r)| format!("node {n}: {}", r.fenced)),
            )
            .collect();
        tracing::warn!(
            "fenced: {fenced} frames refused from nodes declared lost ({})",
            each.join(", ")
        );
    }
}

pub(super) fn print_nodes(
    cluster: &Cluster,
    lost: &BTreeSet<NodeId>,
    lost_links: &[LostLink],
    reports: &[(NodeId, NodeReport)],
) {
    if cluster.is_local() {
        return;
    }
    report!("  nodes");
    for n in &cluster.nodes {
        match reports.iter().find(|(id, _)| *id == n.id) {
            Some((_, r)) => report!(
                "    {:<8} {:<22} peak {:.0} MB, {} messages in, {} out, {} undeliverable, {} refused{}",
                n.name,
                n.addr,
                r.peak_rss as f64 / 1e6,
                r.messages_in,
                r.messages_out,
                r.undeliverable,
                r.refused,
                match r.fenced {
                    0 => String::new(),
                    f => format!(", {f} fenced"),
                }
            ),
            None if lost.contains(&n.id) => report!("    {:<8} {:<22} LOST", n.name, n.addr),
            None => report!("    {:<8} {:<22} no report", n.name, n.addr),
        }
    }
    print_links(cluster, lost_links, reports);
    let links = cluster.rt.link_counts();
    let (cin, cout, refused) = (links.messages_in, links.messages_out, links.refused());
    report!("    coordinator: {cin} messages in, {cout} out, {refused} refused");
    let total = refused + reports.iter().map(|(_, r)| r.refused).sum::<u64>();
    if total > 0 {
        tracing::warn!("links: {total} frames or messages refused as malformed or misaddressed");
    }
}

/// Every link between nodes that broke: lost ones (the run went on
/// without them), and the others with how often they broke and came back;
/// each with the messages it cost (both ends' undeliverable counts).
fn print_links(cluster: &Cluster, lost: &[LostLink], reports: &[(NodeId, NodeReport)]) {
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
    for l in lost {
        let reported = l.undeliverable;
        let cost = pairs
            .remove(&l.ends)
            .map_or(reported, |p| p.2.max(reported));
        report!(
            "    link {} <-> {} LOST: {cost} messages undeliverable",
            name(l.ends.0),
            name(l.ends.1)
        );
    }
    for ((a, b), (breaks, repairs, cost)) in pairs {
        report!(
            "    link {} <-> {} broke {breaks} times, re-established {repairs}: {cost} messages undeliverable",
            name(a),
            name(b)
        );
    }
}

/// The end-of-run figures go to stdout, apart from the log.
pub(super) fn print_fsm_summary(
    arch: &str,
    r: &fsm::Report,
    graph: Option<(usize, usize)>,
    local: bool,
) {
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

/// The services' summary; `edges` are the graph file's when one is written.
pub(super) fn print_services_summary(
    arch: &str,
    r: &asgard::Report,
    t: &Traffic,
    a: &Accounting,
    (made, forgotten): (u64, u64),
) {
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
    report!(
        "  requests         {} sent: {} gets ({} answered, {:.1}%, {} found), {} puts ({} delivered)",
        a.sent(),
        a.gets.sent,
        a.gets.ended,
        a.answered_percent(),
        a.found,
        a.puts.sent,
        a.puts.ended
    );
    let failed = a.failed();
    if !failed.is_empty() {
        let reasons: Vec<String> = failed.iter().map(|(r, n)| format!("{n} {r}")).collect();
        report!(
            "  failed           {} ({})",
            failed.values().sum::<u64>(),
            reasons.join(", ")
        );
    }
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
