//! Network faults for real: hosts in network namespaces joined by a bridge,
//! and faults made with `ip` (a link taken down, or a blackhole route, so
//! packets vanish without a reset, as when a cable or a switch fails).
//!
//! Each [`Lab`] makes its own namespaces (named after this process and a
//! counter, so tests in parallel never share one), puts host `i` at
//! `10.77.0.(i+1)` on a bridge in a hub namespace, and removes everything
//! when dropped, the processes it started first (each stopped by its pid).
//! Traffic goes only to addresses inside these namespaces. Creating
//! namespaces needs root, as CI and the development machines have; where
//! that is not possible the test says so and checks nothing else.

use super::*;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Hosts of a lab share this /24.
const SUBNET: &str = "10.77.0";

pub(crate) struct Lab {
    hub: String,
    hosts: Vec<String>,
    children: Vec<Child>,
    /// Processes started by [`Lab::watched_node`], stopped by pid.
    watched: Vec<u32>,
}

/// Runs `ip` with these arguments; whether it succeeded.
fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn must(args: &[&str]) {
    assert!(ip(args), "ip {}", args.join(" "));
}

impl Lab {
    /// A lab of `n` hosts, or `None` (and a note) where namespaces cannot
    /// be made here.
    pub(crate) fn new(n: usize) -> Option<Lab> {
        static LABS: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "spg{}x{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let hub = format!("{tag}hub");
        if !ip(&["netns", "add", &hub]) {
            eprintln!("note: cannot create network namespaces here (not root?); network fault tests skipped");
            return None;
        }
        let mut lab = Lab {
            hub,
            hosts: Vec::new(),
            children: Vec::new(),
            watched: Vec::new(),
        };
        must(&["-n", &lab.hub, "link", "add", "br0", "type", "bridge"]);
        must(&["-n", &lab.hub, "link", "set", "br0", "up"]);
        for i in 0..n {
            let host = format!("{tag}h{i}");
            must(&["netns", "add", &host]);
            lab.hosts.push(host.clone());
            let port = format!("v{i}");
            must(&[
                "-n", &lab.hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &host,
            ]);
            must(&["-n", &lab.hub, "link", "set", &port, "master", "br0"]);
            must(&["-n", &lab.hub, "link", "set", &port, "up"]);
            must(&[
                "-n",
                &host,
                "addr",
                "add",
                &format!("{}/24", lab.addr(i)),
                "dev",
                "eth0",
            ]);
            must(&["-n", &host, "link", "set", "eth0", "up"]);
            must(&["-n", &host, "link", "set", "lo", "up"]);
        }
        Some(lab)
    }

    /// Host `i`'s address.
    pub(crate) fn addr(&self, i: usize) -> String {
        format!("{SUBNET}.{}", i + 1)
    }

