//! Which architecture a run builds: `-a` (a built-in, `json_arch/<name>_arch.json`
//! under the working directory, or a path) or `-r` (a graph to reload).
//! Everything is read and checked here, before any actor starts.

use super::migration;
use super::plan::{self, Layout, Plan};
use anyhow::{bail, Context, Result};
use spigo_proto::archaius::Config;
use spigo_proto::graphjson::GraphDoc;
use spigo_proto::latency::LatencyModel;
use spigo_proto::Architecture;
use std::path::{Path, PathBuf};

/// Architectures that need no file.
pub(crate) const BUILT_IN: [&str; 5] = [
    "fsm",
    "migration",
    "netflixoss",
    "lamp",
    "netflixoss-resilient",
];

pub(crate) const NETFLIXOSS: &str = include_str!("../../json_arch/netflixoss_arch.json");
const LAMP: &str = include_str!("../../json_arch/lamp_arch.json");
/// netflixoss with service times, capacities and Hystrix-style clients: the
/// example the README's saturation walk-through starts from.
const NETFLIXOSS_RESILIENT: &str = include_str!("../../json_arch/netflixoss_resilient_arch.json");

/// What `-a` and `-r` leave to this file besides the [`Config`] (which
/// holds `-a` itself, `-p`, `-w`, `-s` and the regions).
pub(crate) struct Args {
    /// `-r [FILE]`: "" for the default `<out>/json/<arch>.json`.
    pub reload: Option<String>,
    /// Whether `-s` was given: a step numbers the output files.
    pub step_given: bool,
    /// `--latency`: aws, none, or a latency file.
    pub latency: Option<String>,
    pub latency_scale: f64,
    /// `--out`, where a graph to reload is by default.
    pub out: PathBuf,
}

/// How the pirates' network is seeded.
pub(crate) enum Seeding {
    /// N pirates, two random buddies each.
    Random(u32),
    /// The pirates and edges of a graph being reloaded (`-r`).
    Graph(GraphDoc),
}

pub(crate) enum Work {
    /// fsm: a pirate social network.
    Pirates(Seeding),
    /// Everything else: services built by asgard.
    Services(Plan),
}

pub(crate) struct Resolved {
    pub arch: String,
    /// Output file stem: the arch name, numbered with `-s`.
    pub output: String,
    pub work: Work,
    /// What messages between instances are delivered by, if anything.
    pub latency: Option<LatencyModel>,
}

/// `--latency` and `--latency-scale`: the AWS figures by default for
/// architectures with regions, nothing for the pirates' ocean.
fn latency(args: &Args, cfg: &Config, work: &Work) -> Result<Option<LatencyModel>> {
    let default = match work {
        Work::Pirates(_) => "none",
        Work::Services(_) => "aws",
    };
    let model = match args.latency.as_deref().unwrap_or(default) {
        "none" => return Ok(None),
        "aws" => LatencyModel::aws(&cfg.regions)?,
        file => LatencyModel::parse(&read(Path::new(file), "--latency")?, file, &cfg.regions)?,
    };
    if args.latency_scale == 0.0 {
        return Ok(None);
    }
    Ok(Some(model.scaled(args.latency_scale)?))
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{what}: cannot read {}", path.display()))
}

/// The `json_arch/*_arch.json` files in the working directory.
fn local_files() -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir("json_arch")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix("_arch.json")
                .map(str::to_string)
        })
        .collect();
    found.sort();
    found
}

/// Every name `-a` knows without a path: the built-ins, then the local files.
fn known_names() -> Vec<String> {
    let mut known: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
    known.extend(local_files());
    known
}

/// The known name `-a NAME` means. Names are matched ignoring case, so
/// `-a NetflixOSS` runs netflixoss (an exact match wins, should two local
/// files differ only in case); a path, or a name nothing matches, stays as
/// given, for [`resolve`] to read or to refuse.
pub(crate) fn canonical(arg: &str) -> String {
    if is_path(arg) {
        return arg.to_string();
    }
    let known = known_names();
    if known.iter().any(|k| k == arg) {
        return arg.to_string();
    }
    known
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(arg))
        .unwrap_or_else(|| arg.to_string())
}

/// The known name closest to a mistyped one by edit distance (ignoring
/// case), if it is close enough to be what was meant: at most a third of
/// its letters wrong, or two for short names. Far from every name, there
/// is no guess, only the list.
fn nearest<'a>(arg: &str, known: &'a [String]) -> Option<&'a str> {
    let arg = arg.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&arg, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Whether `-a` names a file by its path rather than by name.
fn is_path(arg: &str) -> bool {
    arg.ends_with(".json") || arg.contains('/')
}

/// The architecture's name, which names the output files and starts every
/// instance's name. As in spigo it comes from `-a`, never from the file's
/// `arch` field: `-a yow` is `yow`, `-a path/to/shop_arch.json` is `shop`.
pub(crate) fn name_of(arg: &str) -> String {
    if !is_path(arg) {
        return arg.to_string();
    }
    let file = Path::new(arg)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file.strip_suffix(".json").unwrap_or(&file);
    stem.strip_suffix("_arch").unwrap_or(stem).to_string()
}

