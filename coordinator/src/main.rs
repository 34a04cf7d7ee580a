//! spigo: simulates a service architecture with one actor per service
//! instance, and writes the graph it forms.
//!
//! # Layout
//!
//! Each folder owns one job, and `use` only points down this list: a file
//! never uses one above it, and no two files use each other
//! (`tests/tests/e2e/layout.rs` checks, for every crate).
//!
//! | where | what it owns |
//! | --- | --- |
//! | `main.rs` | the process's edge: parse, dispatch on [`cli::Command`], exit status |
//! | `cli/` | flags and the `--config` file, turned into the plain option structs of the layers below |
//! | `bench/` | `spigo bench`: measures spigo itself, with the cluster and `run/`'s controller |
//! | `run/` | one simulation: `simulation.rs` from checked inputs to the files and the report, `fsm.rs` (pirates), `asgard.rs` (services), `controller.rs` (the mailbox both answer to), `summary.rs` |
//! | `cluster/` | the processes of a run: `start.rs` (`--nodes`), `session.rs` (requests, clocks), `control.rs` and `heartbeat.rs` (what runs beside), `losses.rs`, `options.rs` |
//! | `model/` | what a run builds, read and checked before anything starts: `architectures.rs`, `plan.rs`, `placement.rs`, `migration.rs` |
//! | `output/` | what a run records and writes: `graph.rs`, `edda.rs`, `writers/`, `files.rs`, `metrics.rs`, `http.rs`, `profile.rs` |
//! | `compose/` | `spigo compose2arch`: a docker-compose file to an architecture file |
//! | `logging.rs` | the log and progress bars, used by every layer (it uses nothing) |
//! | `error.rs` | the errors every layer returns, and the exit status of each |
//!
//! `cli/` calls nothing below it: it only fills the option structs that
//! `run/`, `bench/`, `model/` and `cluster/` define for themselves.
//! `model/` and `output/` do not know of each other or of the cluster, and
//! `model/` leaves it to the layers above to decide what its errors mean.
//! `profile.rs` is in `output/` because it writes a file, and sits below
//! `cluster/`, which names the nodes' profiles after it. `compose/` reads
//! only the architecture format, so it stands beside `model/`.
//!
//! # The processes of a run
//!
//! 1. The coordinator (`spigo ...`): `main.rs` hands the flags to `cli/`,
//!    then `run/simulation.rs` reads and checks every input
//!    (`model/architectures.rs`, `output/files.rs`) before any actor starts.
//! 2. `run/simulation.rs` starts edda (`output/edda.rs`), then the cluster
//!    (`cluster/mod.rs`): with `--nodes` it starts `spigo node` processes
//!    (`cluster/start.rs`), with `--join` it dials running ones; each
//!    joins and has its clock set (`cluster/session.rs`).
//! 3. The nodes (`spigo node`, the `spigo_node` crate) host the actors the
//!    coordinator places on them: `run/fsm.rs` or `run/asgard.rs` decide
//!    where (`model/placement.rs`) and ask through `cluster/mod.rs`;
//!    replies come back to `run/controller.rs`.
//! 4. Every process's edda shard sends its graph events to the
//!    coordinator: `cluster/control.rs` passes them to edda, which merges
//!    them into one graph (`output/graph.rs`). A node that goes silent
//!    (`cluster/heartbeat.rs`) or whose link closes is lost
//!    (`cluster/losses.rs`): its actors are recorded as done, the
//!    controller stops waiting for them, the run goes on.
//! 5. At the end the nodes flush their last events and figures, and the
//!    coordinator writes the files (`output/files.rs`, `output/writers/`,
//!    `output/metrics.rs`) and prints the report (`run/summary.rs`).

/// `println!` for the end-of-run report. Its files are already written by
/// then, so a reader that has gone away (`spigo ... | head`) is no reason to
/// panic as `println!` does; the rest of the report is dropped.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod bench;
mod cli;
mod cluster;
mod compose;
mod error;
mod logging;
mod model;
mod output;
mod run;

use error::Error;
use output::profile::Profiler;
use run::simulation;
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

fn main() -> ExitCode {
    let args = cli::normalise(std::env::args());
    let parsed = match cli::parse(&args) {
        Ok(p) => p,
        Err(e) => return exit("spigo", Err(e)),
    };
    logging::init(parsed.verbose, parsed.quiet);
    run(parsed.command, args)
}

/// Runs the command; each reports its own failure under its own name.
fn run(command: cli::Command, args: Vec<String>) -> ExitCode {
    use cli::Command;
    match command {
        Command::Help(text) => {
            let _ = text.print();
            ExitCode::SUCCESS
        }
        Command::Simulate(opts, cfg) => exit("spigo", simulate(*opts, cfg, args)),
        Command::Node(args) => exit("spigo node", node(args)),
        Command::BenchLink(opts) => exit("spigo bench link", measure(bench::link(opts))),
        Command::BenchMemory(actors) => exit("spigo bench memory", measure(bench::memory(actors))),
        Command::BenchSteady(opts) => exit(
            "spigo bench steady",
            bench::steady(opts).map(|()| ExitCode::SUCCESS),
        ),
        Command::Serve(args) => exit("spigo serve", serve(args)),
        Command::Compose2arch(file) => exit("spigo compose2arch", compose2arch(&file)),
        Command::Cookie => {
            report!("{}", spigo_node::net::cookies::fresh());
            ExitCode::SUCCESS
        }
        Command::Completions(shell) => print(&cli::completions(shell)),
        Command::Man => match cli::man_page() {
            Ok(page) => print(&page),
            Err(e) => exit("spigo man", Err(Error::failed(e))),
        },
    }
}

