//! One delay queue per node for everything that must happen later.
//!
//! Pirates' chat ticks, the denominator's traffic ticks and every message
//! the latency model holds back are entries in one binary heap: a few dozen
//! bytes per pending delivery instead of a task each. Entries leave in
//! deadline order, so a message due in a quarter millisecond never waits
//! behind one crossing an ocean. The queue is given a [`Sink`] to release
//! into (the runtime), so it needs nothing from the runtime itself.
//!
//! **Who wakes it.** A kernel timer (a Linux timerfd) rings at the earliest
//! deadline, and a task on the node's own tokio runtime serves the queue
//! when it rings. tokio's own timers round up to whole milliseconds, which
//! would slow a 0.225 ms in-zone hop to 1 ms; a timerfd has no such
//! rounding, and tokio's reactor watches it like a socket, so a parked
//! worker thread sleeps in the reactor until the earliest deadline and runs
//! what falls due itself. An earlier design served the heap from a
//! dedicated thread: every release was then a hand-over to a tokio worker,
//! and at light load each held message cost some four context switches
//! (about 50 us of CPU on this VM), which was nearly all of an idle run's
//! cost. A sender whose entry becomes the earliest re-sets the timer with
//! one system call; it wakes nobody.
//!
//! **Slack.** Each entry has a slack, a small fraction of its delay chosen
//! by whoever pushes it: once the queue is served (for the earliest
//! deadline), every entry due within its own slack leaves with it. A steady
//! stream of deliveries then costs one wake-up per slack window instead of
//! one per deadline, while a lone entry still leaves at its deadline and
//! none leaves earlier than its slack.
//!
//! **Small keys.** The heap holds only deadlines and a slot number; what an
//! entry carries waits in a slot table beside it. Sifting a heap of 100,000
//! pirates' ticks then moves 32-byte keys, not whole messages (the moves
//! were a sixth of a chatting run's CPU).

use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;

/// Where the queue hands what falls due. The queue knows nothing of actors
/// or addresses: the runtime is the sink, and what an entry carries (`P`)
/// is the runtime's business.
pub(crate) trait Sink<P>: Send + Sync + 'static {
    fn release(&self, due: P);
}

