//! Timestamps and the Go-style duration text spigo's logs use.
//!
//! A [`Timestamp`] is nanoseconds since the UNIX epoch: unlike `Instant` it can
//! be sent to another process and compared there (issue-5 clock offsets are
//! corrected by the receiving node). Reading the clock is I/O, so it lives in
//! the node crate; this module only holds the value and its formatting.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Nanoseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Time elapsed from `earlier` to `self`, zero if the clock went backwards.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The time `d` after `self`, stopping at the last representable
    /// nanosecond rather than wrapping.
    pub fn after(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_nanos() as u64))
    }
}

/// Formats a duration as Go's `time.Duration.String` does (`18.9us`,
/// `125.328265ms`, `1.5s`), using `us` for microseconds so logs stay ASCII.
pub struct GoDuration(pub Duration);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        let (unit, scale) = match ns {
            0 => return f.write_str("0s"),
            n if n < 1_000 => return write!(f, "{n}ns"),
            n if n < 1_000_000 => ("us", 1_000u128),
            n if n < 1_000_000_000 => ("ms", 1_000_000),
            _ => ("s", 1_000_000_000),
        };
        let whole = ns / scale;
        let frac = ns % scale;
        if frac == 0 {
            return write!(f, "{whole}{unit}");
        }
        let width = scale.ilog10() as usize;
        let digits = format!("{frac:0width$}");
        write!(f, "{whole}.{}{unit}", digits.trim_end_matches('0'))
    }
}

/// Parses a duration flag: a bare number is seconds (as spigo's `-d`), or a
/// number with one of the units `ns`, `us`, `ms`, `s`, `m`, `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (use e.g. 10, 10s, 500ms)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "ns" => value / 1e9,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "'{text}' is not a duration (use e.g. 10, 10s, 500ms)"
            ))
        }
    };
    if !seconds.is_finite() || seconds > 1e9 {
        return Err(format!("'{text}' is too long a duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations() {
        let s = |ns: u64| GoDuration(Duration::from_nanos(ns)).to_string();
        assert_eq!(s(0), "0s");
        assert_eq!(s(999), "999ns");
        assert_eq!(s(18_900), "18.9us");
        assert_eq!(s(6_726), "6.726us");
        assert_eq!(s(125_328_265), "125.328265ms");
        assert_eq!(s(2_000_000_000), "2s");
        assert_eq!(s(1_500_000_000), "1.5s");
    }

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn timestamps_subtract_without_underflow() {
        assert_eq!(Timestamp(5).since(Timestamp(9)), Duration::ZERO);
        assert_eq!(Timestamp(9).since(Timestamp(5)), Duration::from_nanos(4));
    }
}
