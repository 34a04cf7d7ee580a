//! The shape of the denominator's traffic: how its requests arrive
//! (`-kv arrivals:`) and how their rate moves over the run (`-kv load:`).
//!
//! spigo's denominator sends one request every `chat` interval, whatever
//! happens to them: an open loop, so overload shows as queues and failures
//! rather than as a source that slows down. Here that interval becomes the
//! mean gap of a process whose rate is the chat rate times a profile:
//!
//! - `arrivals:fixed` (the default) keeps the gap exact; `arrivals:poisson`
//!   draws each gap from the exponential distribution with that mean, so
//!   arrivals are a Poisson process, what queueing theory's M/·/· models
//!   assume;
//! - `load:constant` (the default); `load:ramp:FROM:TO` goes linearly from
//!   FROM× to TO× the chat rate over the run; `load:step:AT:TO` is 1× until
//!   AT into the traffic, then TO×; `load:sine:PERIOD:AMPLITUDE` is
//!   1 + AMPLITUDE·sin(2πt/PERIOD) (a diurnal cycle squeezed into the run;
//!   AMPLITUDE below 1 so the rate stays above zero).
//!
//! Every factor is above zero: a source that stops cannot be told from
//! one that was lost.

use crate::time::parse_duration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How requests arrive around their mean gap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arrivals {
    /// Exactly one mean gap apart (spigo's behaviour).
    #[default]
    Fixed,
    /// Exponentially distributed gaps: a Poisson process.
    Poisson,
}

impl Arrivals {
    /// Reads an `arrivals:` setting.
    pub fn parse(v: &str) -> Result<Arrivals, String> {
        match v {
            "fixed" => Ok(Arrivals::Fixed),
            "poisson" => Ok(Arrivals::Poisson),
            other => Err(format!("'{other}' is not fixed or poisson")),
        }
    }
}

/// How the rate moves over the run, as a multiple of the chat rate.
/// Equal means bit for bit (so a frame decoded and encoded again compares
/// equal even if a peer sent a NaN; [`Shape::gap`] copes with any value).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub enum Profile {
    /// 1× throughout.
    #[default]
    Constant,
    /// From `from`× at the start of the traffic to `to`× at its end.
    Ramp {
        /// The factor at the start.
        from: f64,
        /// The factor at the end of the run.
        to: f64,
    },
    /// 1× until `at`, then `to`×.
    Step {
        /// When the rate changes, from the start of the traffic.
        at: Duration,
        /// The factor from then on.
        to: f64,
    },
    /// 1 + `amplitude`·sin(2πt/`period`).
    Sine {
        /// One whole cycle.
        period: Duration,
        /// Below 1, so the rate never reaches zero.
        amplitude: f64,
    },
}

impl PartialEq for Profile {
    fn eq(&self, other: &Profile) -> bool {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
        match (*self, *other) {
            (Profile::Constant, Profile::Constant) => true,
            (Profile::Ramp { from: a, to: b }, Profile::Ramp { from: c, to: d }) => {
                same(a, c) && same(b, d)
            }
            (Profile::Step { at: a, to: b }, Profile::Step { at: c, to: d }) => {
                a == c && same(b, d)
            }
            (
                Profile::Sine {
                    period: a,
                    amplitude: b,
                },
                Profile::Sine {
                    period: c,
                    amplitude: d,
                },
            ) => a == c && same(b, d),
            _ => false,
        }
    }
}

fn factor_of(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        _ => Err(format!("'{v}' is not a rate factor above zero")),
    }
}

impl Profile {
    /// Reads a `load:` setting (`constant`, `ramp:1:4`, `step:10s:2`,
    /// `sine:60s:0.5`).
    pub fn parse(v: &str) -> Result<Profile, String> {
        let parts: Vec<&str> = v.split(':').collect();
        match parts.as_slice() {
            ["constant"] => Ok(Profile::Constant),
            ["ramp", from, to] => Ok(Profile::Ramp {
                from: factor_of(from)?,
                to: factor_of(to)?,
            }),
            ["step", at, to] => Ok(Profile::Step {
                at: parse_duration(at)?,
                to: factor_of(to)?,
            }),
            ["sine", period, amplitude] => {
                let period = parse_duration(period)?;
                if period.is_zero() {
                    return Err("a sine's period must be above zero".into());
                }
                match amplitude.parse::<f64>() {
                    Ok(a) if (0.0..1.0).contains(&a) => Ok(Profile::Sine {
                        period,
                        amplitude: a,
                    }),
                    _ => Err(format!("amplitude '{amplitude}' is not from 0 up to 1")),
                }
            }
            _ => Err(format!(
                "'{v}' is not constant, ramp:FROM:TO, step:AT:TO or sine:PERIOD:AMPLITUDE"
            )),
        }
    }