/// Why a node could not get its timer.
#[derive(Debug, thiserror::Error)]
pub enum TimerError {
    /// The queue is served by a task on the tokio runtime it is made in.
    #[error("the node's delay queue must be made inside a tokio runtime")]
    NoRuntime,
    /// The kernel refused a timerfd (out of file descriptors, say).
    #[error("cannot create the node's timer: {0}")]
    Create(#[source] std::io::Error),
}

/// What the heap orders: a deadline and where its payload waits.
struct Key {
    due: Instant,
    /// Push order, so that entries due at the same instant leave in it.
    seq: u64,
    slot: u32,
    /// From `due - slack` on the entry may leave with an earlier one.
    slack_ns: u32,
}

impl Key {
    fn early(&self) -> Instant {
        let slack = Duration::from_nanos(u64::from(self.slack_ns));
        self.due.checked_sub(slack).unwrap_or(self.due)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// Reversed, so the max-heap pops the earliest deadline first (FIFO among
    /// equal deadlines by sequence number).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// The queue shared by senders and the task that serves it.
pub(crate) struct DelayQueue<P> {
    state: Mutex<State<P>>,
    /// The timerfd, registered with the tokio reactor it was made in. Only
    /// the serving task sets it: a sender whose entry must ring earlier
    /// tells the task through `rearm` instead, so no system call is made
    /// under the lock and two setters never race.
    alarm: AsyncFd<OwnedFd>,
    rearm: tokio::sync::Notify,
    runtime: tokio::runtime::Handle,
}

struct State<P> {
    heap: BinaryHeap<Key>,
    /// Payloads by slot; `free` lists the empty ones.
    slots: Vec<Option<P>>,
    free: Vec<u32>,
    next_seq: u64,
    /// By when the serving task will look at the heap again (its alarm,
    /// or a sender's `rearm` that asked for earlier); `None`: not before
    /// something is pushed.
    armed: Option<Instant>,
    late: WakeLateness,
    closed: bool,
}

impl<P> State<P> {
    fn pop(&mut self) -> Option<P> {
        let key = self.heap.pop()?;
        self.free.push(key.slot);
        self.slots[key.slot as usize].take()
    }
}

impl<P: Send + 'static> DelayQueue<P> {
    /// Makes the queue and its timer; nothing is served until [`serve`].
    ///
    /// [`serve`]: DelayQueue::serve
    pub(crate) fn new() -> Result<Arc<DelayQueue<P>>, TimerError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| TimerError::NoRuntime)?;
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )
        .map_err(|e| TimerError::Create(e.into()))?;
        let alarm = {
            let _inside = runtime.enter();
            // tokio deprecates `new` for types whose descriptor could change
            // under it, in favour of an `unsafe` twin. An `OwnedFd` that
            // only the `AsyncFd` holds cannot change, so the safe call is
            // sound and this crate stays free of `unsafe`.
            #[allow(deprecated)]
            AsyncFd::with_interest(fd, tokio::io::Interest::READABLE).map_err(TimerError::Create)?
        };
        Ok(Arc::new(DelayQueue {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                slots: Vec::new(),
                free: Vec::new(),
                next_seq: 0,
                armed: None,
                late: WakeLateness::default(),
                closed: false,
            }),
            alarm,
            rearm: tokio::sync::Notify::new(),
            runtime,
        }))
    }

    /// Starts the task that releases entries into `sink` for as long as the
    /// sink lives (or until [`close`](DelayQueue::close)).
    pub(crate) fn serve<S: Sink<P>>(self: &Arc<Self>, sink: Weak<S>) {
        self.runtime.spawn(serve(self.clone(), sink));
    }

    /// Queues `payload` for release at `due` (at once if that has passed),
    /// or up to `slack` earlier along with an entry due before it.
    pub(crate) fn push(&self, due: Instant, slack: Duration, payload: P) {
        let slack_ns = u32::try_from(slack.as_nanos()).unwrap_or(u32::MAX);
        let mut state = self.lock();
        let slot = match state.free.pop() {
            Some(slot) => {
                state.slots[slot as usize] = Some(payload);
                slot
            }
            None => {
                state.slots.push(Some(payload));
                u32::try_from(state.slots.len() - 1).expect("fewer than 4 billion pending entries")
            }
        };
        let seq = state.next_seq;
        state.next_seq += 1;
        state.heap.push(Key {
            due,
            seq,
            slot,
            slack_ns,
        });
        let ring = state.late.ahead_of(due);
        let sooner = state.armed.is_none_or(|armed| ring < armed);
        if sooner {
            state.armed = Some(ring);
        }
        drop(state);
        if sooner {
            self.rearm.notify_one();
        }
    }

    /// Stops the serving task (pending entries are dropped).
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.rearm.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, State<P>> {
        self.state.lock().expect("delay queue lock")
    }

    /// Sets the alarm to ring at `at` (as soon as possible if that has
    /// passed), or turns it off.
    fn arm(&self, at: Option<Instant>) {
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let it_value = match at {
            // A zero value would turn the timer off instead.
            Some(at) => at
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1))
                .try_into()
                .unwrap_or(Timespec {
                    tv_sec: i64::MAX,
                    tv_nsec: 0,
                }),
            None => zero,
        };
        let spec = Itimerspec {
            it_interval: zero,
            it_value,
        };
        if let Err(e) = timerfd_settime(self.alarm.get_ref(), TimerfdTimerFlags::empty(), &spec) {
            // Only a bad descriptor or value fails, and neither can happen:
            // say so loudly all the same, since nothing would leave.
            tracing::error!("the delay queue's timer cannot be set: {e}");
        }
    }
}