/// Reads the architecture `-a` names and names it after `-a`.
fn load_architecture(arg: &str) -> Result<Architecture> {
    let name = name_of(arg);
    let parse = |text: &str, label: &str| {
        Architecture::parse(text, label)
            .and_then(|a| a.named(&name, label))
            .map_err(anyhow::Error::from)
    };
    match arg {
        "netflixoss" => return parse(NETFLIXOSS, "built-in netflixoss"),
        "lamp" => return parse(LAMP, "built-in lamp"),
        "netflixoss-resilient" => {
            return parse(NETFLIXOSS_RESILIENT, "built-in netflixoss-resilient")
        }
        _ => {}
    }
    let path = if is_path(arg) {
        PathBuf::from(arg)
    } else {
        let local = PathBuf::from("json_arch").join(format!("{arg}_arch.json"));
        if !local.exists() {
            let known = known_names();
            let guess =
                nearest(arg, &known).map_or(String::new(), |k| format!(", did you mean '{k}'?"));
            bail!(
                "-a/--arch: unknown architecture '{arg}'{guess} (known: {})",
                known.join(", ")
            );
        }
        local
    };
    parse(&read(&path, "-a/--arch")?, &path.display().to_string())
}

/// Reads and checks what the run will build.
pub(crate) fn resolve(args: &Args, cfg: &Config) -> Result<Resolved> {
    let mut resolved = resolve_work(args, cfg)?;
    resolved.latency = latency(args, cfg, &resolved.work)?;
    Ok(resolved)
}

fn resolve_work(args: &Args, cfg: &Config) -> Result<Resolved> {
    if let Some(reload) = &args.reload {
        return reload_graph(args, cfg, reload);
    }
    let numbered = |arch: &str| match cfg.step {
        0 if !args.step_given => arch.to_string(),
        s => format!("{arch}{s}"),
    };
    if cfg.arch == "fsm" {
        if cfg.population < 2 {
            bail!(
                "-p/--population: fsm needs at least 2 pirates, got {}",
                cfg.population
            );
        }
        return Ok(Resolved {
            arch: "fsm".into(),
            output: "fsm".into(),
            work: Work::Pirates(Seeding::Random(cfg.population)),
            latency: None,
        });
    }
    if cfg.population == 0 {
        bail!("-p/--population: the scale must be at least 1%");
    }
    if cfg.arch == "migration" {
        let (arch, regions) = migration::migration(cfg.step, cfg.population, cfg.regions_used)?;
        if regions as usize > cfg.regions.len() {
            bail!(
                "-s/--step: step {} needs {regions} regions, the configuration has {}",
                cfg.step,
                cfg.regions.len()
            );
        }
        tracing::debug!("migration step {}: {}", cfg.step, arch.description);
        // The counts are scaled already; -s picks the step, not a stop.
        let layout = Layout {
            regions,
            scale: 100,
            stop_after: 0,
        };
        plan::check_size(&arch, &layout)?;
        return Ok(Resolved {
            arch: "migration".into(),
            output: numbered("migration"),
            work: Work::Services(plan::from_architecture(&arch, cfg, &layout)?),
            latency: None,
        });
    }
    let arch = load_architecture(&cfg.arch)?;
    let layout = Layout {
        stop_after: cfg.step as usize,
        ..Layout::new(cfg, cfg.regions_used)
    };
    plan::check_size(&arch, &layout)?;
    let plan = plan::from_architecture(&arch, cfg, &layout).with_context(|| cfg.arch.clone())?;
    Ok(Resolved {
        output: numbered(&arch.arch),
        arch: arch.arch,
        work: Work::Services(plan),
        latency: None,
    })
}

fn reload_graph(args: &Args, cfg: &Config, file: &str) -> Result<Resolved> {
    let path = if file.is_empty() {
        args.out
            .join("json")
            .join(format!("{}.json", name_of(&cfg.arch)))
    } else {
        PathBuf::from(file)
    };
    let label = path.display().to_string();
    let doc = GraphDoc::parse(&read(&path, "-r/--reload")?, &label)?;
    tracing::info!("{} reloading from {label}", doc.arch);
    let arch = doc.arch.clone();
    let work = if doc.nodes.iter().all(|n| n.package == "pirate") {
        if doc.nodes.len() < 2 {
            bail!(
                "{label}: fsm needs at least 2 pirates, the graph has {}",
                doc.nodes.len()
            );
        }
        Work::Pirates(Seeding::Graph(doc))
    } else {
        Work::Services(plan::from_graph(&doc, cfg, &label)?)
    };
    Ok(Resolved {
        output: arch.clone(),
        arch,
        work,
        latency: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_arch_argument() {
        assert_eq!(name_of("yow"), "yow");
        assert_eq!(name_of("path/to/shop_arch.json"), "shop");
        assert_eq!(name_of("shop_arch.json"), "shop");
        assert_eq!(name_of("./other.json"), "other");
        assert_eq!(name_of("dir/plain"), "plain");
    }

    #[test]
    fn names_match_ignoring_case() {
        assert_eq!(canonical("Netflixoss"), "netflixoss");
        assert_eq!(canonical("FSM"), "fsm");
        assert_eq!(canonical("Other/Path.json"), "Other/Path.json");
        assert_eq!(canonical("nothing-like-it"), "nothing-like-it");
        let known = known_names();
        assert_eq!(nearest("lmap", &known), Some("lamp"));
        assert_eq!(nearest("MIGRATOIN", &known), Some("migration"));
        assert_eq!(nearest("no-such-arch", &known), None);
    }

    #[test]
    fn built_in_files_are_valid() {
        for name in ["netflixoss", "lamp", "netflixoss-resilient"] {
            let a = load_architecture(name).unwrap();
            assert_eq!(a.arch, name);
        }
        let e = load_architecture("no-such-arch").unwrap_err().to_string();
        assert!(
            e.contains("known: fsm, migration, netflixoss, lamp, netflixoss-resilient"),
            "{e}"
        );
        let e = load_architecture("netflixos").unwrap_err().to_string();
        assert!(
            e.starts_with("-a/--arch: unknown architecture 'netflixos', did you mean 'netflixoss'? (known: fsm,"),
            "{e}"
        );
        let e = load_architecture("missing/file.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("-a/--arch: cannot read missing/file.json"),
            "{e}"
        );
    }
}
