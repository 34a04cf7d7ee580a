//! Graph writers and the atomic file write they share.
//!
//! Every output file is written to a temporary name in its final folder and
//! renamed into place only when complete, so a crash or a full disk never
//! leaves a half-written graph behind.

pub(crate) mod gexf;
pub(crate) mod graphjson;
pub(crate) mod graphml;
pub(crate) mod metrics;

use anyhow::{Context, Result};
use chrono::{DateTime, Local, SecondsFormat};
use spigo_proto::Timestamp;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

/// What a graph file says about the run that wrote it.
pub(crate) struct RunInfo {
    pub arch: String,
    pub args: String,
    pub started: Timestamp,
}

pub(crate) const VERSION: &str = concat!("spigo-rs-", env!("CARGO_PKG_VERSION"));

/// RFC 3339 with nanoseconds in local time, as spigo's timestamps.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    let utc = DateTime::from_timestamp_nanos(t.0 as i64);
    utc.with_timezone(&Local)
        .to_rfc3339_opts(SecondsFormat::Nanos, false)
}

/// The last dotted part of a graph name: the instance (or service) itself.
pub(crate) fn label(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Writes `path` through `fill`, creating missing folders; the file appears
/// complete or not at all.
pub(crate) fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
    let file_name = path
        .file_name()
        .context("output path has no file name")?
        .to_string_lossy();
    remove_stale_temporaries(dir);
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        fill(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Removes the temporary files (`.NAME.PID.tmp`) that a spigo killed while
/// writing left in `dir`: those whose process is gone. A run that is still
/// writing into the same folder keeps its own.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit_once('.'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_alive(pid) {
            tracing::info!(
                "removing {}, left by a run that was killed while writing",
                entry.path().display()
            );
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id exists; where that cannot be known, it
/// is taken to exist, so nothing is removed.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// A writer that fails after a given number of bytes, to test that partial
/// output never appears.
#[cfg(test)]
pub(crate) struct FailAfter(pub usize);

#[cfg(test)]
impl std::io::Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.0 {
            return Err(std::io::Error::other("disk full"));
        }
        self.0 -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The run a test's graph file describes.
#[cfg(test)]
pub(crate) fn run_info(arch: &str, args: &str, started: Timestamp) -> RunInfo {
    RunInfo {
        arch: arch.into(),
        args: args.into(),
        started,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn failed_writes_leave_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("spigo-atomic-{}", std::process::id()));
        let path = dir.join("sub").join("g.json");
        let err = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            w.flush()?;
            Err(std::io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert!(!path.exists());
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 0);
        write_atomically(&path, |w| w.write_all(b"whole")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "whole");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn temporaries_of_killed_runs_are_removed() {
        let dir = std::env::temp_dir().join(format!("spigo-stale-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // No process has this id (the kernel's limit is 2^22).
        let stale = dir.join(".fsm.json.4294967294.tmp");
        let ours = dir.join(format!(".other.json.{}.tmp", std::process::id()));
        let unrelated = dir.join(".notes.tmp");
        for f in [&stale, &ours, &unrelated] {
            fs::write(f, "x").unwrap();
        }
        write_atomically(&dir.join("g.json"), |w| w.write_all(b"whole")).unwrap();
        assert!(!stale.exists(), "a dead run's temporary is removed");
        assert!(ours.exists(), "a live run's temporary is kept");
        assert!(unrelated.exists(), "other files are left alone");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn timestamps_are_rfc3339_with_nanoseconds() {
        let s = rfc3339(Timestamp(1_460_925_525_736_717_341));
        assert!(s.starts_with("2016-04-"), "{s}");
        assert!(s.contains(".736717341"), "{s}");
    }
}
