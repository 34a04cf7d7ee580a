//! Command-line habits: architecture names in any case, "did you mean"
//! for a mistyped architecture or flag, shell completions, the man page,
//! `--version` with its commit, and what `-v` adds to the log.

use super::*;

/// The log without its timestamps, one entry per line.
fn log_lines(run: &Run) -> BTreeSet<String> {
    run.stderr()
        .lines()
        .map(|l| l.get(27..).unwrap_or(l).to_string())
        .collect()
}

#[test]
fn arch_names_match_ignoring_case() {
    let run = Run::ok(&["-a", "Netflixoss", "-d", "0", "-p", "10", "-j"]);
    assert!(
        run.path("json/netflixoss.json").exists(),
        "{}",
        run.stderr()
    );
    let run = Run::ok(&["-a", "FSM", "-d", "0", "-p", "5"]);
    assert!(
        run.stderr().contains("fsm: population 5 pirates"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_mistyped_arch_gets_the_nearest_name() {
    let run = Run::new(&["-a", "netflixos", "-d", "0"]);
    let err = assert_refused(&run.out, "did you mean 'netflixoss'?");
    assert!(
        err.contains("(known: fsm, migration, netflixoss, lamp, netflixoss-resilient"),
        "{err}"
    );
}

#[test]
fn a_mistyped_flag_gets_a_tip() {
    let out = spigo().args(["--durration", "5"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "spigo: unexpected argument '--durration' found",
            "  tip: a similar argument exists: '--duration'"
        ],
        "{err}"
    );
}

#[test]
fn completions_and_man_page() {
    let out = spigo().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("--duration"), "{script}");
    for shell in ["zsh", "fish"] {
        let out = spigo().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let out = spigo().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with('.'), "{page}");
    assert!(page.contains(".TH spigo"), "{page}");
    assert!(page.contains("duration"), "{page}");
}

#[test]
fn version_names_the_commit() {
    let out = spigo().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("spigo "), "{text}");
    assert!(text.contains("(commit "), "{text}");
}

#[test]
fn verbose_shows_more() {
    let args = ["-d", "2", "-p", "10", "--seed", "1"];
    let plain = log_lines(&Run::ok(&args));
    let verbose = Run::ok(&[&args[..], &["-v"]].concat());
    let more: Vec<String> = log_lines(&verbose).difference(&plain).cloned().collect();
    let text = verbose.stderr();
    assert!(!more.is_empty(), "{text}");
    assert!(text.contains("placement: homepage"), "{text}");
    assert!(text.contains("wave of"), "{text}");
    assert!(
        text.contains("eureka00: ") && text.contains(" registered, "),
        "{text}"
    );
    let trace = Run::ok(&[&args[..], &["-vv"]].concat()).stderr();
    assert!(trace.contains(": links to "), "{trace}");
    assert!(trace.lines().count() > text.lines().count(), "{trace}");
}
