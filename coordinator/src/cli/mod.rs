//! The command line, turned into the plain option structs of the layers
//! below: nothing but `main` uses this folder, and nothing below it knows
//! about clap.
//!
//! - `args.rs`: the flags and subcommands, as clap reads them.
//! - `goflags.rs`: Go-style `-kv` and `-cpuprofile=x`, rewritten for clap.
//! - `config.rs`: the `--config` file, with the flags given winning over it.
//! - `scripts.rs`: `spigo completions SHELL` and `spigo man`, made from the
//!   flags above.
//!
//! [`parse`] checks the flags and reads the configuration file; every other
//! input (the architecture, a graph to reload, folders to write in) is read
//! by the layer that uses it.

mod args;
mod config;
mod goflags;
mod scripts;

pub(crate) use args::{NodeArgs, ServeArgs};
pub(crate) use goflags::normalise;
pub(crate) use scripts::{completions, man_page};

use crate::bench;
use crate::error::{self, Error};
use crate::model::architectures;
use crate::output::files::Formats;
use crate::run::simulation;
use args::{BenchCommand, Cli, Command as Sub};
use clap::{CommandFactory, FromArgMatches};
use spigo_proto::archaius::Config;
use std::path::PathBuf;

/// What the command line asks for.
pub(crate) enum Command {
    /// `--help` or `--version`: clap's text, for `main` to print.
    Help(clap::Error),
    /// No subcommand: one simulation, and its configuration.
    Simulate(Box<simulation::Options>, Config),
    /// `spigo node`.
    Node(NodeArgs),
    /// `spigo bench link`.
    BenchLink(bench::LinkOptions),
    /// `spigo bench memory --actors N`.
    BenchMemory(u32),
    /// `spigo bench steady`.
    BenchSteady(bench::SteadyOptions),
    /// `spigo serve`.
    Serve(ServeArgs),
    /// `spigo compose2arch FILE.yml`.
    Compose2arch(PathBuf),
    /// `spigo cookie`.
    Cookie,
    /// `spigo completions SHELL`.
    Completions(clap_complete::Shell),
    /// `spigo man`.
    Man,
}

/// The command, and the log level `-v`/`-q` ask for (subcommands log at
/// the default level).
pub(crate) struct Parsed {
    pub command: Command,
    pub verbose: u8,
    pub quiet: bool,
}

/// Reads the command line (already [`normalise`]d). A bad flag is one line
/// of error, as every other bad input is.
pub(crate) fn parse(args: &[String]) -> error::Result<Parsed> {
    let matches = match Cli::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                return Ok(Parsed {
                    command: Command::Help(e),
                    verbose: 0,
                    quiet: false,
                });
            }
            return Err(Error::Flags(e));
        }
    };
    let cli = Cli::from_arg_matches(&matches).map_err(Error::Flags)?;
    let command = match cli.command {
        Some(Sub::Node(args)) => Command::Node(args),
        Some(Sub::Bench(BenchCommand::Link(args))) => Command::BenchLink(bench::LinkOptions {
            nodes: args.nodes,
            join: args.join,
            cookie: args.cookie.secret,
            messages: args.messages,
            round_trips: args.round_trips,
            pingers: args.pingers,
            window: args.window,
        }),
        Some(Sub::Bench(BenchCommand::Memory(args))) => Command::BenchMemory(args.actors),
        Some(Sub::Bench(BenchCommand::Steady(args))) => {
            Command::BenchSteady(bench::SteadyOptions {
                duration: args.duration,
                pirates: args.pirates,
                services: args.services,
                runs: args.runs,
                only: args.only,
            })
        }
        Some(Sub::Serve(args)) => Command::Serve(args),
        Some(Sub::Compose2arch(args)) => Command::Compose2arch(args.file),
        Some(Sub::Cookie) => Command::Cookie,
        Some(Sub::Completions(args)) => Command::Completions(args.shell),
        Some(Sub::Man) => Command::Man,
        None => {
            let cfg = config::config(&cli, &matches)?;
            return Ok(Parsed {
                verbose: cli.verbose,
                quiet: cli.quiet,
                command: Command::Simulate(Box::new(simulation_options(cli)), cfg),
            });
        }
    };
    Ok(Parsed {
        command,
        verbose: 0,
        quiet: false,
    })
}

/// The flags of a simulation, as the run takes them.
fn simulation_options(cli: Cli) -> simulation::Options {
    simulation::Options {
        arch: architectures::Args {
            reload: cli.reload,
            step_given: cli.step.is_some(),
            latency: cli.latency,
            latency_scale: cli.latency_scale,
            out: cli.out.clone(),
        },
        formats: Formats {
            graphjson: cli.graphjson,
            graphml: cli.graphml,
            gexf: cli.gexf,
        },
        out: cli.out,
        save_config: cli.save_config,
        cpuprofile: cli.cpuprofile,
        msglog: cli.msglog,
        collect: cli.collect,
        live: cli.live,
        svg: cli.svg,
        trace_sample: cli.trace_sample,
        http: cli.http,
        nodes: cli.nodes,
        join: cli.join,
        cookie: cli.cookie.secret,
        tls: cli.tls.paths(),
        heartbeat_timeout: cli.heartbeat_timeout,
        connect_timeout: cli.connect_timeout,
        max_memory: cli.max_memory,
        summary: cli.summary,
        linger: cli.linger,
    }
}
