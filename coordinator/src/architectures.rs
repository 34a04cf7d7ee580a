//! Which architecture a run builds: `-a` (a built-in, `json_arch/<name>_arch.json`
//! under the working directory, or a path) or `-r` (a graph to reload).
//! Everything is read and checked here, before any actor starts.

use crate::cli::Cli;
use crate::fsm::Seeding;
use crate::plan::{self, Plan};
use anyhow::{bail, Context, Result};
use spigo_proto::archaius::Config;
use spigo_proto::graphjson::GraphDoc;
use spigo_proto::latency::LatencyModel;
use spigo_proto::Architecture;
use std::path::{Path, PathBuf};

/// Architectures that need no file.
pub const BUILT_IN: [&str; 4] = ["fsm", "migration", "netflixoss", "lamp"];

pub(crate) const NETFLIXOSS: &str = include_str!("../json_arch/netflixoss_arch.json");
const LAMP: &str = include_str!("../json_arch/lamp_arch.json");

pub enum Work {
    /// fsm: a pirate social network.
    Pirates(Seeding),
    /// Everything else: services built by asgard.
    Services(Plan),
}

pub struct Resolved {
    pub arch: String,
    /// Output file stem: the arch name, numbered with `-s`.
    pub output: String,
    pub work: Work,
    /// What messages between instances are delivered by, if anything.
    pub latency: Option<LatencyModel>,
}

/// `--latency` and `--latency-scale`: the AWS figures by default for
/// architectures with regions, nothing for the pirates' ocean.
fn latency(cli: &Cli, cfg: &Config, work: &Work) -> Result<Option<LatencyModel>> {
    let default = match work {
        Work::Pirates(_) => "none",
        Work::Services(_) => "aws",
    };
    let model = match cli.latency.as_deref().unwrap_or(default) {
        "none" => return Ok(None),
        "aws" => LatencyModel::aws(&cfg.regions)?,
        file => LatencyModel::parse(&read(Path::new(file), "--latency")?, file, &cfg.regions)?,
    };
    if cli.latency_scale == 0.0 {
        return Ok(None);
    }
    Ok(Some(model.scaled(cli.latency_scale)?))
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

fn load_architecture(name: &str) -> Result<Architecture> {
    let parse =
        |text: &str, label: &str| Architecture::parse(text, label).map_err(anyhow::Error::from);
    match name {
        "netflixoss" => return parse(NETFLIXOSS, "built-in netflixoss"),
        "lamp" => return parse(LAMP, "built-in lamp"),
        _ => {}
    }
    let path = if name.ends_with(".json") || name.contains('/') {
        PathBuf::from(name)
    } else {
        let local = PathBuf::from("json_arch").join(format!("{name}_arch.json"));
        if !local.exists() {
            let mut known: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
            known.extend(local_files());
            bail!(
                "-a/--arch: unknown architecture '{name}' (known: {})",
                known.join(", ")
            );
        }
        local
    };
    parse(&read(&path, "-a/--arch")?, &path.display().to_string())
}

pub fn resolve(cli: &Cli, cfg: &Config) -> Result<Resolved> {
    let mut resolved = resolve_work(cli, cfg)?;
    resolved.latency = latency(cli, cfg, &resolved.work)?;
    Ok(resolved)
}

fn resolve_work(cli: &Cli, cfg: &Config) -> Result<Resolved> {
    if let Some(reload) = &cli.reload {
        return reload_graph(cli, cfg, reload);
    }
    let numbered = |arch: &str| match cfg.step {
        0 if cli.step.is_none() => arch.to_string(),
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
        let arch = plan::migration(cfg.step)?;
        let regions = plan::migration_regions(cfg.step, cfg.regions_used);
        if regions as usize > cfg.regions.len() {
            bail!(
                "-s/--step: step {} needs {regions} regions, the configuration has {}",
                cfg.step,
                cfg.regions.len()
            );
        }
        tracing::debug!("migration step {}: {}", cfg.step, arch.description);
        return Ok(Resolved {
            arch: "migration".into(),
            output: numbered("migration"),
            work: Work::Services({
                plan::check_size(&arch, cfg, regions)?;
                plan::from_architecture(&arch, cfg, regions, 0)
            }),
            latency: None,
        });
    }
    let arch = load_architecture(&cfg.arch)?;
    plan::check_size(&arch, cfg, cfg.regions_used)?;
    let plan = plan::from_architecture(&arch, cfg, cfg.regions_used, cfg.step as usize);
    Ok(Resolved {
        output: numbered(&arch.arch),
        arch: arch.arch,
        work: Work::Services(plan),
        latency: None,
    })
}

fn reload_graph(cli: &Cli, cfg: &Config, file: &str) -> Result<Resolved> {
    let path = if file.is_empty() {
        cli.out.join("json").join(format!("{}.json", cfg.arch))
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
    fn built_in_files_are_valid() {
        for name in ["netflixoss", "lamp"] {
            let a = load_architecture(name).unwrap();
            assert_eq!(a.arch, name);
        }
        let e = load_architecture("no-such-arch").unwrap_err().to_string();
        assert!(e.contains("known: fsm, migration, netflixoss, lamp"), "{e}");
        let e = load_architecture("missing/file.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("-a/--arch: cannot read missing/file.json"),
            "{e}"
        );
    }
}
