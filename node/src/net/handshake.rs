//! Opening a link: TLS when configured, then the cookie handshake.
//!
//! Each end proves it knows the cluster's shared cookie by answering the
//! other's random challenge with an HMAC-SHA256, so the cookie itself never
//! crosses the network, and a wrong one is refused with a typed
//! [`Refusal`] the dialer gets to see. Both challenges and the cookie then
//! give the link's session keys (`seal.rs`). What comes out is a
//! [`Connected`], which [`super::link`] starts.
//!
//! Mismatched ends are named rather than misread: a plain end meeting a
//! TLS one (either way round) and another wire version each end the
//! handshake with an error saying which, on both ends.

use super::link::{read_handshake_frame, write_frame, Connected, LinkError, Reader, Writer};
use super::seal::{Session, Side};
use super::tls::{server_name, Tls};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use spigo_proto::cluster::{Frame, Refusal, Role};
use spigo_proto::names::loggable;
use spigo_proto::preauth::PreAuthError;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

/// A handshake must finish within this long.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
            let name = server_name(addr)?;
            let tls = tokio_rustls::TlsConnector::from(tls.client.clone())
                .connect(name, stream)
                .await
                .map_err(|e| {
                    // A listener that speaks plain frames answers with
                    // one (a refusal), which is no TLS record.
                    let not_tls = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
                    match not_tls {
                        Some(rustls::Error::InvalidMessage(_)) => LinkError::PeerSpeaksPlain,
                        _ => LinkError::Tls(e),
                    }
                })?;
            let (r, w) = tokio::io::split(tls);
            Ok(halves(Box::new(r), Box::new(w)))
        }
        (Some(tls), None) => {
            if !starts_with_tls(&stream).await? {
                // The plain dialer reads this alert as a TLS record and
                // says so; this end says what it met.
                let mut stream = stream;
                stream.write_all(&TLS_ALERT).await?;
                return Err(LinkError::PeerSpeaksPlain);
            }
            let tls = tokio_rustls::TlsAcceptor::from(tls.server.clone())
                .accept(stream)
                .await
                .map_err(LinkError::Tls)?;
            let (r, w) = tokio::io::split(tls);
            Ok(halves(Box::new(r), Box::new(w)))
        }
    }
}

/// A fatal TLS alert (unexpected message), sent in the clear as TLS sends
/// alerts before a session exists.
const TLS_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a];

/// Whether what the dialer sent first is a TLS handshake record, looked at
/// without taking it from the socket.
async fn starts_with_tls(stream: &TcpStream) -> Result<bool, LinkError> {
    let mut first = [0u8; 1];
    let n = stream.peek(&mut first).await?;
    Ok(n == 1 && first[0] == 0x16)
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

    /// The session keys of a link whose handshake used these challenges.
    fn session(&self, listener_nonce: &[u8; 32], dialer_nonce: &[u8; 32], side: Side) -> Session {
        Session::derive(self.0.as_bytes(), listener_nonce, dialer_nonce, side)
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

/// Opens `stream` (over TLS when given; `dial` names the listener when
/// this end dials) and runs `handshake` on it, all within
/// [`HANDSHAKE_TIMEOUT`].
async fn within_timeout<T, H>(
    stream: TcpStream,
    tls: Option<&Tls>,
    dial: Option<&str>,
    handshake: impl FnOnce(Reader, Writer) -> H,
) -> Result<T, LinkError>
where
    H: Future<Output = Result<T, LinkError>>,
{
    stream.set_nodelay(true)?;
    keep_alive(&stream)?;
    tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        let (reader, writer) = open(stream, tls, dial).await?;
        handshake(reader, writer).await
    })
    .await
    .map_err(|_| LinkError::Timeout)?
}

/// How long a connection may be idle before the kernel probes the peer,
/// how often it probes then, and how many unanswered probes close it.
/// Heartbeats find a silent peer first on a link that carries them; the
/// probes also cover the moments they do not (a handshake, a stopped
/// process whose host still answers).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_PROBES: u32 = 3;

/// TCP keepalive on every socket of a link, with short times so a dead
/// peer is noticed in seconds, not the kernel's default two hours.
fn keep_alive(stream: &TcpStream) -> std::io::Result<()> {
    let probes = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_PROBES);
    socket2::SockRef::from(stream).set_tcp_keepalive(&probes)
}

/// How long a connection attempt may go unanswered, unless the
/// coordinator's `--connect-timeout` says otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `addr` (giving up after `connect_timeout` without an
/// answer) and proves who this end is (over TLS when given).
pub async fn dial(
    addr: &str,
    connect_timeout: Duration,
    cookie: &Cookie,
    tls: Option<&Tls>,
    role: Role,
    name: &str,
) -> Result<Connected, LinkError> {
    let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| LinkError::ConnectTimeout(connect_timeout))??;
    within_timeout(stream, tls, Some(addr), |reader, writer| {
        dial_handshake(reader, writer, cookie, role, name)
    })
    .await
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
    let their_nonce = match read_handshake_frame(&mut reader).await? {
        Frame::Challenge { nonce } => nonce,
        Frame::Refused { reason } => return Err(LinkError::Refused(reason)),
        other => return Err(unexpected("a challenge", &other)),
    };
    let mine = nonce();
    let proof = Frame::Proof {
        mac: cookie.prove(&their_nonce, b"dialer"),
        nonce: mine,
    };
    write_frame(&mut writer, &proof).await?;
    writer.flush().await?;
    match read_handshake_frame(&mut reader).await? {
        Frame::Welcome { mac, name } if cookie.check(&mine, b"listener", &mac) => {
            let session = cookie.session(&their_nonce, &mine, Side::Dialer);
            Ok(Connected::new(loggable(&name), reader, writer, session))
        }
        Frame::Welcome { .. } => Err(LinkError::ListenerCookie),
        Frame::Refused { reason } => Err(LinkError::Refused(reason)),
        other => Err(unexpected("a welcome", &other)),
    }
}

