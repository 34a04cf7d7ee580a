//! Command line: spigo's short flags with their old meanings, plus long names.
//!
//! Go's flag package accepted `-name value`, `-name=value` and multi-letter
//! single-dash flags; [`normalise`] rewrites the latter so clap sees `--name`.

use clap::Parser;
use spigo_proto::time::parse_duration;
use std::path::PathBuf;
use std::time::Duration;

/// The architectures spigo knows without a file.
pub const BUILT_IN: &[&str] = &["fsm"];

#[derive(Parser, Debug)]
#[command(
    name = "spigo",
    version,
    about = "Simulate Protocol Interactions: service architectures as actor simulations",
    long_about = "spigo simulates a service architecture with one actor per service instance \
                  and writes the graph it forms. `fsm` is a social network of pirates."
)]
pub struct Cli {
    /// Architecture to run (built in: fsm)
    #[arg(short = 'a', long = "arch", default_value = "fsm", value_name = "ARCH")]
    pub arch: String,

    /// Simulation duration: seconds, or a number with a unit (500ms, 2m)
    #[arg(short = 'd', long = "duration", default_value = "10", value_parser = duration_arg, value_name = "DURATION")]
    pub duration: Duration,

    /// Pirate population for fsm
    #[arg(
        short = 'p',
        long = "population",
        default_value_t = 100,
        value_name = "N"
    )]
    pub population: u32,

    /// Write the graph as GraphJSON to <out>/json/<arch>.json
    #[arg(short = 'j', long = "graphjson")]
    pub graphjson: bool,

    /// Write the graph as GraphML to <out>/gml/<arch>.graphml
    #[arg(short = 'g', long = "graphml")]
    pub graphml: bool,

    /// Log every message received, with its delivery time
    #[arg(short = 'm', long = "msglog")]
    pub msglog: bool,

    /// Collapse instances to services in the graph
    #[arg(short = 'f', long = "filter")]
    pub filter: bool,

    /// Seed for every random choice; the same seed gives the same run
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Folder under which json/ and gml/ are written (created if missing)
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

/// Multi-letter flags spigo spelled with one dash.
const GO_LONG_FLAGS: &[&str] = &["kv", "cpuprofile"];

/// Rewrites Go-style `-kv x` / `-cpuprofile=x` into `--kv x` / `--cpuprofile=x`.
pub fn normalise(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|a| {
            let bare = a.strip_prefix('-').filter(|r| !r.starts_with('-'));
            match bare {
                Some(rest) if GO_LONG_FLAGS.contains(&rest.split('=').next().unwrap_or("")) => {
                    format!("-{a}")
                }
                _ => a,
            }
        })
        .collect()
}

impl Cli {
    /// Checks what clap cannot: combinations and values that depend on the
    /// architecture. The error names the flag.
    pub fn validate(&self) -> Result<(), String> {
        if !BUILT_IN.contains(&self.arch.as_str()) {
            return Err(format!(
                "-a/--arch: unknown architecture '{}' (known: {})",
                self.arch,
                BUILT_IN.join(", ")
            ));
        }
        if self.arch == "fsm" && self.population < 2 {
            return Err(format!(
                "-p/--population: fsm needs at least 2 pirates, got {}",
                self.population
            ));
        }
        Ok(())
    }

    pub fn writes_graph(&self) -> bool {
        self.graphjson || self.graphml
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(normalise(
            std::iter::once("spigo")
                .chain(args.iter().copied())
                .map(String::from),
        ))
    }

    #[test]
    fn spigo_flags_keep_their_meaning() {
        let c = parse(&[
            "-a", "fsm", "-d", "0", "-p", "100000", "-j", "-g", "-m", "-f",
        ])
        .unwrap();
        assert_eq!(c.arch, "fsm");
        assert_eq!(c.duration, Duration::ZERO);
        assert_eq!(c.population, 100_000);
        assert!(c.graphjson && c.graphml && c.msglog && c.filter);
        let c = parse(&["-d=2", "-p=50"]).unwrap();
        assert_eq!(c.duration, Duration::from_secs(2));
        assert_eq!(c.population, 50);
        let c = parse(&["--duration", "250ms", "--seed", "7", "--out", "x"]).unwrap();
        assert_eq!(c.duration, Duration::from_millis(250));
        assert_eq!(c.seed, Some(7));
    }

    #[test]
    fn go_style_long_flags_are_rewritten() {
        let v = normalise([
            "-kv".to_string(),
            "chat:1ms".into(),
            "-cpuprofile=f".into(),
            "-d".into(),
        ]);
        assert_eq!(v, ["--kv", "chat:1ms", "--cpuprofile=f", "-d"]);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["-d", "10x"]).is_err());
        assert!(parse(&["-p", "-5"]).is_err());
        assert!(parse(&["--nonsense"]).is_err());
        let c = parse(&["-a", "nosuch"]).unwrap();
        assert!(c.validate().unwrap_err().contains("known: fsm"));
        let c = parse(&["-p", "1"]).unwrap();
        assert!(c.validate().unwrap_err().starts_with("-p/--population"));
    }
}
