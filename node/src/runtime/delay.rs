//! One delay queue per node for everything that must happen later.
//!
//! Pirates' chat ticks, the denominator's traffic ticks and every message
//! the latency model holds back are entries in one binary heap, served by a
//! dedicated thread: it costs a few dozen bytes per pending delivery instead
//! of a task each, and an OS thread waits with sub-millisecond precision
//! (tokio's timers round up to whole milliseconds, which would slow a
//! 0.225 ms in-zone hop to 1 ms). Entries leave in deadline order, so a
//! message due in a quarter millisecond never waits behind one crossing an
//! ocean. The queue is given a [`Sink`] to release into (the runtime), so
//! it needs nothing from the runtime itself.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Instant;

/// Where the queue's thread hands what falls due. The queue knows nothing
/// of actors or addresses: the runtime is the sink, and what an entry
/// carries (`P`) is the runtime's business.
pub(crate) trait Sink<P>: Send + Sync + 'static {
    fn release(&self, due: P);
}

struct Entry<P> {
    due: Instant,
    /// Push order, so that entries due at the same instant leave in it.
    seq: u64,
    payload: P,
}

impl<P> PartialEq for Entry<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl<P> Eq for Entry<P> {}
impl<P> PartialOrd for Entry<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for Entry<P> {
    /// Reversed, so the max-heap pops the earliest deadline first (FIFO among
    /// equal deadlines by sequence number).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// The queue shared by senders and the timer thread. Senders wake the
/// thread only when their entry is due before everything queued, so a
/// steady stream of deliveries costs no context switch per message.
pub(crate) struct DelayQueue<P> {
    state: Mutex<State<P>>,
    wake: Condvar,
}

struct State<P> {
    heap: BinaryHeap<Entry<P>>,
    next_seq: u64,
    closed: bool,
}

impl<P: Send + 'static> DelayQueue<P> {
    /// Starts the timer thread, which releases entries into `sink` for as
    /// long as the sink lives.
    pub(crate) fn start<S: Sink<P>>(sink: Weak<S>) -> Arc<DelayQueue<P>> {
        let queue = Arc::new(DelayQueue {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                next_seq: 0,
                closed: false,
            }),
            wake: Condvar::new(),
        });
        let shared = queue.clone();
        std::thread::Builder::new()
            .name("spigo-timers".into())
            .spawn(move || run(&shared, sink))
            .expect("the timer thread starts");
        queue
    }

    /// Queues `payload` for release at `due` (at once if that has passed).
    pub(crate) fn push(&self, due: Instant, payload: P) {
        let mut state = self.state.lock().expect("timers lock");
        let earliest = state.heap.peek().is_none_or(|head| due < head.due);
        let seq = state.next_seq;
        state.next_seq += 1;
        state.heap.push(Entry { due, seq, payload });
        drop(state);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Stops the thread (pending entries are dropped).
    pub(crate) fn close(&self) {
        self.state.lock().expect("timers lock").closed = true;
        self.wake.notify_one();
    }
}

/// Linux lets a sleeping thread wake up to 50 microseconds late by default
/// ("timer slack"), a fifth of an in-zone hop; ask for 1 nanosecond.
#[cfg(target_os = "linux")]
fn tighten_timer_slack() {
    // Without it the queue still works, only a little later.
    let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
}

#[cfg(not(target_os = "linux"))]
fn tighten_timer_slack() {}

fn run<P, S: Sink<P>>(timers: &DelayQueue<P>, sink: Weak<S>) {
    tighten_timer_slack();
    let mut due = Vec::new();
    let mut state = timers.state.lock().expect("timers lock");
    loop {
        if state.closed {
            return;
        }
        let now = Instant::now();
        match state.heap.peek().map(|e| e.due) {
            None => state = timers.wake.wait(state).expect("timers lock"),
            Some(at) if at > now => {
                state = timers
                    .wake
                    .wait_timeout(state, at - now)
                    .expect("timers lock")
                    .0;
            }
            Some(_) => {
                while state.heap.peek().is_some_and(|e| e.due <= now) {
                    due.push(state.heap.pop().expect("peeked"));
                }
                drop(state);
                let Some(sink) = sink.upgrade() else { return };
                for entry in due.drain(..) {
                    sink.release(entry.payload);
                }
                drop(sink);
                state = timers.state.lock().expect("timers lock");
            }
        }
    }
}
