//! A link after its handshake (loopback only): a relay on the path that
//! does not know the cookie cannot make a node obey a frame it inserts,
//! and ends that speak differently (TLS or not) say so.

use super::*;
use spigo_proto::cluster::{Frame, Request};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The tag after each frame once a link is open (HMAC-SHA256; see
/// node/src/net/seal.rs). The relay needs it only to find frame borders.
const TAG_BYTES: usize = 32;

/// Frames the dialer sends before its link is sealed: Hello and Proof.
const HANDSHAKE_FRAMES: usize = 2;

/// Copies one frame (length, body and, past the handshake, tag) from
/// `from` to `to`; false once `from` closes.
fn pass_frame(from: &mut TcpStream, to: &mut TcpStream, sealed: bool) -> bool {
    let mut len = [0u8; 4];
    if from.read_exact(&mut len).is_err() {
        return false;
    }
    let tag = if sealed { TAG_BYTES } else { 0 };
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize + tag];
    from.read_exact(&mut rest).is_ok() && to.write_all(&len).is_ok() && to.write_all(&rest).is_ok()
}

/// Relays one connection from `listener` to `node`. From the dialer's
/// side it passes the handshake and then frames for `pass`, then inserts a
/// `Request::Stop` (length and body, as spigo sends frames: what the
/// review's relay injected) and goes on relaying. Returns when the
/// insertion was made.
fn injecting_relay(
    listener: TcpListener,
    node: String,
    pass: Duration,
) -> std::thread::JoinHandle<Instant> {
    std::thread::spawn(move || {
        let (mut dialer, _) = listener.accept().unwrap();
        let mut upstream = TcpStream::connect(&node).unwrap();
        let (mut down_from, mut down_to) =
            (upstream.try_clone().unwrap(), dialer.try_clone().unwrap());
        // Node to dialer: copied as bytes, both ways' closes passed on.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut down_from, &mut down_to);
            let _ = down_to.shutdown(Shutdown::Both);
        });
        for _ in 0..HANDSHAKE_FRAMES {
            assert!(
                pass_frame(&mut dialer, &mut upstream, false),
                "the dialer closed early"
            );
        }
        let open = Instant::now();
        while open.elapsed() < pass {
            assert!(
                pass_frame(&mut dialer, &mut upstream, true),
                "the dialer closed early"
            );
        }
        let stop = spigo_proto::wire::encode(&Frame::Request {
            id: 999,
            body: Request::Stop,
        })
        .unwrap();
        upstream
            .write_all(&(stop.len() as u32).to_be_bytes())
            .unwrap();
        upstream.write_all(&stop).unwrap();
        let at = Instant::now();
        let _ = std::io::copy(&mut dialer, &mut upstream);
        let _ = upstream.shutdown(Shutdown::Both);
        at
    })
}

#[test]
fn a_frame_inserted_on_the_path_is_refused_and_ends_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let cookie = "a-cookie-for-the-relay-test-0123456789";
    let log = dir.path().join("node.log");
    let node_log = Stdio::from(std::fs::File::create(&log).unwrap());
    let (mut node, addr) = start_node_logging(spigo(), "127.0.0.1:0", cookie, &[], node_log);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_addr = listener.local_addr().unwrap().to_string();
    // Past the handshake, the Join and set-up: the run is under way (the
    // coordinator pings every second, so a frame border comes soon).
    let relay = injecting_relay(listener, addr, Duration::from_secs(2));
    let out = spigo()
        .args([
            "-a",
            "netflixoss",
            "-d",
            "5",
            "-j",
            "--join",
            &relay_addr,
            "--cookie",
            cookie,
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let ended = Instant::now();
    let injected = relay.join().unwrap();
    let gone = wait_gone(&[node.id()], Duration::from_secs(10));
    let _ = node.kill();
    let _ = node.wait();
    let node_log = std::fs::read_to_string(&log).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert!(
        node_log.contains("failed authentication"),
        "node log:\n{node_log}"
    );
    assert!(!node_log.contains("Stop"), "node log:\n{node_log}");
    assert!(
        node_log.contains("the coordinator went away"),
        "node log:\n{node_log}"
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "a lost node is a failed run:\n{stderr}"
    );
    assert!(stderr.contains("lost"), "{stderr}");
    assert!(gone, "the node exits by itself");
    // Found at once: the node closes the link on the frame itself.
    let detected = ended.duration_since(injected);
    assert!(
        detected < Duration::from_secs(8),
        "the coordinator took {detected:?}"
    );
    accounting::check_summary(dir.path());
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["exit"], 3, "{summary:#}");
    assert_eq!(summary["ending"], "nodes lost", "{summary:#}");
    let graph = read_json(&dir.path().join("json/netflixoss.json"));
    let lost = entries(&graph, "done")
        .iter()
        .filter(|d| d["exit"] == "node-lost")
        .count();
    assert!(lost > 0, "the lost instances are in the graph");
}
