//! Bad flags and files: one line, a non-zero exit, never a panic.

use super::*;

#[test]
fn bad_input_is_one_line_and_a_nonzero_exit() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let not_a_dir = format!("{}/sub", file.path().display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-d", "10x"], "10x"),
        (vec!["-a", "fsm", "-p", "1"], "-p/--population"),
        (vec!["-p", "-3"], "-3"),
        (vec!["-p", "many"], "many"),
        (
            vec!["-a", "nosuch"],
            "known: fsm, migration, netflixoss, lamp",
        ),
        (vec!["--bogus"], "--bogus"),
        (vec!["--seed", "x"], "x"),
        (
            vec!["-a", "fsm", "-j", "-p", "10", "--out", &not_a_dir],
            "--out",
        ),
        (
            vec!["-w", "7"],
            "-w/--regions: 7 regions asked, the configuration has 6",
        ),
        (vec!["-a", "migration", "-s", "10"], "steps 0 to 9"),
        (vec!["-kv", "chat"], "-kv"),
        (vec!["-kv", "chat:soon"], "-kv chat"),
        (vec!["-p", "0"], "at least 1%"),
        (vec!["-u", "0"], "-u/--eureka-poll"),
        (
            vec!["-a", "no/such/file.json"],
            "cannot read no/such/file.json",
        ),
        (
            vec!["-r", "missing.json"],
            "-r/--reload: cannot read missing.json",
        ),
        (
            vec!["--config", "missing.json"],
            "--config: cannot read missing.json",
        ),
    ];
    for (args, expect) in cases {
        let run = Run::new(&args);
        let err = run.stderr();
        assert!(!run.out.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}:\n{err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn help_lists_spigo_flags() {
    let out = spigo().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "-a, --arch",
        "-d, --duration",
        "-p, --population",
        "-j, --graphjson",
        "-g, --graphml",
        "-m, --msglog",
    ] {
        assert!(text.contains(flag), "missing {flag} in\n{text}");
    }
}
