//! Records which commit the binary was built from, for `spigo --version`:
//! `SPIGO_COMMIT` is `commit <short hash>`, with `-dirty` when the tree had
//! uncommitted changes, or `commit unknown` when there is no git (a source
//! tarball). Without git the build goes on: the version is a courtesy.
//!
//! Cargo runs this again only when what it reads says the commit may have
//! moved: `HEAD`, the branch ref `HEAD` names (or `packed-refs`, where git
//! keeps refs it has packed), and the index, which `git add` and
//! `git commit` rewrite. An edit not yet added does not rerun it, so
//! `-dirty` is as of the last of those.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let commit = match git(&["rev-parse", "--short", "HEAD"]) {
        Some(hash) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!("commit {hash}{}", if dirty { "-dirty" } else { "" })
        }
        None => "commit unknown".to_string(),
    };
    println!("cargo:rustc-env=SPIGO_COMMIT={commit}");
    watch_git();
}

/// The trimmed output of a git command run in this crate's folder, if git
/// is there and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env_path("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_default())
}

/// Asks cargo to rerun this script when `HEAD`, the ref it names or the
/// index change. A worktree keeps its own `HEAD` and index in its git dir
/// and the refs in the common one, so both are asked of git.
fn watch_git() {
    // Without git, nothing to watch: rerun only when this script changes.
    println!("cargo:rerun-if-changed=build.rs");
    let here = env_path("CARGO_MANIFEST_DIR");
    let absolute = |p: String| -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            here.join(p)
        }
    };
    let Some(git_dir) = git(&["rev-parse", "--git-dir"]).map(absolute) else {
        return;
    };
    let common = git(&["rev-parse", "--git-common-dir"])
        .map(absolute)
        .unwrap_or_else(|| git_dir.clone());
    let head = git_dir.join("HEAD");
    watch(&head);
    watch(&git_dir.join("index"));
    watch(&common.join("packed-refs"));
    if let Some(reference) = std::fs::read_to_string(&head)
        .ok()
        .and_then(|text| text.strip_prefix("ref:").map(|r| r.trim().to_string()))
    {
        watch(&common.join(reference));
    }
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
