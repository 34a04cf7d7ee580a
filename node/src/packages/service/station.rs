//! Station: the work an instance does on a request before its package
//! sees it, for services with a work model (`service_time`, `concurrency`,
//! `queue`; see [`spigo_proto::work`]).
//!
//! A request that arrives takes a free slot, or waits in a FIFO queue for
//! one, or, when the queue is full, is refused at once (`rejected`). Once
//! in a slot it is held for its drawn service time, not by sleeping a
//! thread but as an entry in the node's delay queue: the instance sets its
//! `Done` timer for the moment the service ends and hands the request to
//! its package then.
//!
//! **Virtual service clock.** A timer rings a little after its deadline
//! (the mailbox, the scheduler), and a busy server that started each next
//! request only when the ring was handled would stretch every service time
//! by that lateness: at 80% utilisation a 5% stretch raises the mean time
//! in system by a third. So each slot keeps the instant it is free at, by
//! the drawn times alone, and the next request's service starts there (or
//! at its own arrival, if later); only the hand-over to the package
//! happens at the ring.

use spigo_proto::work::Work;
use spigo_proto::{Gotocol, Timestamp};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::runtime::metrics::StationSums;
use std::sync::atomic::Ordering;

/// What becomes of a request that arrives.
#[derive(Debug, PartialEq)]
pub(super) enum Admit {
    /// Its service started: it ends at this instant.
    Started(Instant),
    /// It waits for a slot.
    Waiting,
    /// The queue is full: refused, handed back.
    Rejected(Box<Gotocol>),
}

/// A request held by the station, with when it arrived (its answer's
/// time in system runs from there).
pub(super) struct Held {
    pub msg: Gotocol,
    pub arrived: Timestamp,
    /// From its send time to its arrival, for the delivery histogram.
    pub delivery: Duration,
}

/// A request in service, ordered by when its service ends.
struct InService {
    ends: Instant,
    /// Start order, so requests ending at the same instant leave in it.
    seq: u64,
    held: Held,
}

impl PartialEq for InService {
    fn eq(&self, o: &Self) -> bool {
        (self.ends, self.seq) == (o.ends, o.seq)
    }
}
impl Eq for InService {}
impl PartialOrd for InService {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InService {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.ends, self.seq).cmp(&(o.ends, o.seq))
    }
}

/// One instance's slots and queue.
pub(super) struct Station {
    /// When each slot is free, by the drawn service times; empty when the
    /// model sets no concurrency (every request starts as it arrives).
    free_at: Vec<Instant>,
    queue: Option<u32>,
    waiting: VecDeque<(Instant, Held)>,
    serving: BinaryHeap<Reverse<InService>>,
    seq: u64,
    /// Requests in the station (waiting or in service) and waiting, and
    /// since when those counts hold, for the time integrals.
    counted: (u64, u64, Instant),
}

impl Station {
    /// A station for `work`, its slots counted into `sums`.
    pub(super) fn new(work: &Work, sums: &StationSums, now: Instant) -> Station {
        sums.instances.fetch_add(1, Ordering::Relaxed);
        match work.concurrency {
            Some(c) => sums.slots.fetch_add(u64::from(c), Ordering::Relaxed),
            None => sums.unlimited.fetch_add(1, Ordering::Relaxed),
        };
        let slots = work.concurrency.unwrap_or(0) as usize;
        Station {
            free_at: vec![now; slots],
            queue: work.queue,
            waiting: VecDeque::new(),
            serving: BinaryHeap::new(),
            seq: 0,
            counted: (0, 0, now),
        }
    }

    /// A request arrived at `now`; `draw` gives a service time. Requests
    /// that were waiting for slots freed by now start first (their
    /// service ends are given to `started`).
    pub(super) fn arrive(
        &mut self,
        held: Held,
        now: Instant,
        draw: &mut dyn FnMut() -> Duration,
        sums: &StationSums,
        started: &mut dyn FnMut(Instant),
    ) -> Admit {
        self.start_waiting(now, draw, sums, started);
        let slot = self.free_slot(now);
        if self.waiting.is_empty() && (self.free_at.is_empty() || slot.is_some()) {
            let ends = self.start(slot, now, now, held, draw, sums);
            self.count(now, sums);
            return Admit::Started(ends);
        }
        if self.queue.is_some_and(|q| self.waiting.len() >= q as usize) {
            return Admit::Rejected(Box::new(held.msg));
        }
        self.waiting.push_back((now, held));
        self.count(now, sums);
        Admit::Waiting
    }

