//! The controller's mailbox: the address the FSM and asgard give as
//! reply-to, where instances say Hello when they have registered, Inform
//! when they have found their dependencies, and Goodbye when they leave. It
//! counts each and wakes whoever waits for a count.

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use spigo_node::Delivery;
use spigo_proto::{Gotocol, Imposition};
use tokio::sync::oneshot;

pub struct Controller;

pub enum Msg {
    Delivery(Delivery),
    /// Answer once `count` messages of this imposition have arrived.
    WaitFor(Imposition, usize, oneshot::Sender<()>),
    Count(Imposition, RpcReplyPort<usize>),
}

impl From<Delivery> for Msg {
    fn from(d: Delivery) -> Msg {
        Msg::Delivery(d)
    }
}

#[derive(Default)]
pub struct State {
    hellos: usize,
    informs: usize,
    goodbyes: usize,
    waiting: Vec<(Imposition, usize, oneshot::Sender<()>)>,
}

impl State {
    fn count(&self, imposition: Imposition) -> usize {
        match imposition {
            Imposition::Hello => self.hellos,
            Imposition::Inform => self.informs,
            Imposition::Goodbye => self.goodbyes,
            _ => 0,
        }
    }

    fn wake(&mut self) {
        let waiting = std::mem::take(&mut self.waiting);
        for (imposition, target, tx) in waiting {
            if self.count(imposition) >= target {
                let _ = tx.send(());
            } else {
                self.waiting.push((imposition, target, tx));
            }
        }
    }
}

impl Actor for Controller {
    type Msg = Msg;
    type State = State;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<Msg>, _: ()) -> Result<State, ActorProcessingErr> {
        Ok(State::default())
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Delivery(Delivery::Message(Gotocol { imposition, .. })) => match imposition {
                Imposition::Hello => state.hellos += 1,
                Imposition::Inform => state.informs += 1,
                Imposition::Goodbye => state.goodbyes += 1,
                _ => {}
            },
            Msg::Delivery(Delivery::Timer(_)) => {}
            Msg::WaitFor(imposition, target, tx) => state.waiting.push((imposition, target, tx)),
            Msg::Count(imposition, reply) => {
                let _ = reply.send(state.count(imposition));
            }
        }
        state.wake();
        Ok(())
    }
}

/// Waits until `target` messages of `imposition` have arrived, logging
/// progress every few seconds as `<what>: waiting for N more <imposition>s`.
pub async fn wait_for(
    controller: &ActorRef<Msg>,
    imposition: Imposition,
    target: usize,
    what: &str,
) -> anyhow::Result<()> {
    let (tx, mut rx) = oneshot::channel();
    controller.send_message(Msg::WaitFor(imposition, target, tx))?;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    tick.tick().await;
    loop {
        tokio::select! {
            r = &mut rx => return r.map_err(|_| anyhow::anyhow!("the controller stopped")),
            _ = tick.tick() => {
                let have = ractor::call!(controller, Msg::Count, imposition)?;
                tracing::info!("{what}: waiting for {} more {imposition}s", target.saturating_sub(have));
            }
        }
    }
}
