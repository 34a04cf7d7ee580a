//! Liveness of a joined node's links: heartbeats on every link, a silent
//! coordinator noticed, broken links to peer nodes re-dialled or reported.
//!
//! Every tick the node pings its coordinator and each peer (the other
//! end's reader answers at once, see `link.rs`), so each end of every link
//! hears the other at least once a tick. The pings go from a task of their
//! own ([`heartbeats`]), so a node whose event loop is busy (spawning a
//! million pirates) still pings, and its peers never take it for silent.
//! Then, on the event loop, [`Peers::tick`] looks at every link:
//!
//! - a coordinator silent for the heartbeat timeout means this node is cut
//!   off from its simulation: [`Peers::tick`] says so, and the node stops;
//! - a peer link silent for half the timeout, or closed, is broken: it is
//!   dropped, and the end that dialled it first (the lower id) dials again
//!   with a backoff from [`FIRST_BACKOFF`] doubling to [`MAX_BACKOFF`],
//!   while the other waits to be dialled. Messages for that node meanwhile
//!   are counted as undeliverable on that link (the runtime does it);
//! - a peer link still down a whole heartbeat timeout after it broke is
//!   reported to the coordinator ([`Frame::LinkDown`]), which decides
//!   whether the peer is lost or only the link.

use super::gateway;
use super::handshake::{self, Cookie};
use super::link::Connected;
use super::tls::Tls;
use crate::Runtime;
use ractor::ActorRef;
use spigo_proto::cluster::{Frame, LinkDown, Role};
use spigo_proto::NodeId;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The first wait before re-dialling a broken link...
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// ...doubling up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How often a node pings each link, for a heartbeat timeout: four times
/// per timeout, at most once a second.
pub fn tick_every(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Hands a re-dialled connection to the node's event loop.
pub type OnRedial = Arc<dyn Fn(NodeId, Connected) + Send + Sync>;

/// How a node dials its peers again.
pub struct Dialer {
    pub cookie: Cookie,
    pub tls: Option<Tls>,
    /// The node's own name, for the handshake and the logs.
    pub name: String,
    pub on_redial: OnRedial,
}

/// A peer link that is down.
struct Down {
    /// When the peer was last heard.
    heard: Instant,
    /// When the link was found broken.
    broke: Instant,
    /// Told the coordinator already.
    reported: bool,
}

/// The link watch of one joined node.
pub struct Peers {
    me: NodeId,
    timeout: Duration,
    /// The peers and where they listen.
    addrs: BTreeMap<NodeId, String>,
    down: BTreeMap<NodeId, Down>,
    dialer: Arc<Dialer>,
    /// Set once the run is over (the final Flush): links closing then are
    /// expected, and nothing is re-dialled or reported.
    done: Arc<AtomicBool>,
}

impl Peers {
    /// Node `me`'s watch over links to `peers`, for `timeout`.
    pub fn new(
        me: NodeId,
        timeout: Duration,
        peers: impl IntoIterator<Item = (NodeId, String)>,
        dialer: Dialer,
    ) -> Peers {
        Peers {
            me,
            timeout,
            addrs: peers.into_iter().filter(|(p, _)| *p != me).collect(),
            down: BTreeMap::new(),
            dialer: Arc::new(dialer),
            done: Arc::default(),
        }
    }

    /// Every node this one links with, its coordinator (0) first.
    pub fn linked_with(&self) -> Vec<NodeId> {
        std::iter::once(0)
            .chain(self.addrs.keys().copied())
            .collect()
    }

    /// From now on links closing are expected: the run is over.
    pub fn finished(&self) {
        self.done.store(true, Ordering::SeqCst);
    }

    /// Pings every link, breaks peer links gone silent, reports those down
    /// too long. How long the coordinator has been silent, when that is
    /// longer than the timeout.
    pub fn tick(&mut self, rt: &Runtime) -> Option<Duration> {
        let coordinator = rt.silent_for(0).unwrap_or(Duration::MAX);
        if coordinator > self.timeout {
            return Some(coordinator);
        }
        let peers: Vec<NodeId> = self.addrs.keys().copied().collect();
        for peer in peers {
            if rt.is_fenced(peer) {
                // Lost for the coordinator: neither watched nor reported.
                self.down.remove(&peer);
                continue;
            }
            if let Some(silent) = rt.silent_for(peer).filter(|s| *s > self.timeout / 2) {
                rt.break_link(peer);
                let why = format!("nothing heard for {:.1}s", silent.as_secs_f64());
                self.broke(rt, peer, &why, silent);
            }
        }
        if self.done.load(Ordering::SeqCst) {
            return None;
        }
        for (&peer, down) in &mut self.down {
            let silent = down.heard.elapsed();
            if !down.reported && down.broke.elapsed() >= self.timeout {
                down.reported = true;
                let undeliverable = rt.undeliverable_to(peer);
                tracing::error!(
                    "node {}: link to node {peer} down for {:.1}s ({undeliverable} messages \
                     undeliverable so far): reporting it to the coordinator",
                    self.me,
                    silent.as_secs_f64()
                );
                let report = LinkDown {
                    from: self.me,
                    to: peer,
                    undeliverable,
                    silent_ms: silent.as_millis() as u64,
                };
                let _ = rt.send_frame(0, Frame::LinkDown(report));
            }
        }
        None
    }

    /// The link to `peer` closed or went silent (`silent`: since when
    /// nothing was heard): counted, logged, and re-dialled by the end that
    /// dials.
    pub fn broke(&mut self, rt: &Runtime, peer: NodeId, why: &str, silent: Duration) {
        if self.done.load(Ordering::SeqCst) {
            tracing::debug!("node {}: node {peer} has stopped", self.me);
            return;
        }
        if self.down.contains_key(&peer) || !self.addrs.contains_key(&peer) || rt.is_fenced(peer) {
            return;
        }
        rt.count_link_change(peer, false);
        let heard = Instant::now()
            .checked_sub(silent)
            .unwrap_or_else(Instant::now);
        self.down.insert(
            peer,
            Down {
                heard,
                broke: Instant::now(),
                reported: false,
            },
        );
        let dials = peer > self.me;
        tracing::warn!(
            "node {}: link to node {peer} broken ({why}); {}",
            self.me,
            if dials {
                "re-dialling"
            } else {
                "waiting for it to dial again"
            }
        );
        if dials {
            tokio::spawn(redial(
                self.me,
                peer,
                self.addrs[&peer].clone(),
                self.dialer.clone(),
                self.done.clone(),
            ));
        }
    }

    /// A link to `peer` is up (first dialled, accepted, or re-dialled).
    pub fn linked(
        &mut self,
        rt: &Runtime,
        peer: NodeId,
        conn: Connected,
        gw: ActorRef<gateway::Msg>,
    ) {
        let (tx, _) = conn.start(peer, gw);
        rt.set_link(peer, tx);
        match self.down.remove(&peer) {
            Some(down) => {
                rt.count_link_change(peer, true);
                tracing::info!(
                    "node {}: link to node {peer} re-established after {:.1}s down \
                     ({} messages undeliverable while it was)",
                    self.me,
                    down.heard.elapsed().as_secs_f64(),
                    rt.undeliverable_to(peer)
                );
            }
            None => tracing::info!("node {}: linked with node {peer}", self.me),
        }
    }
}

/// Pings every link to `nodes` each `every`, then calls `tick` (the
/// event loop's turn to look at the links); ends when `tick` says false.
pub async fn heartbeats(
    rt: Arc<Runtime>,
    nodes: Vec<NodeId>,
    every: Duration,
    tick: impl Fn() -> bool,
) {
    for n in 1u64.. {
        tokio::time::sleep(every).await;
        for &node in &nodes {
            let _ = rt.send_frame(node, Frame::Ping(n));
        }
        if !tick() {
            return;
        }
    }
}

/// Dials `peer` at `addr` until it answers, waiting longer after each
/// failure, and hands the link over; gives up once the run is over.
async fn redial(
    me: NodeId,
    peer: NodeId,
    addr: String,
    dialer: Arc<Dialer>,
    done: Arc<AtomicBool>,
) {
    let mut wait = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(wait).await;
        if done.load(Ordering::SeqCst) {
            return;
        }
        let dialled = handshake::dial(
            &addr,
            MAX_BACKOFF,
            &dialer.cookie,
            dialer.tls.as_ref(),
            Role::Node(me),
            &dialer.name,
        )
        .await;
        match dialled {
            Ok(conn) => return (dialer.on_redial)(peer, conn),
            Err(e) => tracing::debug!("node {me}: re-dialling node {peer} at {addr}: {e}"),
        }
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}
