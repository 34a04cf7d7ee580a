//! Command line: spigo's short flags with their old meanings, plus long names.
//!
//! Go's flag package accepted `-name value`, `-name=value` and multi-letter
//! single-dash flags; [`normalise`] rewrites the latter so clap sees `--name`.
//! Settings can also come from a `--config` file; flags given on the command
//! line win over it.

use anyhow::{bail, Context, Result};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand};
use spigo_proto::archaius::Config;
use spigo_proto::time::parse_duration;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "spigo",
    version,
    args_conflicts_with_subcommands = true,
    about = "Simulate Protocol Interactions: service architectures as actor simulations",
    long_about = "spigo simulates a service architecture with one actor per service instance \
                  and writes the graph it forms. Built in: fsm (a social network of pirates), \
                  netflixoss, lamp and migration; or any spigo architecture file."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Architecture: fsm, netflixoss, lamp, migration, a name with
    /// json_arch/<name>_arch.json here, or a path to an architecture file
    #[arg(
        short = 'a',
        long = "arch",
        default_value = "netflixoss",
        value_name = "ARCH"
    )]
    pub arch: String,

    /// Simulation duration: seconds, or a number with a unit (500ms, 2m)
    #[arg(short = 'd', long = "duration", default_value = "10", value_parser = duration_arg, value_name = "DURATION", allow_negative_numbers = true)]
    pub duration: Duration,

    /// Pirates for fsm; for other architectures a scale factor in percent
    #[arg(
        short = 'p',
        long = "population",
        default_value_t = 100,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub population: u32,

    /// Regions to deploy regional services in (1 to 6)
    #[arg(short = 'w', long = "regions", default_value_t = 1, value_name = "N")]
    pub regions: u8,

    /// How often instances poll eureka for their dependencies
    #[arg(short = 'u', long = "eureka-poll", default_value = "1s", value_parser = duration_arg, value_name = "DURATION")]
    pub eureka_poll: Duration,

    /// Stop creating services after this step (migration: build step 0-9); numbers the output files
    #[arg(short = 's', long = "step", value_name = "N")]
    pub step: Option<u32>,

    /// Write the graph as GraphJSON to <out>/json/<arch>.json
    #[arg(short = 'j', long = "graphjson")]
    pub graphjson: bool,

    /// Write the graph as GraphML to <out>/gml/<arch>.graphml
    #[arg(short = 'g', long = "graphml")]
    pub graphml: bool,

    /// Write the graph as dynamic GEXF 1.3 (Gephi) to <out>/gexf/<arch>.gexf
    #[arg(long = "gexf")]
    pub gexf: bool,

    /// Sample this process's CPU and write a pprof profile to FILE (a
    /// flamegraph if FILE ends in .svg); nodes --nodes starts write their own
    #[arg(long = "cpuprofile", value_name = "FILE")]
    pub cpuprofile: Option<PathBuf>,

    /// Log every message received, with its delivery time
    #[arg(short = 'm', long = "msglog")]
    pub msglog: bool,

    /// Collapse instances to services in the graph
    #[arg(short = 'f', long = "filter")]
    pub filter: bool,

    /// Rebuild the architecture from a GraphJSON file (default json/<arch>.json)
    #[arg(short = 'r', long = "reload", value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pub reload: Option<String>,

    /// A key:value setting, e.g. chat:10ms (the denominator's traffic interval); repeatable
    #[arg(long = "kv", value_name = "KEY:VALUE")]
    pub kv: Vec<String>,

    /// Seed for every random choice; the same seed gives the same run
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Folder under which json/ and gml/ are written (created if missing)
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,

    /// Read settings from a JSON configuration file (flags given here win)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Write the effective configuration to a JSON file
    #[arg(long = "save-config", value_name = "FILE")]
    pub save_config: Option<PathBuf>,

    /// Spread the simulation over N node processes started on this machine
    #[arg(long, value_name = "N")]
    pub nodes: Option<u16>,

    /// Spread the simulation over nodes already running (host:port,host:port)
    #[arg(long, value_name = "ADDRS")]
    pub join: Option<String>,

    #[command(flatten)]
    pub cookie: CookieArg,

    #[command(flatten)]
    pub tls: TlsArgs,

    /// How long a node may stay silent before it counts as lost
    #[arg(long = "heartbeat-timeout", default_value = "10s", value_parser = duration_arg, value_name = "DURATION")]
    pub heartbeat_timeout: Duration,

    /// Memory budget of this process, and of each node --nodes starts
    /// (600M, 4G): work that would not fit is placed elsewhere or refused
    #[arg(long = "max-memory", value_parser = size_arg, value_name = "SIZE")]
    pub max_memory: Option<u64>,

    /// Latency between instances: aws (the default with regions), none (the
    /// default for fsm), or a JSON latency file
    #[arg(long, value_name = "aws|none|FILE")]
    pub latency: Option<String>,

    /// Collect per-service metrics and request flows: json_metrics/, and
    /// /debug/vars and /metrics over HTTP while running
    #[arg(short = 'c', long = "collect")]
    pub collect: bool,

    /// Address of the metrics and live-viewer HTTP server, or "none"
    #[arg(long, default_value = DEFAULT_HTTP, value_name = "ADDR")]
    pub http: String,

    /// Fraction of request flows (traces) kept in the flow file (0 to 1)
    #[arg(long = "trace-sample", default_value_t = 1.0, value_name = "P")]
    pub trace_sample: f64,

    /// Serve the graph viewer during the run and show the graph as it grows
    #[arg(long)]
    pub live: bool,

    /// More log detail (-v debug, -vv trace)
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only warnings and errors in the log
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// Multiply every latency figure by this (0 turns the model off)
    #[arg(
        long = "latency-scale",
        default_value_t = 1.0,
        value_name = "X",
        allow_negative_numbers = true
    )]
    pub latency_scale: f64,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a cluster node that waits for a coordinator (spigo --join)
    Node(NodeArgs),
    /// Measure spigo itself
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the graph viewer for the graphs under <out>/json
    Serve(ServeArgs),
    /// Print an architecture file (<arch>_arch.json) made from a
    /// docker-compose file
    #[command(name = "compose2arch")]
    Compose2arch(ComposeArgs),
}

