//! The run second by second, as numbers: what the timeline picture draws,
//! for every service and every guarded dependency, not only the busiest.
//! `run/timeline.rs` samples it; it goes into `summary.json` (`series`)
//! and, with `-c`, into `json_metrics/<arch>_series.json` and
//! `<arch>_series.csv` (one row per figure and second, for a spreadsheet
//! or pandas).
//!
//! Every list of a series has one value per sample, in `t_s` order, so
//! the lists line up; a second without answers has no percentile (null),
//! a service without a work model has no `work`.

use serde::Serialize;
use spigo_proto::cluster::EdgeReport;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The whole run's series.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Series {
    /// Seconds of simulated time at each sample's end (a sample covers a
    /// second, or a tenth of a run shorter than ten seconds).
    pub t_s: Vec<f64>,
    /// Requests the denominators sent per second (messages, for pirates).
    pub requests: Vec<f64>,
    /// Gets failed and puts lost per second, any reason.
    pub errors: Vec<f64>,
    /// The denominators' response times over each sample.
    pub p50_ms: Vec<Option<f64>>,
    pub p99_ms: Vec<Option<f64>>,
    pub services: BTreeMap<String, ServiceSeries>,
    /// What the series lack and why (a node lost: its figures are
    /// missing from then on), as the timeline picture says it.
    pub missing: Vec<String>,
}

/// One service's series.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct ServiceSeries {
    /// Requests its instances received per second.
    pub requests: Vec<f64>,
    /// Requests they answered as failed (or dropped) per second, and of
    /// those the ones a full queue rejected.
    pub failed: Vec<f64>,
    pub rejected: Vec<f64>,
    /// Time in system (arrival to answer) over each sample.
    pub p50_ms: Vec<Option<f64>>,
    pub p99_ms: Vec<Option<f64>>,
    /// Its work model's figures; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<WorkSeries>,
    /// Its guarded calls, by dependency; empty without resilience settings.
    pub dependencies: BTreeMap<String, EdgeSeries>,
}

/// See [`super::rates::WorkRates`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct WorkSeries {
    pub utilisation: Vec<Option<f64>>,
    pub throughput: Vec<f64>,
    pub in_system: Vec<f64>,
    pub queue: Vec<f64>,
}

/// A caller's attempts on one dependency, per second (see
/// [`EdgeReport`]), and its breakers open at each sample's end.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct EdgeSeries {
    pub calls: Vec<f64>,
    pub ok: Vec<f64>,
    pub failed: Vec<f64>,
    pub timeout: Vec<f64>,
    pub late: Vec<f64>,
    pub retried: Vec<f64>,
    pub short_circuited: Vec<f64>,
    pub fallback: Vec<f64>,
    pub breakers_open: Vec<u64>,
}

/// Values that are all known, as a list that may have unknown ones.
fn known(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|&x| Some(x)).collect()
}

impl EdgeSeries {
    /// Appends one sample's counts, over `secs` seconds.
    pub(crate) fn push(&mut self, c: &EdgeReport, secs: f64) {
        let per_s = |n: u64| n as f64 / secs;
        self.calls.push(per_s(c.calls));
        self.ok.push(per_s(c.ok));
        self.failed.push(per_s(c.failed));
        self.timeout.push(per_s(c.timeout));
        self.late.push(per_s(c.late));
        self.retried.push(per_s(c.retried));
        self.short_circuited.push(per_s(c.short_circuited));
        self.fallback.push(per_s(c.fallback));
        self.breakers_open.push(c.open);
    }

    fn columns(&self) -> [(&'static str, Vec<Option<f64>>); 9] {
        [
            ("calls", known(&self.calls)),
            ("ok", known(&self.ok)),
            ("failed", known(&self.failed)),
            ("timeout", known(&self.timeout)),
            ("late", known(&self.late)),
            ("retried", known(&self.retried)),
            ("short_circuited", known(&self.short_circuited)),
            ("fallback", known(&self.fallback)),
            (
                "breakers_open",
                self.breakers_open.iter().map(|&n| Some(n as f64)).collect(),
            ),
        ]
    }
}

impl ServiceSeries {
    fn columns(&self) -> Vec<(&'static str, Vec<Option<f64>>)> {
        let mut c = vec![
            ("requests", known(&self.requests)),
            ("failed", known(&self.failed)),
            ("rejected", known(&self.rejected)),
            ("p50_ms", self.p50_ms.clone()),
            ("p99_ms", self.p99_ms.clone()),
        ];
        if let Some(w) = &self.work {
            c.push(("utilisation", w.utilisation.clone()));
            c.push(("throughput", known(&w.throughput)));
            c.push(("in_system", known(&w.in_system)));
            c.push(("queue", known(&w.queue)));
        }
        c
    }
}

impl Series {
    /// Writes the series as CSV: `t_s,service,dependency,figure,value`, the
    /// run's own rows with an empty service, an unknown value empty.
    pub(crate) fn write_csv(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "t_s,service,dependency,figure,value")?;
        let run = [
            ("requests", known(&self.requests)),
            ("errors", known(&self.errors)),
            ("p50_ms", self.p50_ms.clone()),
            ("p99_ms", self.p99_ms.clone()),
        ];
        let mut rows = |service: &str, dep: &str, figure: &str, values: &[Option<f64>]| {
            for (t, v) in self.t_s.iter().zip(values) {
                let v = v.map(|v| format!("{v}")).unwrap_or_default();
                writeln!(out, "{t},{service},{dep},{figure},{v}")?;
            }
            Ok::<(), io::Error>(())
        };
        for (figure, values) in &run {
            rows("", "", figure, values)?;
        }
        for (name, s) in &self.services {
            for (figure, values) in s.columns() {
                rows(name, "", figure, &values)?;
            }
            for (dep, e) in &s.dependencies {
                for (figure, values) in e.columns() {
                    rows(name, dep, figure, &values)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_row_per_figure_and_second() {
        let mut edge = EdgeSeries::default();
        let c = EdgeReport {
            calls: 10,
            timeout: 4,
            open: 2,
            ..Default::default()
        };
        edge.push(&c, 0.5);
        edge.push(&EdgeReport::default(), 0.5);
        let s = Series {
            t_s: vec![0.5, 1.0],
            requests: vec![100.0, 100.0],
            errors: vec![0.0, 8.0],
            p50_ms: vec![Some(1.5), None],
            p99_ms: vec![Some(4.0), None],
            services: BTreeMap::from([(
                "api".to_string(),
                ServiceSeries {
                    requests: vec![100.0, 100.0],
                    failed: vec![0.0, 8.0],
                    rejected: vec![0.0, 0.0],
                    p50_ms: vec![Some(1.0), None],
                    p99_ms: vec![Some(3.0), None],
                    work: None,
                    dependencies: BTreeMap::from([("db".to_string(), edge)]),
                },
            )]),
            missing: Vec::new(),
        };
        let mut out = Vec::new();
        s.write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // A header, then 2 seconds of 4 run figures, 5 service figures and
        // 9 edge figures.
        assert_eq!(lines.len(), 1 + 2 * (4 + 5 + 9));
        assert!(lines.contains(&"0.5,api,db,calls,20"));
        assert!(lines.contains(&"0.5,api,db,breakers_open,2"));
        assert!(lines.contains(&"1,,,p99_ms,"));
        assert_eq!(
            serde_json::to_value(&s).unwrap()["services"]["api"]["dependencies"]["db"]["timeout"]
                [0],
            8.0
        );
    }
}
