//! Work: how long an instance takes over a request and how many it takes
//! on at once.
//!
//! spigo's instances answer at once, so a response time is only network
//! latency. A service may instead say, in its architecture file or as a
//! per-package default (`-kv service_time.PACKAGE:...`), that
//!
//! - each request takes a `service_time` drawn from a distribution: fixed
//!   (`"1ms"`), exponential (`{"dist": "exp", "mean": "1ms"}`), lognormal
//!   given its mean and 99th percentile (`{"dist": "lognormal", "mean":
//!   "5ms", "p99": "50ms"}`), or an empirical list drawn from uniformly
//!   (`{"dist": "empirical", "values": ["1ms", "2ms", "9ms"]}`);
//! - an instance works on at most `concurrency` requests at once (absent:
//!   as many as arrive, so the service time is a pure delay);
//! - at most `queue` more wait for a free slot (absent: any number); one
//!   arriving when the queue is full is refused at once, as `rejected`.
//!
//! Everything here is plain data: the node's runtime holds requests for
//! their drawn time in its delay queue. Draws take their uniform numbers
//! from the caller, so this crate needs no random number generator.

use crate::time::{parse_duration, GoDuration};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The standard normal distribution's 99th percentile.
const Z99: f64 = 2.326_347_874_040_841;

/// How long one request keeps an instance busy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceTime {
    /// Always the same.
    Fixed(Duration),
    /// Exponentially distributed with this mean (queueing theory's "M").
    Exp {
        /// The mean.
        mean: Duration,
    },
    /// Lognormal with this mean and 99th percentile: a long tail, as
    /// measured service times usually have.
    LogNormal {
        /// The mean.
        mean: Duration,
        /// The 99th percentile, above the mean and at most
        /// [`LOGNORMAL_MAX_TAIL`] times it.
        p99: Duration,
    },
    /// One of these, each as likely (a measured sample replayed).
    Empirical(Vec<Duration>),
}

/// The largest p99/mean a lognormal can have: beyond e^(z²/2) no σ gives
/// that tail for that mean.
pub const LOGNORMAL_MAX_TAIL: f64 = 14.97;

impl ServiceTime {
    /// Reads a `-kv service_time.PACKAGE:` value: `1ms`, `exp:1ms`,
    /// `lognormal:5ms:50ms` or `empirical:1ms,2ms,9ms`.
    pub fn parse(v: &str) -> Result<ServiceTime, String> {
        let time = |s: &str| parse_duration(s);
        let st = match v.split_once(':') {
            None => ServiceTime::Fixed(time(v)?),
            Some(("exp", mean)) => ServiceTime::Exp { mean: time(mean)? },
            Some(("lognormal", rest)) => {
                let (mean, p99) = rest
                    .split_once(':')
                    .ok_or_else(|| format!("'{v}': lognormal needs MEAN:P99"))?;
                ServiceTime::LogNormal {
                    mean: time(mean)?,
                    p99: time(p99)?,
                }
            }
            Some(("empirical", list)) => {
                ServiceTime::Empirical(list.split(',').map(time).collect::<Result<_, _>>()?)
            }
            Some((dist, _)) => {
                return Err(format!(
                    "'{dist}' is not a distribution (fixed, exp, lognormal, empirical)"
                ))
            }
        };
        st.check()?;
        Ok(st)
    }