#[derive(Args, Debug)]
pub struct ComposeArgs {
    /// The docker-compose file (YAML)
    #[arg(value_name = "FILE.yml")]
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port to serve on (127.0.0.1)
    #[arg(long, default_value_t = 8000, value_name = "PORT")]
    pub port: u16,

    /// Folder holding json/
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,

    /// Address to bind instead of 127.0.0.1
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Messages per second over a link between two nodes, one way and as
    /// request/response
    Link(LinkArgs),
    /// Bytes per actor: a bare ractor actor, a pirate, a NetflixOSS instance
    Memory(MemoryArgs),
}

#[derive(Args, Debug)]
pub struct MemoryArgs {
    /// Actors of each kind
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub actors: u32,
}

#[derive(Args, Debug)]
pub struct LinkArgs {
    /// Start this many local nodes (the first two are measured)
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub nodes: u16,

    /// Measure between the first two of these running nodes instead
    #[arg(long, value_name = "ADDRS")]
    pub join: Option<String>,

    #[command(flatten)]
    pub cookie: CookieArg,

    /// Messages sent one way
    #[arg(long, default_value_t = 4_000_000, value_name = "N")]
    pub messages: u64,

    /// Request/response round trips in all
    #[arg(long, default_value_t = 2_000_000, value_name = "N")]
    pub round_trips: u64,

    /// Actors sending requests at once
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub pingers: u32,

    /// Requests each of them keeps outstanding
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub window: u32,
}

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// Address to listen on; use a public address to take part from another machine
    #[arg(long, default_value = "127.0.0.1:4697", value_name = "HOST:PORT")]
    pub listen: String,

    /// The cluster's shared secret (required; or SPIGO_COOKIE)
    #[arg(
        long,
        env = "SPIGO_COOKIE",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub cookie: Option<String>,

    /// Name shown in logs and graph metadata
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Memory budget (600M, 4G): announced to the coordinator, and spawns
    /// that would not fit are refused
    #[arg(long = "max-memory", value_parser = size_arg, value_name = "SIZE")]
    pub max_memory: Option<u64>,

    /// Sample this node's CPU and write a pprof profile to FILE (a
    /// flamegraph if FILE ends in .svg)
    #[arg(long = "cpuprofile", value_name = "FILE")]
    pub cpuprofile: Option<PathBuf>,

    /// Exit when standard input closes (used by --nodes)
    #[arg(long, hide = true)]
    pub exit_with_stdin: bool,

    #[command(flatten)]
    pub tls: TlsArgs,
}

