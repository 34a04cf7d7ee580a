//! The end-of-run summary: one [`Summary`] holds every figure a run ends
//! with. It is written to `<out>/summary.json` by every simulation run,
//! whole or not at all, whether the run completed, lost a node or was
//! interrupted; printed on stdout as JSON with `--summary json`; and
//! rendered as the text report otherwise (`text.rs`). All three come from
//! the one struct, so the text and the file never disagree.
//!
//! The requests' figures come from the one `Accounting`, and satisfy
//! `requests.sent == requests.answered + requests.delivered +
//! sum(requests.failed)`. Durations are written as seconds (`_s`) or
//! milliseconds (`_ms`) as their names say; memory as bytes.

mod edges;
mod text;

use super::accounting::{Accounting, End};
use super::metrics::ServiceHistograms;
use super::series::Series;
use super::writers::write_atomically;
use edges::Edge;
use hdrhistogram::Histogram;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use spigo_proto::cluster::Reach;
use spigo_proto::Reason;
use spigo_proto::Timestamp;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Everything a run ends with.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub arch: String,
    pub seed: u64,
    pub version: &'static str,
    /// `commit <short hash>[-dirty]`, or `commit unknown`.
    pub commit: &'static str,
    /// The command line, program name first.
    pub args: Vec<String>,
    pub interrupted: bool,
    /// `complete`, `nodes lost`, `links lost` or `interrupted`.
    pub ending: &'static str,
    /// The exit status the run ends with.
    pub exit: u8,
    /// Wall-clock time from start to the summary.
    pub duration_s: Secs,
    /// Simulated time: the planned duration, or up to the interrupt.
    pub simulated_s: Secs,
    /// The simulated time asked for.
    pub planned_s: Secs,
    /// Instances per package.
    pub instances: BTreeMap<String, usize>,
    /// Time from the first instance started to traffic flowing (services),
    /// or the pirates' set-up round.
    pub setup_s: Secs,
    /// What the pirates' FSM measured (`-a fsm`), absent for services.
    pub pirates: Option<Pirates>,
    /// The instance the chaos monkey deleted, if it ran.
    pub chaos_victim: Option<String>,
    /// Edges made and forgotten, as the graph file has them when one is
    /// written.
    pub edges: Edges,
    /// The graph file's size, when one was written.
    pub graph: Option<GraphSize>,
    /// The GraphJSON file written, relative to the output folder.
    pub graphjson: Option<String>,
    pub requests: Requests,
    /// Response time of every answered get, as the denominators saw it.
    pub response_ms: Figures,
    /// Per service: requests its instances received and their response
    /// time.
    pub services: BTreeMap<String, Service>,
    /// One-way delays per pair of regions under the latency model.
    pub latency: Vec<Pair>,
    /// How close the run came to being overrun.
    pub backlog: Backlog,
    /// Messages that could not be delivered, requests shed, instances whose
    /// handler panicked, frames refused from fenced (lost) nodes: over
    /// every process.
    pub undeliverable: u64,
    pub shed: u64,
    pub crashed: u64,
    pub fenced: u64,
    pub memory: Memory,
    pub nodes: Nodes,
    pub links: Links,
    /// Messages delivered to mailboxes over every process, and how many of
    /// them the latency model held back first.
    pub messages: Messages,
    /// The run second by second (see `output/series.rs`); null when it was
    /// not sampled (sampling comes with `-c` and `--svg`).
    pub series: Option<Series>,
}

/// A duration written as seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Secs(pub Duration);

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0.as_secs_f64())
    }
}

/// Microseconds, written as milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ms(pub u64);

impl Ms {
    fn duration(self) -> Duration {
        Duration::from_micros(self.0)
    }
}

impl Serialize for Ms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 1e3)
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Pirates {
    pub count: u32,
    pub spawned_in_s: Secs,
    /// Messages delivered in the set-up round.
    pub setup_messages: u64,
    pub shutdown_s: Secs,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Edges {
    pub made: u64,
    pub forgotten: u64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct GraphSize {
    pub nodes: usize,
    pub edges: usize,
}

/// Failures by reason, every reason present (zero included, so the keys
/// are always there), in the reasons' own order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Failed(pub BTreeMap<Reason, u64>);

impl Failed {
    pub(crate) fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub(crate) fn get(&self, reason: Reason) -> u64 {
        self.0.get(&reason).copied().unwrap_or(0)
    }

    /// The reasons that happened, with their counts.
    fn nonzero(&self) -> impl Iterator<Item = (Reason, u64)> + '_ {
        Reason::ALL
            .iter()
            .map(|r| (*r, self.0.get(r).copied().unwrap_or(0)))
            .filter(|&(_, n)| n > 0)
    }
}

impl Serialize for Failed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(Reason::ALL.len()))?;
        for r in Reason::ALL {
            m.serialize_entry(r.as_str(), &self.0.get(&r).copied().unwrap_or(0))?;
        }
        m.end()
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Requests {
    pub sent: u64,
    /// Gets answered.
    pub answered: u64,
    /// Puts delivered (a put is not answered).
    pub delivered: u64,
    pub failed: Failed,
    /// Gets answered, as a percentage of gets sent.
    pub answered_percent: f64,
    pub gets: Gets,
    pub puts: Puts,
}

