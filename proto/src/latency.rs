//! The latency model: how long a message takes between two locations.
//!
//! One-way latency is half the round-trip time of the pair of locations:
//! the same zone, two zones of one region, or two regions (a full matrix).
//! Global instances (region `*`) sit in the first region; a cross-zone
//! instance (zone `*`, an ELB) has a presence in every zone of its region,
//! so it is never a zone away. Optional jitter adds a random extra, never
//! less than the model.
//!
//! Default round trips (`--latency aws`), in milliseconds, rounded:
//! - same zone 0.45 and across zones of a region 1.3: AWS's own guidance
//!   (single-digit-millisecond, typically ~1 ms, between AZs; tens to
//!   hundreds of microseconds within one) and measurements such as
//!   `ping` between instances in the same and in different AZs.
//! - between regions: the median round trips published by cloudping.co
//!   (AWS inter-region latency, p50), with the pairs named in spigo's
//!   latency issue taken as given: us-east-1 to us-west-2 87, to eu-west-1
//!   81, us-west-2 to eu-west-1 137, eu-west-1 to eu-central-1 20,
//!   ap-southeast-1 to ap-southeast-2 175, us-east-1 to ap-southeast-2 230.

use crate::archaius::{Location, Region, ANY};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Round trips between the six default regions, in milliseconds.
const AWS_RTT_MS: [(&str, &str, f64); 15] = [
    ("us-east-1", "us-west-2", 87.0),
    ("us-east-1", "eu-west-1", 81.0),
    ("us-east-1", "eu-central-1", 92.0),
    ("us-east-1", "ap-southeast-1", 225.0),
    ("us-east-1", "ap-southeast-2", 230.0),
    ("us-west-2", "eu-west-1", 137.0),
    ("us-west-2", "eu-central-1", 145.0),
    ("us-west-2", "ap-southeast-1", 165.0),
    ("us-west-2", "ap-southeast-2", 140.0),
    ("eu-west-1", "eu-central-1", 20.0),
    ("eu-west-1", "ap-southeast-1", 175.0),
    ("eu-west-1", "ap-southeast-2", 255.0),
    ("eu-central-1", "ap-southeast-1", 160.0),
    ("eu-central-1", "ap-southeast-2", 250.0),
    ("ap-southeast-1", "ap-southeast-2", 175.0),
];
const AWS_INTRA_ZONE_MS: f64 = 0.45;
const AWS_CROSS_ZONE_MS: f64 = 1.3;

/// A resolved model: figures by region index of the run's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyModel {
    /// Round trip between two instances of one zone.
    pub intra_zone_rtt: Duration,
    /// Round trip between two zones of one region.
    pub cross_zone_rtt: Duration,
    /// `rtt[a][b]`, symmetric; the diagonal is unused.
    pub rtt: Vec<Vec<Duration>>,
    /// Mean of the extra delay, as a fraction of the one-way figure
    /// (exponentially distributed, so most messages get little).
    pub jitter: f64,
}

/// Why a latency model could not be made; each names where the figures
/// came from (a file, `--latency aws`, or `--latency-scale`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LatencyError {
    /// The file is not JSON, or not shaped like a latency file.
    #[error("{file}: not a latency file: {msg}")]
    Json {
        /// The file, as errors name it.
        file: String,
        /// What the JSON reader found.
        msg: String,
    },
    /// No figure for a pair of the configuration's regions, so messages
    /// between them would have no latency.
    #[error("{file}: no round-trip figure for {a} <-> {b}")]
    Missing {
        /// The file, or `--latency aws` for the defaults.
        file: String,
        /// One region of the pair.
        a: String,
        /// The other region.
        b: String,
    },
    /// A pair is given in both orders with different figures.
    #[error("{file}: {a} <-> {b} is given as {x}ms and {y}ms")]
    Disagree {
        /// The file, as errors name it.
        file: String,
        /// One region of the pair.
        a: String,
        /// The other region.
        b: String,
        /// The figure given from `a` to `b`, in milliseconds.
        x: f64,
        /// The figure given from `b` to `a`, in milliseconds.
        y: f64,
    },
    /// A figure or the jitter is out of range, or not a number.
    #[error("{file}: {what} must be a number from 0 to {max}, got {value:?}")]
    Value {
        /// The file, or `--latency aws` for the defaults.
        file: String,
        /// Which figure: a field name or a region pair.
        what: String,
        /// The value given.
        value: f64,
        /// The largest allowed.
        max: f64,
    },
    /// `--latency-scale` is negative or not finite (the value given).
    #[error("--latency-scale: {0} must be a finite number at least 0")]
    Scale(f64),
    /// `--latency-scale` would push a round trip past [`MAX_RTT_MS`] (the
    /// value given).
    #[error("--latency-scale: {0:?} makes a round trip longer than {MAX_RTT_MS}ms")]
    ScaleTooBig(f64),
}