/// How late the queue is served after its alarm rang, learnt as it goes:
/// on this VM some 30 us from idle, which made a 225 us in-zone hop
/// measure 258 us at p50 (225 us with it). The alarm is set that much
/// before a deadline; an entry still never leaves before its slack allows.
///
/// The estimate tracks the lower quartile of recent lateness, not its
/// mean: a loaded worker serves the queue late now and then, and a mean
/// pulled up by those rings the alarm early every time, then spins on the
/// worker until the entry's slack opens (the spinning was most of the
/// latency model's CPU under load).
#[derive(Default)]
struct WakeLateness {
    typical: Duration,
}

impl WakeLateness {
    /// Never more than this: beyond it a wake-up was late for another
    /// reason (a busy machine), not the usual cost of waking.
    const MOST: Duration = Duration::from_micros(100);
    /// Up this much after a later wake-up, down three times as much after
    /// an earlier one: the estimate settles where a quarter of wake-ups
    /// come earlier.
    const STEP: Duration = Duration::from_micros(1);

    fn observe(&mut self, late: Duration) {
        self.typical = if late > self.typical {
            (self.typical + Self::STEP).min(Self::MOST)
        } else {
            self.typical.saturating_sub(Self::STEP * 3)
        };
    }

    /// When to ring for an entry due at `due`.
    fn ahead_of(&self, due: Instant) -> Instant {
        due.checked_sub(self.typical).unwrap_or(due)
    }
}

/// What serving the queue found to do next.
enum Next {
    /// Wait for the alarm (set to this, or off) or a sender's `rearm`.
    Sleep(Option<Instant>),
    /// Woken within a wake-up's lateness of the earliest entry's slack:
    /// the rest is shorter than sleeping again would take, so let the
    /// worker run other tasks and look again.
    Soon,
}

