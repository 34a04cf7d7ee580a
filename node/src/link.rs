//! Links: authenticated TCP connections between spigo processes.
//!
//! Each frame on a link is a four-byte big-endian length and a
//! [`wire`](spigo_proto::wire)-encoded [`Frame`]. A link opens with a
//! handshake in which each end proves it knows the shared cookie by
//! answering the other's random challenge with an HMAC-SHA256, so the
//! cookie itself never crosses the network and a wrong one is refused with
//! a reason. After that a writer task drains the link's queue, packing
//! consecutive messages into one Messages frame (up to
//! [`MAX_BATCH`]) and flushing the socket whenever the queue runs dry, and
//! a reader task decodes frames and hands them to the node's gateway.

use crate::gateway;
use crate::tls::{server_name, Tls};
use hmac::{Hmac, Mac};
use ractor::ActorRef;
use sha2::Sha256;
use spigo_proto::cluster::{decode_frame, Envelope, Frame, Role, MAX_BATCH};
use spigo_proto::wire::{self, WireError, MAX_FRAME_BYTES};
use spigo_proto::NodeId;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A handshake must finish within this long.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bad frame: {0}")]
    Wire(#[from] WireError),
    #[error("frame of {0} bytes announced, the limit is {MAX_FRAME_BYTES}")]
    Oversize(usize),
    #[error("refused: {0}")]
    Refused(String),
    #[error("handshake failed: {0}")]
    Handshake(String),
    #[error("handshake timed out")]
    Timeout,
    #[error("TLS: {0}")]
    Tls(String),
}

type Reader = BufReader<Box<dyn AsyncRead + Send + Unpin>>;
type Writer = BufWriter<Box<dyn AsyncWrite + Send + Unpin>>;

/// The two halves of a connection, encrypted when `tls` is given.
async fn open(
    stream: TcpStream,
    tls: Option<&Tls>,
    dial: Option<&str>,
) -> Result<(Reader, Writer), LinkError> {
    let halves = |r: Box<dyn AsyncRead + Send + Unpin>, w: Box<dyn AsyncWrite + Send + Unpin>| {
        (BufReader::new(r), BufWriter::new(w))
    };
    match (tls, dial) {
        (None, _) => {
            let (r, w) = stream.into_split();
            Ok(halves(Box::new(r), Box::new(w)))
        }
        (Some(tls), Some(addr)) => {
            let name = server_name(addr).map_err(LinkError::Tls)?;
            let tls = tokio_rustls::TlsConnector::from(tls.client.clone())
                .connect(name, stream)
                .await
                .map_err(|e| LinkError::Tls(e.to_string()))?;
            let (r, w) = tokio::io::split(tls);
            Ok(halves(Box::new(r), Box::new(w)))
        }
        (Some(tls), None) => {
            let tls = tokio_rustls::TlsAcceptor::from(tls.server.clone())
                .accept(stream)
                .await
                .map_err(|e| LinkError::Tls(e.to_string()))?;
            let (r, w) = tokio::io::split(tls);
            Ok(halves(Box::new(r), Box::new(w)))
        }
    }
}

/// The shared secret of a cluster.
#[derive(Clone)]
pub struct Cookie(String);

impl Cookie {
    pub fn new(secret: impl Into<String>) -> Cookie {
        Cookie(secret.into())
    }

    fn mac(&self, nonce: &[u8; 32], side: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.as_bytes()).expect("HMAC takes any key length");
        mac.update(nonce);
        mac.update(side);
        mac
    }

    fn prove(&self, nonce: &[u8; 32], side: &[u8]) -> Vec<u8> {
        self.mac(nonce, side).finalize().into_bytes().to_vec()
    }

    fn check(&self, nonce: &[u8; 32], side: &[u8], proof: &[u8]) -> bool {
        self.mac(nonce, side).verify_slice(proof).is_ok()
    }

    /// The secret itself, for handing to a child process's environment.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// At most the first three characters (none of a short cookie), for
    /// logs: the cookie is never printed whole.
    pub fn hint(&self) -> String {
        let n = self.0.chars().count();
        let shown: String = if n >= 12 {
            self.0.chars().take(3).collect()
        } else {
            String::new()
        };
        format!("{shown}... ({n} characters)")
    }
}

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cookie({})", self.hint())
    }
}

