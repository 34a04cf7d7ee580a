//! `/metrics`: the run's figures in Prometheus' text exposition format, as
//! `promtool check metrics` wants them: every family with HELP and TYPE,
//! counters ending in `_total`, units in names (`_seconds`, `_bytes`).
//!
//! Every `spigo_` family carries an `arch` label, so one Prometheus can
//! scrape several runs; per-service families also carry `service` and
//! `region` (`global` for services with one instance for the whole run).
//! Requests are counted by `kind` (`get`, `put`): a get ends answered or
//! failed, a put ends delivered (stored) or failed, so "answered / sent" is
//! a ratio of gets, not of gets and puts. Failure counters are written for
//! every reason from the first scrape, at zero, so `rate()` sees them start.
//! The `process_` families are the standard ones of the serving process
//! (the coordinator); node processes report their peak memory in the
//! summary instead.

use super::metrics::ServiceHistograms;
use spigo_proto::cluster::{EdgeReport, TrafficReport};
use spigo_proto::{archaius, Reason};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Bucket bounds of the histograms, in seconds.
const BUCKETS: [f64; 19] = [
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// What one scrape shows.
pub(crate) struct Scrape<'a> {
    pub arch: &'a str,
    pub version: &'a str,
    /// The commit built from (`commit unknown` outside a git checkout).
    pub commit: &'a str,
    /// The run's region names, by index (services report an index).
    pub regions: &'a [String],
    /// The denominators' counters (latency pairs unused).
    pub traffic: &'a TrafficReport,
    /// Per service and region index, merged over nodes.
    pub services: &'a BTreeMap<(String, u8), ServiceHistograms>,
    /// Messages handed to actors' mailboxes, every node.
    pub delivered: u64,
    pub nodes: usize,
    pub lost: usize,
    pub process: Process,
}

/// The serving process's own figures; `None` where the OS does not tell.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Process {
    pub resident_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    /// Unix time the process started serving, in seconds.
    pub start_time: f64,
}

/// A label value as the format wants it: backslash, quote and newline escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn region_name(regions: &[String], index: u8) -> &str {
    match index {
        archaius::ANY => "global",
        i => regions
            .get(usize::from(i))
            .map_or("unknown", String::as_str),
    }
}