/// A latency file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    intra_zone_ms: f64,
    cross_zone_ms: f64,
    #[serde(default)]
    jitter: f64,
    /// Round trips by region pair; each pair once, in either order.
    regions: BTreeMap<String, BTreeMap<String, f64>>,
}

/// The longest round trip a model may hold (an hour). Anything slower is a
/// typo, and the bound keeps every later multiplication (scale, jitter) and
/// every deadline inside `Duration`'s and `Instant`'s range.
pub const MAX_RTT_MS: f64 = 3_600_000.0;
/// The largest mean jitter, as a fraction of the one-way figure.
pub const MAX_JITTER: f64 = 100.0;

fn ms(value: f64) -> Duration {
    Duration::from_secs_f64(value / 1e3)
}

impl LatencyModel {
    /// The default figures, for the given regions (an error names a region
    /// pair the defaults do not know).
    pub fn aws(regions: &[Region]) -> Result<LatencyModel, LatencyError> {
        let mut table: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        for (a, b, v) in AWS_RTT_MS {
            table.entry(a.into()).or_default().insert(b.into(), v);
        }
        Self::build(
            AWS_INTRA_ZONE_MS,
            AWS_CROSS_ZONE_MS,
            0.0,
            &table,
            regions,
            "--latency aws",
        )
    }

    /// A model read from a JSON latency file.
    pub fn parse(text: &str, file: &str, regions: &[Region]) -> Result<LatencyModel, LatencyError> {
        let f: File = serde_json::from_str(text).map_err(|e| LatencyError::Json {
            file: file.into(),
            msg: e.to_string(),
        })?;
        Self::build(
            f.intra_zone_ms,
            f.cross_zone_ms,
            f.jitter,
            &f.regions,
            regions,
            file,
        )
    }

    fn build(
        intra: f64,
        cross: f64,
        jitter: f64,
        table: &BTreeMap<String, BTreeMap<String, f64>>,
        regions: &[Region],
        file: &str,
    ) -> Result<LatencyModel, LatencyError> {
        let check = |what: &str, v: f64| {
            let max = if what == "jitter" {
                MAX_JITTER
            } else {
                MAX_RTT_MS
            };
            // Written so that NaN fails too.
            if (0.0..=max).contains(&v) {
                Ok(v)
            } else {
                Err(LatencyError::Value {
                    file: file.into(),
                    what: what.into(),
                    value: v,
                    max,
                })
            }
        };
        let (intra, cross) = (
            check("intra_zone_ms", intra)?,
            check("cross_zone_ms", cross)?,
        );
        let jitter = check("jitter", jitter)?;
        let get = |a: &str, b: &str| table.get(a).and_then(|m| m.get(b)).copied();
        let n = regions.len();
        let mut rtt = vec![vec![Duration::ZERO; n]; n];
        for i in 0..n {
            for j in (i + 1)..n {
                let (a, b) = (&regions[i].name, &regions[j].name);
                let v = match (get(a, b), get(b, a)) {
                    (Some(x), Some(y)) if x != y => {
                        return Err(LatencyError::Disagree {
                            file: file.into(),
                            a: a.clone(),
                            b: b.clone(),
                            x,
                            y,
                        })
                    }
                    (Some(x), _) | (None, Some(x)) => check(&format!("{a} <-> {b}"), x)?,
                    (None, None) => {
                        return Err(LatencyError::Missing {
                            file: file.into(),
                            a: a.clone(),
                            b: b.clone(),
                        })
                    }
                };
                rtt[i][j] = ms(v);
                rtt[j][i] = ms(v);
            }
        }
        Ok(LatencyModel {
            intra_zone_rtt: ms(intra),
            cross_zone_rtt: ms(cross),
            rtt,
            jitter,
        })
    }

