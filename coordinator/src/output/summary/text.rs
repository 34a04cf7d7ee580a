//! The text report a run prints on stdout, rendered from the [`Summary`]
//! alone: the FSM's or the services' figures, latency per pair of regions,
//! the backlog, faults, each node and link, and the interrupt. What it
//! shows is a subset of `summary.json`, never a figure of its own.

use super::{Figures, NodeState, Pair, Pirates, Summary};
use spigo_proto::cluster::Reach;
use spigo_proto::time::GoDuration;
use spigo_proto::Reason;
use std::fmt::Write as _;
use std::time::Duration;

impl Summary {
    /// The whole report, one line per figure, each ending in a newline.
    pub(crate) fn text(&self) -> String {
        text(self)
    }
}

fn text(s: &Summary) -> String {
    let mut out = String::new();
    let w = &mut out;
    match &s.pirates {
        Some(p) => pirates(w, s, p),
        None => services(w, s),
    }
    latency(w, &s.latency);
    let _ = writeln!(
        w,
        "  backlog          deepest mailbox {}, deepest link queue {}, {} requests shed",
        s.backlog.deepest_mailbox, s.backlog.deepest_link, s.shed
    );
    if s.crashed > 0 {
        let _ = writeln!(
            w,
            "  crashed          {} instances (their handler panicked; done with exit crashed)",
            s.crashed
        );
    }
    if s.fenced > 0 {
        let _ = writeln!(
            w,
            "  fenced           {} frames refused from nodes declared lost",
            s.fenced
        );
    }
    nodes(w, s);
    if s.interrupted {
        let seconds = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        let _ = writeln!(
            w,
            "  interrupted      at {} of {}: the files hold what was simulated until then",
            seconds(s.simulated_s.0),
            seconds(s.planned_s.0)
        );
    }
    out
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

fn pirates(w: &mut String, s: &Summary, p: &Pirates) {
    let setup = s.setup_s.0;
    let rate = p.setup_messages as f64 / setup.as_secs_f64().max(1e-9);
    let _ = writeln!(w, "{} summary", s.arch);
    let _ = writeln!(w, "  pirates          {}", p.count);
    let _ = writeln!(w, "  spawned in       {}", GoDuration(p.spawned_in_s.0));
    let _ = writeln!(
        w,
        "  set-up messages  {} in {} ({:.2}M msg/s)",
        p.setup_messages,
        GoDuration(setup),
        rate / 1e6
    );
    let _ = writeln!(w, "  shutdown in      {}", GoDuration(p.shutdown_s.0));
    if let Some(g) = s.graph {
        let _ = writeln!(w, "  graph            {} nodes, {} edges", g.nodes, g.edges);
    }
    match s.memory.peak_bytes {
        Some(peak) if s.nodes.count == 0 => {
            let per = peak as f64 / 1e3 / p.count.max(1) as f64;
            let _ = writeln!(
                w,
                "  peak memory      {} ({per:.1} KB per pirate)",
                mb(peak)
            );
        }
        Some(peak) => {
            let _ = writeln!(w, "  coordinator      peak {}", mb(peak));
        }
        None => {}
    }
}

fn services(w: &mut String, s: &Summary) {
    let total: usize = s.instances.values().sum();
    let packages: Vec<String> = (s.instances.iter())
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    let r = &s.requests;
    let _ = writeln!(w, "{} summary", s.arch);
    let _ = writeln!(w, "  instances        {total} ({})", packages.join(", "));
    let _ = writeln!(w, "  set-up           {}", GoDuration(s.setup_s.0));
    let _ = writeln!(
        w,
        "  edges            {} made, {} forgotten",
        s.edges.made, s.edges.forgotten
    );
    if let Some(v) = &s.chaos_victim {
        let _ = writeln!(w, "  chaos monkey     deleted {v}");
    }
    let _ = writeln!(
        w,
        "  requests         {} sent: {} gets ({} answered, {:.1}%, {} found), {} puts ({} delivered)",
        r.sent,
        r.gets.sent,
        r.gets.answered,
        r.answered_percent,
        r.gets.found,
        r.puts.sent,
        r.puts.delivered
    );
    let reasons: Vec<String> = (r.failed.nonzero())
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    if !reasons.is_empty() {
        let _ = writeln!(
            w,
            "  failed           {} ({})",
            r.failed.total(),
            reasons.join(", ")
        );
    }
    let Figures {
        count,
        p50,
        p99,
        max,
        ..
    } = s.response_ms;
    if count > 0 {
        let _ = writeln!(
            w,
            "  response time    p50 {}  p99 {}  max {}",
            GoDuration(p50.duration()),
            GoDuration(p99.duration()),
            GoDuration(max.duration())
        );
    }
    work(w, s);
    calls(w, s);
    if let Some(peak) = s.memory.peak_bytes {
        let _ = writeln!(w, "  peak memory      {}", mb(peak));
    }
}

/// One line per guarded dependency: what its callers' timeouts, retries
/// and breakers did.
fn calls(w: &mut String, s: &Summary) {
    let mut first = true;
    for (name, v) in &s.services {
        for (dep, e) in &v.dependencies {
            let label = if first { "calls" } else { "" };
            first = false;
            let b = &e.breaker;
            let when = |t: Option<f64>, what: &str| {
                t.map_or(String::new(), |t| format!(" ({what} {t:.1} s)"))
            };
            let _ = writeln!(
                w,
                "  {label:<16} {name} -> {dep}: {} calls, {} failed, {} timed out ({} late), {} retried, {} short-circuited, {} fallback; breakers opened {}{}, closed {}{}",
                e.calls,
                e.failed,
                e.timeout,
                e.late,
                e.retried,
                e.short_circuited,
                e.fallback,
                b.opened,
                when(b.first_open_s, "first at"),
                b.closed,
                when(b.last_close_s, "last at")
            );
        }
    }
}

/// One line per service with a work model: how busy, how long, how many
/// turned away.
fn work(w: &mut String, s: &Summary) {
    let mut first = true;
    for (name, v) in &s.services {
        let (Some(service), Some(wait)) = (v.service_ms, v.wait_ms) else {
            continue;
        };
        let busy = v.utilisation.map_or("unlimited".to_string(), |u| {
            format!("{:.1}% busy", u * 100.0)
        });
        let label = if first { "work" } else { "" };
        first = false;
        let _ = writeln!(
            w,
            "  {label:<16} {name}: {busy}, service {service:.3}ms, wait {wait:.3}ms, queue {:.2}, {} rejected",
            v.queue.unwrap_or(0.0),
            v.failed.get(Reason::Rejected)
        );
    }
}

fn latency(w: &mut String, pairs: &[Pair]) {
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "  latency          one way: model, measured p50 / p99, messages, late"
    );
    for p in pairs {
        let pair = match p.reach {
            Reach::Zone => format!("{} within a zone", p.from),
            Reach::CrossZone => format!("{} across zones", p.from),
            Reach::Region => format!("{} -> {}", p.from, p.to),
        };
        let _ = writeln!(
            w,
            "    {pair:<32} {} {} / {} {} {}",
            GoDuration(p.model_ms.duration()),
            GoDuration(p.p50_ms.duration()),
            GoDuration(p.p99_ms.duration()),
            p.messages,
            p.late
        );
    }
}