/// `--cookie` as the coordinator and `bench link` take it.
#[derive(Args, Debug)]
pub struct CookieArg {
    /// The cluster's shared secret, for --join
    #[arg(
        id = "cookie",
        long = "cookie",
        env = "SPIGO_COOKIE",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: Option<String>,
}

/// `--tls-cert/--tls-key/--tls-ca`: mutual TLS between the processes of a
/// cluster (clap makes sure all three or none are given).
#[derive(Args, Debug)]
pub struct TlsArgs {
    /// This process's certificate (PEM), for mutual TLS between processes
    #[arg(long = "tls-cert", value_name = "FILE", requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,

    /// This process's private key (PEM)
    #[arg(long = "tls-key", value_name = "FILE", requires_all = ["tls_cert", "tls_ca"])]
    pub tls_key: Option<PathBuf>,

    /// The cluster's CA certificate (PEM): peers must present a certificate it signed
    #[arg(long = "tls-ca", value_name = "FILE", requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,
}

impl TlsArgs {
    /// Loads the three files when given.
    pub fn load(&self) -> Result<Option<crate::cluster::TlsFiles>> {
        let (Some(cert), Some(key), Some(ca)) = (&self.tls_cert, &self.tls_key, &self.tls_ca)
        else {
            return Ok(None);
        };
        let config = spigo_node::net::tls::Tls::load(cert, key, ca)
            .map_err(|e| UsageError::error(e.to_string()))?;
        Ok(Some(crate::cluster::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            ca: ca.clone(),
            config,
        }))
    }
}

/// `--join host:port,...`: the addresses (blanks dropped, each checked to
/// be host:port) and the cookie the nodes share, which must be given.
pub fn join(list: &str, cookie: Option<&str>) -> Result<crate::cluster::Nodes> {
    let addrs: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    if addrs.is_empty() {
        return Err(UsageError::error("--join: no node addresses"));
    }
    let not_host_port = |a: &String| {
        a.rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
    };
    if let Some(bad) = addrs.iter().find(|a| not_host_port(a)) {
        return Err(UsageError::error(format!(
            "--join: '{bad}' is not host:port"
        )));
    }
    let Some(cookie) = cookie.filter(|c| !c.is_empty()) else {
        return Err(UsageError::error(
            "--join needs the cluster's cookie: --cookie or SPIGO_COOKIE",
        ));
    };
    Ok(crate::cluster::Nodes::Join(
        addrs,
        spigo_node::net::handshake::Cookie::new(cookie),
    ))
}

/// A problem with the flags or inputs, found before or while starting:
/// `main` exits with status 2 for these.
#[derive(Debug)]
pub struct UsageError(pub String);

