//! One delay queue per node for everything that must happen later.
//!
//! Pirates' chat ticks, the denominator's traffic ticks and every message
//! the latency model holds back are entries in one binary heap, served by a
//! dedicated thread: it costs a few dozen bytes per pending delivery instead
//! of a task each, and an OS thread waits with sub-millisecond precision
//! (tokio's timers round up to whole milliseconds, which would slow a
//! 0.225 ms in-zone hop to 1 ms). Entries leave in deadline order, so a
//! message due in a quarter millisecond never waits behind one crossing an
//! ocean.

use crate::{Delivery, Runtime};
use spigo_proto::Address;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Instant;

pub(crate) struct TimerEntry {
    pub due: Instant,
    pub seq: u64,
    pub to: Address,
    pub what: Delivery,
    /// Held back by the latency model: record its delay when released.
    pub modelled: Option<crate::runtime::Held>,
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

/// The queue shared by senders and the timer thread. Senders wake the
/// thread only when their entry is due before everything queued, so a
/// steady stream of deliveries costs no context switch per message.
pub(crate) struct Timers {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    heap: BinaryHeap<TimerEntry>,
    closed: bool,
}

impl Timers {
    /// Starts the timer thread for `rt`.
    pub fn start(rt: Weak<Runtime>) -> Arc<Timers> {
        let timers = Arc::new(Timers {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                closed: false,
            }),
            wake: Condvar::new(),
        });
        let shared = timers.clone();
        std::thread::Builder::new()
            .name("spigo-timers".into())
            .spawn(move || run(&shared, rt))
            .expect("the timer thread starts");
        timers
    }

    pub fn push(&self, entry: TimerEntry) {
        let mut state = self.state.lock().expect("timers lock");
        let earliest = state.heap.peek().is_none_or(|head| entry.due < head.due);
        state.heap.push(entry);
        drop(state);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Stops the thread (pending entries are dropped).
    pub fn close(&self) {
        self.state.lock().expect("timers lock").closed = true;
        self.wake.notify_one();
    }
}

/// Linux lets a sleeping thread wake up to 50 microseconds late by default
/// ("timer slack"), a fifth of an in-zone hop; ask for 1 nanosecond.
#[cfg(target_os = "linux")]
fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and only affects
    // the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn tighten_timer_slack() {}

fn run(timers: &Timers, rt: Weak<Runtime>) {
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
                let Some(rt) = rt.upgrade() else { return };
                for entry in due.drain(..) {
                    rt.release(entry);
                }
                drop(rt);
                state = timers.state.lock().expect("timers lock");
            }
        }
    }
}
