//! Frames never over the limit at the source: a batch too big for one
//! frame goes as several over a real link, and a single message too big
//! for any frame is refused where it is sent.

use super::gateway;
use super::link::{Connected, Reader, Writer};
use super::seal::{Session, Side};
use crate::runtime::SendError;
use crate::testkit::probe;
use crate::Runtime;
use spigo_proto::{Address, Gotocol, Imposition, Intention, Timestamp};
use std::time::Duration;
use tokio::io::{BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Both ends of a TCP link on loopback, as connections ready to start.
async fn pair() -> (Connected, Connected) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dialled = TcpStream::connect(addr).await.unwrap();
    let (accepted, _) = listener.accept().await.unwrap();
    let halves = |s: TcpStream, name: &str, side| {
        let (r, w) = s.into_split();
        let reader: Reader = BufReader::new(Box::new(r));
        let writer: Writer = BufWriter::new(Box::new(w));
        let session = Session::derive(b"a test cookie", &[1; 32], &[2; 32], side);
        Connected::new(name.into(), reader, writer, session)
    };
    (
        halves(dialled, "node2", Side::Dialer),
        halves(accepted, "node1", Side::Listener),
    )
}

fn hello(text: usize) -> Gotocol {
    Gotocol::new(
        Imposition::Hello,
        Some(Address::new(1, 7)),
        Timestamp(0),
        Intention::Text("x".repeat(text).into()),
    )
}

#[tokio::test]
async fn a_batch_over_the_frame_limit_goes_as_several_frames() {
    let (a, b) = (
        Runtime::new(1, false).unwrap(),
        Runtime::new(2, false).unwrap(),
    );
    let (target, mut got) = probe(&b).await;
    let (ctl_a, _ctl_a) = mpsc::unbounded_channel();
    let (ctl_b, mut lost_b) = mpsc::unbounded_channel();
    let gw_a = gateway::start(&a, ctl_a).await.unwrap();
    let gw_b = gateway::start(&b, ctl_b).await.unwrap();
    let (to_b, to_a) = pair().await;
    let (tx, _) = to_b.start(2, gw_a);
    a.set_link(2, tx);
    let (tx, _) = to_a.start(1, gw_b);
    b.set_link(1, tx);
    // 100 messages of 100 KB: about 10 MB, queued at once so the writer
    // would batch them all into one frame.
    for _ in 0..100 {
        a.send(target, hello(100_000)).unwrap();
    }
    for i in 0..100 {
        let m = tokio::time::timeout(Duration::from_secs(5), got.recv())
            .await
            .unwrap_or_else(|_| panic!("message {i} did not arrive"))
            .unwrap();
        assert_eq!(m.intention, Intention::Text("x".repeat(100_000).into()));
    }
    assert_eq!(b.link_counts().messages_in, 100);
    assert_eq!(b.link_counts().bad_frames, 0, "no frame over the limit");
    assert!(lost_b.try_recv().is_err(), "the link is still up");
    assert!(b.has_link(1) && a.has_link(2));
}

#[tokio::test]
async fn a_message_too_big_for_any_frame_is_refused_where_it_is_sent() {
    let a = Runtime::new(1, false).unwrap();
    let (ctl, _ctl) = mpsc::unbounded_channel();
    let gw = gateway::start(&a, ctl).await.unwrap();
    let (to_b, _other_end) = pair().await;
    let (tx, _) = to_b.start(2, gw);
    a.set_link(2, tx);
    let to = Address::new(2, 3);
    let big = 5 << 20;
    for _ in 0..3 {
        match a.send(to, hello(big)) {
            Err(SendError::TooBig { to: at, bytes }) => {
                assert_eq!(at, to);
                assert!(bytes > big, "{bytes}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(a.link_counts().oversize, 3, "every one counted");
    assert_eq!(a.undeliverable(), 3);
    assert_eq!(a.link_counts().messages_out, 0);
    // One just under the limit still goes.
    a.send(to, hello((4 << 20) - (1 << 10))).unwrap();
    assert_eq!(a.link_counts().messages_out, 1);
}
