//! pirate: a peer in a random social network (spigo's first architecture).
//!
//! The FSM names each pirate (Hello), tells it where edda is (Inform), seeds
//! two buddies (NameDrop), gives it gold (GoldCoin) and a chat interval
//! (Chat). While chatting, a pirate wakes at that interval and either tells
//! one buddy about another or gives a buddy some of its gold, so the graph
//! grows denser over time. Goodbye makes it answer the FSM and stop.

use super::lifecycle::{Kind, Lifecycle, Member};
use crate::runtime::metrics::ServiceMetrics;
use crate::runtime::{clock, Timer};
use crate::{Runtime, SpawnError};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use spigo_proto::{Address, Gotocol, GraphEvent, Imposition, Intention};
use std::sync::Arc;
use std::time::Duration;

/// The service all pirates belong to (their metrics are kept under it).
pub const SERVICE: &str = "blackbeard";

/// A pirate never keeps more buddies than this.
pub const MAX_BUDDIES: usize = 10;

pub struct Pirate;

/// A pirate's one timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PirateTimer {
    /// The chat interval elapsed.
    Chat,
}

impl Timer for PirateTimer {
    const ALL: &'static [PirateTimer] = &[PirateTimer::Chat];
}

pub struct Arguments {
    pub rt: Arc<Runtime>,
    /// This pirate's own address, used as the reply-to of what it sends.
    pub me: Address,
    /// Seeds the pirate's own choices (which buddy, how much gold).
    pub seed: u64,
    pub metrics: Option<Arc<ServiceMetrics>>,
}

/// What a pirate's own state takes inline (`spigo bench memory` prints it).
pub const STATE_BYTES: usize = std::mem::size_of::<State>();

pub struct State {
    life: Lifecycle<PirateTimer>,
    buddies: Vec<Address>,
    gold: u64,
    /// Who gave how much, so a pirate remembers its benefactors.
    benefactors: Vec<(Address, u64)>,
    chat: Option<Duration>,
    rng: SmallRng,
    /// The pirates' delivery-delay histogram, with `-c`.
    metrics: Option<Arc<ServiceMetrics>>,
}

impl State {
    fn add_buddy(&mut self, buddy: Address) {
        let me = self.life.me();
        if buddy == me || self.buddies.len() >= MAX_BUDDIES || self.buddies.contains(&buddy) {
            return;
        }
        self.buddies.push(buddy);
        self.life.record(GraphEvent::Edge {
            source: me,
            target: buddy,
        });
    }

    fn receive_gold(&mut self, from: Option<Address>, amount: u64) {
        self.gold = self.gold.saturating_add(amount);
        let Some(from) = from else { return };
        match self.benefactors.iter_mut().find(|(b, _)| *b == from) {
            Some((_, total)) => *total = total.saturating_add(amount),
            None => self.benefactors.push((from, amount)),
        }
    }

    /// One chat tick: half the time introduce two buddies, otherwise give a
    /// random part of the gold to a random buddy. A buddy that already said
    /// Goodbye is simply gone; nothing to do.
    fn chat(&mut self) {
        let n = self.buddies.len();
        if n >= 2 && self.rng.random_bool(0.5) {
            let a = self.rng.random_range(0..n);
            let b = (a + self.rng.random_range(1..n)) % n;
            let (to, about) = (self.buddies[a], self.buddies[b]);
            self.life
                .tell_about(to, Imposition::NameDrop, about, Intention::None);
        } else if n >= 1 && self.gold > 0 {
            let to = self.buddies[self.rng.random_range(0..n)];
            let amount = self.rng.random_range(1..=self.gold);
            self.gold -= amount;
            self.life
                .tell(to, Imposition::GoldCoin, Intention::Gold(amount));
        }
    }

    fn schedule_chat(&self) {
        if let Some(every) = self.chat {
            self.life.wake_after(every, PirateTimer::Chat);
        }
    }
}

impl Kind for Pirate {
    type Timer = PirateTimer;
    type State = State;
    type Arguments = Arguments;

