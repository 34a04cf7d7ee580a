//! What the machine itself charges, measured beside `spigo bench steady`'s
//! scenarios so their figures can be read against it:
//!
//! - **waking**: a thread that does nothing but sleep and wake as often as
//!   a run did. A run that delivers messages at precise instants wakes at
//!   least once per instant, so this is the least it can cost; on a VM a
//!   wake-up costs tens of microseconds (the hypervisor programs a timer
//!   and switches back in).
//! - **a cold actor's message**: one message each to actors picked at
//!   random among many idle ones, as chatting pirates send them. It pays
//!   ractor's mailbox push, the task's wake-up and poll, and fetching that
//!   actor's memory from far away; a pirate's chat costs two of them (its
//!   tick and the message it sends).

use super::rusage;
use anyhow::{Context, Result};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// CPU of a thread that sleeps `times` times, evenly over `over`.
pub(super) fn waking(times: u64, over: Duration) -> Result<Duration> {
    let every = over / u32::try_from(times.max(1)).unwrap_or(u32::MAX);
    std::thread::spawn(move || {
        let before = rusage::this_thread()?;
        let start = Instant::now();
        for _ in 0..times {
            std::thread::sleep(every);
            // A slow machine may not keep up: stop at twice the time.
            if start.elapsed() > over * 2 {
                break;
            }
        }
        Ok(rusage::this_thread()? - before)
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("the sleeping thread panicked")))
    .context("cannot read the thread's CPU time")
}

/// Counts what it is sent, and nothing else.
struct Tally;

impl Actor for Tally {
    type Msg = ();
    type State = Arc<AtomicU64>;
    type Arguments = Arc<AtomicU64>;

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        seen: Arc<AtomicU64>,
    ) -> Result<Arc<AtomicU64>, ActorProcessingErr> {
        Ok(seen)
    }

    async fn handle(
        &self,
        _: ActorRef<()>,
        (): (),
        seen: &mut Arc<AtomicU64>,
    ) -> Result<(), ActorProcessingErr> {
        seen.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// What sending one message to a random one of `actors` idle actors costs:
/// the process's CPU (every thread) over `messages` of them, per message.
pub(super) fn cold_actor_message(actors: u32, messages: u64) -> Result<Duration> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start a tokio runtime")?;
    rt.block_on(async move {
        let seen = Arc::new(AtomicU64::new(0));
        let mut all = Vec::with_capacity(actors as usize);
        for _ in 0..actors.max(1) {
            let (actor, _) = Actor::spawn(None, Tally, seen.clone())
                .await
                .context("cannot spawn an actor")?;
            all.push(actor);
        }
        let mut rng = SmallRng::seed_from_u64(1);
        let before = rusage::this_process()?;
        // A few at a time, as ticks fall due, so that each actor is woken
        // for one message rather than finding a batch waiting.
        for sent in 0..messages {
            let to = &all[rng.random_range(0..all.len())];
            to.cast(()).context("an actor stopped")?;
            if sent % 64 == 63 {
                tokio::task::yield_now().await;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.load(Ordering::Relaxed) < messages {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the actors did not take their messages within 60 s"
            );
            tokio::task::yield_now().await;
        }
        let cpu = rusage::this_process()? - before;
        for actor in all {
            actor.stop(None);
        }
        Ok(cpu / u32::try_from(messages.max(1)).unwrap_or(u32::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_taken_and_costs_something() {
        let each = cold_actor_message(200, 2_000).unwrap();
        assert!(each > Duration::ZERO);
        assert!(each < Duration::from_millis(1), "{each:?} per message");
    }

    #[test]
    fn sleeping_is_measured_on_the_sleeping_thread() {
        // The thread sleeps; the CPU it is charged is far below the time
        // it took.
        let cpu = waking(20, Duration::from_millis(100)).unwrap();
        assert!(cpu < Duration::from_millis(50), "{cpu:?}");
    }
}