fn nonce() -> [u8; 32] {
    rand::random()
}

/// Reads one frame. A frame that does not decode (or breaks a batch
/// limit) is an error the link survives: its length was read, so the next
/// frame starts where it should. An oversize length is not.
pub async fn read_frame(r: &mut (impl AsyncReadExt + Unpin)) -> Result<Frame, LinkError> {
    read_frame_into(r, &mut Vec::new()).await
}

/// [`read_frame`], reading the frame's body into `body`, a buffer a reader
/// keeps from one frame to the next.
async fn read_frame_into(
    r: &mut (impl AsyncReadExt + Unpin),
    body: &mut Vec<u8>,
) -> Result<Frame, LinkError> {
    let len = r.read_u32().await? as usize;
    if len > MAX_FRAME_BYTES {
        return Err(LinkError::Oversize(len));
    }
    body.clear();
    body.resize(len, 0);
    r.read_exact(body).await?;
    Ok(decode_frame(body)?)
}

pub async fn write_frame(
    w: &mut (impl AsyncWriteExt + Unpin),
    frame: &Frame,
) -> Result<(), LinkError> {
    let body = wire::encode(frame)?;
    w.write_u32(body.len() as u32).await?;
    w.write_all(&body).await?;
    Ok(())
}

/// An authenticated connection, ready to be started.
pub struct Connected {
    pub peer_name: String,
    reader: Reader,
    writer: Writer,
}

/// Connects to `addr` and proves who this end is (over TLS when given).
pub async fn dial(
    addr: &str,
    cookie: &Cookie,
    tls: Option<&Tls>,
    role: Role,
    name: &str,
) -> Result<Connected, LinkError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        let (reader, writer) = open(stream, tls, Some(addr)).await?;
        dial_handshake(reader, writer, cookie, role, name).await
    })
    .await
    .map_err(|_| LinkError::Timeout)?
}

async fn dial_handshake(
    mut reader: Reader,
    mut writer: Writer,
    cookie: &Cookie,
    role: Role,
    name: &str,
) -> Result<Connected, LinkError> {
    write_frame(
        &mut writer,
        &Frame::Hello {
            role,
            name: name.into(),
        },
    )
    .await?;
    writer.flush().await?;
    let their_nonce = match read_frame(&mut reader).await? {
        Frame::Challenge { nonce } => nonce,
        Frame::Refused { reason } => return Err(LinkError::Refused(reason)),
        other => {
            return Err(LinkError::Handshake(format!(
                "expected a challenge, got {}",
                kind(&other)
            )))
        }
    };
    let mine = nonce();
    let proof = Frame::Proof {
        mac: cookie.prove(&their_nonce, b"dialer"),
        nonce: mine,
    };
    write_frame(&mut writer, &proof).await?;
    writer.flush().await?;
    match read_frame(&mut reader).await? {
        Frame::Welcome { mac, name } if cookie.check(&mine, b"listener", &mac) => Ok(Connected {
            peer_name: name,
            reader,
            writer,
        }),
        Frame::Welcome { .. } => Err(LinkError::Handshake(
            "the listener does not know the cookie".into(),
        )),
        Frame::Refused { reason } => Err(LinkError::Refused(reason)),
        other => Err(LinkError::Handshake(format!(
            "expected a welcome, got {}",
            kind(&other)
        ))),
    }
}

/// Checks an incoming connection's cookie; `admit` may still refuse the
/// role (a node already taken by another coordinator, say).
pub async fn accept(
    stream: TcpStream,
    cookie: &Cookie,
    tls: Option<&Tls>,
    name: &str,
    admit: impl FnOnce(Role) -> Result<(), String>,
) -> Result<(Connected, Role), LinkError> {
    stream.set_nodelay(true)?;
    tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        let (reader, writer) = open(stream, tls, None).await?;
        accept_handshake(reader, writer, cookie, name, admit).await
    })
    .await
    .map_err(|_| LinkError::Timeout)?
}