    /// The factor `t` into traffic that lasts `run`.
    pub fn factor(&self, t: Duration, run: Duration) -> f64 {
        match *self {
            Profile::Constant => 1.0,
            Profile::Ramp { from, to } => {
                let x = match run.is_zero() {
                    true => 0.0,
                    false => (t.as_secs_f64() / run.as_secs_f64()).min(1.0),
                };
                from + (to - from) * x
            }
            Profile::Step { at, to } => match t >= at {
                true => to,
                false => 1.0,
            },
            Profile::Sine { period, amplitude } => {
                let phase = std::f64::consts::TAU * t.as_secs_f64() / period.as_secs_f64();
                1.0 + amplitude * phase.sin()
            }
        }
    }
}

/// What a denominator needs to pace its requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// How gaps spread around their mean.
    pub arrivals: Arrivals,
    /// How the rate moves.
    pub profile: Profile,
    /// How long the traffic lasts (a ramp spans it).
    pub run: Duration,
}

impl Shape {
    /// The gap before the next request, sent `t` into the traffic, for a
    /// chat interval `every`; `uniform` is a draw from (0, 1] (used by
    /// Poisson arrivals only).
    pub fn gap(&self, every: Duration, t: Duration, uniform: f64) -> Duration {
        let mean = every.as_secs_f64() / self.profile.factor(t, self.run);
        let gap = match self.arrivals {
            Arrivals::Fixed => mean,
            Arrivals::Poisson => -uniform.clamp(f64::MIN_POSITIVE, 1.0).ln() * mean,
        };
        // Parsed settings keep it positive; a factor from elsewhere (a
        // decoded frame) may not be, and must not panic a denominator.
        match gap.is_finite() && gap > 0.0 {
            true => Duration::from_secs_f64(gap.min(3600.0)),
            false => every,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_and_bad_ones_say_why() {
        assert_eq!(Arrivals::parse("poisson"), Ok(Arrivals::Poisson));
        assert!(Arrivals::parse("bursty").unwrap_err().contains("bursty"));
        assert_eq!(
            Profile::parse("ramp:1:4"),
            Ok(Profile::Ramp { from: 1.0, to: 4.0 })
        );
        assert_eq!(
            Profile::parse("step:10s:2"),
            Ok(Profile::Step {
                at: Duration::from_secs(10),
                to: 2.0
            })
        );
        assert!(Profile::parse("ramp:0:4")
            .unwrap_err()
            .contains("above zero"));
        assert!(Profile::parse("sine:60s:1")
            .unwrap_err()
            .contains("amplitude"));
        assert!(Profile::parse("sine:0s:0.5").is_err());
        assert!(Profile::parse("wave").unwrap_err().contains("ramp:FROM:TO"));
    }

    #[test]
    fn factors_follow_the_profile() {
        let run = Duration::from_secs(10);
        let s = |secs: f64| Duration::from_secs_f64(secs);
        let ramp = Profile::Ramp { from: 1.0, to: 3.0 };
        assert_eq!(ramp.factor(s(0.0), run), 1.0);
        assert_eq!(ramp.factor(s(5.0), run), 2.0);
        assert_eq!(ramp.factor(s(20.0), run), 3.0);
        let step = Profile::Step {
            at: s(4.0),
            to: 2.0,
        };
        assert_eq!(
            (step.factor(s(3.9), run), step.factor(s(4.0), run)),
            (1.0, 2.0)
        );
        let sine = Profile::Sine {
            period: s(4.0),
            amplitude: 0.5,
        };
        assert!((sine.factor(s(1.0), run) - 1.5).abs() < 1e-9);
        assert!((sine.factor(s(3.0), run) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn poisson_gaps_have_the_mean_and_spread_of_an_exponential() {
        let shape = Shape {
            arrivals: Arrivals::Poisson,
            ..Shape::default()
        };
        let every = Duration::from_millis(10);
        // Evenly spread quantiles stand in for uniform draws.
        let n = 10_000;
        let gaps: Vec<f64> = (1..=n)
            .map(|i| {
                shape
                    .gap(every, Duration::ZERO, i as f64 / n as f64)
                    .as_secs_f64()
            })
            .collect();
        let mean = gaps.iter().sum::<f64>() / n as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 0.010).abs() < 0.0005, "{mean}");
        // An exponential's standard deviation equals its mean.
        assert!(
            (var.sqrt() / mean - 1.0).abs() < 0.05,
            "{}",
            var.sqrt() / mean
        );
        let fixed = Shape::default();
        assert_eq!(fixed.gap(every, Duration::ZERO, 0.3), every);
        // Factors no setting can give still make a gap, and compare equal
        // to themselves (a frame's round trip).
        for bad in [f64::NAN, -1.0, 0.0, f64::INFINITY] {
            let shape = Shape {
                profile: Profile::Ramp { from: bad, to: bad },
                ..Shape::default()
            };
            assert!(shape.gap(every, Duration::ZERO, 0.5) <= Duration::from_secs(3600));
            assert_eq!(shape, shape);
        }
    }
}
