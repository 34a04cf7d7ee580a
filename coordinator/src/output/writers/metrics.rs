//! Metrics and flow files (`-c`): `json_metrics/<arch>_metrics.json`, a
//! CSV of the same figures, and `json_metrics/<arch>_flow.json` with the
//! sampled request flows as Zipkin v2 spans.

use super::{rfc3339, RunInfo};
use crate::output::metrics::{services_json, summary, ServiceHistograms};
use serde_json::json;
use spigo_proto::cluster::{Span, SpanKind, TrafficReport};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Per service, per metric: count, min, mean, p50/p90/p99/p99.9, max;
/// `services` merged from the run's figures, whose traffic is `traffic`.
pub(crate) fn write_json(
    out: &mut impl Write,
    traffic: &TrafficReport,
    services: &BTreeMap<String, ServiceHistograms>,
    run: &RunInfo,
) -> io::Result<()> {
    let t = traffic;
    let doc = json!({
        "arch": run.arch,
        "args": run.args,
        "date": rfc3339(run.started),
        "denominator": {"requests": t.requests, "gets": t.gets, "answered": t.responses, "found": t.hits},
        "services": services_json(services, true),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

pub(crate) fn write_csv(
    out: &mut impl Write,
    services: &BTreeMap<String, ServiceHistograms>,
) -> io::Result<()> {
    writeln!(
        out,
        "service,metric,count,min_us,mean_us,p50_us,p90_us,p99_us,p999_us,max_us"
    )?;
    for (name, s) in services {
        for (metric, h) in [
            ("delivery", &s.delivery),
            ("service", &s.service_time),
            ("response", &s.response),
        ] {
            let f = summary(h);
            writeln!(
                out,
                "{name},{metric},{},{},{:.1},{},{},{},{},{}",
                f.count, f.min, f.mean, f.p50, f.p90, f.p99, f.p999, f.max
            )?;
        }
    }
    Ok(())
}

fn hex(id: u64) -> String {
    format!("{id:016x}")
}

/// The high half of every 128-bit trace id of a run with this seed: the
/// seed, well mixed (splitmix64's finaliser), never zero. Within a run
/// the low half tells traces apart; between runs the high half does, so
/// two runs sent to one collector never share a trace, and `--seed`
/// gives the same ids again.
pub(crate) fn trace_id_high(seed: u64) -> u64 {
    let mut x = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x ^ (x >> 31)).max(1)
}

/// Zipkin v2 JSON (an array of spans), as the Zipkin UI loads it. A root
/// call's server span shares its id with the denominator's client span.
/// Trace ids are 128 bits, their high half from the run's `seed`.
pub(crate) fn write_flows(out: &mut impl Write, spans: &[Span], seed: u64) -> io::Result<()> {
    let high = trace_id_high(seed);
    writeln!(out, "[")?;
    for (i, s) in spans.iter().enumerate() {
        let kind = match s.kind {
            SpanKind::Client => "CLIENT",
            SpanKind::Server => "SERVER",
            SpanKind::Producer => "PRODUCER",
            SpanKind::Consumer => "CONSUMER",
        };
        let mut span = json!({
            "traceId": format!("{high:016x}{:016x}", s.trace),
            "id": hex(s.id),
            "kind": kind,
            "name": s.name.as_str(),
            "timestamp": s.start_us,
            "duration": s.duration_us.max(1),
            "localEndpoint": {"serviceName": s.service.as_str()},
            "tags": {"instance": s.instance.as_str()},
        });
        if let Some(ip) = s.ipv4 {
            span["localEndpoint"]["ipv4"] = json!(std::net::Ipv4Addr::from(ip).to_string());
        }
        if s.parent != 0 {
            span["parentId"] = json!(hex(s.parent));
        } else if s.kind == SpanKind::Server {
            span["shared"] = json!(true);
        }
        serde_json::to_writer(&mut *out, &span)?;
        writeln!(out, "{}", if i + 1 < spans.len() { "," } else { "" })?;
    }
    writeln!(out, "]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::metrics::merged_services;
    use serde_json::Value;
    use spigo_proto::cluster::{MetricsReport, ServiceReport};
    use spigo_proto::Timestamp;

    fn report() -> MetricsReport {
        MetricsReport {
            services: vec![ServiceReport {
                service: "homepage".into(),
                region: 0,
                requests: 2,
                delivery: vec![(10, 3)],
                service_time: vec![(2, 3)],
                response: vec![(200, 1), (400, 1)],
                failed: Vec::new(),
                station: Default::default(),
                edges: Vec::new(),
            }],
            ..MetricsReport::default()
        }
    }

    #[test]
    fn metrics_files_have_every_figure() {
        let run = RunInfo {
            arch: "a".into(),
            args: "[spigo]".into(),
            started: Timestamp(1),
        };
        let mut buf = Vec::new();
        let m = report();
        write_json(&mut buf, &m.traffic, &merged_services(&m), &run).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let r = &v["services"]["homepage"]["response"];
        assert_eq!(r["count"], 2);
        assert_eq!(r["min_us"], 200);
        for k in ["mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
            assert!(r[k].is_number(), "{k}");
        }
        let mut csv = Vec::new();
        write_csv(&mut csv, &merged_services(&report())).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text
            .lines()
            .nth(3)
            .unwrap()
            .starts_with("homepage,response,2,200,"));
    }

    #[test]
    fn flows_are_zipkin_v2() {
        let span = |id, parent, kind| Span {
            trace: 0xabc,
            id,
            parent,
            kind,
            name: "getrequest".into(),
            service: "www".into(),
            instance: "netflixoss.*.*.www00".into(),
            ipv4: Some([54, 198, 0, 1]),
            start_us: 1_000,
            duration_us: 0,
        };
        let spans = [
            span(1, 0, SpanKind::Client),
            span(1, 0, SpanKind::Server),
            span(2, 1, SpanKind::Server),
            span(3, 2, SpanKind::Producer),
            span(4, 3, SpanKind::Consumer),
        ];
        let mut buf = Vec::new();
        write_flows(&mut buf, &spans, 7).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let high = format!("{:016x}", trace_id_high(7));
        assert_eq!(v[0]["traceId"], format!("{high}0000000000000abc"));
        assert_eq!(v[3]["kind"], "PRODUCER");
        assert_eq!(v[4]["kind"], "CONSUMER");
        assert!(v[4].get("shared").is_none());
        assert_eq!(v[0]["kind"], "CLIENT");
        assert!(v[0].get("parentId").is_none());
        assert_eq!(v[1]["shared"], true);
        assert_eq!(v[2]["parentId"], "0000000000000001");
        assert_eq!(v[2]["duration"], 1);
        assert_eq!(v[2]["localEndpoint"]["ipv4"], "54.198.0.1");
        // Another seed, other trace ids; the same seed, the same ones.
        let mut other = Vec::new();
        write_flows(&mut other, &spans, 8).unwrap();
        let w: Value = serde_json::from_slice(&other).unwrap();
        assert_ne!(v[0]["traceId"], w[0]["traceId"]);
        assert_eq!(trace_id_high(7), trace_id_high(7));
        assert_ne!(trace_id_high(0), 0);
    }
}
