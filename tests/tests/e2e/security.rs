//! A node facing peers that are not its cluster (loopback only, bounded
//! loops): what such a peer says cannot forge or flood the node's log, and
//! the node serves its cluster afterwards.

use super::*;
use spigo_proto::cluster::{Frame, Role};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
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

#[test]
fn peers_cannot_forge_or_flood_the_log() {
    let cookie = "a-cookie-long-enough-for-the-test-0123";
    let mut child = spigo()
        .args(["node", "--listen", "127.0.0.1:0", "--name", "n2"])
        .env("SPIGO_COOKIE", cookie)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();

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
    let deadline = Instant::now() + Duration::from_secs(15);
    while !log.lock().unwrap().contains("more refused connections") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
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
