//! What a run shows while simulated time passes: a log line per tenth of
//! the run off a terminal, a status line redrawn on one, nothing with -q.

use super::*;

/// The progress lines of a run's log: (percent, the rest of the line).
fn progress_lines(stderr: &str, arch: &str) -> Vec<(u32, String)> {
    let marker = format!(" {arch}: ");
    stderr
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find(&marker)? + marker.len()..];
            let (pct, status) = rest.split_once("% ")?;
            Some((pct.parse().ok()?, status.to_string()))
        })
        .collect()
}

#[test]
fn off_a_terminal_a_line_per_tenth_of_the_run() {
    let run = Run::ok(&["-a", "netflixoss", "-d", "3", "--seed", "2"]);
    let lines = progress_lines(&run.stderr(), "netflixoss");
    let percents: Vec<u32> = lines.iter().map(|(p, _)| *p).collect();
    // Every tenth but the end, in order, each once (a slow machine may
    // skip one, never repeat or go back).
    assert!(percents.len() >= 7, "{percents:?}\n{}", run.stderr());
    assert!(percents.windows(2).all(|w| w[0] < w[1]), "{percents:?}");
    assert!(percents
        .iter()
        .all(|p| p % 10 == 0 && (10..=90).contains(p)));
    for (pct, status) in &lines {
        assert!(status.starts_with("sim "), "{status}");
        assert!(status.contains("/3.0s, 65 instances, "), "{status}");
        for part in [" req/s", ", p99 ", " errors", ", one process"] {
            assert!(status.contains(part), "{pct}%: {status}");
        }
        // 100 requests a second, as a person writes a rate.
        let rate: f64 = status
            .split(", ")
            .find_map(|p| p.strip_suffix(" req/s"))
            .unwrap()
            .parse()
            .unwrap();
        assert!((80.0..=120.0).contains(&rate), "{status}");
    }
    // No bar or estimate of time left in a log.
    assert!(!run.stderr().contains('\r') && !run.stderr().contains(" left"));
}

#[test]
fn pirates_show_messages_and_quiet_shows_nothing() {
    let run = Run::ok(&["-a", "fsm", "-p", "500", "-d", "2", "--seed", "2"]);
    let lines = progress_lines(&run.stderr(), "fsm");
    assert!(!lines.is_empty(), "{}", run.stderr());
    assert!(lines
        .iter()
        .all(|(_, s)| s.contains("500 instances, ") && s.contains(" msg/s, one process")));
    let quiet = Run::ok(&["-a", "fsm", "-p", "500", "-d", "2", "--seed", "2", "-q"]);
    assert!(progress_lines(&quiet.stderr(), "fsm").is_empty());
}

#[test]
fn over_several_nodes_the_line_counts_them() {
    let run = Run::ok(&["-a", "netflixoss", "-d", "2", "--nodes", "2", "--seed", "2"]);
    let lines = progress_lines(&run.stderr(), "netflixoss");
    assert!(!lines.is_empty(), "{}", run.stderr());
    assert!(
        lines.iter().all(|(_, s)| s.ends_with(", 2 nodes")),
        "{lines:?}"
    );
}

#[test]
fn on_a_terminal_a_status_line_is_redrawn_and_taken_away() {
    // `script` gives the run a terminal (util-linux, on every Debian).
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let cmd = format!(
        "{} -a netflixoss -d 2 --seed 2 --out {} >/dev/null",
        Path::new(spigo().get_program()).display(),
        dir.path().join("out").display()
    );
    let status = std::process::Command::new("script")
        .args(["-qec", &cmd])
        .arg(&typescript)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("script (util-linux) runs");
    assert!(status.success());
    let seen = std::fs::read_to_string(&typescript).unwrap();
    // Redrawn in place (carriage return, clear line), more than once.
    let drawn = seen.matches("sim ").count();
    assert!(drawn >= 2, "{seen}");
    assert!(seen.contains("\r\x1b[2K"), "{seen:?}");
    // No per-tenth log lines on a terminal, and the last thing on screen
    // is the log, not a stale status line.
    assert!(progress_lines(&seen, "netflixoss").is_empty());
    let tail = seen.trim_end().rsplit('\n').next().unwrap_or("");
    assert!(!tail.contains("sim "), "{tail:?}");
}