    /// Reads the architecture file's `service_time`: a duration string or
    /// an object with `dist`.
    pub fn from_json(v: &serde_json::Value) -> Result<ServiceTime, String> {
        let field = |key: &str| -> Result<Duration, String> {
            match v.get(key) {
                Some(serde_json::Value::String(s)) => parse_duration(s),
                Some(_) => Err(format!("service_time's {key} must be a duration string")),
                None => Err(format!("service_time needs a {key}")),
            }
        };
        let st = match v {
            serde_json::Value::String(s) => {
                ServiceTime::Fixed(parse_duration(s).map_err(|e| format!("service_time: {e}"))?)
            }
            serde_json::Value::Object(o) => match o.get("dist").and_then(|d| d.as_str()) {
                Some("fixed") => ServiceTime::Fixed(field("mean")?),
                Some("exp") => ServiceTime::Exp {
                    mean: field("mean")?,
                },
                Some("lognormal") => ServiceTime::LogNormal {
                    mean: field("mean")?,
                    p99: field("p99")?,
                },
                Some("empirical") => {
                    let list = o
                        .get("values")
                        .and_then(|l| l.as_array())
                        .ok_or("service_time's empirical needs a list of values")?;
                    let values = list.iter().map(|d| match d.as_str() {
                        Some(s) => parse_duration(s),
                        None => Err("service_time's values must be duration strings".into()),
                    });
                    ServiceTime::Empirical(values.collect::<Result<_, _>>()?)
                }
                Some(other) => {
                    return Err(format!(
                        "service_time: '{other}' is not a distribution (fixed, exp, lognormal, empirical)"
                    ))
                }
                None => return Err("service_time needs a dist".into()),
            },
            _ => return Err("service_time must be a duration string or an object".into()),
        };
        st.check()?;
        Ok(st)
    }

    /// What the file format cannot mean: an empty list, a lognormal whose
    /// tail no σ gives.
    fn check(&self) -> Result<(), String> {
        match self {
            ServiceTime::Empirical(values) if values.is_empty() => {
                Err("service_time: an empirical list needs at least one value".into())
            }
            ServiceTime::LogNormal { mean, p99 } => {
                let tail = p99.as_secs_f64() / mean.as_secs_f64();
                if mean.is_zero() || tail.is_nan() || tail <= 1.0 {
                    Err(
                        "service_time: a lognormal's p99 must be above its mean (above zero)"
                            .into(),
                    )
                } else if tail > LOGNORMAL_MAX_TAIL {
                    Err(format!(
                        "service_time: a lognormal's p99 can be at most {LOGNORMAL_MAX_TAIL}x its mean (got {tail:.1}x)"
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// The mean service time.
    pub fn mean(&self) -> Duration {
        match self {
            ServiceTime::Fixed(d) => *d,
            ServiceTime::Exp { mean } | ServiceTime::LogNormal { mean, .. } => *mean,
            ServiceTime::Empirical(v) if v.is_empty() => Duration::ZERO,
            ServiceTime::Empirical(v) => v.iter().sum::<Duration>() / v.len() as u32,
        }
    }

    /// One draw, from two uniform numbers in (0, 1]. Whatever a decoded
    /// frame carries, it returns a duration (at most an hour) and never
    /// panics.
    pub fn draw(&self, u1: f64, u2: f64) -> Duration {
        let u1 = u1.clamp(f64::MIN_POSITIVE, 1.0);
        let secs = match self {
            ServiceTime::Fixed(d) => return *d,
            ServiceTime::Exp { mean } => -u1.ln() * mean.as_secs_f64(),
            ServiceTime::LogNormal { mean, p99 } => {
                // mean = e^(μ+σ²/2) and p99 = e^(μ+zσ) give
                // σ²/2 − zσ + ln(p99/mean) = 0; the smaller root.
                let m = mean.as_secs_f64();
                let gap = (p99.as_secs_f64() / m).ln();
                let disc = Z99 * Z99 - 2.0 * gap;
                if !(disc >= 0.0 && gap > 0.0) {
                    return *mean;
                }
                let sigma = Z99 - disc.sqrt();
                let mu = m.ln() - sigma * sigma / 2.0;
                // Box–Muller: one standard normal from two uniforms.
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (mu + sigma * z).exp()
            }
            ServiceTime::Empirical(values) => {
                let n = values.len();
                if n == 0 {
                    return Duration::ZERO;
                }
                let i = ((u1 * n as f64) as usize).min(n - 1);
                return values[i];
            }
        };
        match secs.is_finite() && secs >= 0.0 {
            true => Duration::from_secs_f64(secs.min(3600.0)),
            false => self.mean(),
        }
    }
}

impl ServiceTime {
    /// As the architecture file writes it (what [`ServiceTime::from_json`]
    /// reads back).
    pub fn to_json(&self) -> serde_json::Value {
        let d = |d: &Duration| serde_json::Value::String(GoDuration(*d).to_string());
        match self {
            ServiceTime::Fixed(t) => d(t),
            ServiceTime::Exp { mean } => serde_json::json!({"dist": "exp", "mean": d(mean)}),
            ServiceTime::LogNormal { mean, p99 } => {
                serde_json::json!({"dist": "lognormal", "mean": d(mean), "p99": d(p99)})
            }
            ServiceTime::Empirical(v) => {
                let values: Vec<_> = v.iter().map(d).collect();
                serde_json::json!({"dist": "empirical", "values": values})
            }
        }
    }
}

impl fmt::Display for ServiceTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceTime::Fixed(d) => write!(f, "{}", GoDuration(*d)),
            ServiceTime::Exp { mean } => write!(f, "exp:{}", GoDuration(*mean)),
            ServiceTime::LogNormal { mean, p99 } => {
                write!(f, "lognormal:{}:{}", GoDuration(*mean), GoDuration(*p99))
            }
            ServiceTime::Empirical(v) => {
                let list: Vec<String> = v.iter().map(|d| GoDuration(*d).to_string()).collect();
                write!(f, "empirical:{}", list.join(","))
            }
        }
    }
}

/// The three parts of a work model as one place gives them (a service's
/// fields, or its package's `-kv` defaults), each optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parts {
    /// `service_time`.
    pub service_time: Option<ServiceTime>,
    /// `concurrency`.
    pub concurrency: Option<u32>,
    /// `queue`.
    pub queue: Option<u32>,
}

impl Parts {
    /// These parts, each filled in from `defaults` where absent.
    pub fn or(&self, defaults: &Parts) -> Parts {
        Parts {
            service_time: (self.service_time.clone()).or_else(|| defaults.service_time.clone()),
            concurrency: self.concurrency.or(defaults.concurrency),
            queue: self.queue.or(defaults.queue),
        }
    }

    /// Whether no part is given.
    pub fn is_empty(&self) -> bool {
        *self == Parts::default()
    }

    /// The `-kv` keys a package's defaults are read from.
    pub fn keys(package: &str) -> [String; 3] {
        ["service_time", "concurrency", "queue"].map(|k| format!("{k}.{package}"))
    }

    /// Sets the part `what` (`service_time`, `concurrency` or `queue`)
    /// from a `-kv` value.
    pub fn set(&mut self, what: &str, value: &str) -> Result<(), String> {
        let count = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("'{v}' is not a whole number"))
        };
        match what {
            "service_time" => self.service_time = Some(ServiceTime::parse(value)?),
            "concurrency" => self.concurrency = Some(count(value)?),
            "queue" => self.queue = Some(count(value)?),
            other => return Err(format!("'{other}' is not part of a work model")),
        }
        Ok(())
    }