async fn accept_handshake(
    mut reader: Reader,
    mut writer: Writer,
    cookie: &Cookie,
    name: &str,
    admit: impl FnOnce(Role) -> Result<(), String>,
) -> Result<(Connected, Role), LinkError> {
    let (role, peer_name) = match read_frame(&mut reader).await? {
        Frame::Hello { role, name } => (role, name),
        other => {
            return Err(LinkError::Handshake(format!(
                "expected hello, got {}",
                kind(&other)
            )))
        }
    };
    let mine = nonce();
    write_frame(&mut writer, &Frame::Challenge { nonce: mine }).await?;
    writer.flush().await?;
    let (mac, their_nonce) = match read_frame(&mut reader).await? {
        Frame::Proof { mac, nonce } => (mac, nonce),
        other => {
            return Err(LinkError::Handshake(format!(
                "expected a proof, got {}",
                kind(&other)
            )))
        }
    };
    let refusal = if !cookie.check(&mine, b"dialer", &mac) {
        Some("wrong cookie".to_string())
    } else {
        admit(role).err()
    };
    if let Some(reason) = refusal {
        write_frame(
            &mut writer,
            &Frame::Refused {
                reason: reason.clone(),
            },
        )
        .await?;
        writer.flush().await?;
        return Err(LinkError::Refused(format!("{reason} (from {peer_name})")));
    }
    let welcome = Frame::Welcome {
        mac: cookie.prove(&their_nonce, b"listener"),
        name: name.into(),
    };
    write_frame(&mut writer, &welcome).await?;
    writer.flush().await?;
    Ok((
        Connected {
            peer_name,
            reader,
            writer,
        },
        role,
    ))
}

fn kind(frame: &Frame) -> &'static str {
    match frame {
        Frame::Hello { .. } => "hello",
        Frame::Challenge { .. } => "challenge",
        Frame::Proof { .. } => "proof",
        Frame::Welcome { .. } => "welcome",
        Frame::Refused { .. } => "refusal",
        Frame::Messages(_) => "messages",
        Frame::Events(_) => "events",
        Frame::Spans(_) => "spans",
        Frame::Request { .. } => "request",
        Frame::Reply { .. } => "reply",
        Frame::Ping(_) | Frame::Pong(_) => "heartbeat",
    }
}

/// What a link's writer sends: messages (batched) or whole frames.
pub enum Outgoing {
    Message(Envelope),
    Frame(Frame),
}

/// The sending end of a link: a queue the writer drains, and how much is
/// in it (so a sender that outruns the network can be told).
#[derive(Clone)]
pub struct LinkTx {
    tx: mpsc::UnboundedSender<Outgoing>,
    queued: Arc<AtomicUsize>,
    /// When the reader last had a whole frame from the peer.
    heard: Arc<AtomicU64>,
}

/// Milliseconds since this process first asked: a clock an atomic can hold.
fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

impl LinkTx {
    /// Queues an item; false if the link is closed.
    pub fn send(&self, item: Outgoing) -> bool {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.tx.send(item).is_ok()
    }

    /// Items queued and not yet written.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// How long since the peer last sent anything. Any frame shows it is
    /// alive: a node busy working through a backlog answers a ping late,
    /// because the ping waits behind the backlog, but its own traffic
    /// keeps arriving.
    pub fn silent_for(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.heard.load(Ordering::Relaxed)))
    }
}

impl Connected {
    /// Reads one frame before the link is started (the coordinator's Join).
    pub async fn read(&mut self) -> Result<Frame, LinkError> {
        read_frame(&mut self.reader).await
    }

    /// Starts the writer and reader tasks. Frames read go to `gateway`
    /// tagged with `peer`; when the connection ends the gateway hears so.
    /// The writer ends, after sending what is queued, once every sender of
    /// the returned queue is dropped.
    pub fn start(
        self,
        peer: NodeId,
        gateway: ActorRef<gateway::Msg>,
    ) -> (LinkTx, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let heard = Arc::new(AtomicU64::new(now_ms()));
        let writer = tokio::spawn(run_writer(self.writer, rx, queued.clone()));
        let own = (tx.downgrade(), queued.clone());
        tokio::spawn(run_reader(self.reader, peer, gateway, own, heard.clone()));
        (LinkTx { tx, queued, heard }, writer)
    }
}