#[derive(Debug, Serialize)]
pub(crate) struct Gets {
    pub sent: u64,
    pub answered: u64,
    pub failed: Failed,
    /// Ended on surviving nodes but sent by a node lost before it
    /// reported: counted as sent, so the accounting adds up.
    pub unreported: u64,
    /// Answered with a value found (a cache or store hit).
    pub found: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Puts {
    pub sent: u64,
    pub delivered: u64,
    pub failed: Failed,
    pub unreported: u64,
    /// Puts that fan out (replication) counted as sent once each.
    pub forked: u64,
}

impl Requests {
    pub(crate) fn of(a: &Accounting) -> Requests {
        Requests {
            sent: a.sent(),
            answered: a.gets.ended,
            delivered: a.puts.ended,
            failed: Failed(a.failed()),
            answered_percent: a.answered_percent(),
            gets: Gets {
                sent: a.gets.sent,
                answered: a.gets.ended,
                failed: Failed(a.gets.failed.clone()),
                unreported: a.gets.unreported,
                found: a.found,
            },
            puts: Puts {
                sent: a.puts.sent,
                delivered: a.puts.ended,
                failed: Failed(a.puts.failed.clone()),
                unreported: a.puts.unreported,
                forked: a.forked,
            },
        }
    }
}

/// A histogram's figures (zeros where it recorded nothing).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Figures {
    pub count: u64,
    pub mean: f64,
    pub p50: Ms,
    pub p99: Ms,
    pub max: Ms,
}

