//! What a node counts as it goes, and the named figures it reports.
//!
//! Counting is one relaxed atomic add on the paths that send and receive,
//! so the figures are there for the summary even when no graph, metrics or
//! log is written. Readers get a snapshot as a small struct with named
//! fields ([`EdgeCounts`], [`LinkCounts`], [`Overload`]). The one count
//! made on every message, deliveries, is spread over cache lines
//! ([`Striped`]) so that the cores delivering at once do not take turns
//! owning one.

use super::metrics::Traffic;
use spigo_proto::Reason;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Edges of the graph made and forgotten by a node's instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgeCounts {
    pub made: u64,
    pub forgotten: u64,
}

/// Traffic over a node's links.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Messages received from other nodes.
    pub messages_in: u64,
    /// Messages sent to other nodes.
    pub messages_out: u64,
    /// Messages received that named another node or an actor that was
    /// never here.
    pub misaddressed: u64,
    /// Frames received that did not decode or broke a limit.
    pub bad_frames: u64,
    /// Messages refused before sending: too big for any frame.
    pub oversize: u64,
}

impl LinkCounts {
    /// Everything refused from other nodes: misaddressed messages and bad
    /// frames.
    pub fn refused(&self) -> u64 {
        self.misaddressed + self.bad_frames
    }
}

/// How close a node came to being overrun.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overload {
    /// Requests shed because an instance or a link was too far behind.
    pub shed: u64,
    /// The deepest instance mailbox seen.
    pub deepest_mailbox: usize,
    /// The deepest link queue seen.
    pub deepest_link: usize,
}

/// Stripes of a [`Striped`] count: more than the cores of most machines
/// spigo runs on, few enough to sum at the end in no time.
const STRIPES: usize = 16;

/// One stripe, alone on its cache line (128 bytes: two lines on x86, whose
/// prefetcher fetches pairs, and one on Apple's arm64).
#[derive(Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

/// A count that many threads add to at once, each to its own stripe, and
/// that is read rarely (the sum of the stripes). One shared atomic would
/// move its cache line between cores on every message.
#[derive(Default)]
pub(crate) struct Striped([Stripe; STRIPES]);

thread_local! {
    /// This thread's stripe, chosen once per thread in turn.
    static STRIPE: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
    };
}

impl Striped {
    pub(crate) fn add_one(&self) {
        let i = STRIPE.with(|i| *i);
        self.0[i].0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn sum(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

/// The live counters behind those figures.
#[derive(Default)]
pub(crate) struct Counters {
    /// Messages (not timers) handed to a local actor's mailbox.
    pub(crate) delivered: Striped,
    pub(crate) undeliverable: AtomicU64,
    pub(crate) edges_made: AtomicU64,
    pub(crate) edges_forgotten: AtomicU64,
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) misaddressed: AtomicU64,
    pub(crate) bad_frames: AtomicU64,
    pub(crate) oversize: AtomicU64,
    pub(crate) shed: AtomicU64,
    pub(crate) crashed: AtomicU64,
    pub(crate) fenced: AtomicU64,
    pub(crate) deepest_mailbox: AtomicUsize,
    pub(crate) deepest_link: AtomicUsize,
    pub(crate) puts_delivered: AtomicU64,
    pub(crate) puts_forked: AtomicU64,
    /// Puts dropped, by [`Reason::index`].
    pub(crate) puts_failed: [AtomicU64; Reason::ALL.len()],
}

/// Adds one.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Counters {
    pub(crate) fn edges(&self) -> EdgeCounts {
        EdgeCounts {
            made: read(&self.edges_made),
            forgotten: read(&self.edges_forgotten),
        }
    }

    pub(crate) fn links(&self) -> LinkCounts {
        LinkCounts {
            messages_in: read(&self.messages_in),
            messages_out: read(&self.messages_out),
            misaddressed: read(&self.misaddressed),
            bad_frames: read(&self.bad_frames),
            oversize: read(&self.oversize),
        }
    }

    pub(crate) fn overload(&self) -> Overload {
        Overload {
            shed: read(&self.shed),
            deepest_mailbox: self.deepest_mailbox.load(Ordering::Relaxed),
            deepest_link: self.deepest_link.load(Ordering::Relaxed),
        }
    }

    /// Writes the put figures into `t`.
    pub(crate) fn puts_into(&self, t: &mut Traffic) {
        t.puts_delivered = read(&self.puts_delivered);
        t.puts_forked = read(&self.puts_forked);
        for r in Reason::ALL {
            t.puts_failed[r.index()] = read(&self.puts_failed[r.index()]);
        }
    }

    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.sum()
    }

    pub(crate) fn undeliverable(&self) -> u64 {
        read(&self.undeliverable)
    }

    pub(crate) fn crashed(&self) -> u64 {
        read(&self.crashed)
    }

    pub(crate) fn fenced(&self) -> u64 {
        read(&self.fenced)
    }

    /// Remembers a queue depth if it is the deepest seen.
    pub(crate) fn saw_depth(deepest: &AtomicUsize, depth: usize) {
        deepest.fetch_max(depth, Ordering::Relaxed);
    }
}
