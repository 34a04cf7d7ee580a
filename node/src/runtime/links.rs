//! The runtime's side of the links to other nodes: per node, the queue
//! that link's writer drains.
//!
//! The runtime only queues: what a link is (a socket, a handshake, frames,
//! a writer and a reader task) is `net::link`'s business, which builds a
//! [`LinkTx`] for each link it starts and hands it to
//! [`Runtime::set_link`](super::Runtime::set_link).
//!
//! It also keeps what each peer's link cost while it was down (messages
//! that found no link, breaks, repairs), and refuses a message too big for
//! any frame before it is queued: the receiver would close the link on it.

use spigo_proto::cluster::{Envelope, Frame, LinkReport};
use spigo_proto::fit::{Bounded, ROOM};
use spigo_proto::{Address, Gotocol, NodeId};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
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
    /// Tells this link apart from an earlier or later one to the same
    /// node, so the end of an old one does not remove its successor.
    id: u64,
    /// Ends the reader: a link given up as silent must not deliver later.
    reader: Option<tokio::task::AbortHandle>,
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
        static NEXT: AtomicU64 = AtomicU64::new(1);
        LinkTx {
            tx,
            queued,
            heard,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            reader: None,
        }
    }

    /// The same link, whose reader `close` ends.
    pub(crate) fn with_reader(mut self, reader: tokio::task::AbortHandle) -> LinkTx {
        self.reader = Some(reader);
        self
    }

    /// Which link this is (unique in the process).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Stops reading from the link; the writer ends once the last sender
    /// is dropped.
    pub fn close(&self) {
        if let Some(r) = &self.reader {
            r.abort();
        }
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

/// The links of a process, by node id, and what broken ones cost.
#[derive(Default)]
pub(crate) struct Links {
    up: RwLock<Vec<Option<LinkTx>>>,
    /// What missing or broken links cost (touched only then, and when a
    /// link is set up).
    costs: Mutex<Costs>,
    /// Receivers already named in a log line for an oversize message.
    oversize_logged: Mutex<HashSet<Address>>,
}

#[derive(Default)]
struct Costs {
    /// Per peer whose link was ever missing or broken.
    by_peer: BTreeMap<NodeId, LinkReport>,
    /// Every node a link was ever set up with: a failed send to one of
    /// them is a link down, to any other a node that is not there.
    linked: BTreeSet<NodeId>,
}

impl Costs {
    /// The cost record of the link to `node`, made on first use.
    fn of(&mut self, node: NodeId) -> &mut LinkReport {
        self.by_peer.entry(node).or_insert_with(|| LinkReport {
            peer: node,
            ..LinkReport::default()
        })
    }
}

impl Links {
    pub(crate) fn set(&self, node: NodeId, link: LinkTx) {
        self.costs
            .lock()
            .expect("link costs lock")
            .linked
            .insert(node);
        let mut links = self.up.write().expect("links lock");
        if links.len() <= node as usize {
            links.resize(node as usize + 1, None);
        }
        if let Some(old) = links[node as usize].replace(link) {
            old.close();
        }
    }

    /// Removes the link to `node`; with `only`, only if it is that link.
    /// False when another link to `node` is in place (`only` was replaced).
    pub(crate) fn remove(&self, node: NodeId, only: Option<u64>) -> bool {
        let mut links = self.up.write().expect("links lock");
        let Some(slot) = links.get_mut(node as usize) else {
            return true;
        };
        if slot
            .as_ref()
            .is_some_and(|l| only.is_some_and(|id| id != l.id))
        {
            return false;
        }
        if let Some(old) = slot.take() {
            old.close();
        }
        true
    }

    /// `f` of the link to `node`, if there is one.
    pub(crate) fn with<R>(&self, node: NodeId, f: impl FnOnce(&LinkTx) -> R) -> Option<R> {
        let links = self.up.read().expect("links lock");
        links.get(node as usize).and_then(Option::as_ref).map(f)
    }

    /// `f` of the cost record of the link to `node`.
    pub(crate) fn cost(&self, node: NodeId, f: impl FnOnce(&mut LinkReport)) {
        f(self.costs.lock().expect("link costs lock").of(node))
    }

    /// Counts one message for `node` that could not be sent; whether a
    /// link to it was ever set up (one lock for both).
    pub(crate) fn undeliverable(&self, node: NodeId) -> bool {
        let mut costs = self.costs.lock().expect("link costs lock");
        costs.of(node).undeliverable += 1;
        costs.linked.contains(&node)
    }

    /// What each link that was ever down cost, by peer.
    pub(crate) fn costs(&self) -> Vec<LinkReport> {
        let costs = self.costs.lock().expect("link costs lock");
        costs.by_peer.values().cloned().collect()
    }

    /// Whether `msg` for `to` could never fit in a frame; if so it is
    /// logged (once per receiver) and its size returned.
    pub(crate) fn oversize(&self, to: Address, msg: &Gotocol) -> Option<usize> {
        // The bound is a few additions; only a message it cannot clear is
        // measured exactly (an encoding that writes nothing).
        if msg.wire_bound() <= ROOM {
            return None;
        }
        let bytes = spigo_proto::wire::encoded_len(msg).map_or(usize::MAX, |n| n + 16);
        if bytes <= ROOM {
            return None;
        }
        if self
            .oversize_logged
            .lock()
            .expect("oversize lock")
            .insert(to)
        {
            let from = msg
                .reply_to
                .map_or_else(|| "?".to_string(), |a| a.to_string());
            tracing::error!(
                "a {} message from {from} to {to} is {bytes} bytes, more than fits in a \
                 frame ({ROOM}): refused (logged once per receiver, every one counted)",
                msg.imposition
            );
        }
        Some(bytes)
    }
}