    fn start(&self, args: Arguments) -> State {
        let mix = (args.me.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        State {
            life: Lifecycle::new(args.rt, args.me, None),
            buddies: Vec::new(),
            gold: 0,
            benefactors: Vec::new(),
            chat: None,
            rng: SmallRng::seed_from_u64(args.seed ^ mix),
            metrics: args.metrics,
        }
    }

    fn life(state: &mut State) -> &mut Lifecycle<PirateTimer> {
        &mut state.life
    }

    fn heard(&self, state: &mut State, msg: &Gotocol) {
        if let Some(m) = &state.metrics {
            m.delivery(clock::now().since(msg.sent));
        }
    }

    fn receive(&self, state: &mut State, msg: Gotocol) {
        match msg.imposition {
            Imposition::NameDrop => {
                if let Some(buddy) = msg.reply_to {
                    state.add_buddy(buddy);
                }
            }
            Imposition::GoldCoin => {
                if let Intention::Gold(amount) = msg.intention {
                    state.receive_gold(msg.reply_to, amount);
                }
            }
            Imposition::Chat => {
                if let Intention::Interval(every) = msg.intention {
                    let was_chatting = state.chat.is_some();
                    state.chat = Some(every.max(Duration::from_millis(1)));
                    if !was_chatting {
                        state.schedule_chat();
                    }
                }
            }
            // Pirates take no part in request traffic.
            _ => {}
        }
    }

    fn timer(&self, state: &mut State, PirateTimer::Chat: PirateTimer) {
        state.chat();
        state.schedule_chat();
    }
}

/// Spawns pirates at `count` consecutive addresses from `first`, in chunks
/// on every worker thread at once: most of a spawn is the kernel handing
/// out fresh pages, which the cores can do side by side.
pub async fn spawn_many(
    rt: &Arc<Runtime>,
    first: Address,
    count: u32,
    seed: u64,
) -> Result<(), SpawnError> {
    const CHUNK: u32 = 4096;
    let metrics = rt.service_metrics(SERVICE, spigo_proto::archaius::ANY);
    let mut chunks = tokio::task::JoinSet::new();
    for start in (0..count).step_by(CHUNK as usize) {
        let rt = rt.clone();
        let metrics = metrics.clone();
        chunks.spawn(async move {
            for i in start..(start + CHUNK).min(count) {
                let me = Address::new(first.node, first.index + i);
                let args = Arguments {
                    rt: rt.clone(),
                    me,
                    seed,
                    metrics: metrics.clone(),
                };
                rt.spawn_unlinked_at(me, Member(Pirate), args).await?;
                // Let the gateway and links run between spawns: a node busy
                // spawning must still pass on its messages.
                if i % 256 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            Ok::<(), SpawnError>(())
        });
    }
    while let Some(done) = chunks.join_next().await {
        done??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::probe;

    fn msg(imposition: Imposition, reply_to: Option<Address>, intention: Intention) -> Gotocol {
        Gotocol::new(imposition, reply_to, clock::now(), intention)
    }

    async fn spawn_pirate(rt: &Arc<Runtime>, p: Address, seed: u64) {
        let args = Arguments {
            rt: rt.clone(),
            me: p,
            seed,
            metrics: None,
        };
        rt.spawn_at(p, None, Member(Pirate), args).await.unwrap();
    }

    #[tokio::test]
    async fn namedrops_become_edges_and_goodbye_is_answered() {
        let rt = Runtime::new(0, false).unwrap();
        let (fsm, mut fsm_rx) = probe(&rt).await;
        let (edda, mut edda_rx) = probe(&rt).await;
        let first = rt.reserve(13).unwrap();
        let pirates: Vec<Address> = (0..13).map(|i| Address::new(0, first.index + i)).collect();
        for &p in &pirates {
            spawn_pirate(&rt, p, 1).await;
        }
        let p0 = pirates[0];
        rt.send(
            p0,
            msg(
                Imposition::Hello,
                Some(fsm),
                Intention::Text("pirate0".into()),
            ),
        )
        .unwrap();
        rt.send(p0, msg(Imposition::Inform, Some(edda), Intention::None))
            .unwrap();
        // Itself, a repeat, and more than ten distinct buddies.
        rt.send(p0, msg(Imposition::NameDrop, Some(p0), Intention::None))
            .unwrap();
        for &b in pirates[1..].iter().chain(&pirates[1..2]) {
            rt.send(p0, msg(Imposition::NameDrop, Some(b), Intention::None))
                .unwrap();
        }
        rt.send(p0, msg(Imposition::Goodbye, None, Intention::None))
            .unwrap();

        let bye = fsm_rx.recv().await.unwrap();
        assert_eq!(bye.imposition, Imposition::Goodbye);
        assert_eq!(bye.reply_to, Some(p0));
        let mut targets = Vec::new();
        while let Ok(m) = edda_rx.try_recv() {
            match m.intention {
                Intention::Event(GraphEvent::Edge { source, target }) => {
                    assert_eq!(source, p0);
                    targets.push(target);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(targets, pirates[1..=MAX_BUDDIES].to_vec());
        // The pirate stopped after its Goodbye.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(rt
            .send(p0, msg(Imposition::Hello, None, Intention::None))
            .is_err());
    }

    #[tokio::test]
    async fn chatting_pirates_give_gold_or_introduce_buddies() {
        let rt = Runtime::new(0, false).unwrap();
        let (edda, mut edda_rx) = probe(&rt).await;
        let (observer, mut observer_rx) = probe(&rt).await;
        let p = rt.reserve(1).unwrap();
        spawn_pirate(&rt, p, 9).await;
        rt.send(p, msg(Imposition::Inform, Some(edda), Intention::None))
            .unwrap();
        // Its only buddy is the observer, so every tick must give gold to it.
        rt.send(
            p,
            msg(Imposition::NameDrop, Some(observer), Intention::None),
        )
        .unwrap();
        rt.send(p, msg(Imposition::GoldCoin, None, Intention::Gold(1000)))
            .unwrap();
        rt.send(
            p,
            msg(
                Imposition::Chat,
                None,
                Intention::Interval(Duration::from_millis(5)),
            ),
        )
        .unwrap();
        let mut received = 0;
        while received < 1000 {
            let m = observer_rx.recv().await.unwrap();
            assert_eq!(m.imposition, Imposition::GoldCoin);
            assert_eq!(m.reply_to, Some(p));
            let Intention::Gold(g) = m.intention else {
                panic!()
            };
            assert!(g >= 1);
            received += g;
        }
        assert_eq!(received, 1000, "gold is conserved");
        assert!(matches!(
            edda_rx.recv().await.unwrap().intention,
            Intention::Event(GraphEvent::Edge { .. })
        ));
    }
}