    /// Multiplies every figure by `x` (0 turns the model off).
    pub fn scaled(mut self, x: f64) -> Result<LatencyModel, LatencyError> {
        if !x.is_finite() || x < 0.0 {
            return Err(LatencyError::Scale(x));
        }
        if self.longest().as_secs_f64() * 1e3 * x > MAX_RTT_MS {
            return Err(LatencyError::ScaleTooBig(x));
        }
        self.intra_zone_rtt = self.intra_zone_rtt.mul_f64(x);
        self.cross_zone_rtt = self.cross_zone_rtt.mul_f64(x);
        for row in &mut self.rtt {
            for v in row {
                *v = v.mul_f64(x);
            }
        }
        Ok(self)
    }

    fn longest(&self) -> Duration {
        self.rtt
            .iter()
            .flatten()
            .chain([&self.intra_zone_rtt, &self.cross_zone_rtt])
            .copied()
            .max()
            .unwrap_or_default()
    }

    /// Whether a model that arrived over the wire is within the limits a
    /// file is held to (a square table, figures and jitter in range).
    pub fn check(&self) -> Result<(), String> {
        let n = self.rtt.len();
        if self.rtt.iter().any(|row| row.len() != n) {
            return Err("latency table is not square".into());
        }
        if self.longest().as_secs_f64() * 1e3 > MAX_RTT_MS {
            return Err(format!("a round trip longer than {MAX_RTT_MS}ms"));
        }
        if !(0.0..=MAX_JITTER).contains(&self.jitter) {
            return Err(format!(
                "jitter {} is not from 0 to {MAX_JITTER}",
                self.jitter
            ));
        }
        Ok(())
    }

    /// The region a location counts as: global instances sit in the first.
    pub fn region_of(at: Location) -> u8 {
        if at.region == ANY {
            0
        } else {
            at.region
        }
    }

    /// One-way latency from `a` to `b`, before jitter.
    pub fn one_way(&self, a: Location, b: Location) -> Duration {
        let (ra, rb) = (Self::region_of(a) as usize, Self::region_of(b) as usize);
        let rtt = if ra != rb {
            self.rtt
                .get(ra)
                .and_then(|row| row.get(rb))
                .copied()
                .unwrap_or(Duration::ZERO)
        } else if a.zone == b.zone || a.zone == ANY || b.zone == ANY {
            self.intra_zone_rtt
        } else {
            self.cross_zone_rtt
        };
        rtt / 2
    }