/// Prints a script or page made for another program; as with [`report!`],
/// a reader that has gone away is no failure.
fn print(text: &[u8]) -> ExitCode {
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(text);
    ExitCode::SUCCESS
}

/// The exit status of a command, with its failure reported in one line.
fn exit(who: &str, result: error::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{who}: {e}");
            ExitCode::from(e.exit_status())
        }
    }
}

/// The multi-threaded tokio runtime every command runs on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// `spigo bench ...`: runs the measurement, which prints its own figures.
fn measure(bench: impl std::future::Future<Output = error::Result<()>>) -> error::Result<ExitCode> {
    let rt = runtime().map_err(Error::failed)?;
    rt.block_on(bench)?;
    Ok(ExitCode::SUCCESS)
}

/// One simulation; `args` is the command line, recorded in its files.
fn simulate(
    opts: simulation::Options,
    cfg: spigo_proto::archaius::Config,
    args: Vec<String>,
) -> error::Result<ExitCode> {
    let prepared = simulation::prepare(opts, cfg)?;
    let profiler = prepared.cpuprofile().map(Profiler::start).transpose()?;
    let rt = runtime().map_err(Error::failed)?;
    let ending = rt.block_on(simulation::run(prepared, args));
    // The profile covers a failed run too: that may be when it is wanted.
    if let Some(p) = profiler {
        p.finish()?;
    }
    Ok(ExitCode::from(ending?.exit_status()))
}

/// `spigo compose2arch FILE.yml`: an architecture file on stdout. Every
/// failure is the file's: exit status 2.
fn compose2arch(file: &std::path::Path) -> error::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::usage_because(format!("cannot read {}", file.display()), e))?;
    let label = file.display().to_string();
    let json = compose::to_arch(&text, &label).map_err(Error::refused)?;
    report!("{json}");
    Ok(ExitCode::SUCCESS)
}

/// `spigo serve`: the graph viewer for the graphs under `<out>/json`.
fn serve(args: cli::ServeArgs) -> error::Result<ExitCode> {
    output::http::check_served(&args.out)?;
    runtime().map_err(Error::failed)?.block_on(async {
        let addr = format!("{}:{}", args.host, args.port);
        let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
            Error::usage_because(format!("--port {}: cannot listen on {addr}", args.port), e)
        })?;
        let bound = listener.local_addr().map_err(Error::failed)?;
        let web =
            output::http::Web::new(args.out.clone(), "viewer", std::env::args().collect(), None);
        tracing::info!(
            "serving {} on http://{bound}/",
            args.out.join("json").display()
        );
        output::http::serve(listener, std::sync::Arc::new(web)).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// `spigo node`: serve until the coordinator says stop or goes away. Every
/// failure, the node's serving included, is exit status 2.
fn node(args: cli::NodeArgs) -> error::Result<ExitCode> {
    let Some(cookie) = args.cookie.filter(|c| !c.is_empty()) else {
        return Err(Error::usage(
            "a cookie is required: --cookie or SPIGO_COOKIE",
        ));
    };
    let tls = match args.tls.paths() {
        Some(paths) => Some(cluster::TlsFiles::load(&paths)?.config),
        None => None,
    };
    let opts = spigo_node::net::server::NodeOptions {
        name: args.name.unwrap_or_default(),
        listen: args.listen,
        cookie: spigo_node::net::handshake::Cookie::new(cookie),
        tls,
        exit_with_stdin: args.exit_with_stdin,
        max_memory: args.max_memory,
    };
    let profiler = args
        .cpuprofile
        .as_deref()
        .map(Profiler::start)
        .transpose()?;
    let result = runtime()
        .map_err(spigo_node::net::server::ServeError::from)
        .and_then(|rt| rt.block_on(spigo_node::net::server::serve(opts)));
    if let Some(Err(e)) = profiler.map(Profiler::finish) {
        eprintln!("spigo node: {e:#}");
    }
    match result {
        // Its one line is logged: the coordinator declared it lost.
        Ok(spigo_node::net::server::Outcome::Fenced) => Ok(ExitCode::from(error::EXIT_NODES_LOST)),
        // Cut off from its coordinator: it stopped by itself, and says so
        // in its status (as a coordinator that lost a node does).
        Ok(spigo_node::net::server::Outcome::CoordinatorSilent) => {
            Ok(ExitCode::from(error::EXIT_NODES_LOST))
        }
        Ok(outcome) => {
            tracing::info!("spigo node: {outcome:?}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(Error::refused(e)),
    }
}
