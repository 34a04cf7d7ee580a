//! bench: the actors of `spigo bench link`, which measures how many
//! messages a link between two nodes carries, one way and as request and
//! response. They are ordinary actors behind the ordinary address table, so
//! the figures include everything a simulation's messages go through:
//! routing, batching, encoding, the socket, decoding, the gateway, the
//! mailbox. They live with the network because measuring it is all they
//! are for: no simulation spawns them.

use crate::runtime::{clock, Delivery};
use crate::{Runtime, SpawnError};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use spigo_proto::cluster::{BenchKind, BenchSpec};
use spigo_proto::{Address, Gotocol, Imposition, Intention, TraceContext};
use std::sync::Arc;

pub struct Bench;

pub struct Arguments {
    pub rt: Arc<Runtime>,
    pub spec: BenchSpec,
}

pub struct State {
    rt: Arc<Runtime>,
    me: Address,
    kind: BenchKind,
    received: u64,
    sent: u64,
}

impl State {
    fn send(&self, to: Address, imposition: Imposition, ctx: TraceContext) -> bool {
        let msg =
            Gotocol::new(imposition, Some(self.me), clock::now(), Intention::None).with_ctx(ctx);
        self.rt.send(to, msg).is_ok()
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

impl Actor for Bench {
    type Msg = Delivery;
    type State = State;
    type Arguments = Arguments;

    async fn pre_start(
        &self,
        _: ActorRef<Delivery>,
        args: Arguments,
    ) -> Result<State, ActorProcessingErr> {
        Ok(State {
            rt: args.rt,
            me: args.spec.at,
            kind: args.spec.kind,
            received: 0,
            sent: 0,
        })
    }

    async fn handle(
        &self,
        _: ActorRef<Delivery>,
        delivery: Delivery,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        let Delivery::Message(msg) = delivery;
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
        Ok(())
    }
}

pub async fn spawn(rt: &Arc<Runtime>, spec: BenchSpec) -> Result<(), SpawnError> {
    let at = spec.at;
    let args = Arguments {
        rt: rt.clone(),
        spec,
    };
    rt.spawn_at(at, None, Bench, args).await?;
    Ok(())
}