async fn run_writer(
    mut w: Writer,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    queued: Arc<AtomicUsize>,
) {
    let mut batch: Vec<Envelope> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            queued.fetch_sub(1, Ordering::Relaxed);
            match item {
                Outgoing::Message(env) => {
                    batch.push(env);
                    if batch.len() >= MAX_BATCH && send_batch(&mut w, &mut batch).await.is_err() {
                        return;
                    }
                }
                Outgoing::Frame(frame) => {
                    // Keep order: queued messages go out before the frame.
                    if send_batch(&mut w, &mut batch).await.is_err()
                        || write_frame(&mut w, &frame).await.is_err()
                    {
                        return;
                    }
                }
            }
            next = rx.try_recv().ok();
        }
        if send_batch(&mut w, &mut batch).await.is_err() || w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

async fn send_batch(w: &mut Writer, batch: &mut Vec<Envelope>) -> Result<(), LinkError> {
    if batch.is_empty() {
        return Ok(());
    }
    let frame = Frame::Messages(std::mem::take(batch));
    let written = write_frame(w, &frame).await;
    // The batch's buffer is used again for the next frame.
    if let Frame::Messages(mut envelopes) = frame {
        envelopes.clear();
        *batch = envelopes;
    }
    written
}

/// The largest read buffer a link keeps between frames.
const KEEP_READ_BUFFER: usize = 256 * 1024;

