//! `--cpuprofile FILE` (spigo's `-cpuprofile`): samples this process's CPU
//! while it runs and writes what it saw, as a pprof protobuf profile (read
//! by `go tool pprof`, speedscope and others) or, when FILE ends in `.svg`,
//! as a flamegraph. Nodes started with `--nodes` profile themselves into
//! FILE with their name added (`cpu.node2.pb`). Without the flag nothing
//! is sampled and nothing here runs.
//!
//! - `encode.rs`: the report as pprof protobuf, inlined frames and all.
//! - `mappings.rs`: where the binary and its libraries are loaded, with build ids.

mod encode;
mod mappings;

use super::files::check_writable;
use super::writers::write_atomically;
use crate::error::{self, Error};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Samples per second: Go's pprof rate, off by one so the sampling timer
/// does not beat in step with the simulation's own 1 s and 10 ms timers.
const FREQUENCY: i32 = 99;

/// A running profile; `finish` writes it.
pub(crate) struct Profiler {
    guard: pprof::ProfilerGuard<'static>,
    path: PathBuf,
}

impl Profiler {
    /// Starts sampling. The file's folder is checked first, so a run
    /// whose profile could not be written does not start.
    pub(crate) fn start(path: &Path) -> error::Result<Profiler> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        check_writable(dir, "--cpuprofile")?;
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY)
            // Unwinding through these from a signal handler can deadlock.
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map_err(|e| Error::usage_because("--cpuprofile: cannot start the profiler", e))?;
        Ok(Profiler {
            guard,
            path: path.to_path_buf(),
        })
    }

    /// Stops sampling and writes the profile; returns how many samples it
    /// holds.
    pub(crate) fn finish(self) -> Result<usize> {
        let report = self
            .guard
            .report()
            .build()
            .context("--cpuprofile: cannot build the report")?;
        let samples: usize = report.data.values().map(|&n| n as usize).sum();
        drop(self.guard);
        if is_svg(&self.path) && samples == 0 {
            // The flamegraph writer makes an empty file of an empty
            // report; a picture that says so is what a reader can open.
            write_atomically(&self.path, |w| {
                std::io::Write::write_all(w, NO_SAMPLES_SVG.as_bytes())
            })?;
        } else if is_svg(&self.path) {
            write_atomically(&self.path, |w| {
                report.flamegraph(w).map_err(std::io::Error::other)
            })?;
        } else {
            use pprof::protos::Message;
            let (regions, functions) = mappings::of_this_process();
            let bytes = encode::profile(&report, &regions, &functions).encode_to_vec();
            write_atomically(&self.path, |w| std::io::Write::write_all(w, &bytes))?;
        }
        tracing::info!(
            "cpu profile: {samples} samples written to {}",
            self.path.display()
        );
        Ok(samples)
    }
}

/// The flamegraph of a run in which the sampler never fired (a very short
/// or idle run): valid SVG that says so.
const NO_SAMPLES_SVG: &str = concat!(
    r#"<?xml version="1.0" standalone="no"?>"#,
    "\n",
    r#"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="60" viewBox="0 0 600 60">"#,
    r#"<rect width="600" height="60" fill="white"/>"#,
    r#"<text x="300" y="36" font-family="sans-serif" font-size="18" text-anchor="middle">"#,
    "spigo --cpuprofile: no samples (the run was too short or idle)",
    "</text></svg>\n"
);

fn is_svg(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
}

/// Where node `name` writes its profile: `cpu.pb` → `cpu.node2.pb`,
/// `flame.svg` → `flame.node2.svg`, `prof` → `prof.node2`.
pub(crate) fn for_node(path: &Path, name: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = match path.extension() {
        Some(ext) => format!("{stem}.{name}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{name}"),
    };
    path.with_file_name(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_get_their_own_file_beside_the_coordinators() {
        assert_eq!(
            for_node(Path::new("out/cpu.pb"), "node2"),
            PathBuf::from("out/cpu.node2.pb")
        );
        assert_eq!(
            for_node(Path::new("flame.svg"), "node1"),
            PathBuf::from("flame.node1.svg")
        );
        assert_eq!(
            for_node(Path::new("/tmp/prof"), "node3"),
            PathBuf::from("/tmp/prof.node3")
        );
        assert!(is_svg(Path::new("a/b.SVG")));
        assert!(NO_SAMPLES_SVG.contains("<svg") && NO_SAMPLES_SVG.contains("no samples"));
        assert!(!is_svg(Path::new("a/svg")));
    }
}
