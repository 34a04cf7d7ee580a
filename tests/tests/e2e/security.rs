//! A node facing peers that are not its cluster (loopback only, bounded
//! loops): what such a peer says cannot forge or flood the node's log,
//! silent connections past the cap of handshakes in flight are closed at
//! once, and the node serves its cluster afterwards; and the cookie and
//! TLS rules of a node others can reach.

use super::*;
use spigo_proto::cluster::{Frame, Role};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Writes one frame as a peer does: its length, then its body.
fn send(stream: &mut TcpStream, frame: &Frame) {
    let body = spigo_proto::wire::encode(frame).unwrap();
    stream
        .write_all(&(body.len() as u32).to_be_bytes())
        .unwrap();
    stream.write_all(&body).unwrap();
}

/// Reads one frame's bytes (not decoded: the attacker does not care).
fn skip_frame(stream: &mut TcpStream) {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).unwrap();
}

/// Dials `addr` as a node named `name` that does not know the cookie.
fn impostor(addr: &str, name: &str) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    send(
        &mut s,
        &Frame::Hello {
            role: Role::Node(2),
            name: name.into(),
        },
    );
    skip_frame(&mut s);
    send(
        &mut s,
        &Frame::Proof {
            mac: vec![0; 32],
            nonce: [7; 32],
        },
    );
    // The refusal, then the node closes.
    let _ = s.read_to_end(&mut Vec::new());
}

/// A `spigo node` listening on `listen` with `cookie`, its log gathered as
/// it comes, and the address it says it listens on.
fn watched_node(listen: &str, cookie: &str) -> (Child, Arc<Mutex<String>>, String) {
    watched_node_by(spigo(), listen, cookie)
}

/// [`watched_node`], started by `command` (the binary, perhaps wrapped).
fn watched_node_by(
    command: std::process::Command,
    listen: &str,
    cookie: &str,
) -> (Child, Arc<Mutex<String>>, String) {
    let extra = ["--name", "n2"];
    let (mut child, addr) = start_node_logging(command, listen, cookie, &extra, Stdio::piped());
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let into = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = into.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    (child, log, addr)
}

