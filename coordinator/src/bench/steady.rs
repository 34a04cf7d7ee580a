//! `spigo bench steady`: what a running simulation costs per message.
//!
//! Set-up is measured by `spigo -a fsm -d 0`; this measures the time after
//! it, which is what a user running for seconds or minutes pays. Each
//! scenario is the real binary run as a child process (the same executable,
//! with `-q`), so nothing of the benchmark's own work is counted: its CPU,
//! context switches and peak memory come from the kernel's accounting of
//! that child ([`rusage`](super::rusage)), its messages from the
//! `summary.json` it writes.
//!
//! Scenarios (issue 17's targets):
//! - `idle`: NetflixOSS at its default 100 requests/s, AWS latency model on;
//!   the figure that matters is CPU per simulated second.
//! - `pirates`: the FSM's pirates chatting (every pirate ticks every 0.1 to
//!   10 s and passes gold or a buddy's name to a buddy).
//! - `latency` and `latency-none`: three regions at about 10,000 requests/s
//!   (`-kv chat:100us`), with the AWS model and without; the difference
//!   (per message delivered), over the messages the model held back, is
//!   what holding costs.
//! - `work`: `latency` with a work model on every karyon, staash and store
//!   (an exponential service time of 100 us, concurrency 8): what the
//!   model adds per message.
//! - `services`: a generated architecture of N services of 3 instances
//!   each, set up and stopped (`-d 0`): set-up wall time per service.

use super::floor;
use super::rusage::{self, Usage};
use crate::error::{self, Error};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What `spigo bench steady` is asked to run.
pub(crate) struct Options {
    /// `-d` of the scenarios that run for a while.
    pub duration: Duration,
    /// Pirates in `pirates`.
    pub pirates: u32,
    /// Services in `services`.
    pub services: u32,
    /// Runs of each scenario; the figures printed are their medians.
    pub runs: u32,
    /// Only these scenarios (all when empty).
    pub only: Vec<String>,
}

const SCENARIOS: [&str; 6] = [
    "idle",
    "pirates",
    "latency",
    "latency-none",
    "work",
    "services",
];

/// What `work` adds to `latency`.
const WORK: [&str; 12] = [
    "-kv",
    "service_time.karyon:exp:100us",
    "-kv",
    "service_time.staash:exp:100us",
    "-kv",
    "service_time.store:exp:100us",
    "-kv",
    "concurrency.karyon:8",
    "-kv",
    "concurrency.staash:8",
    "-kv",
    "concurrency.store:8",
];

/// One run's figures.
#[derive(Clone, Copy, Debug, Default)]
struct Figures {
    wall: Duration,
    usage: Usage,
    delivered: u64,
    held: u64,
}

pub(crate) fn steady(opts: Options) -> error::Result<()> {
    if let Some(bad) = opts.only.iter().find(|s| !SCENARIOS.contains(&s.as_str())) {
        return Err(Error::usage(format!(
            "--only: no scenario {bad:?} (there are {})",
            SCENARIOS.join(", ")
        )));
    }
    if opts.services < 5 {
        return Err(Error::usage(
            "--services: the generated architecture needs at least 5 services",
        ));
    }
    if opts.runs == 0 {
        return Err(Error::usage("--runs must be at least 1"));
    }
    let exe = std::env::current_exe()
        .context("cannot find the spigo executable to run")
        .map_err(Error::failed)?;
    let work = std::env::temp_dir().join(format!("spigo-bench-steady-{}", std::process::id()));
    let result = run_all(&exe, &work, &opts);
    let _ = std::fs::remove_dir_all(&work);
    Ok(result?)
}

