//! Client-side resilience: what a caller does when a dependency is slow or
//! failing, as Netflix's Ribbon (the client-side load balancer: timeouts,
//! retries on another instance) and Hystrix (the latency and fault
//! tolerance library: circuit breakers, fallbacks) do for karyon and zuul.
//!
//! A service in an architecture file may say, for the calls it makes:
//!
//! ```json
//! "resilience": {
//!   "timeout": "100ms",
//!   "retries": 1, "backoff": "exp:10ms",
//!   "circuit_breaker": {"error_percent": 50, "window": "10s", "volume": 20, "sleep": "5s"},
//!   "fallback": "empty"
//! },
//! "resilience_for": {"subscriber": {"timeout": "50ms"}}
//! ```
//!
//! `resilience` covers every dependency; `resilience_for` replaces it for
//! the dependencies it names. Everything is off by default, so spigo's own
//! behaviour stays the default. Only gets are covered: a put is fire and
//! forget, with no answer to wait for. This file holds the settings and
//! their parsing; the caller's state (breakers, attempts) lives in the
//! node's service core.

use crate::time::{parse_duration, GoDuration};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// How long to wait before retrying, by attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backoff {
    /// The same each time (`fixed:10ms`, or just `10ms`).
    Fixed(Duration),
    /// Doubling from this (`exp:10ms`: 10, 20, 40 ms ...).
    Exponential(Duration),
    /// Doubling, each wait drawn uniformly between none and that
    /// (`jitter:10ms`, AWS's "full jitter"), so callers that failed
    /// together do not retry together.
    Jittered(Duration),
}

impl Backoff {
    /// Reads `10ms`, `fixed:10ms`, `exp:10ms` or `jitter:10ms`.
    pub fn parse(v: &str) -> Result<Backoff, String> {
        let b = match v.split_once(':') {
            None => Backoff::Fixed(parse_duration(v)?),
            Some(("fixed", d)) => Backoff::Fixed(parse_duration(d)?),
            Some(("exp", d)) => Backoff::Exponential(parse_duration(d)?),
            Some(("jitter", d)) => Backoff::Jittered(parse_duration(d)?),
            Some((kind, _)) => {
                return Err(format!(
                    "backoff '{kind}' is not fixed, exp or jitter (e.g. exp:10ms)"
                ))
            }
        };
        Ok(b)
    }

    /// The wait before retry `retry` (0 = the first retry); `uniform` in
    /// [0, 1) is used by the jittered kind.
    pub fn wait(self, retry: u32, uniform: f64) -> Duration {
        let doubled = |d: Duration| d.saturating_mul(1u32 << retry.min(16));
        match self {
            Backoff::Fixed(d) => d,
            Backoff::Exponential(d) => doubled(d),
            Backoff::Jittered(d) => doubled(d).mul_f64(uniform.clamp(0.0, 1.0)),
        }
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backoff::Fixed(d) => write!(f, "fixed:{}", GoDuration(*d)),
            Backoff::Exponential(d) => write!(f, "exp:{}", GoDuration(*d)),
            Backoff::Jittered(d) => write!(f, "jitter:{}", GoDuration(*d)),
        }
    }
}

/// Hystrix's circuit breaker: over a rolling `window`, once at least
/// `volume` calls were made and at least `error_percent` of them failed, it
/// opens; calls are then not made (short-circuited) until `sleep` has
/// passed, when one probe goes through (half-open): its success closes the
/// breaker, its failure opens it for another `sleep`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaker {
    /// Percentage of failed calls that opens it, 1 to 100 (Hystrix's
    /// errorThresholdPercentage).
    pub error_percent: u32,
    /// How far back it counts (in ten buckets, as Hystrix does).
    pub window: Duration,
    /// Calls in the window below which it never opens.
    pub volume: u32,
    /// How long it stays open before a probe.
    pub sleep: Duration,
}

/// Hystrix's defaults: 50% over 10 s, at least 20 calls, 5 s asleep.
pub const BREAKER_DEFAULT: Breaker = Breaker {
    error_percent: 50,
    window: Duration::from_secs(10),
    volume: 20,
    sleep: Duration::from_secs(5),
};

/// What a caller answers when the call failed for good (timed out, every
/// retry failed, or short-circuited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fallback {
    /// Pass the failure on (the default).
    #[default]
    Fail,
    /// Answer as if the key had no value.
    Empty,
    /// Answer the value this instance last got for the key from that
    /// dependency, if it has one; else fail.
    Cache,
}

impl Fallback {
    fn parse(v: &str) -> Result<Fallback, String> {
        match v {
            "fail" => Ok(Fallback::Fail),
            "empty" => Ok(Fallback::Empty),
            "cache" => Ok(Fallback::Cache),
            other => Err(format!("fallback '{other}' is not fail, empty or cache")),
        }
    }

