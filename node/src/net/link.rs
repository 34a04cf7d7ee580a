//! Links: authenticated TCP connections between spigo processes, once
//! they are open.
//!
//! Each frame on a link is a four-byte big-endian length and a
//! [`spigo_proto::wire`]-encoded [`Frame`], followed, once the handshake is
//! done, by its tag (see `seal.rs`): a frame whose tag fails closes the
//! link. A started link has two
//! tasks: a writer that drains the link's queue (the runtime's
//! [`LinkTx`]), packing consecutive messages into one Messages frame (up to
//! [`MAX_BATCH`], and never past the frame size limit: see
//! [`spigo_proto::fit`]) and flushing the socket whenever the queue runs
//! dry, and a reader that decodes frames and hands them to the node's
//! gateway. Whichever of the two ends a link says why, so both ends of a
//! closed link log their reason. How a link opens (the cookie handshake,
//! TLS) is `handshake.rs`'s job.

use super::gateway;
use super::seal::{Forged, Opener, Sealer, Session, TAG_BYTES};
use crate::runtime::links::{now_ms, LinkTx, Outgoing};
use ractor::ActorRef;
use spigo_proto::cluster::{decode_frame, Envelope, Frame, Refusal, MAX_BATCH};
use spigo_proto::fit::{self, Bounded, ROOM};
#[cfg(doc)]
use spigo_proto::preauth::PRE_AUTH_FRAME_BYTES;
use spigo_proto::preauth::{handshake_frame_len, PreAuthError};
use spigo_proto::wire::{self, WireError, MAX_FRAME_BYTES};
use spigo_proto::NodeId;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bad frame: {0}")]
    Wire(#[from] WireError),
    #[error("frame of {0} bytes announced, the limit is {MAX_FRAME_BYTES}")]
    Oversize(usize),
    /// A frame after the handshake whose tag does not match.
    #[error(transparent)]
    Forged(#[from] Forged),
    /// Bytes before the cookie is proved that are no handshake frame: too
    /// long (refused before anything is allocated), or a TLS record.
    #[error(transparent)]
    PreAuth(PreAuthError),
    /// The peer speaks plain frames where this end speaks TLS.
    #[error("the peer does not speak TLS and this end does: give every process --tls-cert, --tls-key and --tls-ca, or none")]
    PeerSpeaksPlain,
    /// The peer's handshake carried another wire version.
    #[error("the peer speaks wire version {0} and this build {ours}: run the same spigo release on every process", ours = wire::WIRE_VERSION)]
    WireVersion(u8),
    /// The other end refused this one.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// This end refused the other (`peer`, by the name it gave).
    #[error("refused: {reason} (from {peer})")]
    Refusing { reason: Refusal, peer: String },
    /// The other end sent a frame the handshake has no place for.
    #[error("handshake failed: expected {wanted}, got {got}")]
    Unexpected {
        wanted: &'static str,
        got: &'static str,
    },
    /// The listener's proof does not match this end's cookie.
    #[error("handshake failed: the listener does not know the cookie")]
    ListenerCookie,
    #[error("handshake timed out")]
    Timeout,
    /// Nothing answered the connection attempt in time (a host that is
    /// down or unreachable drops it silently).
    #[error("no answer within {} (--connect-timeout)", spigo_proto::time::GoDuration(*.0))]
    ConnectTimeout(Duration),
    #[error("TLS: {0}")]
    HostName(#[from] super::tls::BadHostName),
    #[error("TLS: {0}")]
    Tls(#[source] std::io::Error),
}

pub(crate) type Reader = BufReader<Box<dyn AsyncRead + Send + Unpin>>;
pub(crate) type Writer = BufWriter<Box<dyn AsyncWrite + Send + Unpin>>;

/// Reads one handshake frame, under [`PRE_AUTH_FRAME_BYTES`] (the rules
/// are `spigo_proto::preauth`'s, which the fuzzer checks).
pub(crate) async fn read_handshake_frame(
    r: &mut (impl AsyncReadExt + Unpin),
) -> Result<Frame, LinkError> {
    let mut prefix = [0u8; 4];
    r.read_exact(&mut prefix).await?;
    let len = handshake_frame_len(prefix).map_err(LinkError::PreAuth)?;
    // Grown as bytes arrive, not at the length announced, and dropped
    // with the frame: a handshake holds nothing between frames.
    let mut body = Vec::new();
    let got = r.take(len as u64).read_to_end(&mut body).await?;
    if got < len {
        return Err(LinkError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    decode_frame(&body).map_err(|e| match e {
        WireError::Version(v) => LinkError::WireVersion(v),
        other => LinkError::Wire(other),
    })
}

/// Reads one frame of a started link and checks its tag. A frame that
/// does not decode (or breaks a batch limit) is an error the link
/// survives: its tag matched, so it is what the other end sent, and its
/// length was read, so the next frame starts where it should. An oversize
/// length or a failed tag is not.
async fn read_sealed(
    r: &mut (impl AsyncReadExt + Unpin),
    body: &mut Vec<u8>,
    open: &mut Opener,
) -> Result<Frame, LinkError> {
    let len = r.read_u32().await? as usize;
    if len > MAX_FRAME_BYTES {
        return Err(LinkError::Oversize(len));
    }
    body.clear();
    body.resize(len + TAG_BYTES, 0);
    r.read_exact(body).await?;
    let (frame, tag) = body.split_at(len);
    open.check(frame, tag)?;
    Ok(decode_frame(frame)?)
}

/// Writes one handshake frame (no tag: there is no session yet).
pub async fn write_frame(
    w: &mut (impl AsyncWriteExt + Unpin),
    frame: &Frame,
) -> Result<(), LinkError> {
    let body = wire::encode(frame)?;
    w.write_u32(body.len() as u32).await?;
    w.write_all(&body).await?;
    Ok(())
}

/// The writing half of a started link: every frame goes out tagged.
struct SealedWriter {
    w: Writer,
    seal: Sealer,
}

impl SealedWriter {
    async fn write(&mut self, frame: &Frame) -> Result<(), LinkError> {
        let body = wire::encode(frame)?;
        let tag = self.seal.tag(&body);
        self.w.write_u32(body.len() as u32).await?;
        self.w.write_all(&body).await?;
        self.w.write_all(&tag).await?;
        Ok(())
    }
}

/// An authenticated connection, ready to be started.
pub struct Connected {
    pub peer_name: String,
    reader: Reader,
    writer: Writer,
    session: Session,
}

impl Connected {
    /// A connection whose handshake `peer_name` passed, agreeing on
    /// `session`.
    pub(crate) fn new(
        peer_name: String,
        reader: Reader,
        writer: Writer,
        session: Session,
    ) -> Connected {
        Connected {
            peer_name,
            reader,
            writer,
            session,
        }
    }

    /// Reads one frame before the link is started (the coordinator's Join).
    pub async fn read(&mut self) -> Result<Frame, LinkError> {
        read_sealed(&mut self.reader, &mut Vec::new(), &mut self.session.open).await
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
        let w = SealedWriter {
            w: self.writer,
            seal: self.session.seal,
        };
        let writer = tokio::spawn(run_writer(w, rx, queued.clone(), peer));
        let own = (tx.downgrade(), queued.clone());
        let link = LinkTx::new(tx, queued, heard.clone());
        let id = link.id();
        let r = (self.reader, self.session.open);
        let reader = tokio::spawn(run_reader(r, peer, gateway, own, heard, id));
        (link.with_reader(reader.abort_handle()), writer)
    }
}

/// Whether a write error ends the link (the socket failed) or only the
/// frame (it could not be encoded: refused and logged, the link goes on).
fn ends_link(peer: NodeId, e: LinkError) -> bool {
    match e {
        LinkError::Wire(why) => {
            tracing::error!("link to node {peer}: a frame not sent: {why}");
            false
        }
        other => {
            tracing::warn!("link to node {peer} closed: cannot write: {other}");
            true
        }
    }
}

async fn run_writer(
    mut w: SealedWriter,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    queued: Arc<AtomicUsize>,
    peer: NodeId,
) {
    let mut batch = Batch {
        envelopes: Vec::with_capacity(MAX_BATCH),
        bytes: 0,
    };
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            queued.fetch_sub(1, Ordering::Relaxed);
            let sent = match item {
                Outgoing::Message(env) => {
                    // A batch is sent before this message would take it
                    // past the frame limit, or when it is full.
                    let size = env.wire_bound();
                    let mut sent = Ok(());
                    if batch.bytes + size > ROOM {
                        sent = send_batch(&mut w, &mut batch).await;
                    }
                    batch.bytes += size;
                    batch.envelopes.push(env);
                    if sent.is_ok() && batch.envelopes.len() >= MAX_BATCH {
                        sent = send_batch(&mut w, &mut batch).await;
                    }
                    sent
                }
                // Keep order: queued messages go out before the frame.
                Outgoing::Frame(frame) => match send_batch(&mut w, &mut batch).await {
                    Ok(()) => write_split(&mut w, frame, peer).await,
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = sent {
                if ends_link(peer, e) {
                    return;
                }
            }
            next = rx.try_recv().ok();
        }
        let flushed = match send_batch(&mut w, &mut batch).await {
            Ok(()) => w.w.flush().await.map_err(LinkError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = flushed {
            if ends_link(peer, e) {
                return;
            }
        }
    }
    let _ = w.w.shutdown().await;
}

/// Messages waiting to go out as one frame, and the bound of their size.
struct Batch {
    envelopes: Vec<Envelope>,
    bytes: usize,
}

async fn send_batch(w: &mut SealedWriter, batch: &mut Batch) -> Result<(), LinkError> {
    if batch.envelopes.is_empty() {
        return Ok(());
    }
    batch.bytes = 0;
    let frame = Frame::Messages(std::mem::take(&mut batch.envelopes));
    let written = w.write(&frame).await;
    // The batch's buffer is used again for the next frame.
    if let Frame::Messages(mut envelopes) = frame {
        envelopes.clear();
        batch.envelopes = envelopes;
    }
    written
}

/// Writes a whole frame, as several when it is a batch too big for one.
/// A frame that cannot be encoded is logged and skipped; the rest still go.
async fn write_split(w: &mut SealedWriter, frame: Frame, peer: NodeId) -> Result<(), LinkError> {
    for part in fit::split(frame) {
        if let Err(e) = w.write(&part).await {
            if ends_link(peer, e) {
                return Err(LinkError::Io(std::io::ErrorKind::BrokenPipe.into()));
            }
        }
    }
    Ok(())
}

/// The largest read buffer a link keeps between frames.
const KEEP_READ_BUFFER: usize = 256 * 1024;

/// Reads frames for the gateway. Heartbeats are answered right here, so a
/// node whose actors are busy still shows it is alive.
async fn run_reader(
    (mut r, mut open): (Reader, Opener),
    peer: NodeId,
    gateway: ActorRef<gateway::Msg>,
    own: (mpsc::WeakUnboundedSender<Outgoing>, Arc<AtomicUsize>),
    heard: Arc<AtomicU64>,
    link: u64,
) {
    let mut body = Vec::new();
    loop {
        // A rare big frame (events, spans) should not pin its size on every
        // link of a large mesh.
        if body.capacity() > KEEP_READ_BUFFER {
            body = Vec::new();
        }
        let read = read_sealed(&mut r, &mut body, &mut open).await;
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
                    tracing::debug!("link to node {peer} closed: this process is stopping");
                    return;
                }
            }
            // Refused and counted; the stream is still in step.
            Err(LinkError::Wire(e)) => {
                let _ = gateway.send_message(gateway::Msg::BadFrame(peer, e.to_string()));
            }
            Err(e) => {
                if matches!(e, LinkError::Oversize(_) | LinkError::Forged(_)) {
                    let _ = gateway.send_message(gateway::Msg::BadFrame(peer, e.to_string()));
                }
                let clean = matches!(&e, LinkError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof);
                if clean {
                    tracing::info!("link to node {peer} closed by the other end");
                } else {
                    tracing::warn!("link to node {peer} closed: {e}");
                }
                let _ = gateway.send_message(gateway::Msg::Lost { node: peer, link });
                return;
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::{TcpListener, TcpStream};

    /// Two ends of one made-up session: what the dialer seals, the
    /// listener opens.
    fn session() -> (Session, Session) {
        use crate::net::seal::Side;
        let nonces = ([1; 32], [2; 32]);
        let end = |side| Session::derive(b"a test cookie", &nonces.0, &nonces.1, side);
        (end(Side::Dialer), end(Side::Listener))
    }

    /// `body` as a sealed frame: length, body, tag.
    fn sealed(seal: &mut Sealer, body: &[u8]) -> Vec<u8> {
        let tag = seal.tag(body);
        [&(body.len() as u32).to_be_bytes()[..], body, &tag].concat()
    }

    #[tokio::test]
    async fn oversize_forged_and_garbage_frames_are_errors() {
        let (mut dialer, mut listener) = session();
        let open = &mut listener.open;
        async fn read(bytes: Vec<u8>, open: &mut Opener) -> Result<Frame, LinkError> {
            read_sealed(&mut &bytes[..], &mut Vec::new(), open).await
        }
        let huge = vec![0xff; 4];
        assert!(matches!(
            read(huge, open).await,
            Err(LinkError::Oversize(_))
        ));
        let junk = sealed(&mut dialer.seal, &[1, 200, 200]);
        assert!(matches!(read(junk, open).await, Err(LinkError::Wire(_))));
        let short = vec![0, 0, 0, 9, 1];
        assert!(matches!(read(short, open).await, Err(LinkError::Io(_))));
        // Right tag, wrong place in the sequence (a replay of frame 0).
        let again = sealed(&mut session().0.seal, &[1, 200, 200]);
        assert!(matches!(read(again, open).await, Err(LinkError::Forged(_))));
        // No tag at all: what a relay without the cookie can send.
        let stop = wire::encode(&Frame::Request {
            id: 1,
            body: spigo_proto::cluster::Request::Stop,
        })
        .unwrap();
        let plain = [
            &(stop.len() as u32).to_be_bytes()[..],
            &stop,
            &[0; TAG_BYTES],
        ]
        .concat();
        assert!(matches!(read(plain, open).await, Err(LinkError::Forged(_))));
    }

    #[tokio::test]
    async fn before_the_cookie_only_small_plain_frames_are_read() {
        // 4 MiB announced, one byte sent: refused before any allocation.
        let mut big: &[u8] = &[0, 0x40, 0, 0, 1];
        assert!(matches!(
            read_handshake_frame(&mut big).await,
            Err(LinkError::PreAuth(PreAuthError::Oversize(_, 0x40_0000)))
        ));
        // A TLS alert or handshake record where a frame was expected.
        for record in [[0x15, 3, 3, 0, 2], [0x16, 3, 1, 2, 0]] {
            let mut tls: &[u8] = &record;
            assert!(matches!(
                read_handshake_frame(&mut tls).await,
                Err(LinkError::PreAuth(PreAuthError::PeerSpeaksTls))
            ));
        }
        let hello = Frame::Hello {
            role: spigo_proto::cluster::Role::Coordinator,
            name: "c".into(),
        };
        let body = wire::encode(&hello).unwrap();
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend(body);
        let mut ok: &[u8] = &bytes;
        assert_eq!(read_handshake_frame(&mut ok).await.unwrap(), hello);
    }

    /// Frames that fail to decode, break a batch limit, or name actors that
    /// are not there are refused and counted; the link keeps going until
    /// a length it cannot believe.
    #[tokio::test]
    async fn untrusted_frames_are_refused_and_counted() {
        use crate::testkit::probe;
        use crate::Runtime;
        use spigo_proto::{Address, Gotocol, Imposition, Intention, Timestamp};

        let rt = Runtime::new(1, false).unwrap();
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
        let (mut dialer, listener) = session();
        tokio::spawn(run_reader(
            (reader, listener.open),
            0,
            gw,
            own,
            Arc::default(),
            0,
        ));
        drop(w);

        let mut raw = |body: &[u8]| sealed(&mut dialer.seal, body);
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
        assert_eq!(rt.link_counts().bad_frames, 3);
        assert_eq!(
            rt.link_counts().misaddressed,
            2,
            "unknown actor and wrong node"
        );
        sender.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let lost = tokio::time::timeout(Duration::from_secs(2), control_rx.recv())
            .await
            .unwrap();
        assert!(matches!(lost, Some(gateway::Control::Lost(0))));
        assert_eq!(rt.link_counts().bad_frames, 4);
    }
}
