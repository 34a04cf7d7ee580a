//! The flags, as clap reads them: spigo's short flags with their old
//! meanings, plus long names, and the subcommands' own.

use crate::cluster::TlsPaths;
use crate::run::simulation::{SummaryFormat, DEFAULT_HTTP};
use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;
use spigo_proto::time::parse_duration;
use std::path::PathBuf;
use std::time::Duration;

/// `spigo --version`: the version and the commit built from (build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SPIGO_COMMIT"), ")");

#[derive(Parser, Debug)]
#[command(
    name = "spigo",
    version = VERSION,
    args_conflicts_with_subcommands = true,
    about = "Simulate Protocol Interactions: service architectures as actor simulations",
    long_about = "spigo simulates a service architecture with one actor per service instance \
                  and writes the graph it forms. Built in: fsm (a social network of pirates), \
                  netflixoss, lamp and migration; or any spigo architecture file."
)]
pub(super) struct Cli {
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

    /// Draw the run: <out>/svg/<arch>.svg (regions, zones, services in tiers)
    /// and <out>/svg/<arch>_timeline.svg (requests/s, p50/p99, errors/s each
    /// second, faults marked); turns on per-service figures, as --live does
    #[arg(long)]
    pub svg: bool,

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

    /// How long dialling a node may go unanswered before the run gives up
    /// on it
    #[arg(long = "connect-timeout", default_value = "10s", value_parser = duration_arg, value_name = "DURATION")]
    pub connect_timeout: Duration,

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

    /// Keep the HTTP server (metrics, viewer) up this long after the run,
    /// for a final scrape and a final look
    #[arg(long, value_parser = duration_arg, value_name = "DURATION")]
    pub linger: Option<Duration>,

    /// The end-of-run report on stdout: text, or the JSON of
    /// <out>/summary.json (written either way)
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text, value_name = "FORMAT")]
    pub summary: SummaryFormat,

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
pub(super) enum Command {
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
    /// Print a fresh random cookie (128 bits, 32 hex digits) for SPIGO_COOKIE
    Cookie,
    /// Print a shell completion script for spigo's flags and subcommands
    Completions(CompletionsArgs),
    /// Print spigo's man page (roff, for man -l -)
    #[command(alias = "manpage")]
    Man,
}

#[derive(Args, Debug)]
pub(super) struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub(super) struct ComposeArgs {
    /// The docker-compose file (YAML)
    #[arg(value_name = "FILE.yml")]
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
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
pub(super) enum BenchCommand {
    /// Messages per second over a link between two nodes, one way and as
    /// request/response
    Link(LinkArgs),
    /// Bytes per actor: a bare ractor actor, a pirate, a NetflixOSS instance
    Memory(MemoryArgs),
    /// CPU, messages, context switches and peak memory of running
    /// simulations (each run as a child process)
    Steady(SteadyArgs),
}

#[derive(Args, Debug)]
pub(super) struct SteadyArgs {
    /// How long the timed scenarios run
    #[arg(short = 'd', long, default_value = "10", value_parser = duration_arg, value_name = "DURATION")]
    pub duration: Duration,

    /// Pirates in the chatting-pirates scenario
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub pirates: u32,

    /// Services (3 instances each) in the set-up scenario
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    pub services: u32,

    /// Runs of each scenario (medians are printed)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub runs: u32,

    /// Only these scenarios: idle, pirates, latency, latency-none, work, services
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub only: Vec<String>,
}

#[derive(Args, Debug)]
pub(super) struct MemoryArgs {
    /// Actors of each kind
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub actors: u32,
}

#[derive(Args, Debug)]
pub(super) struct LinkArgs {
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
pub(crate) struct NodeArgs {
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
pub(super) struct CookieArg {
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
pub(crate) struct TlsArgs {
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

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

fn size_arg(text: &str) -> Result<u64, String> {
    spigo_proto::capacity::parse_size(text)
}

impl TlsArgs {
    /// The three files, when given.
    pub(crate) fn paths(&self) -> Option<TlsPaths> {
        let (Some(cert), Some(key), Some(ca)) = (&self.tls_cert, &self.tls_key, &self.tls_ca)
        else {
            return None;
        };
        Some(TlsPaths {
            cert: cert.clone(),
            key: key.clone(),
            ca: ca.clone(),
        })
    }
}