    /// Its name in the architecture file.
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::Fail => "fail",
            Fallback::Empty => "empty",
            Fallback::Cache => "cache",
        }
    }
}

/// What a caller does about one dependency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resilience {
    /// Each attempt's timeout (Ribbon's ReadTimeout); none: wait as long
    /// as the request lives.
    pub timeout: Option<Duration>,
    /// Attempts after the first, each on the next instance of the
    /// dependency (Ribbon's MaxAutoRetriesNextServer).
    pub retries: u32,
    /// The wait before each retry; none: at once.
    pub backoff: Option<Backoff>,
    /// The circuit breaker; none: every call is made.
    pub breaker: Option<Breaker>,
    /// What to answer when the call failed for good.
    pub fallback: Fallback,
}

/// The most retries a call may make.
pub const MAX_RETRIES: u32 = 10;

impl Resilience {
    /// Reads one settings object (`resilience`, or an entry of
    /// `resilience_for`).
    pub fn from_json(v: &serde_json::Value) -> Result<Resilience, String> {
        let obj = v
            .as_object()
            .ok_or("resilience must be an object of settings")?;
        let text = |key: &str| -> Result<Option<&str>, String> {
            match obj.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(format!("resilience's {key} must be a string")),
            }
        };
        let duration = |key: &str| -> Result<Option<Duration>, String> {
            (text(key)?)
                .map(|s| parse_duration(s).map_err(|e| format!("resilience's {key}: {e}")))
                .transpose()
        };
        for key in obj.keys() {
            if ![
                "timeout",
                "retries",
                "backoff",
                "circuit_breaker",
                "fallback",
            ]
            .contains(&key.as_str())
            {
                return Err(format!(
                    "resilience has no setting '{key}' (timeout, retries, backoff, circuit_breaker, fallback)"
                ));
            }
        }
        let timeout = duration("timeout")?;
        if timeout == Some(Duration::ZERO) {
            return Err("resilience's timeout must be above zero".into());
        }
        let retries = match obj.get("retries") {
            None | Some(serde_json::Value::Null) => 0,
            Some(n) => n
                .as_u64()
                .filter(|&n| n <= u64::from(MAX_RETRIES))
                .ok_or_else(|| {
                    format!("resilience's retries must be a whole number from 0 to {MAX_RETRIES}")
                })? as u32,
        };
        let backoff = (text("backoff")?)
            .map(|b| Backoff::parse(b).map_err(|e| format!("resilience's {e}")))
            .transpose()?;
        let breaker = match obj.get("circuit_breaker") {
            None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => None,
            Some(serde_json::Value::Bool(true)) => Some(BREAKER_DEFAULT),
            Some(b) => Some(breaker_from_json(b)?),
        };
        let fallback = (text("fallback")?)
            .map(|f| Fallback::parse(f).map_err(|e| format!("resilience's {e}")))
            .transpose()?
            .unwrap_or_default();
        Ok(Resilience {
            timeout,
            retries,
            backoff,
            breaker,
            fallback,
        })
    }

    /// The settings as the architecture file writes them.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        let d = |d: Duration| serde_json::Value::String(GoDuration(d).to_string());
        if let Some(t) = self.timeout {
            m.insert("timeout".into(), d(t));
        }
        if self.retries > 0 {
            m.insert("retries".into(), self.retries.into());
        }
        if let Some(b) = self.backoff {
            m.insert("backoff".into(), b.to_string().into());
        }
        if let Some(b) = self.breaker {
            m.insert(
                "circuit_breaker".into(),
                serde_json::json!({
                    "error_percent": b.error_percent, "window": d(b.window),
                    "volume": b.volume, "sleep": d(b.sleep),
                }),
            );
        }
        if self.fallback != Fallback::Fail {
            m.insert("fallback".into(), self.fallback.as_str().into());
        }
        serde_json::Value::Object(m)
    }

    /// Whether it changes anything about a call.
    pub fn is_off(&self) -> bool {
        self.timeout.is_none() && self.breaker.is_none() && self.retries == 0
    }
}