    /// The `spigo` binary, run inside host `i`'s namespace.
    pub(crate) fn spigo(&self, i: usize) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.hosts[i]])
            .arg(spigo().get_program());
        command
    }

    /// The `spigo` binary in host `i`'s namespace, with its standard
    /// output and error written to these files when given (fixtures that
    /// pipe or drop them cannot then lose them).
    pub(crate) fn spigo_into(
        &self,
        i: usize,
        stdout: Option<&Path>,
        stderr: Option<&Path>,
    ) -> Command {
        let mut script = String::from("exec \"$0\" \"$@\"");
        if let Some(p) = stdout {
            script.push_str(&format!(" >'{}'", p.display()));
        }
        if let Some(p) = stderr {
            script.push_str(&format!(" 2>'{}'", p.display()));
        }
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.hosts[i], "sh", "-c", &script])
            .arg(spigo().get_program());
        command
    }

    /// Starts `spigo node` on host `i` at port 7100 and returns its
    /// address once it listens. The lab stops it when dropped.
    pub(crate) fn node(&mut self, i: usize, cookie: &str, extra: &[&str]) -> (String, u32) {
        self.node_with(i, self.spigo(i), cookie, extra)
    }

    /// [`Lab::node`], its log written to `log`.
    pub(crate) fn node_logged(&mut self, i: usize, cookie: &str, log: &Path) -> (String, u32) {
        self.node_with(i, self.spigo_into(i, None, Some(log)), cookie, &[])
    }

    fn node_with(
        &mut self,
        i: usize,
        command: Command,
        cookie: &str,
        extra: &[&str],
    ) -> (String, u32) {
        let listen = format!("{}:7100", self.addr(i));
        let name = format!("node{i}");
        let flags: Vec<&str> = ["--name", name.as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let (child, addr) = start_node(command, &listen, cookie, &flags);
        assert_eq!(addr, listen, "node{i}");
        let pid = child.id();
        self.children.push(child);
        (listen, pid)
    }

    /// [`Lab::node`], with its log lines watched as they come.
    pub(crate) fn watched_node(&mut self, i: usize, cookie: &str) -> (String, Watched) {
        let listen = format!("{}:7100", self.addr(i));
        let name = format!("node{i}");
        let mut command = self.spigo(i);
        command
            .args(["node", "--listen", &listen, "--name", &name])
            .env("SPIGO_COOKIE", cookie);
        let mut node = Watched::start_command(command);
        self.watched.push(node.child.id());
        node.wait_for("listening on");
        (listen, node)
    }

    /// A coordinator on host 0 running netflixoss over two regions on the
    /// nodes at `nodes`, with a 3 s heartbeat timeout and `extra` flags,
    /// once its instances have been up for a second.
    pub(crate) fn two_region_run(&self, nodes: &[&str], cookie: &str, extra: &[&str]) -> Watched {
        let join = nodes.join(",");
        let mut command = self.spigo(0);
        command.args(["-a", "netflixoss", "-w", "2", "-j", "--join", &join]);
        command.args(["--cookie", cookie, "--heartbeat-timeout", "3s"]);
        command.args(extra);
        let mut run = Watched::start_command(command);
        run.wait_for("instances up");
        std::thread::sleep(Duration::from_secs(1));
        run
    }

    /// Host `i` drops off the network: its link goes down, so what it
    /// sends is lost and nothing reaches it (no reset, no FIN).
    pub(crate) fn isolate(&self, i: usize) {
        must(&["-n", &self.hosts[i], "link", "set", "eth0", "down"]);
    }

    /// Host `i` is back on the network.
    pub(crate) fn reconnect(&self, i: usize) {
        must(&["-n", &self.hosts[i], "link", "set", "eth0", "up"]);
    }

    /// Host `from` can no longer answer host `to`: what it sends there
    /// vanishes (a blackhole route), while what `to` sends still arrives.
    /// A connection from `to` then hears nothing at all.
    pub(crate) fn silence(&self, from: usize, to: usize) {
        let route = format!("{}/32", self.addr(to));
        must(&["-n", &self.hosts[from], "route", "add", "blackhole", &route]);
    }

    /// Host `from` can answer host `to` again.
    pub(crate) fn unsilence(&self, from: usize, to: usize) {
        let route = format!("{}/32", self.addr(to));
        must(&["-n", &self.hosts[from], "route", "del", "blackhole", &route]);
    }

    /// Waits up to `limit` for the process `pid` the lab started to exit;
    /// its status, or `None` if it is still running.
    pub(crate) fn wait_exit(
        &mut self,
        pid: u32,
        limit: Duration,
    ) -> Option<std::process::ExitStatus> {
        let child = self.children.iter_mut().find(|c| c.id() == pid)?;
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Pids of the processes the lab started that are still alive.
    pub(crate) fn left_running(&self) -> Vec<u32> {
        self.children
            .iter()
            .map(Child::id)
            .chain(self.watched.iter().copied())
            .filter(|&p| alive(p))
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for &pid in &self.watched {
            if alive(pid) {
                signal(pid, "-9");
            }
        }
        for host in &self.hosts {
            ip(&["netns", "del", host]);
        }
        ip(&["netns", "del", &self.hub]);
    }
}

/// A node whose host drops off the network mid-run (no FIN, no reset) is
/// found by the coordinator's heartbeats within the heartbeat timeout; the
/// run finishes with status 3 and a valid graph recording what was lost.
#[test]
fn a_node_whose_host_drops_off_is_lost_within_the_heartbeat_timeout() {
    let Some(mut lab) = Lab::new(3) else {
        return;
    };
    let cookie = "a-cookie-long-enough-for-the-lab-0123";
    let (first, _) = lab.node(1, cookie, &[]);
    let (second, _) = lab.node(2, cookie, &[]);
    let mut run = lab.two_region_run(&[&first, &second], cookie, &["-d", "12"]);
    let cut = Instant::now();
    lab.isolate(2);
    let line = run.wait_for_all(&["node2", "lost"]);
    let detected = cut.elapsed();
    assert!(line.contains("stopped answering heartbeats"), "{line}");
    assert!(
        detected >= Duration::from_secs(2) && detected < Duration::from_secs(8),
        "a 3 s heartbeat timeout found the loss after {detected:?}"
    );
    let (code, log, dir) = run.finish();
    assert_eq!(code, Some(3), "{log}");
    let graph = read_json(&dir.path().join("json/netflixoss.json"));
    assert!(entries(&graph, "done")
        .iter()
        .any(|d| d["exit"] == "node-lost"));
    assert!(entries(&graph, "node").len() > 100, "both regions recorded");
    // node1 was told to stop. node2 heard nothing from its coordinator for
    // the heartbeat timeout, so it stopped by itself.
    lab.reconnect(2);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lab.left_running().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(lab.left_running(), Vec::<u32>::new(), "no node left behind");
}

/// Dialling a node whose host never answers (no reset, no refusal) gives
/// up after `--connect-timeout` with one line naming the node, exit 2,
/// instead of waiting for the kernel's two-minute TCP timeout.
#[test]
fn a_node_that_never_answers_is_given_up_after_the_connect_timeout() {
    let Some(mut lab) = Lab::new(2) else {
        return;
    };
    let cookie = "a-cookie-long-enough-for-the-lab-0123";
    let (addr, _) = lab.node(1, cookie, &[]);
    lab.silence(1, 0);
    let started = Instant::now();
    let out = lab
        .spigo(0)
        .args(["-a", "lamp", "-d", "1", "--join", &addr, "--cookie", cookie])
        .args(["--connect-timeout", "2s"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = assert_refused(
        &out,
        &format!("cannot reach node {addr}: no answer within 2s"),
    );
    assert!(err.contains("--connect-timeout"), "{err}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "gave up after {took:?}"
    );
}

/// A node lost past the heartbeat timeout (stopped, as a process paused by
/// a debugger or a host frozen) is fenced: the coordinator tells the
/// survivor, which drops its link to it and refuses whatever it still
/// sends. Continued, the lost node learns it is out (told it was fenced,
/// or finding its coordinator silent past the same timeout, whichever it
/// reads first) and exits 3 by itself with one line saying why; the run
/// ends with status 3, a graph recording the loss, and no process left.
#[test]
fn a_lost_node_is_fenced() {
    let Some(mut lab) = Lab::new(3) else {
        return;
    };
    let cookie = "a-cookie-long-enough-for-the-lab-0123";
    let (first, mut survivor) = lab.watched_node(1, cookie);
    let (second, lost) = lab.watched_node(2, cookie);
    let extra = ["-d", "12", "-kv", "chat:1ms"];
    let mut run = lab.two_region_run(&[&first, &second], cookie, &extra);
    signal(lost.child.id(), "-STOP");
    let cut = Instant::now();
    run.wait_for_all(&["node2", "lost"]);
    let detected = cut.elapsed();
    assert!(
        detected < Duration::from_secs(8),
        "lost {detected:?} after the stop (timeout 3s)"
    );
    let told = survivor.wait_for("fenced");
    assert!(told.contains("node 2 fenced"), "{told}");
    signal(lost.child.id(), "-CONT");
    wait_gone(&[lost.child.id()], Duration::from_secs(20));
    let (node_code, node_log, _) = lost.finish();
    assert_eq!(node_code, Some(3), "a lost node exits 3:\n{node_log}");
    let why = node_log
        .lines()
        .filter(|l| {
            l.contains("fenced: the coordinator declared this node lost")
                || l.contains("silent for")
        })
        .count();
    assert_eq!(why, 1, "one line says why:\n{node_log}");
    let (code, log, dir) = run.finish();
    assert_eq!(code, Some(3), "{log}");
    let graph = read_json(&dir.path().join("json/netflixoss.json"));
    assert!(entries(&graph, "done")
        .iter()
        .any(|d| d["exit"] == "node-lost"));
    drop(survivor);
    assert_eq!(lab.left_running(), Vec::<u32>::new(), "no node left behind");
}
