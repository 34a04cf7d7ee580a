//! The controller's mailbox: the address the FSM and asgard give as
//! reply-to, where instances say Hello when they have registered, Inform
//! when they have found their dependencies, and Goodbye when they leave. It
//! counts each per node, and wakes whoever waits for counts; a lost node's
//! counts are taken as reached, so nobody waits for the dead.

use crate::cluster::NodeLost;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use spigo_node::runtime::{Inbox, NoTimer};
use spigo_node::Delivery;
use spigo_proto::{Gotocol, Imposition, NodeId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio::sync::oneshot;

pub(crate) struct Controller;

/// Counts wanted per node.
pub(crate) type Targets = BTreeMap<NodeId, usize>;

pub(crate) enum Msg {
    Delivery(Delivery),
    /// Answer once every node has sent `targets[node]` of this imposition.
    WaitFor(Imposition, Targets, oneshot::Sender<()>),
    /// How many are still missing for these targets.
    Missing(Imposition, Targets, RpcReplyPort<usize>),
    NodeLost(NodeId),
}

impl From<Delivery> for Msg {
    fn from(d: Delivery) -> Msg {
        Msg::Delivery(d)
    }
}

impl Inbox for Msg {
    type Timer = NoTimer;
}

/// The cluster tells of lost nodes through a `DerivedActorRef<NodeLost>`
/// (it knows nothing of this actor's other messages).
impl From<NodeLost> for Msg {
    fn from(lost: NodeLost) -> Msg {
        Msg::NodeLost(lost.0)
    }
}

impl TryFrom<Msg> for NodeLost {
    type Error = Msg;

    fn try_from(msg: Msg) -> Result<NodeLost, Msg> {
        match msg {
            Msg::NodeLost(node) => Ok(NodeLost(node)),
            other => Err(other),
        }
    }
}

#[derive(Default)]
pub(crate) struct State {
    counts: HashMap<(Imposition, NodeId), usize>,
    lost: BTreeSet<NodeId>,
    waiting: Vec<(Imposition, Targets, oneshot::Sender<()>)>,
}

impl State {
    fn missing(&self, imposition: Imposition, targets: &Targets) -> usize {
        targets
            .iter()
            .filter(|(node, _)| !self.lost.contains(node))
            .map(|(&node, &want)| {
                want.saturating_sub(self.counts.get(&(imposition, node)).copied().unwrap_or(0))
            })
            .sum()
    }

    /// Answers every waiter whose targets are reached (their order does
    /// not matter: each has its own channel).
    fn wake(&mut self) {
        let mut i = 0;
        while i < self.waiting.len() {
            let (imposition, targets, _) = &self.waiting[i];
            if self.missing(*imposition, targets) == 0 {
                let (_, _, tx) = self.waiting.swap_remove(i);
                let _ = tx.send(());
            } else {
                i += 1;
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
            Msg::Delivery(Delivery::Message(Gotocol {
                imposition,
                reply_to,
                ..
            })) => {
                let node = reply_to.map_or(0, |a| a.node);
                *state.counts.entry((imposition, node)).or_default() += 1;
            }
            Msg::Delivery(Delivery::Timer(_)) => {}
            Msg::WaitFor(imposition, targets, tx) => state.waiting.push((imposition, targets, tx)),
            Msg::Missing(imposition, targets, reply) => {
                let _ = reply.send(state.missing(imposition, &targets));
            }
            Msg::NodeLost(node) => {
                state.lost.insert(node);
            }
        }
        state.wake();
        Ok(())
    }
}

/// Waits until every node has sent its target count of `imposition`,
/// logging progress every few seconds as `<what>: waiting for N more <imposition>s`.
pub(crate) async fn wait_for(
    controller: &ActorRef<Msg>,
    imposition: Imposition,
    targets: Targets,
    what: &str,
) -> anyhow::Result<()> {
    let (tx, mut rx) = oneshot::channel();
    controller.send_message(Msg::WaitFor(imposition, targets.clone(), tx))?;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    tick.tick().await;
    loop {
        tokio::select! {
            r = &mut rx => return r.map_err(|_| anyhow::anyhow!("the controller stopped")),
            _ = tick.tick() => {
                let missing = ractor::call!(controller, Msg::Missing, imposition, targets.clone())?;
                tracing::info!("{what}: waiting for {missing} more {imposition}s");
            }
        }
    }
}

/// As [`wait_for`], but gives up after `limit` (with a warning naming how
/// many are missing): a barrier must not hang a run because some answers
/// died with a lost node.
pub(crate) async fn wait_for_within(
    controller: &ActorRef<Msg>,
    imposition: Imposition,
    targets: Targets,
    what: &str,
    limit: std::time::Duration,
) -> anyhow::Result<()> {
    let wait = wait_for(controller, imposition, targets.clone(), what);
    match tokio::time::timeout(limit, wait).await {
        Ok(result) => result,
        Err(_) => {
            let missing = ractor::call!(controller, Msg::Missing, imposition, targets)?;
            tracing::warn!("{what}: {missing} {imposition}s still missing after {limit:?}; going on without them");
            Ok(())
        }
    }
}