fn run_all(exe: &Path, work: &Path, opts: &Options) -> Result<()> {
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let d = format!("{}ms", opts.duration.as_millis());
    let arch = work.join("wide_arch.json");
    let chosen = |name: &str| opts.only.is_empty() || opts.only.iter().any(|o| o == name);
    if chosen("services") {
        let text = serde_json::to_string_pretty(&wide_architecture(opts.services))?;
        std::fs::write(&arch, text).with_context(|| format!("cannot write {}", arch.display()))?;
    }
    let arch = arch.display().to_string();
    let pirates = opts.pirates.to_string();
    let latency: &[&str] = &["-a", "netflixoss", "-w", "3", "-d", &d, "-kv", "chat:100us"];
    let runs: [(&str, Vec<&str>); 6] = [
        ("idle", vec!["-a", "netflixoss", "-d", &d]),
        ("pirates", vec!["-a", "fsm", "-p", &pirates, "-d", &d]),
        ("latency", latency.to_vec()),
        ("latency-none", [latency, &["--latency", "none"]].concat()),
        ("work", [latency, &WORK].concat()),
        ("services", vec!["-a", &arch, "-d", "0"]),
    ];
    report!(
        "steady-state benchmark: {} run{} of each, medians; -d {} for the timed scenarios",
        opts.runs,
        if opts.runs == 1 { "" } else { "s" },
        spigo_proto::time::GoDuration(opts.duration)
    );
    report!(
        "  {:<13} {:>8} {:>8} {:>10} {:>9} {:>11} {:>15} {:>8} {:>9}",
        "scenario",
        "wall",
        "CPU",
        "messages",
        "CPU/msg",
        "msg/CPU-s",
        "switches",
        "sw/msg",
        "peak RSS"
    );
    let mut done: Vec<(&str, Figures)> = Vec::new();
    for (name, args) in runs.iter().filter(|(name, _)| chosen(name)) {
        let mut each = Vec::new();
        for run in 0..opts.runs {
            let out = work.join(format!("{name}-{run}"));
            each.push(run_one(exe, args, &out).with_context(|| format!("scenario {name}"))?);
        }
        let f = median(&each);
        print_row(name, &f);
        done.push((name, f));
    }
    print_derived(&done, opts);
    Ok(())
}

