//! `<out>/summary.json`: the end-of-run summary for machines. Every
//! simulation run writes it, whole or not at all (the writers' temporary
//! file and rename), whether it completed, lost a node or was interrupted,
//! so a script can tell what happened without reading the log.
//!
//! The requests' figures come from the one [`Accounting`], and satisfy
//! `requests.sent == requests.answered + requests.delivered +
//! sum(requests.failed)`.

use super::accounting::{Accounting, End, Tally};
use super::metrics::ServiceHistograms;
use super::writers::write_atomically;
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use spigo_proto::Reason;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// What the summary says about one run.
pub(crate) struct RunSummary<'a> {
    pub arch: &'a str,
    pub seed: u64,
    pub end: End,
    /// The exit status the run ends with.
    pub exit: u8,
    /// Wall-clock time from start to the summary.
    pub duration: Duration,
    /// Simulated time: the planned duration, or up to the interrupt.
    pub simulated: Duration,
    /// Instances per package.
    pub instances: BTreeMap<String, usize>,
    /// Edges made and forgotten, as the graph file has them when one is
    /// written.
    pub edges: (u64, u64),
    /// The GraphJSON file written, relative to the output folder.
    pub graphjson: Option<String>,
    pub requests: &'a Accounting,
    pub services: &'a BTreeMap<String, ServiceHistograms>,
    /// Cluster nodes (none for a single process), and those lost.
    pub nodes: usize,
    pub lost: Vec<String>,
    /// Messages that could not be delivered, and requests shed, over every
    /// process.
    pub undeliverable: u64,
    pub shed: u64,
    /// Links between nodes given up while both nodes lived: their ends'
    /// names and the messages they cost.
    pub links_lost: Vec<([String; 2], u64)>,
    /// Instances whose handler panicked, and frames refused from fenced
    /// (lost) nodes, over every process.
    pub crashed: u64,
    pub fenced: u64,
    /// Messages delivered to instances' and infrastructure's mailboxes
    /// over every process, and how many of them the latency model held
    /// back first: what `spigo bench steady` divides the CPU by.
    pub messages: Messages,
}

/// Messages delivered, and those of them the latency model held.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Messages {
    pub delivered: u64,
    pub held: u64,
}

/// The summary as JSON.
pub(crate) fn to_json(s: &RunSummary) -> Value {
    let a = s.requests;
    let services: Map<String, Value> = s
        .services
        .iter()
        .map(|(name, h)| {
            let figures = json!({
                "requests": h.requests,
                "response_ms": response_ms(&h.response),
            });
            (name.clone(), figures)
        })
        .collect();
    json!({
        "arch": s.arch,
        "seed": s.seed,
        "version": env!("CARGO_PKG_VERSION"),
        "interrupted": s.end == End::Interrupted,
        "ending": match s.end {
            End::Complete => "complete",
            End::NodesLost if s.lost.is_empty() => "links lost",
            End::NodesLost => "nodes lost",
            End::Interrupted => "interrupted",
        },
        "exit": s.exit,
        "duration_s": s.duration.as_secs_f64(),
        "simulated_s": s.simulated.as_secs_f64(),
        "instances": s.instances,
        "edges": { "made": s.edges.0, "forgotten": s.edges.1 },
        "graphjson": s.graphjson,
        "requests": {
            "sent": a.sent(),
            "answered": a.gets.ended,
            "delivered": a.puts.ended,
            "failed": by_reason(&a.failed()),
            "gets": tally(&a.gets, "answered", json!({ "found": a.found })),
            "puts": tally(&a.puts, "delivered", json!({ "forked": a.forked })),
        },
        "services": services,
        "nodes": { "count": s.nodes, "lost": s.lost },
        "links": {
            "lost": s.links_lost.iter().map(|(ends, undeliverable)| json!({
                "between": ends,
                "undeliverable": undeliverable,
            })).collect::<Vec<_>>(),
        },
        "undeliverable": s.undeliverable,
        "shed": s.shed,
        "crashed": s.crashed,
        "fenced": s.fenced,
        "messages": { "delivered": s.messages.delivered, "held": s.messages.held },
    })
}