/// A family's HELP and TYPE lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The text a Prometheus server scrapes.
pub(crate) fn render(s: &Scrape) -> String {
    let mut out = String::new();
    let arch = format!("arch=\"{}\"", escape(s.arch));

    family(
        &mut out,
        "spigo_info",
        "gauge",
        "The run being served: always 1.",
    );
    let _ = writeln!(
        out,
        "spigo_info{{{arch},version=\"{}\",commit=\"{}\"}} 1",
        escape(s.version),
        escape(s.commit)
    );

    type Pick = fn(&ServiceHistograms) -> &hdrhistogram::Histogram<u64>;
    let histograms: [(&str, &str, Pick); 3] = [
        (
            "spigo_delivery_seconds",
            "Time from a message's send to its receiver handling it (needs -c).",
            |h| &h.delivery,
        ),
        (
            "spigo_service_seconds",
            "Time an instance spends handling one message (needs -c).",
            |h| &h.service_time,
        ),
        (
            "spigo_response_seconds",
            "Time from a request reaching an instance to its answer leaving.",
            |h| &h.response,
        ),
    ];
    for (name, help, pick) in histograms {
        family(&mut out, name, "histogram", help);
        for ((service, region), h) in s.services {
            let labels = format!(
                "{arch},service=\"{}\",region=\"{}\"",
                escape(service),
                escape(region_name(s.regions, *region))
            );
            let h = pick(h);
            for le in BUCKETS {
                let n = match h.is_empty() {
                    true => 0,
                    false => h.count_between(0, (le * 1e6) as u64),
                };
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {n}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.len());
            let sum = h.mean() * h.len() as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.len());
        }
    }
    family(
        &mut out,
        "spigo_service_requests_total",
        "counter",
        "Requests (gets and puts) a service's instances received.",
    );
    for ((service, region), h) in s.services {
        let _ = writeln!(
            out,
            "spigo_service_requests_total{{{arch},service=\"{}\",region=\"{}\"}} {}",
            escape(service),
            escape(region_name(s.regions, *region)),
            h.requests
        );
    }

    work_and_calls(&mut out, s, &arch);

    let t = s.traffic;
    family(
        &mut out,
        "spigo_requests_total",
        "counter",
        "Requests the denominators (the traffic sources) sent, by kind.",
    );
    let puts = t.requests.saturating_sub(t.gets);
    for (kind, n) in [("get", t.gets), ("put", puts)] {
        let _ = writeln!(out, "spigo_requests_total{{{arch},kind=\"{kind}\"}} {n}");
    }
    for (name, help, value) in [
        (
            "spigo_gets_answered_total",
            "Gets the denominators got an answer to.",
            t.responses,
        ),
        (
            "spigo_cache_hits_total",
            "Answered gets that carried a value (found in a cache or store).",
            t.hits,
        ),
        (
            "spigo_puts_delivered_total",
            "Puts (and put copies) that reached the instance storing them.",
            t.puts_delivered,
        ),
        (
            "spigo_put_copies_total",
            "Extra puts made by instances writing one put to several stores.",
            t.puts_forked,
        ),
        (
            "spigo_messages_delivered_total",
            "Messages handed to actors' mailboxes, on every node.",
            s.delivered,
        ),
        (
            "spigo_nodes_lost_total",
            "Node processes lost during the run (their figures are missing).",
            s.lost as u64,
        ),
    ] {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name}{{{arch}}} {value}");
    }
    family(
        &mut out,
        "spigo_failed_total",
        "counter",
        "Gets and puts that failed, by kind and reason.",
    );
    for (kind, pairs) in [("get", &t.failed), ("put", &t.puts_failed)] {
        // Merged reports may name a reason more than once.
        let mut by_reason = [0u64; Reason::ALL.len()];
        for &(r, n) in pairs {
            by_reason[r.index()] += n;
        }
        for (reason, n) in Reason::ALL.into_iter().zip(by_reason) {
            let _ = writeln!(
                out,
                "spigo_failed_total{{{arch},kind=\"{kind}\",reason=\"{}\"}} {n}",
                reason.as_str()
            );
        }
    }
    family(
        &mut out,
        "spigo_nodes",
        "gauge",
        "Node processes in the simulation.",
    );
    let _ = writeln!(out, "spigo_nodes{{{arch}}} {}", s.nodes);

    let p = s.process;
    if let Some(bytes) = p.resident_bytes {
        family(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
    if let Some(cpu) = p.cpu_seconds {
        family(
            &mut out,
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
        );
        let _ = writeln!(out, "process_cpu_seconds_total {cpu}");
    }
    family(
        &mut out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
    );
    let _ = writeln!(out, "process_start_time_seconds {}", p.start_time);
    out
}

/// The work models' and the guarded calls' families, for the services
/// that have them (Prometheus computes the rates: utilisation is
/// `rate(spigo_work_busy_seconds_total[1m]) / spigo_work_slots`, the mean
/// queue `rate(spigo_work_waiting_seconds_total[1m])`).
fn work_and_calls(out: &mut String, s: &Scrape, arch: &str) {
    let labels = |service: &str, region: u8| {
        format!(
            "{arch},service=\"{}\",region=\"{}\"",
            escape(service),
            escape(region_name(s.regions, region))
        )
    };
    let modelled: Vec<_> = (s.services.iter())
        .filter(|(_, h)| h.station.instances > 0)
        .collect();
    if !modelled.is_empty() {
        fn ns(n: u64) -> f64 {
            n as f64 / 1e9
        }
        type Figure = fn(&ServiceHistograms) -> f64;
        let figures: [(&str, &str, &str, Figure); 5] = [
            ("spigo_work_slots", "gauge", "Concurrency slots of a service's instances with a work model and a limit.", |h| h.station.slots as f64),
            ("spigo_work_served_total", "counter", "Requests whose service (work model) ended.", |h| h.station.served as f64),
            ("spigo_work_busy_seconds_total", "counter", "Service time begun: over slots, the utilisation.", |h| ns(h.station.busy_ns)),
            ("spigo_work_in_system_seconds_total", "counter", "Requests in the instances (waiting or in service) integrated over time: its rate is the mean number in system.", |h| ns(h.station.in_system_ns)),
            ("spigo_work_waiting_seconds_total", "counter", "Requests waiting for a slot integrated over time: its rate is the mean queue.", |h| ns(h.station.waiting_ns)),
        ];
        for (name, kind, help, figure) in figures {
            family(out, name, kind, help);
            for ((service, region), h) in &modelled {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(service, *region), figure(h));
            }
        }
    }
    let edges: Vec<_> = (s.services.iter())
        .flat_map(|((service, region), h)| {
            (h.edges.iter()).map(move |(dep, e)| (labels(service, *region), dep, e))
        })
        .collect();
    if edges.is_empty() {
        return;
    }
    family(
        out,
        "spigo_calls_total",
        "counter",
        "Attempts a service's instances made on a dependency they guard, by outcome (ok, failed, timeout).",
    );
    for (l, dep, e) in &edges {
        for (outcome, n) in [("ok", e.ok), ("failed", e.failed), ("timeout", e.timeout)] {
            let _ = writeln!(
                out,
                "spigo_calls_total{{{l},dependency=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(dep)
            );
        }
    }
    type Count = fn(&EdgeReport) -> u64;
    let counts: [(&str, &str, &str, Count); 5] = [
        (
            "spigo_calls_retried_total",
            "counter",
            "Retries made, each on the next instance.",
            |e| e.retried,
        ),
        (
            "spigo_calls_late_total",
            "counter",
            "Answers that came after their attempt timed out (ignored).",
            |e| e.late,
        ),
        (
            "spigo_calls_short_circuited_total",
            "counter",
            "Calls not made because the circuit breaker was open.",
            |e| e.short_circuited,
        ),
        (
            "spigo_calls_fallback_total",
            "counter",
            "Gets answered by the fallback (empty, or from cache).",
            |e| e.fallback,
        ),
        (
            "spigo_breakers_open",
            "gauge",
            "Callers' circuit breakers open or half-open now.",
            |e| e.open,
        ),
    ];
    for (name, kind, help, count) in counts {
        family(out, name, kind, help);
        for (l, dep, e) in &edges {
            let _ = writeln!(
                out,
                "{name}{{{l},dependency=\"{}\"}} {}",
                escape(dep),
                count(e)
            );
        }
    }
    family(
        out,
        "spigo_breaker_transitions_total",
        "counter",
        "Circuit breaker transitions of a service's callers, by the state entered.",
    );
    for (l, dep, e) in &edges {
        for (to, n) in [
            ("open", e.opened),
            ("half_open", e.half_opened),
            ("closed", e.closed),
        ] {
            let _ = writeln!(
                out,
                "spigo_breaker_transitions_total{{{l},dependency=\"{}\",to=\"{to}\"}} {n}",
                escape(dep)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spigo_node::runtime::metrics::{add_recorded, no_histogram};

    fn histograms(response: &[(u64, u64)]) -> ServiceHistograms {
        let mut h = ServiceHistograms {
            requests: 7,
            delivery: no_histogram(),
            service_time: no_histogram(),
            response: no_histogram(),
            failed: Default::default(),
            station: Default::default(),
            edges: Default::default(),
        };
        add_recorded(&mut h.response, &response.to_vec());
        h
    }

    fn scrape_of(
        traffic: &TrafficReport,
        services: &BTreeMap<(String, u8), ServiceHistograms>,
    ) -> String {
        let regions = ["us-east-1".to_string(), "eu-west-1".to_string()];
        render(&Scrape {
            arch: "net\"flix",
            version: "0.1.0",
            commit: "abc",
            regions: &regions,
            traffic,
            services,
            delivered: 40,
            nodes: 2,
            lost: 1,
            process: Process {
                resident_bytes: Some(1 << 20),
                cpu_seconds: Some(1.5),
                start_time: 1.7e9,
            },
        })
    }

    #[test]
    fn every_family_has_help_and_type_and_counters_end_in_total() {
        let traffic = TrafficReport {
            requests: 10,
            gets: 6,
            responses: 5,
            hits: 4,
            failed: vec![(Reason::Timeout, 1)],
            puts_delivered: 3,
            ..TrafficReport::default()
        };
        let mut services = BTreeMap::new();
        let mut web = histograms(&[(100, 2), (30_000, 1)]);
        web.station = spigo_proto::cluster::StationReport {
            instances: 2,
            slots: 8,
            busy_ns: 3_500_000_000,
            ..Default::default()
        };
        let db = EdgeReport {
            calls: 9,
            ok: 6,
            timeout: 3,
            opened: 2,
            closed: 1,
            open: 1,
            ..Default::default()
        };
        web.edges.insert("db".to_string(), db);
        services.insert(("web".to_string(), 1), web);
        services.insert(("dns".to_string(), archaius::ANY), histograms(&[]));
        let text = scrape_of(&traffic, &services);
        let web = "arch=\"net\\\"flix\",service=\"web\",region=\"eu-west-1\"";
        for line in [
            format!("spigo_work_slots{{{web}}} 8"),
            format!("spigo_work_busy_seconds_total{{{web}}} 3.5"),
            format!("spigo_calls_total{{{web},dependency=\"db\",outcome=\"timeout\"}} 3"),
            format!("spigo_breakers_open{{{web},dependency=\"db\"}} 1"),
            format!("spigo_breaker_transitions_total{{{web},dependency=\"db\",to=\"open\"}} 2"),
        ] {
            assert!(text.contains(&line), "no {line}");
        }
        // dns has neither: no line of these families for it.
        assert!(!text.contains("spigo_work_slots{arch=\"net\\\"flix\",service=\"dns\""));
        let mut typed = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut words = line.split(' ').skip(2);
            typed.insert(words.next().unwrap(), words.next().unwrap());
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|b| typed.get(b) == Some(&"histogram"))
                })
                .unwrap_or(name);
            let kind = typed
                .get(base)
                .unwrap_or_else(|| panic!("{name} has no TYPE"));
            assert_eq!(*kind == "counter", name.ends_with("_total"), "{name}");
            assert!(
                text.contains(&format!("# HELP {base} ")),
                "{base} has no HELP"
            );
        }
        assert!(text.contains("spigo_requests_total{arch=\"net\\\"flix\",kind=\"get\"} 6"));
        assert!(text.contains("spigo_requests_total{arch=\"net\\\"flix\",kind=\"put\"} 4"));
        assert!(text.contains("spigo_cache_hits_total{arch=\"net\\\"flix\"} 4"));
        assert!(text.contains(
            "spigo_failed_total{arch=\"net\\\"flix\",kind=\"get\",reason=\"timeout\"} 1"
        ));
        assert!(text.contains(
            "spigo_failed_total{arch=\"net\\\"flix\",kind=\"put\",reason=\"timeout\"} 0"
        ));
        assert!(text.contains("region=\"eu-west-1\""));
        assert!(text.contains("service=\"dns\",region=\"global\""));
        assert!(text.contains("spigo_nodes_lost_total{arch=\"net\\\"flix\"} 1"));
        assert!(text.contains("process_cpu_seconds_total 1.5"));
    }

    #[test]
    fn buckets_rise_to_the_count() {
        let mut services = BTreeMap::new();
        services.insert(("web".to_string(), 0), histograms(&[(100, 2), (30_000, 1)]));
        let text = scrape_of(&TrafficReport::default(), &services);
        let buckets: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("spigo_response_seconds_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(buckets.len(), BUCKETS.len() + 1);
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*buckets.last().unwrap(), 3);
        // 100 µs is within the 1e-4 s bucket; 30 ms only from 5e-2 s.
        assert!(text.contains("le=\"0.0001\"} 2"));
        assert!(text.contains("le=\"0.05\"} 3"));
    }
}
