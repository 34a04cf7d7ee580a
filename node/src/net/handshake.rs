//! Opening a link: TLS when configured, then the cookie handshake.
//!
//! Each end proves it knows the cluster's shared cookie by answering the
//! other's random challenge with an HMAC-SHA256, so the cookie itself never
//! crosses the network, and a wrong one is refused with a typed
//! [`Refusal`] the dialer gets to see. What comes out is a
//! [`Connected`], which [`super::link`] starts.

use super::link::{read_handshake_frame, write_frame, Connected, LinkError, Reader, Writer};
use super::tls::{server_name, Tls};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use spigo_proto::cluster::{Frame, Refusal, Role};
use spigo_proto::names::loggable;
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
                .map_err(LinkError::Tls)?;
            let (r, w) = tokio::io::split(tls);
            Ok(halves(Box::new(r), Box::new(w)))
        }
        (Some(tls), None) => {
            let tls = tokio_rustls::TlsAcceptor::from(tls.server.clone())
                .accept(stream)
                .await
                .map_err(LinkError::Tls)?;
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
            Ok(Connected::new(loggable(&name), reader, writer))
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
    let (role, peer_name) = match read_handshake_frame(&mut reader).await? {
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
    Ok((Connected::new(peer_name, reader, writer), role))
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

    #[test]
    fn cookies_are_never_shown_whole() {
        let c = Cookie::new("correct horse battery");
        assert_eq!(c.hint(), "cor... (21 characters)");
        assert!(!format!("{c:?}").contains("horse"));
        assert_eq!(Cookie::new("abc").hint(), "... (3 characters)");
    }
}
