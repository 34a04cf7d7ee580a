//! The runtime's side of the links to other nodes: per node, the queue
//! that link's writer drains.
//!
//! The runtime only queues: what a link is (a socket, a handshake, frames,
//! a writer and a reader task) is `net::link`'s business, which builds a
//! [`LinkTx`] for each link it starts and hands it to
//! [`Runtime::set_link`](super::Runtime::set_link).

use spigo_proto::cluster::{Envelope, Frame};
use spigo_proto::NodeId;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

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
pub(crate) fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

impl LinkTx {
    /// The queue `tx`, whose length the writer keeps in `queued`, of a
    /// link whose reader stamps `heard` with [`now_ms`].
    pub(crate) fn new(
        tx: mpsc::UnboundedSender<Outgoing>,
        queued: Arc<AtomicUsize>,
        heard: Arc<AtomicU64>,
    ) -> LinkTx {
        LinkTx { tx, queued, heard }
    }

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

/// The links of a process, by node id.
#[derive(Default)]
pub(crate) struct Links(RwLock<Vec<Option<LinkTx>>>);

impl Links {
    pub(crate) fn set(&self, node: NodeId, link: LinkTx) {
        let mut links = self.0.write().expect("links lock");
        if links.len() <= node as usize {
            links.resize(node as usize + 1, None);
        }
        links[node as usize] = Some(link);
    }

    pub(crate) fn remove(&self, node: NodeId) {
        if let Some(slot) = self.0.write().expect("links lock").get_mut(node as usize) {
            *slot = None;
        }
    }

    /// `f` of the link to `node`, if there is one.
    pub(crate) fn with<R>(&self, node: NodeId, f: impl FnOnce(&LinkTx) -> R) -> Option<R> {
        let links = self.0.read().expect("links lock");
        links.get(node as usize).and_then(Option::as_ref).map(f)
    }
}
