//! spigo: the command-line entry point.
//!
//! `main` parses flags, reads and checks every input (architecture, graph
//! to reload, configuration) and turns the outcome of [`run`] into an exit
//! status; the simulation itself is in [`simulation`].

/// `println!` for the end-of-run report. Its files are already written by
/// then, so a reader that has gone away (`spigo ... | head`) is no reason to
/// panic as `println!` does; the rest of the report is dropped.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod architectures;
mod asgard;
mod bench;
mod cli;
mod cluster;
mod compose;
mod controller;
mod edda;
mod fsm;
mod http;
mod logging;
mod metrics;
mod migration;
mod placement;
mod plan;
mod profile;
mod simulation;
mod writers;

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

/// mimalloc: glibc's allocator serialises on its arena locks when a million
/// actors are spawned and freed from several threads at once.
#[cfg(not(feature = "alloc-count"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc that `spigo bench memory` can make count allocations by size.
#[cfg(feature = "alloc-count")]
#[global_allocator]
static GLOBAL: bench::counting::Counting = bench::counting::Counting;

/// Exit status for a bad flag, input file or cookie (clap uses 2 as well).
const EXIT_USAGE: u8 = 2;
/// Exit status of a run that finished and wrote its graph but lost nodes.
const EXIT_NODES_LOST: u8 = 3;

fn main() -> ExitCode {
    let args = cli::normalise(std::env::args());
    let matches = match cli::Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap's own message runs over several lines, then usage and
            // tips after a blank line: keep the message, on one line.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            eprintln!("spigo: {}", message.trim_start_matches("error: "));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (verbose, quiet) = match matches.subcommand() {
        None => (matches.get_count("verbose"), matches.get_flag("quiet")),
        Some(_) => (0, false),
    };
    logging::init(verbose, quiet);
    match matches.subcommand() {
        Some(("node", sub)) => return node(sub),
        Some(("bench", sub)) => return bench(sub),
        Some(("serve", sub)) => return serve(sub),
        Some(("compose2arch", sub)) => return compose2arch(sub),
        _ => {}
    }
    let prepared = cli::Cli::from_arg_matches(&matches)
        .map_err(anyhow::Error::from)
        .and_then(|cli| {
            let cfg = cli.config(&matches)?;
            let resolved = architectures::resolve(&cli, &cfg)?;
            let outputs = simulation::Outputs::new(&cli, &resolved.output);
            outputs.check()?;
            if let Some(path) = &cli.save_config {
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                simulation::check_writable(dir, "--save-config")?;
            }
            Ok((cli, cfg, resolved, outputs))
        });
    let (cli, cfg, resolved, outputs) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("spigo: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(cli, cfg, resolved, outputs, args) {
        Ok(simulation::Ending::Complete) => ExitCode::SUCCESS,
        Ok(simulation::Ending::NodesLost) => ExitCode::from(EXIT_NODES_LOST),
        Err(e) => failed("spigo", &e),
    }
}

/// Reports a failure: usage errors exit with [`EXIT_USAGE`], others with 1.
fn failed(who: &str, e: &anyhow::Error) -> ExitCode {
    eprintln!("{who}: {e:#}");
    match e.downcast_ref::<cli::UsageError>() {
        Some(_) => ExitCode::from(EXIT_USAGE),
        None => ExitCode::FAILURE,
    }
}

/// The multi-threaded tokio runtime every command runs on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// `spigo bench link|memory`: measure spigo itself.
fn bench(matches: &clap::ArgMatches) -> ExitCode {
    let Some((which, sub)) = matches.subcommand() else {
        return ExitCode::from(EXIT_USAGE);
    };
    let result = match which {
        "link" => cli::LinkArgs::from_arg_matches(sub)
            .map_err(anyhow::Error::from)
            .and_then(|args| runtime()?.block_on(bench::link(args))),
        _ => cli::MemoryArgs::from_arg_matches(sub)
            .map_err(anyhow::Error::from)
            .and_then(|args| runtime()?.block_on(bench::memory(args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(&format!("spigo bench {which}"), &e),
    }
}

/// `spigo compose2arch FILE.yml`: an architecture file on stdout.
fn compose2arch(matches: &clap::ArgMatches) -> ExitCode {
    let result = cli::ComposeArgs::from_arg_matches(matches)
        .map_err(anyhow::Error::from)
        .and_then(|args| {
            let text = std::fs::read_to_string(&args.file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
            let label = args.file.display().to_string();
            Ok(compose::to_arch(&text, &label)?)
        });
    match result {
        Ok(json) => {
            report!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("spigo compose2arch: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// `spigo serve`: the graph viewer for the graphs under `<out>/json`.
fn serve(matches: &clap::ArgMatches) -> ExitCode {
    let args = match cli::ServeArgs::from_arg_matches(matches) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("spigo serve: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = runtime().map_err(anyhow::Error::from).and_then(|rt| {
        rt.block_on(async {
            let addr = format!("{}:{}", args.host, args.port);
            let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
                cli::UsageError::error(format!(
                    "--port {}: cannot listen on {addr}: {e}",
                    args.port
                ))
            })?;
            let bound = listener.local_addr()?;
            let web = http::Web::new(args.out.clone(), "viewer", std::env::args().collect(), None);
            tracing::info!(
                "serving {} on http://{bound}/",
                args.out.join("json").display()
            );
            http::serve(listener, std::sync::Arc::new(web)).await;
            anyhow::Ok(())
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed("spigo serve", &e),
    }
}

/// `spigo node`: serve until the coordinator says stop or goes away.
fn node(matches: &clap::ArgMatches) -> ExitCode {
    let args = match cli::NodeArgs::from_arg_matches(matches) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("spigo node: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let Some(cookie) = args.cookie.filter(|c| !c.is_empty()) else {
        eprintln!("spigo node: a cookie is required: --cookie or SPIGO_COOKIE");
        return ExitCode::from(EXIT_USAGE);
    };
    let tls = match args.tls.load() {
        Ok(t) => t.map(|t| t.config),
        Err(e) => {
            eprintln!("spigo node: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let opts = spigo_node::net::server::NodeOptions {
        name: args.name.unwrap_or_default(),
        listen: args.listen,
        cookie: spigo_node::net::handshake::Cookie::new(cookie),
        tls,
        exit_with_stdin: args.exit_with_stdin,
        max_memory: args.max_memory,
    };
    let profiler = match args.cpuprofile.as_deref().map(profile::Profiler::start) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            eprintln!("spigo node: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = runtime()
        .map_err(spigo_node::net::server::ServeError::from)
        .and_then(|rt| rt.block_on(spigo_node::net::server::serve(opts)));
    if let Some(Err(e)) = profiler.map(profile::Profiler::finish) {
        eprintln!("spigo node: {e:#}");
    }
    match result {
        Ok(outcome) => {
            tracing::info!("spigo node: {outcome:?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("spigo node: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(
    cli: cli::Cli,
    cfg: spigo_proto::archaius::Config,
    resolved: architectures::Resolved,
    outputs: simulation::Outputs,
    args: Vec<String>,
) -> anyhow::Result<simulation::Ending> {
    let profiler = cli
        .cpuprofile
        .as_deref()
        .map(profile::Profiler::start)
        .transpose()?;
    let rt = runtime()?;
    let ending = rt.block_on(simulation::run(cli, cfg, resolved, outputs, args));
    // The profile covers a failed run too: that may be when it is wanted.
    if let Some(p) = profiler {
        p.finish()?;
    }
    ending
}
