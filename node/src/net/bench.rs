//! bench: the actors of `spigo bench link`, which measures how many
//! messages a link between two nodes carries, one way and as request and
//! response. They are ordinary actors behind the ordinary address table, so
//! the figures include everything a simulation's messages go through:
//! routing, batching, encoding, the socket, decoding, the gateway, the
//! mailbox. They live with the network because measuring it is all they
//! are for: no simulation spawns them.

use crate::packages::lifecycle::{Kind, Lifecycle, Member};
use crate::runtime::NoTimer;
use crate::{Runtime, SpawnError};
use spigo_proto::cluster::{BenchKind, BenchSpec};
use spigo_proto::{Address, Gotocol, Imposition, Intention, TraceContext};
use std::sync::Arc;

pub struct Bench;

pub struct Arguments {
    pub rt: Arc<Runtime>,
    pub spec: BenchSpec,
}

pub struct State {
    life: Lifecycle<NoTimer>,
    kind: BenchKind,
    received: u64,
    sent: u64,
}

impl State {
    /// Sends an empty message; a benchmark counts what arrives, so a send
    /// that fails shows in its figures and needs no handling here.
    fn send(&self, to: Address, imposition: Imposition, ctx: TraceContext) {
        let _ = self.life.send(to, imposition, ctx, Intention::None);
    }

    fn ping(&mut self, target: Address) {
        self.sent += 1;
        let ctx = TraceContext {
            trace: 0,
            parent: 0,
            span: self.sent,
        };
        self.send(target, Imposition::GetRequest, ctx);
    }
}

impl Kind for Bench {
    type Timer = NoTimer;
    type State = State;
    type Arguments = Arguments;

    fn start(&self, args: Arguments) -> State {
        State {
            life: Lifecycle::new(args.rt, args.spec.at, None),
            kind: args.spec.kind,
            received: 0,
            sent: 0,
        }
    }

    fn life(state: &mut State) -> &mut Lifecycle<NoTimer> {
        &mut state.life
    }

    fn timer(&self, _: &mut State, timer: NoTimer) {
        match timer {}
    }

    fn receive(&self, state: &mut State, msg: Gotocol) {
        match (state.kind, msg.imposition) {
            (
                BenchKind::Sink {
                    expected,
                    report_to,
                },
                _,
            ) => {
                state.received += 1;
                if state.received == expected {
                    state.send(report_to, Imposition::Goodbye, TraceContext::NIL);
                }
            }
            (BenchKind::Blaster { target, count }, Imposition::Chat) => {
                for _ in 0..count {
                    state.send(target, Imposition::GoldCoin, TraceContext::NIL);
                }
            }
            (BenchKind::Echo, Imposition::GetRequest) => {
                if let Some(to) = msg.reply_to {
                    state.send(to, Imposition::GetResponse, msg.ctx);
                }
            }
            (
                BenchKind::Pinger {
                    target,
                    count,
                    window,
                    ..
                },
                Imposition::Chat,
            ) => {
                for _ in 0..(window as u64).min(count) {
                    state.ping(target);
                }
            }
            (
                BenchKind::Pinger {
                    target,
                    count,
                    report_to,
                    ..
                },
                Imposition::GetResponse,
            ) => {
                state.received += 1;
                if state.sent < count {
                    state.ping(target);
                }
                if state.received == count {
                    state.send(report_to, Imposition::Goodbye, TraceContext::NIL);
                }
            }
            _ => {}
        }
    }
}

pub async fn spawn(rt: &Arc<Runtime>, spec: BenchSpec) -> Result<(), SpawnError> {
    let at = spec.at;
    let args = Arguments {
        rt: rt.clone(),
        spec,
    };
    rt.spawn_at(at, None, Member(Bench), args).await?;
    Ok(())
}
