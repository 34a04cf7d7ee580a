//! The accept loop of `spigo node`: what a connection gets before its peer
//! has proved the cookie, which is as little as possible.
//!
//! Each connection's handshake runs in a task of its own, under the
//! handshake's 10 s deadline and 16 KiB frame limit (`handshake.rs`,
//! `link.rs`). On top of those, at most [`HANDSHAKES_IN_FLIGHT`] handshakes
//! run at once: a connection beyond that is closed as soon as it is
//! accepted, so a flood of silent or slow connections costs the node a
//! bounded number of tasks and buffers rather than one per connection.
//! What a peer can cause this way (refusals, closed connections, failed
//! accepts) is logged a few times per 10 s and counted (`quiet.rs`).

use super::handshake::{self, Cookie};
use super::link::{Connected, LinkError};
use super::quiet::LogLimit;
use super::tls::Tls;
use spigo_proto::cluster::{Refusal, Role};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Handshakes a node runs at once. A cluster's own peers need one each
/// while they link: when the coordinator joins a cluster of N nodes, the
/// last of them is dialled by the N - 1 others at the same moment, and
/// the largest cluster documented is 100 nodes (`deploy/k8s/`), so 256
/// leaves room. The cost of a full cap stays small (a handshake holds two
/// 8 KiB buffers and a frame of at most 16 KiB: about 10 MB for 256), a
/// stranger holding it with silent connections keeps the door shut for at
/// most the handshake deadline, and the connections past it cost nothing.
pub const HANDSHAKES_IN_FLIGHT: usize = 256;

/// How often the counts of warnings kept from the log are logged.
const QUIET_WINDOW: Duration = Duration::from_secs(10);

/// Who the loop serves: the node's cookie, TLS and name, whom it admits
/// (asked during the handshake) and what it does with a link once the
/// handshake is done.
pub struct Door<Admit, Accepted> {
    pub cookie: Cookie,
    pub tls: Option<Tls>,
    pub name: String,
    pub admit: Admit,
    pub accepted: Accepted,
}

/// Accepts connections for as long as the listener lives.
pub async fn accept_loop<Admit, Accepted>(listener: TcpListener, door: Door<Admit, Accepted>)
where
    Admit: Fn(Role) -> Result<(), Refusal> + Send + Sync + 'static,
    Accepted: Fn(Connected, Role, SocketAddr) + Send + Sync + 'static,
{
    let door = Arc::new(door);
    let name = door.name.clone();
    // A peer can cause these as often as it connects: a few are logged,
    // the rest counted and summed up every 10 s.
    let refused = Arc::new(LogLimit::new("refused connections", 5, QUIET_WINDOW));
    let failed = Arc::new(LogLimit::new("failed accepts", 1, QUIET_WINDOW));
    let over = Arc::new(LogLimit::new(
        "connections closed over the handshake cap",
        1,
        QUIET_WINDOW,
    ));
    for limit in [&refused, &failed, &over] {
        let limit = limit.clone();
        tokio::spawn(async move { limit.report_every_window().await });
    }
    let slots = Arc::new(Semaphore::new(HANDSHAKES_IN_FLIGHT));
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors (EMFILE/ENFILE) or the like:
                // waiting lets some close, where retrying at once spins.
                if failed.allow() {
                    tracing::warn!("{name}: cannot accept connections: {e}; retrying in 100ms");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Dropped unread: the peer sees its connection closed.
            drop(stream);
            if over.allow() {
                tracing::warn!(
                    "{name}: closed a connection from {from} at once: \
                     {HANDSHAKES_IN_FLIGHT} handshakes already in flight"
                );
            }
            continue;
        };
        let (door, refused) = (door.clone(), refused.clone());
        tokio::spawn(async move {
            let name = &door.name;
            let shook = handshake::accept(stream, &door.cookie, door.tls.as_ref(), name, |role| {
                (door.admit)(role)
            })
            .await;
            // Authenticated or not, this connection is no longer a handshake.
            drop(slot);
            match shook {
                Ok((conn, role)) => (door.accepted)(conn, role, from),
                // A peer dialling before this node has joined retries;
                // anything else is worth a warning.
                Err(LinkError::Refusing {
                    reason: reason @ Refusal::NotJoinedYet,
                    peer,
                }) => tracing::debug!("{name}: asked {from} to retry: {reason} (from {peer})"),
                Err(e) if refused.allow() => {
                    tracing::warn!("{name}: refused a connection from {from}: {e}")
                }
                Err(_) => {}
            }
        });
    }
}
