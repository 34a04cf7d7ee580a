//! spigo: the command-line entry point.
//!
//! `main` only sets up logging, parses flags and turns the outcome of
//! [`run`] into an exit status; the work happens in [`simulation`].

mod cli;
mod edda;
mod fsm;
mod logging;
mod simulation;
mod writers;

use clap::Parser;

/// mimalloc: glibc's allocator serialises on its arena locks when a million
/// actors are spawned and freed from several threads at once.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// Exit status for a bad flag or input file (clap uses 2 as well).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = cli::normalise(std::env::args());
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap's own message is several lines; its first says it all.
            let text = e.to_string();
            eprintln!(
                "spigo: {}",
                text.lines()
                    .next()
                    .unwrap_or("bad arguments")
                    .trim_start_matches("error: ")
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(msg) = cli.validate() {
        eprintln!("spigo: {msg}");
        return ExitCode::from(EXIT_USAGE);
    }
    logging::init();
    match run(cli, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spigo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli, args: Vec<String>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(simulation::run(cli, args))
}
