//! The run's [`Config`]: a `--config` file (or the defaults), then every
//! flag given on the command line, which wins over the file.

use super::args::Cli;
use crate::error::{self, Error};
use crate::model::architectures;
use clap::parser::ValueSource;
use clap::ArgMatches;
use spigo_proto::archaius::Config;
use std::time::Duration;

/// The run's configuration: the `--config` file (or the defaults), then
/// every flag given on the command line.
pub(super) fn config(cli: &Cli, matches: &ArgMatches) -> error::Result<Config> {
    let mut cfg = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::usage_because(format!("--config: cannot read {}", path.display()), e)
            })?;
            serde_json::from_str(&text)
                .map_err(|e| Error::usage_because(format!("--config: {}", path.display()), e))?
        }
        None => Config::default(),
    };
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    // What the file may set, a flag sets only when given; without a file,
    // the flags' defaults are the run's.
    let flag_wins = |id: &str| cli.config.is_none() || given(id);
    if flag_wins("arch") {
        cfg.arch = cli.arch.clone();
    }
    // `-a Netflixoss` (or "arch" in the file) is netflixoss from here on:
    // the run, its files and its saved configuration see the known name.
    cfg.arch = architectures::canonical(&cfg.arch);
    if flag_wins("duration") {
        cfg.duration = cli.duration;
    }
    if flag_wins("population") {
        cfg.population = cli.population;
    }
    if flag_wins("regions") {
        cfg.regions_used = cli.regions;
    }
    if flag_wins("eureka_poll") {
        cfg.eureka_poll = cli.eureka_poll;
    }
    if let Some(step) = cli.step {
        cfg.step = step;
    }
    cfg.filter |= cli.filter;
    if cli.seed.is_some() {
        cfg.seed = cli.seed;
    }
    for kv in &cli.kv {
        cfg.set_kv(kv).map_err(Error::refused)?;
    }
    // A value read from the file is blamed on the file, not the flag.
    let file = |flag: &str| match &cli.config {
        Some(path) if !given(flag) => Some(format!("--config: {}", path.display())),
        _ => None,
    };
    if cfg.eureka_poll < Duration::from_millis(1) {
        let prefix = file("eureka_poll").map_or(String::new(), |f| format!("{f}: "));
        return Err(Error::usage(format!(
            "{prefix}-u/--eureka-poll: {} is too short (at least 1ms)",
            spigo_proto::time::GoDuration(cfg.eureka_poll)
        )));
    }
    cfg.check().map_err(|e| match file("regions") {
        Some(f) => Error::usage_because(f, e),
        None => Error::refused(e),
    })?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::goflags::normalise;
    use clap::{CommandFactory, FromArgMatches};
    use std::path::PathBuf;

    fn parse(args: &[&str]) -> anyhow::Result<(Cli, Config)> {
        let argv = normalise(
            std::iter::once("spigo")
                .chain(args.iter().copied())
                .map(String::from),
        );
        let matches = Cli::command().try_get_matches_from(argv)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let cfg = config(&cli, &matches)?;
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
