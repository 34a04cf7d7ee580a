//! Fixtures for runs a test watches while they go: a coordinator whose log
//! lines arrive as they are written, and signals and liveness by pid.

use super::{check_summary, spigo};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A coordinator whose log lines arrive on a channel as they are written.
pub struct Watched {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub log: String,
    pub dir: tempfile::TempDir,
}

impl Watched {
    pub fn start(args: &[&str]) -> Watched {
        let mut command = spigo();
        command.args(args);
        Watched::start_command(command)
    }

    /// Starts `command` (a spigo run, perhaps wrapped) in a fresh folder.
    pub fn start_command(mut command: Command) -> Watched {
        let dir = tempfile::tempdir().unwrap();
        let mut child = command
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Watched {
            child,
            lines,
            log: String::new(),
            dir,
        }
    }

    /// Waits for a log line containing `text` and returns it.
    pub fn wait_for(&mut self, text: &str) -> String {
        self.wait_for_all(&[text])
    }

    /// Waits for a log line containing every one of `texts`.
    pub fn wait_for_all(&mut self, texts: &[&str]) -> String {
        self.wait_until(|line| texts.iter().all(|t| line.contains(t)), texts)
    }

    /// Waits for a log line containing any one of `texts`.
    pub fn wait_for_any(&mut self, texts: &[&str]) -> String {
        self.wait_until(|line| texts.iter().any(|t| line.contains(t)), texts)
    }

    /// Waits (a minute at most) for a log line that `wanted` accepts.
    fn wait_until(&mut self, wanted: impl Fn(&str) -> bool, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.log.push_str(&line);
                self.log.push('\n');
                if wanted(&line) {
                    return line;
                }
            }
        }
        let _ = self.child.kill();
        panic!("no line with {texts:?} in:\n{}", self.log);
    }

    /// The pid a node reported when it joined.
    pub fn node_pid(&mut self, node: u16) -> u32 {
        // The coordinator's line, not the node's own: it has the pid.
        let line = self.wait_for_all(&[&format!("joined as node {node}"), "pid "]);
        line.split("pid ")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Waits for the run to end; its summary file, if it wrote one, must
    /// add up ([`check_summary`]).
    pub fn finish(mut self) -> (Option<i32>, String, tempfile::TempDir) {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.log.push_str(&line);
            self.log.push('\n');
        }
        check_summary(self.dir.path());
        (status.code(), self.log, self.dir)
    }
}

pub fn signal(pid: u32, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

pub fn alive(pid: u32) -> bool {
    // A zombie has exited; only a live process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

/// Waits up to `limit` for every one of `pids` to exit; whether they all
/// did.
pub fn wait_gone(pids: &[u32], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    pids.iter().all(|&p| !alive(p))
}