/// Writes the summary to `<out>/summary.json`.
pub(crate) fn write(out: &Path, s: &RunSummary) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&to_json(s))?;
    write_atomically(&out.join("summary.json"), |w| {
        std::io::Write::write_all(w, text.as_bytes())
    })
}

/// Every reason, with its count (zero included, so the keys are always
/// there).
fn by_reason(failed: &BTreeMap<Reason, u64>) -> Map<String, Value> {
    Reason::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                json!(failed.get(r).copied().unwrap_or(0)),
            )
        })
        .collect()
}

fn tally(t: &Tally, ended: &str, extra: Value) -> Value {
    let mut v = json!({
        "sent": t.sent,
        ended: t.ended,
        "failed": by_reason(&t.failed),
        "unreported": t.unreported,
    });
    if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
        v.extend(extra);
    }
    v
}

/// Response-time figures in milliseconds from a histogram of microseconds
/// (zeros for a service that answered nothing).
fn response_ms(h: &Histogram<u64>) -> Value {
    let ms = |us: u64| us as f64 / 1e3;
    let (mean, p50, p99, max) = match h.is_empty() {
        true => (0.0, 0.0, 0.0, 0.0),
        false => (
            h.mean() / 1e3,
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        ),
    };
    json!({ "count": h.len(), "mean": mean, "p50": p50, "p99": p99, "max": max })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spigo_node::runtime::metrics::{micros_histogram, Traffic};

    #[test]
    fn the_interface_fields_are_there_and_add_up() {
        let mut t = Traffic {
            requests: 4,
            gets: 3,
            responses: 2,
            ..Traffic::default()
        };
        t.failed[Reason::HopLimit.index()] = 1;
        t.puts_delivered = 1;
        let a = Accounting::of(&t, End::Interrupted);
        let mut response = micros_histogram();
        response.record(1500).unwrap();
        let services = BTreeMap::from([(
            "zuul".to_string(),
            ServiceHistograms {
                requests: 3,
                delivery: micros_histogram(),
                service_time: micros_histogram(),
                response,
            },
        )]);
        let v = to_json(&RunSummary {
            arch: "a",
            seed: 7,
            end: End::Interrupted,
            exit: 130,
            duration: Duration::from_secs(1),
            simulated: Duration::from_secs(1),
            instances: BTreeMap::from([("zuul".to_string(), 2)]),
            edges: (3, 1),
            graphjson: None,
            requests: &a,
            services: &services,
            nodes: 0,
            lost: Vec::new(),
            undeliverable: 0,
            shed: 0,
            links_lost: vec![(["node1".into(), "node2".into()], 7)],
            crashed: 1,
            fenced: 0,
            messages: Messages {
                delivered: 12,
                held: 5,
            },
        });
        assert_eq!(v["links"]["lost"][0]["between"][1], "node2");
        assert_eq!(v["links"]["lost"][0]["undeliverable"], 7);
        assert_eq!(v["crashed"], 1);
        assert_eq!(v["interrupted"], true);
        assert_eq!(v["requests"]["sent"], 4);
        assert_eq!(v["requests"]["answered"], 2);
        assert_eq!(v["requests"]["delivered"], 1);
        assert_eq!(v["requests"]["failed"]["hop limit"], 1);
        assert_eq!(v["requests"]["failed"]["interrupted"], 0);
        assert_eq!(v["services"]["zuul"]["requests"], 3);
        let p50 = v["services"]["zuul"]["response_ms"]["p50"]
            .as_f64()
            .unwrap();
        assert!((1.4..1.6).contains(&p50), "{p50}");
        assert_eq!(v["edges"]["made"], 3);
        assert_eq!(v["messages"]["delivered"], 12);
        assert_eq!(v["messages"]["held"], 5);
    }
}
