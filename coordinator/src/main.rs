//! spigo: the command-line entry point.
//!
//! `main` parses flags, reads and checks every input (architecture, graph
//! to reload, configuration) and turns the outcome of [`run`] into an exit
//! status; the simulation itself is in [`simulation`].

mod architectures;
mod asgard;
mod cli;
mod controller;
mod edda;
mod fsm;
mod logging;
mod plan;
mod simulation;
mod writers;

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

/// mimalloc: glibc's allocator serialises on its arena locks when a million
/// actors are spawned and freed from several threads at once.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for a bad flag or input file (clap uses 2 as well).
const EXIT_USAGE: u8 = 2;

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
            // clap's own message is several lines; its first says it all.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            eprintln!("spigo: {}", first.trim_start_matches("error: "));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    logging::init();
    let prepared = cli::Cli::from_arg_matches(&matches)
        .map_err(anyhow::Error::from)
        .and_then(|cli| {
            let cfg = cli.config(&matches)?;
            let resolved = architectures::resolve(&cli, &cfg)?;
            let outputs = simulation::Outputs::new(&cli, &resolved.output);
            outputs.check()?;
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spigo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    cli: cli::Cli,
    cfg: spigo_proto::archaius::Config,
    resolved: architectures::Resolved,
    outputs: simulation::Outputs,
    args: Vec<String>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(simulation::run(cli, cfg, resolved, outputs, args))
}