/// Waits (up to `within`) until the log holds `text`.
fn wait_for_log(log: &Mutex<String>, text: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !log.lock().unwrap().contains(text) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the node at `addr` starts a handshake: it answers a Hello with
/// its challenge instead of closing the connection at once.
fn has_room(addr: &str) -> bool {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let hello = spigo_proto::wire::encode(&Frame::Hello {
        role: Role::Node(2),
        name: "probe".into(),
    })
    .unwrap();
    // One write: a node that closed at once may reset a second one.
    let mut framed = (hello.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&hello);
    s.write_all(&framed).is_ok() && s.read_exact(&mut [0u8; 4]).is_ok()
}

/// Waits (up to 5 s) until the node at `addr` has room for a handshake.
fn wait_for_room(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !has_room(addr) {
        assert!(Instant::now() < deadline, "no room for a handshake");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn peers_cannot_forge_or_flood_the_log() {
    let cookie = "a-cookie-long-enough-for-the-test-0123";
    let (mut child, log, addr) = watched_node("127.0.0.1:0", cookie);

    // A name that would start a log line of its own, and a huge one.
    impostor(
        &addr,
        "x\n2026/12/01 00:00:00.000000 ERROR: n2 lost: FORGED",
    );
    impostor(&addr, &"y".repeat(8 << 10));
    // Connections that announce a 4 MiB frame and send one byte cost the
    // node nothing: only small frames are read before the cookie.
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let mut held = Vec::new();
    for _ in 0..500 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(&[0, 0x40, 0, 0, 1]).unwrap();
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let kb = rss();
    assert!(kb < 64 * 1024, "node RSS {kb} kB under a pre-auth flood");
    drop(held);
    wait_for_room(&addr);
    // A flood of impostors: a few lines, and a count.
    let started = Instant::now();
    for i in 0..200 {
        impostor(&addr, &format!("flood{i}"));
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    // The node still serves its cluster.
    let run = Run::ok(&["-a", "lamp", "-d", "1", "--join", &addr, "--cookie", cookie]);
    assert!(
        run.stderr().contains("joined as node 1"),
        "{}",
        run.stderr()
    );
    // Past the 10 s window, the count of what was not logged arrives.
    wait_for_log(&log, "more refused connections", Duration::from_secs(15));
    let _ = child.kill();
    let _ = child.wait();
    let log = log.lock().unwrap().clone();
    assert!(
        !log.lines()
            .any(|l| l.contains("ERROR: n2 lost") && !l.contains("refused")),
        "a forged line:\n{log}"
    );
    assert!(log.contains("(from x\\n2026/12/01"), "escaped:\n{log}");
    assert!(log.len() < 20_000, "{} bytes of log", log.len());
    assert!(log.contains("(+8128 bytes)"), "a long name cut:\n{log}");
    let refused = log
        .lines()
        .filter(|l| l.contains("refused a connection"))
        .count();
    // At most 5 per 10 s window; the test spans three at most.
    assert!(refused <= 15, "{refused} refusal lines:\n{log}");
    assert!(
        log.contains("more refused connections in the last 10s"),
        "the rest counted:\n{log}"
    );
}

/// How many handshakes a node runs at once (`node/src/net/accept.rs`).
const HANDSHAKES_IN_FLIGHT: usize = 256;

/// Silent connections take at most 256 handshakes; the rest are closed at
/// once and counted. While the 256 are held the node has no room (that is
/// the cap, for at most the 10 s handshake deadline); once they close, a
/// coordinator's run succeeds.
#[test]
fn handshakes_past_the_cap_are_closed_at_once() {
    let cookie = "a-cookie-long-enough-for-the-test-0123";
    let (mut child, log, addr) = watched_node("127.0.0.1:0", cookie);
    let held: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    for s in &held {
        s.set_nonblocking(true).unwrap();
    }
    // A connection the node closed reads as ended (or reset); one in a
    // handshake has nothing to read yet. Counted well within the 10 s
    // handshake deadline, after which the node closes the rest too.
    let closed = |s: &TcpStream| {
        let mut byte = [0u8; 1];
        match (&*s).read(&mut byte) {
            Ok(0) => true,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            Ok(_) => panic!("the node spoke first"),
        }
    };
    let mut shut = vec![false; held.len()];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for (s, shut) in held.iter().zip(&mut shut) {
            *shut = *shut || closed(s);
        }
        let n = shut.iter().filter(|s| **s).count();
        if n >= held.len() - HANDSHAKES_IN_FLIGHT || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    for (s, shut) in held.iter().zip(&mut shut) {
        *shut = *shut || closed(s);
    }
    assert_eq!(
        shut.iter().filter(|s| !**s).count(),
        HANDSHAKES_IN_FLIGHT,
        "connections the node kept in a handshake"
    );
    assert!(!has_room(&addr), "a 65th handshake was started");
    // One line, then the count once the 10 s window is over (the node
    // stops with its run, so before that): the 144 and the probe, all but
    // the one logged.
    wait_for_log(&log, "more connections closed", Duration::from_secs(15));
    {
        let log = log.lock().unwrap();
        let lines = log
            .lines()
            .filter(|l| l.contains("handshakes already in flight"))
            .count();
        assert_eq!(lines, 1, "{log}");
        assert!(
            log.contains("144 more connections closed over the handshake cap in the last 10s"),
            "the rest counted:\n{log}"
        );
    }
    drop(held);
    wait_for_room(&addr);
    let run = Run::ok(&["-a", "lamp", "-d", "1", "--join", &addr, "--cookie", cookie]);
    assert!(
        run.stderr().contains("joined as node 1"),
        "{}",
        run.stderr()
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A node beyond loopback without TLS says once what that means.
#[test]
fn a_node_beyond_loopback_without_tls_warns_once() {
    let (mut child, log, addr) =
        watched_node("0.0.0.0:0", "a-cookie-long-enough-for-the-test-0123");
    assert!(addr.starts_with("0.0.0.0:"), "{addr}");
    wait_for_log(&log, "without TLS", Duration::from_secs(5));
    let _ = child.kill();
    let _ = child.wait();
    let log = log.lock().unwrap().clone();
    let warnings: Vec<_> = log.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("beyond loopback, without TLS"),
        "{log}"
    );
}

/// `spigo cookie`: a fresh 128-bit cookie each time, that a node beyond
/// loopback takes.
#[test]
fn spigo_cookie_prints_a_fresh_one() {
    let cookie = || {
        let out = spigo().arg("cookie").output().unwrap();
        assert!(out.status.success());
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (a, b) = (cookie(), cookie());
    assert_ne!(a, b);
    let a = a.strip_suffix('\n').expect("one line");
    assert_eq!(a.len(), 32, "{a}");
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    let (mut child, log, _) = watched_node("0.0.0.0:0", a);
    wait_for_log(&log, "listening on", Duration::from_secs(5));
    let _ = child.kill();
    let _ = child.wait();
    assert!(!log.lock().unwrap().contains("too short"));
}

/// CPU time a process has used so far, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap().split(' ').collect();
    // utime and stime, the 14th and 15th fields (the 12th and 13th after
    // the name).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Out of file descriptors (`prlimit --nofile`), a node's accept loop
/// waits instead of spinning, says so once, and serves a run once the
/// descriptors are free again.
#[test]
fn out_of_file_descriptors_the_node_waits_instead_of_spinning() {
    let cookie = "a-cookie-long-enough-for-the-test-0123";
    let mut command = std::process::Command::new("prlimit");
    command.arg("--nofile=48:48").arg(spigo().get_program());
    let (mut child, log, addr) = watched_node_by(command, "127.0.0.1:0", cookie);
    // More silent connections than the node has descriptors: the kernel
    // completes them all (the listen backlog), the node cannot accept the
    // rest until the first ones reach their handshake deadline.
    let held: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    assert!(held.len() > 48, "{} connections", held.len());
    wait_for_log(&log, "cannot accept connections", Duration::from_secs(5));
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_ticks(child.id()) - before;
    // A spinning loop takes all of a core: 200 ticks in these 2 s.
    assert!(
        spent < 40,
        "the node used {spent} ticks of CPU in 2 s while out of descriptors"
    );
    drop(held);
    wait_for_room(&addr);
    let run = spigo()
        .args(["-a", "lamp", "-d", "1", "--join", &addr])
        .env("SPIGO_COOKIE", cookie)
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let log = log.lock().unwrap().clone();
    assert!(
        run.status.success(),
        "{}\n{log}",
        String::from_utf8_lossy(&run.stderr)
    );
    let said = log
        .lines()
        .filter(|l| l.contains("cannot accept connections"))
        .count();
    assert!((1..=2).contains(&said), "said {said} times:\n{log}");
}
