//! The address table: from an actor's slot index to its mailbox.
//!
//! Messages are routed by [`Address`](spigo_proto::Address) index, never by
//! string name, so the lookup must be cheap and lock-free for readers while
//! new actors are still being added (asgard creates tiers while earlier tiers
//! already talk). Slots live in buckets of doubling size that are allocated
//! once and never move, so a reader holds a plain reference.

use super::delivery::{Delivery, Inbox, TimerCode};
use ractor::{ActorCell, ActorRef};
use spigo_proto::archaius::Location;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const FIRST_BUCKET: usize = 1024;
const BUCKETS: usize = 22; // 1024 * (2^22 - 1) slots: far past any one node's memory

/// A type-erased handle that can hand a [`Delivery`] to one actor.
///
/// Actors have their own message types; each is an [`Inbox`]. The slot
/// keeps the untyped cell plus a function that knows the concrete type
/// (and the actor's location and queue depth), which is 32 bytes per actor
/// and no extra allocation.
pub struct Mailbox {
    cell: ActorCell,
    deliver: fn(&ActorCell, Delivery<TimerCode>) -> bool,
    /// Where the actor runs, for the latency model (none: infrastructure).
    location: Option<Location>,
    /// Messages waiting, for instances (they count themselves down as they
    /// handle; infrastructure is not counted).
    queued: AtomicU32,
}

/// One slot of the table, as allocated per actor.
pub const SLOT_BYTES: usize = std::mem::size_of::<OnceLock<Mailbox>>();

/// A timer coded for another kind of actor is not delivered (it cannot
/// be: only an actor's own lifecycle sets its timers).
fn deliver_as<M: Inbox>(cell: &ActorCell, d: Delivery<TimerCode>) -> bool {
    match d.typed::<M::Timer>() {
        Some(d) => cell.send_message::<M>(M::from(d)).is_ok(),
        None => false,
    }
}

impl Mailbox {
    pub fn new<M: Inbox>(actor: &ActorRef<M>, location: Option<Location>) -> Mailbox {
        Mailbox {
            cell: actor.get_cell(),
            deliver: deliver_as::<M>,
            location,
            queued: AtomicU32::new(0),
        }
    }

    /// Messages waiting, for an instance (None for infrastructure).
    pub fn queued(&self) -> Option<u32> {
        self.location.map(|_| self.queued.load(Ordering::Relaxed))
    }

    /// The actor took one message out.
    pub fn dequeued(&self) {
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| q.checked_sub(1));
    }

    pub fn location(&self) -> Option<Location> {
        self.location
    }

    /// Queues the delivery; false if the actor has stopped.
    pub(crate) fn deliver(&self, d: Delivery<TimerCode>) -> bool {
        let ok = (self.deliver)(&self.cell, d);
        if ok && self.location.is_some() {
            self.queued.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    pub fn cell(&self) -> &ActorCell {
        &self.cell
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("address table is full")]
    Full,
    #[error("slot {0} was never reserved")]
    NotReserved(u32),
    #[error("slot {0} is already taken")]
    Taken(u32),
}

/// Append-only table of mailboxes, indexed by the `index` of an address.
pub struct AddressTable {
    buckets: [OnceLock<Box<[OnceLock<Mailbox>]>>; BUCKETS],
    next: AtomicU32,
    filled: AtomicU32,
}

impl Default for AddressTable {
    fn default() -> Self {
        AddressTable {
            buckets: std::array::from_fn(|_| OnceLock::new()),
            next: AtomicU32::new(0),
            filled: AtomicU32::new(0),
        }
    }
}

/// Bucket `b` holds `FIRST_BUCKET << b` slots starting at index
/// `FIRST_BUCKET * (2^b - 1)`.
fn locate(index: u32) -> (usize, usize) {
    let i = index as usize;
    let bucket = (i / FIRST_BUCKET + 1).ilog2() as usize;
    let start = FIRST_BUCKET * ((1 << bucket) - 1);
    (bucket, i - start)
}

impl AddressTable {
    /// Reserves `n` consecutive slots and returns the first index.
    pub fn reserve(&self, n: u32) -> Result<u32, TableError> {
        let capacity = (FIRST_BUCKET * ((1 << BUCKETS) - 1)).min(u32::MAX as usize) as u64;
        let first = self.next.fetch_add(n, Ordering::Relaxed);
        if first as u64 + n as u64 > capacity {
            return Err(TableError::Full);
        }
        Ok(first)
    }

    /// How many slots have been reserved so far.
    pub fn len(&self) -> u32 {
        self.next.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks `index` (chosen by the coordinator for this node) as taken, so
    /// later reservations come after it.
    pub fn claim(&self, index: u32) {
        self.next
            .fetch_max(index.saturating_add(1), Ordering::Relaxed);
    }

    /// Fills a reserved slot; each slot can be filled once.
    pub fn set(&self, index: u32, mailbox: Mailbox) -> Result<(), TableError> {
        if index >= self.len() {
            return Err(TableError::NotReserved(index));
        }
        let (b, offset) = locate(index);
        let bucket = self.buckets[b].get_or_init(|| {
            (0..FIRST_BUCKET << b)
                .map(|_| OnceLock::new())
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        bucket[offset]
            .set(mailbox)
            .map_err(|_| TableError::Taken(index))?;
        self.filled.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many slots hold a mailbox.
    pub fn filled(&self) -> u32 {
        self.filled.load(Ordering::Relaxed)
    }

    pub fn get(&self, index: u32) -> Option<&Mailbox> {
        let (b, offset) = locate(index);
        self.buckets.get(b)?.get()?.get(offset)?.get()
    }

    /// Every filled slot, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Mailbox)> {
        (0..self.len()).filter_map(|i| self.get(i).map(|m| (i, m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_index_space() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(3072), (2, 0));
        // Every index maps inside its bucket, right after its predecessor.
        let mut prev = locate(0);
        for i in 1..50_000u32 {
            let here = locate(i);
            assert!(here.1 < FIRST_BUCKET << here.0, "index {i}");
            let next_in_bucket = (prev.0, prev.1 + 1);
            assert!(
                here == next_in_bucket || here == (prev.0 + 1, 0),
                "index {i}"
            );
            prev = here;
        }
    }

    #[test]
    fn reserve_hands_out_consecutive_ranges() {
        let t = AddressTable::default();
        assert_eq!(t.reserve(10).unwrap(), 0);
        assert_eq!(t.reserve(5).unwrap(), 10);
        assert_eq!(t.len(), 15);
        assert!(t.get(3).is_none());
        assert!(t.get(100).is_none());
    }
}