    /// The model these parts make, `None` when they give none.
    pub fn work(&self) -> Result<Option<Work>, String> {
        Work::of(self.service_time.clone(), self.concurrency, self.queue)
    }
}

/// A service's work model: what every instance of it is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// How long each request keeps an instance busy.
    pub service_time: ServiceTime,
    /// Requests one instance works on at once; `None`: no limit.
    pub concurrency: Option<u32>,
    /// Requests that may wait beyond `concurrency`; `None`: no limit.
    pub queue: Option<u32>,
}

impl Work {
    /// A model from its parts, each optional (a service's own fields, or
    /// its package's defaults); `None` when none is given, so services
    /// that say nothing run as spigo's do. A queue needs a concurrency:
    /// without one, nothing ever waits.
    pub fn of(
        service_time: Option<ServiceTime>,
        concurrency: Option<u32>,
        queue: Option<u32>,
    ) -> Result<Option<Work>, String> {
        if concurrency == Some(0) {
            return Err("concurrency must be at least 1".into());
        }
        if queue.is_some() && concurrency.is_none() {
            return Err("queue needs a concurrency (without one nothing waits)".into());
        }
        if service_time.is_none() && concurrency.is_none() {
            return Ok(None);
        }
        Ok(Some(Work {
            service_time: service_time.unwrap_or(ServiceTime::Fixed(Duration::ZERO)),
            concurrency,
            queue,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn settings_and_file_values_read_alike() {
        let json = |s: &str| ServiceTime::from_json(&serde_json::from_str(s).unwrap());
        assert_eq!(ServiceTime::parse("1ms"), Ok(ServiceTime::Fixed(ms(1))));
        assert_eq!(json(r#""1ms""#), Ok(ServiceTime::Fixed(ms(1))));
        assert_eq!(
            ServiceTime::parse("exp:1ms"),
            json(r#"{"dist":"exp","mean":"1ms"}"#)
        );
        let logn = ServiceTime::LogNormal {
            mean: ms(5),
            p99: ms(50),
        };
        assert_eq!(ServiceTime::parse("lognormal:5ms:50ms"), Ok(logn.clone()));
        assert_eq!(
            json(r#"{"dist":"lognormal","mean":"5ms","p99":"50ms"}"#),
            Ok(logn)
        );
        let emp = ServiceTime::Empirical(vec![ms(1), ms(2), ms(9)]);
        assert_eq!(ServiceTime::parse("empirical:1ms,2ms,9ms"), Ok(emp.clone()));
        assert_eq!(
            json(r#"{"dist":"empirical","values":["1ms","2ms","9ms"]}"#),
            Ok(emp.clone())
        );
        assert_eq!(ServiceTime::parse(&emp.to_string()), Ok(emp));
        for bad in [
            "uniform:1ms",
            "exp:soon",
            "lognormal:5ms",
            "lognormal:5ms:1ms",
            "lognormal:1ms:100ms",
            "empirical:",
        ] {
            assert!(ServiceTime::parse(bad).is_err(), "{bad}");
        }
        assert!(json("3").is_err());
        assert!(json(r#"{"mean":"1ms"}"#).unwrap_err().contains("dist"));
        assert!(json(r#"{"dist":"exp"}"#).unwrap_err().contains("mean"));
    }

    /// Many draws from each distribution have the mean (and, for the
    /// lognormal, the 99th percentile) they were given.
    #[test]
    fn draws_have_the_moments_asked_for() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut uniform = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 200_000;
        let sample = |st: &ServiceTime, uniform: &mut dyn FnMut() -> f64| {
            let mut v: Vec<f64> = (0..n)
                .map(|_| st.draw(uniform(), uniform()).as_secs_f64() * 1e3)
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let exp = sample(&ServiceTime::Exp { mean: ms(1) }, &mut uniform);
        assert!((mean(&exp) - 1.0).abs() < 0.01, "{}", mean(&exp));
        let logn = ServiceTime::LogNormal {
            mean: ms(5),
            p99: ms(50),
        };
        let l = sample(&logn, &mut uniform);
        assert!((mean(&l) / 5.0 - 1.0).abs() < 0.03, "{}", mean(&l));
        let p99 = l[n * 99 / 100];
        assert!((p99 / 50.0 - 1.0).abs() < 0.03, "{p99}");
        let emp = ServiceTime::Empirical(vec![ms(1), ms(2), ms(9)]);
        assert!((mean(&sample(&emp, &mut uniform)) - 4.0).abs() < 0.05);
        assert_eq!(emp.mean(), ms(4));
        // Values no parse gives still draw something.
        assert_eq!(
            ServiceTime::Empirical(vec![]).draw(0.5, 0.5),
            Duration::ZERO
        );
        let odd = ServiceTime::LogNormal {
            mean: ms(1),
            p99: ms(1),
        };
        assert_eq!(odd.draw(f64::NAN, 0.5), ms(1));
    }

    #[test]
    fn a_model_needs_something_to_model() {
        assert_eq!(Work::of(None, None, None), Ok(None));
        let w = Work::of(None, Some(2), Some(3)).unwrap().unwrap();
        assert_eq!(w.service_time, ServiceTime::Fixed(Duration::ZERO));
        assert!(Work::of(None, None, Some(3)).unwrap_err().contains("queue"));
        assert!(Work::of(None, Some(0), None).is_err());
    }
}
