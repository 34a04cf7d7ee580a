//! One delay queue per node for everything that must happen later.
//!
//! Pirates' chat ticks (and, later, messages held back by the latency model)
//! would otherwise each need a sleeping task. Here they are entries in one
//! binary heap served by a single task, which costs a few dozen bytes per
//! pending timer instead of a task and a timer registration each.

use crate::{Delivery, Runtime};
use spigo_proto::Address;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Weak;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub(crate) struct TimerEntry {
    pub due: Instant,
    pub seq: u64,
    pub to: Address,
    pub what: Delivery,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for TimerEntry {}
impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TimerEntry {
    /// Reversed, so the max-heap pops the earliest deadline first (FIFO among
    /// equal deadlines by sequence number).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// Runs until the runtime is dropped (its sender closes the channel).
pub(crate) async fn run(mut rx: mpsc::UnboundedReceiver<TimerEntry>, rt: Weak<Runtime>) {
    let mut heap = BinaryHeap::new();
    loop {
        let next = heap.peek().map(|e: &TimerEntry| e.due);
        tokio::select! {
            entry = rx.recv() => match entry {
                Some(entry) => heap.push(entry),
                None => return,
            },
            _ = async { tokio::time::sleep_until(next.unwrap()).await }, if next.is_some() => {
                let Some(rt) = rt.upgrade() else { return };
                let now = Instant::now();
                while heap.peek().is_some_and(|e| e.due <= now) {
                    let e = heap.pop().expect("peeked");
                    // The receiver may have stopped since; that is not an error.
                    let _ = rt.deliver(e.to, e.what);
                }
            }
        }
    }
}