/// Runs `spigo ARGS -q --seed 1 --out OUT` and reads what it cost.
fn run_one(exe: &Path, args: &[&str], out: &Path) -> Result<Figures> {
    std::fs::create_dir_all(out)?;
    let log = out.join("stderr.log");
    let started = Instant::now();
    let child = Command::new(exe)
        .args(args)
        .args(["-q", "--seed", "1", "--out"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let usage = rusage::wait(child).context("cannot wait for the run")?;
    let wall = started.elapsed();
    if usage.status != 0 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        anyhow::bail!(
            "spigo {} exited with status {}: {}",
            args.join(" "),
            usage.status,
            text.trim()
        );
    }
    let summary: PathBuf = out.join("summary.json");
    let text = std::fs::read_to_string(&summary)
        .with_context(|| format!("cannot read {}", summary.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", summary.display()))?;
    let count = |key: &str| v["messages"][key].as_u64().unwrap_or(0);
    Ok(Figures {
        wall,
        usage,
        delivered: count("delivered"),
        held: count("held"),
    })
}

/// Each figure's median over the runs (so one figure may come from a run
/// other than another's).
fn median(runs: &[Figures]) -> Figures {
    fn mid<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
        v.sort_by(|a, b| a.partial_cmp(b).expect("figures are ordered"));
        v[v.len() / 2]
    }
    let of = |f: fn(&Figures) -> u64| mid(runs.iter().map(f).collect());
    Figures {
        wall: mid(runs.iter().map(|r| r.wall).collect()),
        usage: Usage {
            status: 0,
            cpu: mid(runs.iter().map(|r| r.usage.cpu).collect()),
            voluntary: of(|r| r.usage.voluntary),
            involuntary: of(|r| r.usage.involuntary),
            peak_rss: of(|r| r.usage.peak_rss),
        },
        delivered: of(|r| r.delivered),
        held: of(|r| r.held),
    }
}

fn print_row(name: &str, f: &Figures) {
    let cpu = f.usage.cpu.as_secs_f64();
    let switches = f.usage.voluntary + f.usage.involuntary;
    let per = |x: f64| {
        if f.delivered == 0 {
            "-".to_string()
        } else {
            format!("{:.2}", x / f.delivered as f64)
        }
    };
    report!(
        "  {:<13} {:>6.2} s {:>6.2} s {:>10} {:>6} us {:>11} {:>15} {:>8} {:>6} MB",
        name,
        f.wall.as_secs_f64(),
        cpu,
        f.delivered,
        per(cpu * 1e6),
        if cpu > 0.0 {
            format!("{:.0}", f.delivered as f64 / cpu)
        } else {
            "-".to_string()
        },
        format!("{}+{}", f.usage.voluntary, f.usage.involuntary),
        per(switches as f64),
        f.usage.peak_rss / 1_000_000
    );
}

/// The figures the targets are stated in, from the rows above.
fn print_derived(done: &[(&str, Figures)], opts: &Options) {
    let get = |name: &str| done.iter().find(|(n, _)| *n == name).map(|(_, f)| f);
    let seconds = opts.duration.as_secs_f64();
    if let Some(f) = get("idle").filter(|_| seconds > 0.0) {
        report!(
            "  idle:         {:.4} CPU-s per simulated second",
            f.usage.cpu.as_secs_f64() / seconds
        );
        match floor::waking(f.usage.voluntary, opts.duration) {
            Ok(cpu) => report!(
                "  idle floor:   {:.4} CPU-s per second for a thread that only sleeps and wakes as often ({} times in {:.0} s): what waking alone costs on this machine",
                cpu.as_secs_f64() / seconds,
                f.usage.voluntary,
                seconds
            ),
            Err(e) => report!("  idle floor:   not measured: {e:#}"),
        }
    }
    if let Some(f) = get("pirates") {
        let spent = f.usage.cpu.as_secs_f64();
        report!(
            "  pirates:      {:.0} messages per CPU-second",
            f.delivered as f64 / spent.max(1e-9)
        );
        // As many messages as the run delivered, to as many actors.
        match floor::cold_actor_message(opts.pirates, f.delivered.max(1)) {
            Ok(each) => report!(
                "  actor floor:  {:.2} us of CPU per message to one of {} idle actors picked at random; a chat is two (tick and message), so at most {:.0} messages per CPU-second",
                each.as_secs_f64() * 1e6,
                opts.pirates,
                1.0 / (2.0 * each.as_secs_f64()).max(1e-12)
            ),
            Err(e) => report!("  actor floor:  not measured: {e:#}"),
        }
    }
    if let (Some(aws), Some(none)) = (get("latency"), get("latency-none")) {
        if aws.held > 0 && none.delivered > 0 {
            // The run without the model delivers a different number of
            // messages: what it spent per message is scaled to this run's.
            let unheld =
                none.usage.cpu.as_secs_f64() * aws.delivered as f64 / none.delivered as f64;
            let extra = aws.usage.cpu.as_secs_f64() - unheld;
            report!(
                "  latency:      {:.2} us of CPU per held message ({} held; CPU with the model minus the same messages' without)",
                extra * 1e6 / aws.held as f64,
                aws.held
            );
        }
    }
    if let (Some(plain), Some(work)) = (get("latency"), get("work")) {
        let per = |f: &Figures| f.usage.cpu.as_secs_f64() * 1e6 / f.delivered.max(1) as f64;
        report!(
            "  work:         {:.2} us of CPU per message with the work model, {:.2} us without ({:+.0}%)",
            per(work),
            per(plain),
            (per(work) / per(plain).max(1e-12) - 1.0) * 100.0
        );
    }
    if let Some(f) = get("services") {
        report!(
            "  services:     {} services x 3 instances set up and stopped in {:.2} s ({:.2} ms per service)",
            opts.services,
            f.wall.as_secs_f64(),
            f.wall.as_secs_f64() * 1e3 / opts.services as f64
        );
    }
}

/// An architecture of `n` services of 3 instances each, in spigo's
/// `<arch>_arch.json` format: a quarter of them stores, the rest karyon
/// (Netflix's base server) services each depending on two stores, and a
/// zuul (Netflix's edge router) front behind an elb (load balancer) and a
/// denominator (the traffic source), so set-up goes through four tiers.
fn wide_architecture(n: u32) -> Value {
    let stores = (n / 4).max(1);
    let apps = n - stores - 3;
    let service = |name: String, package: &str, deps: Vec<String>| json!({ "name": name, "package": package, "count": 3, "regions": 1, "dependencies": deps });
    let mut services: Vec<Value> = (0..stores)
        .map(|i| service(format!("store{i}"), "store", Vec::new()))
        .collect();
    services.extend((0..apps).map(|i| {
        let deps = vec![
            format!("store{}", i % stores),
            format!("store{}", (i + 1) % stores),
        ];
        service(format!("app{i}"), "karyon", deps)
    }));
    let front: Vec<String> = (0..apps.min(8)).map(|i| format!("app{i}")).collect();
    services.push(service("front".into(), "zuul", front));
    services.push(service("front-elb".into(), "elb", vec!["front".into()]));
    services.push(service(
        "www".into(),
        "denominator",
        vec!["front-elb".into()],
    ));
    json!({
        "arch": "wide",
        "description": "Generated by spigo bench steady: many services of 3 instances",
        "version": "bench",
        "victim": "app0",
        "services": services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_architecture_has_the_services_asked_for() {
        let v = wide_architecture(20);
        let services = v["services"].as_array().unwrap();
        assert_eq!(services.len(), 20);
        assert!(services.iter().all(|s| s["count"] == 3));
        assert_eq!(services[19]["package"], "denominator");
    }

    #[test]
    fn medians_are_per_figure() {
        let run = |cpu_ms, delivered| Figures {
            usage: Usage {
                cpu: Duration::from_millis(cpu_ms),
                ..Usage::default()
            },
            delivered,
            ..Figures::default()
        };
        let m = median(&[run(30, 1), run(10, 3), run(20, 2)]);
        assert_eq!(m.usage.cpu, Duration::from_millis(20));
        assert_eq!(m.delivered, 2);
    }
}