fn nodes(w: &mut String, s: &Summary) {
    if s.nodes.count == 0 {
        return;
    }
    let _ = writeln!(w, "  nodes");
    for n in &s.nodes.each {
        match &n.report {
            Some(r) => {
                let fenced = match r.fenced {
                    0 => String::new(),
                    f => format!(", {f} fenced"),
                };
                let _ = writeln!(
                    w,
                    "    {:<8} {:<22} peak {}, {} messages in, {} out, {} undeliverable, {} refused{fenced}",
                    n.name,
                    n.addr,
                    mb(r.peak_bytes),
                    r.messages_in,
                    r.messages_out,
                    r.undeliverable,
                    r.refused,
                );
            }
            None if n.state == NodeState::Lost => {
                let _ = writeln!(w, "    {:<8} {:<22} LOST", n.name, n.addr);
            }
            None => {
                let _ = writeln!(w, "    {:<8} {:<22} no report", n.name, n.addr);
            }
        }
    }
    for l in &s.links.lost {
        let _ = writeln!(
            w,
            "    link {} <-> {} LOST: {} messages undeliverable",
            l.between[0], l.between[1], l.undeliverable
        );
    }
    for l in &s.links.broken {
        let _ = writeln!(
            w,
            "    link {} <-> {} broke {} times, re-established {}: {} messages undeliverable",
            l.between[0], l.between[1], l.breaks, l.repairs, l.undeliverable
        );
    }
    if let Some(c) = s.nodes.coordinator {
        let _ = writeln!(
            w,
            "    coordinator: {} messages in, {} out, {} refused",
            c.messages_in, c.messages_out, c.refused
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::example;

    #[test]
    fn the_text_is_rendered_from_the_summary() {
        let text = example().text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a summary");
        assert!(text.contains("  instances        2 (zuul 2)\n"), "{text}");
        assert!(text.contains("  chaos monkey     deleted a.us-east-1.zoneA.zuul1\n"));
        assert!(
            text.contains("  requests         4 sent: 3 gets (2 answered, 66.7%, 0 found), 1 puts (1 delivered)\n"),
            "{text}"
        );
        assert!(
            text.contains("  failed           1 (1 hop limit)\n"),
            "{text}"
        );
        assert!(text.contains("    us-east-1 -> eu-west-1"), "{text}");
        assert!(text.contains("  crashed          1 instances"));
        assert!(
            text.contains("    node2    127.0.0.1:2            LOST\n"),
            "{text}"
        );
        assert!(text.contains("    link node1 <-> node2 LOST: 7 messages undeliverable\n"));
        assert!(text.contains("    coordinator: 1 messages in, 2 out, 0 refused\n"));
        assert!(
            text.ends_with("  interrupted      at 1.0 s of 2.0 s: the files hold what was simulated until then\n"),
            "{text}"
        );
    }
}