impl Figures {
    /// From a histogram of microseconds; `mean` in milliseconds.
    pub(crate) fn of(h: &Histogram<u64>) -> Figures {
        if h.is_empty() {
            return Figures::default();
        }
        Figures {
            count: h.len(),
            mean: h.mean() / 1e3,
            p50: Ms(h.value_at_quantile(0.5)),
            p99: Ms(h.value_at_quantile(0.99)),
            max: Ms(h.max()),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Service {
    /// Requests (gets and puts) its instances received.
    pub requests: u64,
    /// From a request arriving at an instance to its answer leaving (time
    /// in system: waiting, service time and any calls it made).
    pub response_ms: Figures,
    /// Requests its instances answered as failed (or, for puts, dropped),
    /// by reason, every reason present: refused here or failed further
    /// down.
    pub failed: Failed,
    /// Busy slot time over slot time available in the simulated time:
    /// absent for services without a work model with a `concurrency`.
    pub utilisation: Option<f64>,
    /// Requests whose service time ended, per simulated second (absent
    /// without a work model).
    pub throughput: Option<f64>,
    /// Mean requests in its instances (waiting or in service), summed over
    /// instances: the time integral over the simulated time.
    pub in_system: Option<f64>,
    /// Mean requests waiting for a slot, the same way.
    pub queue: Option<f64>,
    /// Mean time a request waited for a slot before its service began
    /// (by the service clock, so timer lateness is not in it), in ms.
    pub wait_ms: Option<f64>,
    /// Mean service time drawn, in ms.
    pub service_ms: Option<f64>,
    /// Its calls to each dependency it has resilience settings for.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, Edge>,
}

impl Service {
    /// Every service's figures; `window` is the simulated time the rates
    /// and means are over, `began` when the traffic began (breaker times
    /// are counted from it).
    pub(crate) fn all(
        services: &BTreeMap<String, ServiceHistograms>,
        window: Duration,
        began: Option<Timestamp>,
    ) -> BTreeMap<String, Service> {
        let t = window.as_secs_f64();
        let per_t = |x: f64| (t > 0.0).then(|| x / t);
        (services.iter())
            .map(|(name, h)| {
                let st = &h.station;
                let modelled = st.instances > 0;
                let ns = |n: u64| n as f64 / 1e9;
                let failed = Reason::ALL
                    .iter()
                    .map(|&r| (r, h.failed[r.index()]))
                    .collect();
                let s = Service {
                    requests: h.requests,
                    response_ms: Figures::of(&h.response),
                    failed: Failed(failed),
                    utilisation: (st.slots > 0)
                        .then(|| per_t(ns(st.busy_ns) / st.slots as f64))
                        .flatten(),
                    throughput: modelled.then(|| per_t(st.served as f64)).flatten(),
                    in_system: modelled.then(|| per_t(ns(st.in_system_ns))).flatten(),
                    queue: modelled.then(|| per_t(ns(st.waiting_ns))).flatten(),
                    wait_ms: (st.started > 0).then(|| ns(st.waited_ns) * 1e3 / st.started as f64),
                    service_ms: (st.started > 0).then(|| ns(st.busy_ns) * 1e3 / st.started as f64),
                    dependencies: (h.edges.iter())
                        .map(|(d, e)| (d.clone(), Edge::of(e, began)))
                        .collect(),
                };
                (name.clone(), s)
            })
            .collect()
    }
}

/// Measured one-way delays from one region to another.
#[derive(Debug, Serialize)]
pub(crate) struct Pair {
    pub from: String,
    pub to: String,
    /// `zone` (within one zone), `cross_zone` or `region`.
    #[serde(serialize_with = "reach")]
    pub reach: Reach,
    pub model_ms: Ms,
    pub p50_ms: Ms,
    pub p99_ms: Ms,
    pub messages: u64,
    /// Messages whose transport alone took longer than the model.
    pub late: u64,
}

fn reach<S: Serializer>(r: &Reach, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match r {
        Reach::Zone => "zone",
        Reach::CrossZone => "cross_zone",
        Reach::Region => "region",
    })
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Backlog {
    pub deepest_mailbox: u64,
    pub deepest_link: u64,
}

/// Peak resident memory of this process (the nodes' are in `nodes`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Memory {
    /// `None` where the OS does not tell.
    pub peak_bytes: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Nodes {
    /// Cluster nodes; 0 for a single process.
    pub count: usize,
    /// Names of the nodes declared lost.
    pub lost: Vec<String>,
    pub each: Vec<NodeSummary>,
    /// The coordinator's own link figures (cluster runs).
    pub coordinator: Option<LinkFigures>,
}

#[derive(Debug, Serialize)]
pub(crate) struct NodeSummary {
    pub name: String,
    pub addr: String,
    pub state: NodeState,
    /// What its final report said; absent without one.
    pub report: Option<NodeFigures>,
}

/// Whether a node's final report is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NodeState {
    Reported,
    /// Declared lost: what it had is gone with it.
    Lost,
    /// It lived but its report did not arrive.
    #[serde(rename = "no report")]
    NoReport,
}

#[derive(Debug, Serialize)]
pub(crate) struct NodeFigures {
    /// Peak resident memory (0 where the OS does not tell).
    pub peak_bytes: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub undeliverable: u64,
    /// Frames or messages refused as malformed or misaddressed.
    pub refused: u64,
    pub fenced: u64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct LinkFigures {
    pub messages_in: u64,
    pub messages_out: u64,
    pub refused: u64,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Links {
    /// Links between nodes given up while both nodes lived.
    pub lost: Vec<LostLink>,
    /// Links that broke and came back.
    pub broken: Vec<BrokenLink>,
}

#[derive(Debug, Serialize)]
pub(crate) struct LostLink {
    pub between: [String; 2],
    /// Messages it cost (both ends' undeliverable counts).
    pub undeliverable: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct BrokenLink {
    pub between: [String; 2],
    pub breaks: u64,
    pub repairs: u64,
    pub undeliverable: u64,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Messages {
    pub delivered: u64,
    pub held: u64,
}

/// The words `summary.json` uses for how a run ended.
pub(crate) fn ending(end: End, nodes_lost: bool) -> &'static str {
    match end {
        End::Complete => "complete",
        End::NodesLost if !nodes_lost => "links lost",
        End::NodesLost => "nodes lost",
        End::Interrupted => "interrupted",
    }
}

impl Summary {
    pub(crate) fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string_pretty(self).expect("a summary serialises")
    }

    /// Writes `<out>/summary.json`.
    pub(crate) fn write(&self, out: &Path) -> anyhow::Result<()> {
        let text = self.to_json();
        write_atomically(&out.join("summary.json"), |w| {
            std::io::Write::write_all(w, text.as_bytes())
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value;
    use spigo_node::runtime::metrics::{micros_histogram, Traffic};

    /// A summary of a small interrupted services run on two nodes.
    pub(crate) fn example() -> Summary {
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
                response: response.clone(),
                failed: [0; Reason::ALL.len()],
                station: Default::default(),
                edges: Default::default(),
            },
        )]);
        let secs = |s| Secs(Duration::from_secs(s));
        Summary {
            arch: "a".into(),
            seed: 7,
            version: "0.0.0",
            commit: "commit unknown",
            args: vec!["spigo".into(), "-a".into(), "a".into()],
            interrupted: true,
            ending: ending(End::Interrupted, false),
            exit: 130,
            duration_s: secs(1),
            simulated_s: secs(1),
            planned_s: secs(2),
            instances: BTreeMap::from([("zuul".to_string(), 2)]),
            setup_s: secs(0),
            pirates: None,
            chaos_victim: Some("a.us-east-1.zoneA.zuul1".into()),
            edges: Edges {
                made: 3,
                forgotten: 1,
            },
            graph: None,
            graphjson: None,
            requests: Requests::of(&a),
            response_ms: Figures::of(&response),
            services: Service::all(&services, Duration::from_secs(1), None),
            latency: vec![Pair {
                from: "us-east-1".into(),
                to: "eu-west-1".into(),
                reach: Reach::Region,
                model_ms: Ms(40_000),
                p50_ms: Ms(40_100),
                p99_ms: Ms(41_000),
                messages: 9,
                late: 1,
            }],
            backlog: Backlog::default(),
            undeliverable: 0,
            shed: 0,
            crashed: 1,
            fenced: 0,
            memory: Memory {
                peak_bytes: Some(50_000_000),
            },
            nodes: Nodes {
                count: 2,
                lost: vec!["node2".into()],
                each: vec![
                    NodeSummary {
                        name: "node1".into(),
                        addr: "127.0.0.1:1".into(),
                        state: NodeState::Reported,
                        report: Some(NodeFigures {
                            peak_bytes: 30_000_000,
                            messages_in: 5,
                            messages_out: 6,
                            undeliverable: 0,
                            refused: 0,
                            fenced: 0,
                        }),
                    },
                    NodeSummary {
                        name: "node2".into(),
                        addr: "127.0.0.1:2".into(),
                        state: NodeState::Lost,
                        report: None,
                    },
                ],
                coordinator: Some(LinkFigures {
                    messages_in: 1,
                    messages_out: 2,
                    refused: 0,
                }),
            },
            links: Links {
                lost: vec![LostLink {
                    between: ["node1".into(), "node2".into()],
                    undeliverable: 7,
                }],
                broken: Vec::new(),
            },
            messages: Messages {
                delivered: 12,
                held: 5,
            },
            series: None,
        }
    }

    #[test]
    fn the_interface_fields_are_there_and_add_up() {
        let v: Value = serde_json::from_str(&example().to_json()).unwrap();
        assert_eq!(v["links"]["lost"][0]["between"][1], "node2");
        assert_eq!(v["links"]["lost"][0]["undeliverable"], 7);
        assert_eq!(v["crashed"], 1);
        assert_eq!(v["interrupted"], true);
        assert_eq!(v["requests"]["sent"], 4);
        assert_eq!(v["requests"]["answered"], 2);
        assert_eq!(v["requests"]["delivered"], 1);
        assert_eq!(v["requests"]["failed"]["hop limit"], 1);
        assert_eq!(v["requests"]["failed"]["interrupted"], 0);
        let failed: u64 = (v["requests"]["failed"].as_object().unwrap().values())
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(v["requests"]["sent"], 2 + 1 + failed);
        assert_eq!(v["services"]["zuul"]["requests"], 3);
        let p50 = v["services"]["zuul"]["response_ms"]["p50"]
            .as_f64()
            .unwrap();
        assert!((1.4..1.6).contains(&p50), "{p50}");
        assert_eq!(v["edges"]["made"], 3);
        assert_eq!(v["messages"]["delivered"], 12);
        assert_eq!(v["messages"]["held"], 5);
        assert_eq!(v["latency"][0]["reach"], "region");
        assert_eq!(v["latency"][0]["model_ms"], 40.0);
        assert_eq!(v["nodes"]["each"][1]["state"], "lost");
        assert_eq!(v["nodes"]["each"][1]["report"], Value::Null);
        assert_eq!(v["nodes"]["each"][0]["report"]["peak_bytes"], 30_000_000);
        assert_eq!(v["args"][1], "-a");
        assert_eq!(v["planned_s"], 2.0);
    }

    #[test]
    fn every_reason_is_a_key_in_its_own_order() {
        let f = Failed(BTreeMap::from([(Reason::HopLimit, 2)]));
        let v = serde_json::to_string(&f).unwrap();
        let keys: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        let mut at = 0;
        for k in keys {
            let found = v[at..].find(&format!("\"{k}\"")).expect(k);
            at += found;
        }
        assert_eq!(f.total(), 2);
        assert_eq!(f.nonzero().collect::<Vec<_>>(), [(Reason::HopLimit, 2)]);
    }
}