/// Reads frames for the gateway. Heartbeats are answered right here, so a
/// node whose actors are busy still shows it is alive.
async fn run_reader(
    mut r: Reader,
    peer: NodeId,
    gateway: ActorRef<gateway::Msg>,
    own: (mpsc::WeakUnboundedSender<Outgoing>, Arc<AtomicUsize>),
    heard: Arc<AtomicU64>,
) {
    let mut body = Vec::new();
    loop {
        // A rare big frame (events, spans) should not pin its size on every
        // link of a large mesh.
        if body.capacity() > KEEP_READ_BUFFER {
            body = Vec::new();
        }
        let read = read_frame_into(&mut r, &mut body).await;
        if read.is_ok() {
            heard.store(now_ms(), Ordering::Relaxed);
        }
        match read {
            Ok(Frame::Ping(n)) => {
                if let Some(tx) = own.0.upgrade() {
                    own.1.fetch_add(1, Ordering::Relaxed);
                    let _ = tx.send(Outgoing::Frame(Frame::Pong(n)));
                }
            }
            Ok(frame) => {
                if gateway
                    .send_message(gateway::Msg::Frame { from: peer, frame })
                    .is_err()
                {
                    return;
                }
            }
            // Refused and counted; the stream is still in step.
            Err(LinkError::Wire(e)) => {
                let _ = gateway.send_message(gateway::Msg::BadFrame(peer, e.to_string()));
            }
            Err(e) => {
                if matches!(e, LinkError::Oversize(_)) {
                    let _ = gateway.send_message(gateway::Msg::BadFrame(peer, e.to_string()));
                }
                let clean = matches!(&e, LinkError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof);
                if !clean {
                    tracing::warn!("link to node {peer}: {e}");
                }
                let _ = gateway.send_message(gateway::Msg::Lost(peer));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn pair(
        dial_cookie: &str,
        accept_cookie: &str,
    ) -> (
        Result<Connected, LinkError>,
        Result<(Connected, Role), LinkError>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let acc = Cookie::new(accept_cookie);
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            accept(stream, &acc, None, "node1", |_| Ok(())).await
        });
        let dialed = dial(
            &addr,
            &Cookie::new(dial_cookie),
            None,
            Role::Coordinator,
            "coordinator",
        )
        .await;
        (dialed, server.await.unwrap())
    }

    #[tokio::test]
    async fn the_same_cookie_is_welcome() {
        let (dialed, accepted) = pair("s3cret", "s3cret").await;
        assert_eq!(dialed.unwrap().peer_name, "node1");
        let (conn, role) = accepted.unwrap();
        assert_eq!(
            (conn.peer_name.as_str(), role),
            ("coordinator", Role::Coordinator)
        );
    }

    #[tokio::test]
    async fn a_wrong_cookie_is_refused_on_both_ends() {
        let (dialed, accepted) = pair("guess", "s3cret").await;
        assert!(matches!(dialed, Err(LinkError::Refused(r)) if r == "wrong cookie"));
        assert!(matches!(accepted, Err(LinkError::Refused(_))));
    }

    #[tokio::test]
    async fn oversize_and_garbage_frames_are_errors() {
        let mut huge: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut huge).await,
            Err(LinkError::Oversize(_))
        ));
        let mut junk: &[u8] = &[0, 0, 0, 3, 1, 200, 200];
        assert!(matches!(
            read_frame(&mut junk).await,
            Err(LinkError::Wire(_))
        ));
        let mut short: &[u8] = &[0, 0, 0, 9, 1];
        assert!(matches!(
            read_frame(&mut short).await,
            Err(LinkError::Io(_))
        ));
    }

    /// Frames that fail to decode, break a batch limit, or name actors that
    /// are not there are refused and counted; the link keeps going until
    /// a length it cannot believe.
    #[tokio::test]
    async fn untrusted_frames_are_refused_and_counted() {
        use crate::testkit::probe;
        use crate::{gateway, Runtime};
        use spigo_proto::{Address, Gotocol, Imposition, Intention, Timestamp};

        let rt = Runtime::new(1, false);
        let (target, mut target_rx) = probe(&rt).await;
        let (control_tx, mut control_rx) = mpsc::unbounded_channel();
        let gw = gateway::start(&rt, control_tx).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut sender = TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let (r, w) = stream.into_split();
        let (tx, _rx) = mpsc::unbounded_channel();
        let own = (tx.downgrade(), Arc::new(AtomicUsize::new(0)));
        let reader: Reader = BufReader::new(Box::new(r));
        tokio::spawn(run_reader(reader, 0, gw, own, Arc::default()));
        drop(w);

        let raw = |body: &[u8]| [&(body.len() as u32).to_be_bytes()[..], body].concat();
        let msg = |to| Envelope {
            to,
            msg: Gotocol::new(Imposition::Hello, None, Timestamp(0), Intention::None),
        };
        sender
            .write_all(&raw(&[wire::WIRE_VERSION, 0xff, 0xff, 0xff]))
            .await
            .unwrap();
        sender.write_all(&raw(&[9, 1, 2, 3])).await.unwrap();
        let too_many = Frame::Messages(
            (0..=MAX_BATCH as u32)
                .map(|i| msg(Address::new(1, i)))
                .collect(),
        );
        sender
            .write_all(&raw(&wire::encode(&too_many).unwrap()))
            .await
            .unwrap();
        let good = Frame::Messages(vec![
            msg(target),
            msg(Address::new(1, 999)),
            msg(Address::new(7, 0)),
        ]);
        sender
            .write_all(&raw(&wire::encode(&good).unwrap()))
            .await
            .unwrap();
        // The one real message arrives: the link survived three bad frames.
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(2), target_rx.recv())
                .await
                .unwrap()
                .unwrap()
                .imposition,
            Imposition::Hello
        );
        assert_eq!(rt.refused_frames(), 3);
        assert_eq!(rt.link_counts().2, 2, "unknown actor and wrong node");
        sender.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let lost = tokio::time::timeout(Duration::from_secs(2), control_rx.recv())
            .await
            .unwrap();
        assert!(matches!(lost, Some(gateway::Control::Lost(0))));
        assert_eq!(rt.refused_frames(), 4);
    }

    #[test]
    fn cookies_are_never_shown_whole() {
        let c = Cookie::new("correct horse battery");
        assert_eq!(c.hint(), "cor... (21 characters)");
        assert!(!format!("{c:?}").contains("horse"));
        assert_eq!(Cookie::new("abc").hint(), "... (3 characters)");
    }
}
