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
//!
//! Each entry has a slack, a small fraction of its delay chosen by whoever
//! pushes it: once the thread is awake (for the earliest deadline), it
//! releases with it every entry due within its own slack. A steady stream
//! of deliveries then costs one wake-up per slack window instead of one per
//! deadline (waking cost some 2 to 4 us of CPU each, most of the latency
//! model's cost per message), while a lone entry still leaves at its
//! deadline and none leaves earlier than its slack.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// Where the queue's thread hands what falls due. The queue knows nothing
/// of actors or addresses: the runtime is the sink, and what an entry
/// carries (`P`) is the runtime's business.
pub(crate) trait Sink<P>: Send + Sync + 'static {
    fn release(&self, due: P);
}

struct Entry<P> {
    due: Instant,
    /// `due` less the entry's slack: from then on it may leave with an
    /// earlier one.
    early: Instant,
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

    /// Queues `payload` for release at `due` (at once if that has passed),
    /// or up to `slack` earlier along with an entry due before it.
    pub(crate) fn push(&self, due: Instant, slack: Duration, payload: P) {
        let early = due.checked_sub(slack).unwrap_or(due);
        let mut state = self.state.lock().expect("timers lock");
        let earliest = state.heap.peek().is_none_or(|head| due < head.due);
        let seq = state.next_seq;
        state.next_seq += 1;
        state.heap.push(Entry {
            due,
            early,
            seq,
            payload,
        });
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

/// How late the thread wakes from a timed wait, learnt as it goes: on this
/// VM some 30 us, which made a 225 us in-zone hop measure 258 us at p50
/// (225 us with it). The thread sets its alarm that much before a
/// deadline; an entry still never leaves before its slack allows. The
/// price: earlier wake-ups gather fewer entries each, about 0.6 us more
/// CPU per held message (`spigo bench steady --only latency,latency-none`).
#[derive(Default)]
struct WakeLateness {
    typical: Duration,
}

impl WakeLateness {
    /// Beyond this a wake-up was late for another reason (a busy machine),
    /// not the usual cost of waking.
    const MOST: Duration = Duration::from_micros(100);

    /// A moving average over the last few wake-ups (weight 1/8).
    fn observe(&mut self, late: Duration) {
        let late = late.min(Self::MOST);
        self.typical = (self.typical * 7 + late) / 8;
    }
}

fn run<P, S: Sink<P>>(timers: &DelayQueue<P>, sink: Weak<S>) {
    tighten_timer_slack();
    let mut due = Vec::new();
    let mut late = WakeLateness::default();
    let mut state = timers.state.lock().expect("timers lock");
    loop {
        if state.closed {
            return;
        }
        let now = Instant::now();
        match state.heap.peek().map(|e| (e.early, e.due)) {
            None => state = timers.wake.wait(state).expect("timers lock"),
            // Asleep until the earliest deadline itself, less how late the
            // thread usually wakes: slack only lets entries leave with one
            // that is due, never wakes the thread.
            Some((early, due)) if early > now => {
                let target = due.checked_sub(late.typical).unwrap_or(due).max(now);
                if target <= now {
                    // Woken ahead of the entry's slack: the rest is shorter
                    // than a wake-up, so wait it out here.
                    drop(state);
                    std::thread::yield_now();
                    state = timers.state.lock().expect("timers lock");
                    continue;
                }
                let (next, waited) = timers
                    .wake
                    .wait_timeout(state, target - now)
                    .expect("timers lock");
                state = next;
                if waited.timed_out() {
                    late.observe(Instant::now().saturating_duration_since(target));
                }
            }
            Some(_) => {
                while state.heap.peek().is_some_and(|e| e.early <= now) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    struct Collect(Mutex<mpsc::Sender<(u32, Instant)>>);

    impl Sink<u32> for Collect {
        fn release(&self, due: u32) {
            let _ = self.0.lock().unwrap().send((due, Instant::now()));
        }
    }

    /// What the sink saw: each payload and when it arrived.
    type Seen = mpsc::Receiver<(u32, Instant)>;

    fn queue() -> (Arc<Collect>, Arc<DelayQueue<u32>>, Seen) {
        let (tx, rx) = mpsc::channel();
        let sink = Arc::new(Collect(Mutex::new(tx)));
        let q = DelayQueue::start(Arc::downgrade(&sink));
        (sink, q, rx)
    }

    #[test]
    fn lateness_is_learnt_and_bounded() {
        let mut late = WakeLateness::default();
        for _ in 0..64 {
            late.observe(Duration::from_micros(30));
        }
        assert!(
            late.typical > Duration::from_micros(29),
            "{:?}",
            late.typical
        );
        // One wake-up delayed by a busy machine moves it only so far.
        late.observe(Duration::from_secs(1));
        assert!(
            late.typical < Duration::from_micros(40),
            "{:?}",
            late.typical
        );
    }

    #[test]
    fn a_lone_entry_leaves_at_its_deadline_not_its_slack() {
        let (_sink, q, rx) = queue();
        let due = Instant::now() + Duration::from_millis(20);
        q.push(due, Duration::from_millis(15), 1);
        let (n, at) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(n, 1);
        assert!(at >= due, "released {:?} early", due - at);
        q.close();
    }

    #[test]
    fn entries_within_their_slack_leave_with_an_earlier_one_in_order() {
        // Margins of a fifth of a second: a loaded machine may run the
        // thread milliseconds after its deadline.
        let ms = Duration::from_millis;
        let (_sink, q, rx) = queue();
        let first = Instant::now() + ms(20);
        q.push(first + ms(200), ms(300), 2);
        q.push(first, Duration::ZERO, 1);
        // Outside its slack: waits for its own deadline.
        let last = first + ms(400);
        q.push(last, ms(1), 3);
        let got: Vec<_> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(got[0].1 >= first);
        assert!(got[1].1 < first + ms(200), "2 waited for its own deadline");
        assert!(got[2].1 >= last - ms(1));
        q.close();
    }
}