    /// The `Done` timer rang at `now`: the request whose service ends
    /// first leaves (one ring per request started), and requests waiting
    /// for the slot it frees start (their ends given to `started`).
    pub(super) fn done(
        &mut self,
        now: Instant,
        draw: &mut dyn FnMut() -> Duration,
        sums: &StationSums,
        started: &mut dyn FnMut(Instant),
    ) -> Option<Held> {
        let Reverse(first) = self.serving.pop()?;
        sums.served.fetch_add(1, Ordering::Relaxed);
        // A timer may ring a little early (within its slack): the slot is
        // free at the service's end all the same.
        self.start_waiting(now.max(first.ends), draw, sums, started);
        self.count(now, sums);
        Some(first.held)
    }

    /// Every request still held, in service or waiting (the instance is
    /// leaving).
    pub(super) fn take_all(&mut self) -> Vec<Held> {
        let mut serving: Vec<InService> = self.serving.drain().map(|Reverse(s)| s).collect();
        serving.sort();
        let mut out: Vec<Held> = serving.into_iter().map(|s| s.held).collect();
        out.extend(self.waiting.drain(..).map(|(_, h)| h));
        out
    }

    /// Requests waiting or in service.
    pub(super) fn in_system(&self) -> usize {
        self.waiting.len() + self.serving.len()
    }

    /// The slot free at `now` that has been free longest.
    fn free_slot(&self, now: Instant) -> Option<usize> {
        (self.free_at.iter().enumerate())
            .filter(|(_, &t)| t <= now)
            .min_by_key(|(_, &t)| t)
            .map(|(i, _)| i)
    }

    /// Starts waiting requests on the slots free by `now`, each at the
    /// later of its slot's free instant and its own arrival.
    fn start_waiting(
        &mut self,
        now: Instant,
        draw: &mut dyn FnMut() -> Duration,
        sums: &StationSums,
        started: &mut dyn FnMut(Instant),
    ) {
        while !self.waiting.is_empty() {
            let Some(slot) = self.free_slot(now) else {
                break;
            };
            let (at, held) = self.waiting.pop_front().expect("not empty");
            let from = self.free_at[slot].max(at);
            let ends = self.start(Some(slot), at, from, held, draw, sums);
            started(ends);
        }
    }

    /// Starts `held`'s service at `from` in `slot` (it came at `came`);
    /// when it ends.
    fn start(
        &mut self,
        slot: Option<usize>,
        came: Instant,
        from: Instant,
        held: Held,
        draw: &mut dyn FnMut() -> Duration,
        sums: &StationSums,
    ) -> Instant {
        let took = draw();
        sums.started.fetch_add(1, Ordering::Relaxed);
        let waited = from.saturating_duration_since(came).as_nanos() as u64;
        sums.waited_ns.fetch_add(waited, Ordering::Relaxed);
        sums.busy_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        let ends = from + took;
        if let Some(slot) = slot {
            self.free_at[slot] = ends;
        }
        self.seq += 1;
        self.serving.push(Reverse(InService {
            ends,
            seq: self.seq,
            held,
        }));
        ends
    }