async fn serve<P: Send + 'static, S: Sink<P>>(queue: Arc<DelayQueue<P>>, sink: Weak<S>) {
    let mut due = Vec::new();
    // What the timerfd is set to (it is one-shot: off once it has rung).
    let mut set: Option<Instant> = None;
    let mut rang = false;
    loop {
        let next = {
            let mut state = queue.lock();
            if state.closed {
                return;
            }
            let now = Instant::now();
            if rang {
                rang = false;
                if let Some(at) = set.take().filter(|at| *at <= now) {
                    state.late.observe(now - at);
                }
            }
            while state.heap.peek().is_some_and(|k| k.early() <= now) {
                due.extend(state.pop());
            }
            let ring = state.heap.peek().map(|k| state.late.ahead_of(k.due));
            state.armed = ring;
            match ring {
                Some(ring) if ring <= now => Next::Soon,
                ring => Next::Sleep(ring),
            }
        };
        if !due.is_empty() {
            let Some(sink) = sink.upgrade() else { return };
            for payload in due.drain(..) {
                sink.release(payload);
            }
        }
        match next {
            Next::Soon => tokio::task::yield_now().await,
            Next::Sleep(ring) => {
                // Setting the timer is a system call that costs a VM some
                // microseconds (22% of a loaded run when made every round):
                // an alarm that rings no later than needed is left alone,
                // and one that rings early costs only a look at the heap.
                if let Some(ring) = ring.filter(|ring| set.is_none_or(|set| *ring < set)) {
                    queue.arm(Some(ring));
                    set = Some(ring);
                }
                tokio::select! {
                    ready = queue.alarm.readable() => {
                        let Ok(mut ready) = ready else {
                            tracing::error!("the delay queue's timer left the reactor");
                            return;
                        };
                        // Reading the count of expiries empties the timerfd
                        // (setting it does too); it is readable again only
                        // when it next rings.
                        let mut count = [0u8; 8];
                        rang = rustix::io::read(queue.alarm.get_ref(), &mut count).is_ok();
                        ready.clear_ready();
                    }
                    () = queue.rearm.notified() => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    struct Collect(mpsc::UnboundedSender<(u32, Instant)>);

    impl Sink<u32> for Collect {
        fn release(&self, due: u32) {
            let _ = self.0.send((due, Instant::now()));
        }
    }

    /// What the sink saw: each payload and when it arrived.
    type Seen = mpsc::UnboundedReceiver<(u32, Instant)>;

    fn queue() -> (Arc<Collect>, Arc<DelayQueue<u32>>, Seen) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = Arc::new(Collect(tx));
        let q = DelayQueue::new().unwrap();
        q.serve(Arc::downgrade(&sink));
        (sink, q, rx)
    }

    async fn next(rx: &mut Seen) -> (u32, Instant) {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("released within 5 s")
            .expect("the sink lives")
    }

    #[test]
    fn lateness_is_learnt_and_bounded() {
        let us = Duration::from_micros;
        let mut late = WakeLateness::default();
        for _ in 0..64 {
            late.observe(us(30));
        }
        assert!(late.typical >= us(27), "{:?}", late.typical);
        // One wake-up delayed by a busy machine moves it only so far.
        late.observe(Duration::from_secs(1));
        assert!(late.typical < us(35), "{:?}", late.typical);
        // Under load, one wake-up in three comes very late: the estimate
        // stays with the usual ones instead of following the mean.
        for i in 0..300 {
            late.observe(if i % 3 == 0 { us(500) } else { us(30) });
        }
        assert!(late.typical <= us(33), "{:?}", late.typical);
        // And it never passes its bound.
        for _ in 0..1000 {
            late.observe(Duration::from_secs(1));
        }
        assert_eq!(late.typical, WakeLateness::MOST);
    }

    #[test]
    fn outside_a_tokio_runtime_there_is_no_queue() {
        assert!(matches!(
            DelayQueue::<u32>::new(),
            Err(TimerError::NoRuntime)
        ));
    }

    #[tokio::test]
    async fn a_lone_entry_leaves_at_its_deadline_not_its_slack() {
        let (_sink, q, mut rx) = queue();
        let due = Instant::now() + Duration::from_millis(20);
        q.push(due, Duration::from_millis(15), 1);
        let (n, at) = next(&mut rx).await;
        assert_eq!(n, 1);
        assert!(at >= due, "released {:?} early", due - at);
        q.close();
    }

    #[tokio::test]
    async fn entries_within_their_slack_leave_with_an_earlier_one_in_order() {
        // Margins of a fifth of a second: a loaded machine may serve the
        // queue milliseconds after its deadline.
        let ms = Duration::from_millis;
        let (_sink, q, mut rx) = queue();
        let first = Instant::now() + ms(20);
        q.push(first + ms(200), ms(300), 2);
        q.push(first, Duration::ZERO, 1);
        // Outside its slack: waits for its own deadline.
        let last = first + ms(400);
        q.push(last, ms(1), 3);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(next(&mut rx).await);
        }
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(got[0].1 >= first);
        assert!(got[1].1 < first + ms(200), "2 waited for its own deadline");
        assert!(got[2].1 >= last - ms(1));
        q.close();
    }

    #[tokio::test]
    async fn many_entries_leave_in_deadline_order_and_slots_are_reused() {
        let (_sink, q, mut rx) = queue();
        let start = Instant::now();
        // Pushed in a scrambled order, due over 50 ms.
        for i in 0..500u32 {
            let n = (i * 263) % 500;
            q.push(
                start + Duration::from_micros(u64::from(n) * 100),
                Duration::ZERO,
                n,
            );
        }
        for want in 0..500 {
            assert_eq!(next(&mut rx).await.0, want);
        }
        // Everything left: the next pushes reuse the freed slots.
        q.push(Instant::now(), Duration::ZERO, 7);
        assert_eq!(next(&mut rx).await.0, 7);
        assert_eq!(q.lock().slots.len(), 500);
        q.close();
    }

    #[tokio::test]
    async fn a_closed_queue_stops_serving() {
        let (_sink, q, mut rx) = queue();
        q.close();
        q.push(Instant::now(), Duration::ZERO, 1);
        // The task has gone: nothing is released, and it held the only
        // other reference to the queue.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err());
        assert_eq!(Arc::strong_count(&q), 1);
    }
}