impl UsageError {
    pub fn error(msg: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(UsageError(msg.into()))
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

fn size_arg(text: &str) -> Result<u64, String> {
    spigo_proto::capacity::parse_size(text)
}

/// Where spigo served its metrics: `localhost:8123/debug/vars`.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8123";

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
    /// The HTTP address, if the run serves one: with `-c` or `--live`,
    /// unless `--http none`.
    pub fn http_addr(&self) -> Option<&str> {
        (self.collect || self.live)
            .then_some(self.http.as_str())
            .filter(|a| *a != "none")
    }

    /// `--trace-sample` when collecting (`-c`).
    pub fn collect(&self) -> Result<Option<f64>> {
        if !(0.0..=1.0).contains(&self.trace_sample) {
            return Err(UsageError::error(format!(
                "--trace-sample: {} is not a fraction between 0 and 1",
                self.trace_sample
            )));
        }
        // The live panel needs per-service figures even without -c; it
        // keeps no flows then.
        Ok(match (self.collect, self.live) {
            (true, _) => Some(self.trace_sample),
            (false, true) => Some(0.0),
            (false, false) => None,
        })
    }

    /// The run's configuration: the `--config` file (or the defaults), then
    /// every flag given on the command line.
    pub fn config(&self, matches: &ArgMatches) -> Result<Config> {
        let mut cfg = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--config: cannot read {}", path.display()))?;
                serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("--config: {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        if self.config.is_none() || given("arch") {
            cfg.arch = self.arch.clone();
        }
        if self.config.is_none() || given("duration") {
            cfg.duration = self.duration;
        }
        if self.config.is_none() || given("population") {
            cfg.population = self.population;
        }
        if self.config.is_none() || given("regions") {
            cfg.regions_used = self.regions;
        }
        if self.config.is_none() || given("eureka_poll") {
            cfg.eureka_poll = self.eureka_poll;
        }
        if let Some(step) = self.step {
            cfg.step = step;
        }
        cfg.filter |= self.filter;
        if self.seed.is_some() {
            cfg.seed = self.seed;
        }
        for kv in &self.kv {
            cfg.set_kv(kv)?;
        }
        // A value read from the file is blamed on the file, not the flag.
        let source = |flag: &str| match &self.config {
            Some(path) if !given(flag) => format!("--config: {}: ", path.display()),
            _ => String::new(),
        };
        if cfg.eureka_poll < Duration::from_millis(1) {
            bail!(
                "{}-u/--eureka-poll: {} is too short (at least 1ms)",
                source("eureka_poll"),
                spigo_proto::time::GoDuration(cfg.eureka_poll)
            );
        }
        cfg.check()
            .map_err(|e| anyhow::anyhow!("{}{e}", source("regions")))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    fn parse(args: &[&str]) -> Result<(Cli, Config)> {
        let argv = normalise(
            std::iter::once("spigo")
                .chain(args.iter().copied())
                .map(String::from),
        );
        let matches = Cli::command().try_get_matches_from(argv)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let cfg = cli.config(&matches)?;
        Ok((cli, cfg))
    }

    #[test]
    fn spigo_flags_keep_their_meaning() {
        let (c, cfg) = parse(&[
            "-a", "fsm", "-d", "0", "-p", "100000", "-j", "-g", "-m", "-f",
        ])
        .unwrap();
        assert_eq!(c.arch, "fsm");
        assert_eq!(cfg.duration, Duration::ZERO);
        assert_eq!(cfg.population, 100_000);
        assert!(c.graphjson && c.graphml && c.msglog && cfg.filter);
        let (_, cfg) = parse(&["-d=2", "-p=50", "-w", "3", "-u", "250ms", "-s", "4"]).unwrap();
        assert_eq!(cfg.duration, Duration::from_secs(2));
        assert_eq!(cfg.population, 50);
        assert_eq!(cfg.regions_used, 3);
        assert_eq!(cfg.eureka_poll, Duration::from_millis(250));
        assert_eq!(cfg.step, 4);
        let (c, cfg) = parse(&[
            "--duration",
            "250ms",
            "--seed",
            "7",
            "--out",
            "x",
            "-kv",
            "chat:1ms",
        ])
        .unwrap();
        assert_eq!(cfg.duration, Duration::from_millis(250));
        assert_eq!(cfg.seed, Some(7));
        assert_eq!(cfg.chat().unwrap(), Duration::from_millis(1));
        assert_eq!(c.arch, "netflixoss", "spigo's default architecture");
    }

    #[test]
    fn reload_takes_an_optional_file() {
        assert_eq!(parse(&["-r"]).unwrap().0.reload.as_deref(), Some(""));
        assert_eq!(
            parse(&["-r", "g.json"]).unwrap().0.reload.as_deref(),
            Some("g.json")
        );
        assert_eq!(parse(&["-d", "1"]).unwrap().0.reload, None);
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
        let e = parse(&["-w", "7"]).unwrap_err().to_string();
        assert!(e.starts_with("-w/--regions: 7 regions asked"), "{e}");
        assert!(parse(&["-w", "0"]).is_err());
        assert!(parse(&["-kv", "chat"]).is_err());
        assert!(parse(&["-u", "0"]).is_err());
    }

    #[test]
    fn config_files_are_read_and_flags_win() {
        let dir = tempfile_dir();
        let path = dir.join("c.json");
        std::fs::write(&path, r#"{"arch":"lamp","duration":"3s","regions_used":2}"#).unwrap();
        let p = path.to_str().unwrap();
        let (_, cfg) = parse(&["--config", p]).unwrap();
        assert_eq!(
            (cfg.arch.as_str(), cfg.duration, cfg.regions_used),
            ("lamp", Duration::from_secs(3), 2)
        );
        let (_, cfg) = parse(&["--config", p, "-d", "5"]).unwrap();
        assert_eq!(cfg.duration, Duration::from_secs(5));
        std::fs::write(&path, r#"{"arch": 3}"#).unwrap();
        let e = parse(&["--config", p]).unwrap_err().to_string();
        assert!(e.starts_with("--config: "), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("spigo-cli-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