    /// Adds the time since the last change, at the counts that held over
    /// it, to the integrals, and takes the counts as they are now.
    fn count(&mut self, now: Instant, sums: &StationSums) {
        let (n, waiting, since) = self.counted;
        let ns = now.saturating_duration_since(since).as_nanos() as u64;
        if n > 0 {
            sums.in_system_ns.fetch_add(n * ns, Ordering::Relaxed);
            sums.waiting_ns.fetch_add(waiting * ns, Ordering::Relaxed);
        }
        self.counted = (
            self.in_system() as u64,
            self.waiting.len() as u64,
            now.max(since),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spigo_proto::work::ServiceTime;
    use spigo_proto::{Imposition, Intention};

    fn held(i: u64) -> Held {
        let msg = Gotocol::new(
            Imposition::GetRequest,
            None,
            Timestamp::default(),
            Intention::Text(i.to_string().into()),
        );
        Held {
            msg,
            arrived: Timestamp::default(),
            delivery: Duration::ZERO,
        }
    }

    fn key(h: &Held) -> String {
        h.msg.intention.to_string()
    }

    /// One slot, a queue of one, fixed 10 ms: the second waits and starts
    /// when the first's service ends (not when its timer is handled), the
    /// third is refused, and the integrals count what was in the system.
    #[test]
    fn a_slot_serves_in_turn_and_a_full_queue_refuses() {
        let work = Work {
            service_time: ServiceTime::Fixed(Duration::from_millis(10)),
            concurrency: Some(1),
            queue: Some(1),
        };
        let sums = StationSums::default();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut st = Station::new(&work, &sums, t0);
        let mut draw = || Duration::from_millis(10);
        let mut started = Vec::new();
        assert_eq!(
            st.arrive(held(1), ms(0), &mut draw, &sums, &mut |t| started.push(t)),
            Admit::Started(ms(10))
        );
        assert_eq!(
            st.arrive(held(2), ms(2), &mut draw, &sums, &mut |t| started.push(t)),
            Admit::Waiting
        );
        let refused = st.arrive(held(3), ms(4), &mut draw, &sums, &mut |t| started.push(t));
        assert!(matches!(refused, Admit::Rejected(m) if m.intention.to_string() == "3"));
        // The first's timer is handled 3 ms late: the second still
        // started at 10 ms, so it ends at 20.
        let first = st
            .done(ms(13), &mut draw, &sums, &mut |t| started.push(t))
            .unwrap();
        assert_eq!(key(&first), "1");
        assert_eq!(started, [ms(20)]);
        let second = st
            .done(ms(20), &mut draw, &sums, &mut |t| started.push(t))
            .unwrap();
        assert_eq!(key(&second), "2");
        assert!(st
            .done(ms(21), &mut draw, &sums, &mut |t| started.push(t))
            .is_none());
        assert_eq!(st.in_system(), 0);
        let r = sums.report();
        assert_eq!(
            (r.instances, r.slots, r.served, r.busy_ns),
            (1, 1, 2, 20_000_000)
        );
        // The second waited from 2 ms to 10 ms.
        assert_eq!((r.started, r.waited_ns), (2, 8_000_000));
        // In the system: 1 over 0–2 ms, 2 over 2–13, 1 over 13–20.
        assert_eq!(r.in_system_ns, (2 + 22 + 7) * 1_000_000);
        assert_eq!(r.waiting_ns, 11_000_000);
    }

    /// Without a concurrency limit every request starts as it arrives.
    #[test]
    fn no_limit_is_a_pure_delay() {
        let work = Work {
            service_time: ServiceTime::Fixed(Duration::from_millis(5)),
            concurrency: None,
            queue: None,
        };
        let sums = StationSums::default();
        let t0 = Instant::now();
        let mut st = Station::new(&work, &sums, t0);
        let mut draw = || Duration::from_millis(5);
        let mut started = Vec::new();
        for i in 0..3 {
            let at = t0 + Duration::from_millis(i);
            let admit = st.arrive(held(i), at, &mut draw, &sums, &mut |t| started.push(t));
            assert_eq!(admit, Admit::Started(at + Duration::from_millis(5)));
        }
        assert_eq!(sums.report().unlimited, 1);
        let order: Vec<String> = (0..3)
            .map(|i| {
                let at = t0 + Duration::from_millis(5 + i);
                key(&st
                    .done(at, &mut draw, &sums, &mut |t| started.push(t))
                    .unwrap())
            })
            .collect();
        assert_eq!(order, ["0", "1", "2"]);
    }
}