    /// One-way latency with jitter: `u` is a uniform sample in (0, 1].
    pub fn with_jitter(&self, base: Duration, u: f64) -> Duration {
        if self.jitter <= 0.0 {
            return base;
        }
        let extra = -u.max(f64::MIN_POSITIVE).ln() * self.jitter;
        base.mul_f64(1.0 + extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archaius::default_regions;

    fn l(r: u8, z: u8) -> Location {
        Location::new(r, z)
    }

    #[test]
    fn defaults_are_symmetric_halves_of_round_trips() {
        let m = LatencyModel::aws(&default_regions()).unwrap();
        assert_eq!(m.one_way(l(0, 1), l(1, 2)), Duration::from_micros(43_500));
        assert_eq!(m.one_way(l(1, 0), l(0, 0)), Duration::from_micros(43_500));
        assert_eq!(m.one_way(l(0, 0), l(0, 0)), Duration::from_micros(225));
        assert_eq!(m.one_way(l(0, 0), l(0, 2)), Duration::from_micros(650));
        assert_eq!(m.one_way(l(2, 0), l(3, 0)), Duration::from_millis(10));
        assert_eq!(m.one_way(l(0, 0), l(5, 0)), Duration::from_millis(115));
        for a in 0..6 {
            for b in 0..6 {
                assert_eq!(m.one_way(l(a, 0), l(b, 1)), m.one_way(l(b, 1), l(a, 0)));
            }
        }
        // Global instances sit in the first region; cross-zone ones are in every zone.
        assert_eq!(
            m.one_way(Location::GLOBAL, l(1, 0)),
            Duration::from_micros(43_500)
        );
        assert_eq!(m.one_way(l(0, ANY), l(0, 2)), Duration::from_micros(225));
    }

    #[test]
    fn scaling_and_jitter() {
        let m = LatencyModel::aws(&default_regions())
            .unwrap()
            .scaled(2.0)
            .unwrap();
        assert_eq!(m.one_way(l(0, 0), l(1, 0)), Duration::from_millis(87));
        let off = m.clone().scaled(0.0).unwrap();
        assert_eq!(off.one_way(l(0, 0), l(1, 0)), Duration::ZERO);
        assert!(m.clone().scaled(-1.0).is_err());
        let base = Duration::from_millis(10);
        assert_eq!(m.with_jitter(base, 0.5), base, "no jitter configured");
        let j = LatencyModel { jitter: 0.1, ..m };
        assert_eq!(j.with_jitter(base, 1.0), base);
        assert!(j.with_jitter(base, 0.01) > base);
    }

    #[test]
    fn files_are_parsed_and_checked() {
        let regions = &default_regions()[..3];
        let good = r#"{"intra_zone_ms": 0.5, "cross_zone_ms": 2, "jitter": 0.1,
            "regions": {"us-east-1": {"us-west-2": 70, "eu-west-1": 80},
                        "eu-west-1": {"us-west-2": 140}}}"#;
        let m = LatencyModel::parse(good, "lat.json", regions).unwrap();
        assert_eq!(m.one_way(l(2, 0), l(1, 0)), Duration::from_millis(70));
        assert_eq!(m.jitter, 0.1);
        let missing = good.replace(", \"eu-west-1\": 80", "");
        assert_eq!(
            LatencyModel::parse(&missing, "lat.json", regions)
                .unwrap_err()
                .to_string(),
            "lat.json: no round-trip figure for us-east-1 <-> eu-west-1"
        );
        let twice = good.replace(
            "\"us-west-2\": 140",
            "\"us-west-2\": 140, \"us-east-1\": 81",
        );
        assert!(matches!(
            LatencyModel::parse(&twice, "lat.json", regions),
            Err(LatencyError::Disagree { .. })
        ));
        let negative = good.replace("0.5", "-1");
        assert!(LatencyModel::parse(&negative, "lat.json", regions)
            .unwrap_err()
            .to_string()
            .contains("intra_zone_ms"));
        let e = LatencyModel::parse("{", "lat.json", regions)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("lat.json: not a latency file"), "{e}");
        assert!(LatencyModel::parse(r#"{"intra_zone_ms":1}"#, "f", regions).is_err());
    }

    /// Figures too big for a Duration, and NaN, are refused, not a panic.
    #[test]
    fn absurd_figures_are_refused() {
        let regions = &default_regions()[..2];
        let file = |intra: &str, jitter: &str| {
            format!(
                r#"{{"intra_zone_ms": {intra}, "cross_zone_ms": 2, "jitter": {jitter},
                    "regions": {{"us-east-1": {{"us-west-2": 70}}}}}}"#
            )
        };
        let e = LatencyModel::parse(&file("1e300", "0"), "lat.json", regions)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "lat.json: intra_zone_ms must be a number from 0 to 3600000, got 1e300"
        );
        let e = LatencyModel::parse(&file("1", "1e9"), "lat.json", regions).unwrap_err();
        assert!(e.to_string().contains("jitter"), "{e}");
        let m = LatencyModel::parse(&file("1", "100"), "lat.json", regions).unwrap();
        assert!(m.with_jitter(Duration::from_secs(1800), 0.0) > Duration::from_secs(1800));
        assert!(matches!(
            m.clone().scaled(1e300),
            Err(LatencyError::ScaleTooBig(_))
        ));
        assert!(m.check().is_ok());
        let nan = LatencyModel {
            jitter: f64::NAN,
            ..m.clone()
        };
        assert!(nan.check().is_err());
        let ragged = LatencyModel {
            rtt: vec![vec![Duration::ZERO; 2]],
            ..m.clone()
        };
        assert!(ragged.check().is_err());
        let slow = LatencyModel {
            intra_zone_rtt: Duration::from_secs(100_000),
            ..m
        };
        assert!(slow.check().is_err());
    }

    #[test]
    fn renamed_regions_need_their_own_figures() {
        let mut regions = default_regions();
        regions[1].name = "mars-1".into();
        let e = LatencyModel::aws(&regions).unwrap_err().to_string();
        assert_eq!(
            e,
            "--latency aws: no round-trip figure for us-east-1 <-> mars-1"
        );
    }
}