/// Checks an incoming connection's cookie; `admit` may still refuse the
/// role (a node already taken by another coordinator, say).
pub async fn accept(
    stream: TcpStream,
    cookie: &Cookie,
    tls: Option<&Tls>,
    name: &str,
    admit: impl FnOnce(Role) -> Result<(), Refusal>,
) -> Result<(Connected, Role), LinkError> {
    within_timeout(stream, tls, None, |reader, writer| {
        accept_handshake(reader, writer, cookie, name, admit)
    })
    .await
}

async fn accept_handshake(
    mut reader: Reader,
    mut writer: Writer,
    cookie: &Cookie,
    name: &str,
    admit: impl FnOnce(Role) -> Result<(), Refusal>,
) -> Result<(Connected, Role), LinkError> {
    let hello = match read_handshake_frame(&mut reader).await {
        Err(e @ (LinkError::PreAuth(PreAuthError::PeerSpeaksTls) | LinkError::WireVersion(_))) => {
            // Answered in a form the dialer can tell apart: no TLS record
            // for a TLS dialer, another version's frame for the other.
            let reason = match e {
                LinkError::WireVersion(_) => Refusal::WireVersion,
                _ => Refusal::NoTls,
            };
            write_frame(&mut writer, &Frame::Refused { reason }).await?;
            writer.flush().await?;
            return Err(e);
        }
        read => read?,
    };
    let (role, peer_name) = match hello {
        // Only ever logged: kept short and with no control characters,
        // whatever the peer sent.
        Frame::Hello { role, name } => (role, loggable(&name)),
        other => return Err(unexpected("hello", &other)),
    };
    let mine = nonce();
    write_frame(&mut writer, &Frame::Challenge { nonce: mine }).await?;
    writer.flush().await?;
    let (mac, their_nonce) = match read_handshake_frame(&mut reader).await? {
        Frame::Proof { mac, nonce } => (mac, nonce),
        other => return Err(unexpected("a proof", &other)),
    };
    let refusal = if !cookie.check(&mine, b"dialer", &mac) {
        Err(Refusal::WrongCookie)
    } else {
        admit(role)
    };
    if let Err(reason) = refusal {
        write_frame(&mut writer, &Frame::Refused { reason }).await?;
        writer.flush().await?;
        return Err(LinkError::Refusing {
            reason,
            peer: peer_name,
        });
    }
    let welcome = Frame::Welcome {
        mac: cookie.prove(&their_nonce, b"listener"),
        name: name.into(),
    };
    write_frame(&mut writer, &welcome).await?;
    writer.flush().await?;
    let session = cookie.session(&mine, &their_nonce, Side::Listener);
    Ok((Connected::new(peer_name, reader, writer, session), role))
}

fn unexpected(wanted: &'static str, got: &Frame) -> LinkError {
    LinkError::Unexpected {
        wanted,
        got: kind(got),
    }
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
        Frame::LinkDown(_) => "link report",
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
            CONNECT_TIMEOUT,
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
        assert!(matches!(
            dialed,
            Err(LinkError::Refused(Refusal::WrongCookie))
        ));
        assert!(matches!(
            accepted,
            Err(LinkError::Refusing {
                reason: Refusal::WrongCookie,
                ..
            })
        ));
    }

    /// What the listener makes of `first` (bytes a stranger sends), and
    /// what it answers.
    async fn stranger(first: Vec<u8>) -> (LinkError, Vec<u8>) {
        use tokio::io::AsyncReadExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let cookie = Cookie::new("s3cret-s3cret-s3cret");
            accept(stream, &cookie, None, "node1", |_| Ok(())).await
        });
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&first).await.unwrap();
        let err = server.await.unwrap().err().unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        (err, answer)
    }

    #[tokio::test]
    async fn strangers_are_told_apart() {
        let (http, _) = stranger(b"GET / HTTP/1.1\r\n\r\n".to_vec()).await;
        assert!(matches!(
            http,
            LinkError::PreAuth(PreAuthError::Oversize(_, 0x4745_5420))
        ));
        assert!(
            http.to_string().contains(r#"the first bytes "GET ""#),
            "{http}"
        );
        // A Hello from the release before: named, and answered with a
        // frame of this release's version, which that release names too.
        let hello = Frame::Hello {
            role: Role::Coordinator,
            name: "old".into(),
        };
        let mut body = spigo_proto::wire::encode(&hello).unwrap();
        body[0] = spigo_proto::wire::WIRE_VERSION - 1;
        let first = [&(body.len() as u32).to_be_bytes()[..], &body].concat();
        let (old, answer) = stranger(first).await;
        assert!(
            matches!(old, LinkError::WireVersion(v) if v == spigo_proto::wire::WIRE_VERSION - 1)
        );
        assert_eq!(answer[4], spigo_proto::wire::WIRE_VERSION, "{answer:?}");
        // A TLS ClientHello at a plain listener: refused with a frame, which
        // a TLS dialer cannot read as TLS.
        let (tls, answer) = stranger(vec![0x16, 3, 1, 0, 200, 1]).await;
        assert!(matches!(
            tls,
            LinkError::PreAuth(PreAuthError::PeerSpeaksTls)
        ));
        assert_eq!(&answer[..3], &[0, 0, 0]);
    }

    #[test]
    fn cookies_are_never_shown_whole() {
        let c = Cookie::new("correct horse battery");
        assert_eq!(c.hint(), "cor... (21 characters)");
        assert!(!format!("{c:?}").contains("horse"));
        assert_eq!(Cookie::new("abc").hint(), "... (3 characters)");
    }
}