fn breaker_from_json(v: &serde_json::Value) -> Result<Breaker, String> {
    let obj = v.as_object().ok_or(
        "resilience's circuit_breaker must be true or an object (error_percent, window, volume, sleep)",
    )?;
    let mut b = BREAKER_DEFAULT;
    for (key, value) in obj {
        let bad = |what: &str| format!("circuit_breaker's {key} must be {what}");
        let time = || -> Result<Duration, String> {
            let s = value.as_str().ok_or_else(|| bad("a duration string"))?;
            let d = parse_duration(s).map_err(|e| format!("circuit_breaker's {key}: {e}"))?;
            (d > Duration::ZERO)
                .then_some(d)
                .ok_or_else(|| bad("above zero"))
        };
        match key.as_str() {
            "error_percent" => {
                b.error_percent = value
                    .as_u64()
                    .filter(|r| (1..=100).contains(r))
                    .ok_or_else(|| bad("a whole number from 1 to 100"))?
                    as u32
            }
            "window" => b.window = time()?,
            "sleep" => b.sleep = time()?,
            "volume" => {
                b.volume = value
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .filter(|&v| v >= 1)
                    .ok_or_else(|| bad("a whole number from 1"))?
            }
            other => {
                return Err(format!(
                "circuit_breaker has no setting '{other}' (error_percent, window, volume, sleep)"
            ))
            }
        }
    }
    Ok(b)
}

/// One service's settings for its calls: the general one and those for
/// named dependencies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    /// For every dependency (`resilience`).
    pub all: Option<Resilience>,
    /// For the dependencies named (`resilience_for`), instead.
    pub per: Vec<(String, Resilience)>,
}

impl Calls {
    /// The settings for calls to `dependency`, if any.
    pub fn to(&self, dependency: &str) -> Option<&Resilience> {
        (self.per.iter())
            .find(|(d, _)| d == dependency)
            .map(|(_, r)| r)
            .or(self.all.as_ref())
            .filter(|r| !r.is_off() || r.fallback != Fallback::Fail)
    }

    /// Whether no call has settings.
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.per.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_read_and_write_back() {
        let v = json!({"timeout": "100ms", "retries": 2, "backoff": "exp:10ms",
            "circuit_breaker": {"error_percent": 25, "window": "2s", "volume": 5, "sleep": "1s"},
            "fallback": "cache"});
        let r = Resilience::from_json(&v).unwrap();
        assert_eq!(r.timeout, Some(Duration::from_millis(100)));
        assert_eq!(r.retries, 2);
        assert_eq!(
            r.backoff,
            Some(Backoff::Exponential(Duration::from_millis(10)))
        );
        assert_eq!(r.breaker.unwrap().volume, 5);
        assert_eq!(r.fallback, Fallback::Cache);
        assert_eq!(Resilience::from_json(&r.to_json()).unwrap(), r);
        let b = Resilience::from_json(&json!({"circuit_breaker": true})).unwrap();
        assert_eq!(b.breaker, Some(BREAKER_DEFAULT));
    }

    #[test]
    fn bad_settings_say_which() {
        for (v, expect) in [
            (json!({"timeout": "soon"}), "resilience's timeout: 'soon'"),
            (json!({"timeout": "0ms"}), "above zero"),
            (
                json!({"retries": 99}),
                "retries must be a whole number from 0 to 10",
            ),
            (json!({"backoff": "linear:1ms"}), "backoff 'linear' is not"),
            (json!({"fallback": "cached"}), "fallback 'cached' is not"),
            (
                json!({"circuit_breaker": {"error_percent": 0}}),
                "error_percent must be",
            ),
            (json!({"circuit_breaker": {"volume": 0}}), "volume must be"),
            (
                json!({"circuit_breaker": {"colour": 1}}),
                "no setting 'colour'",
            ),
            (json!({"timeuot": "1s"}), "no setting 'timeuot'"),
            (json!("1s"), "must be an object"),
        ] {
            let e = Resilience::from_json(&v).unwrap_err();
            assert!(e.contains(expect), "{v}: {e}");
        }
    }

    #[test]
    fn backoffs_grow_as_named() {
        let ms = Duration::from_millis;
        assert_eq!(Backoff::parse("10ms").unwrap().wait(3, 0.5), ms(10));
        let e = Backoff::parse("exp:10ms").unwrap();
        assert_eq!((e.wait(0, 0.0), e.wait(2, 0.0)), (ms(10), ms(40)));
        let j = Backoff::parse("jitter:10ms").unwrap();
        assert_eq!(j.wait(1, 0.5), ms(10));
        assert_eq!(j.wait(1, 1.0), ms(20));
        assert!(Backoff::parse("exp:x").is_err());
    }

    #[test]
    fn named_dependencies_replace_the_general_settings() {
        let all = Resilience {
            timeout: Some(Duration::from_secs(1)),
            ..Resilience::default()
        };
        let db = Resilience {
            retries: 3,
            ..Resilience::default()
        };
        let calls = Calls {
            all: Some(all.clone()),
            per: vec![("db".into(), db.clone())],
        };
        assert_eq!(calls.to("db"), Some(&db));
        assert_eq!(calls.to("cache"), Some(&all));
        assert_eq!(Calls::default().to("db"), None);
    }
}
