//! gateway: the one network-visible actor of a node.
//!
//! Everything that arrives over a link comes here, one decoded frame at a
//! time: batches of messages are handed to local actors by address (and
//! counted as refused when they name another node or no actor that was
//! ever here; frames that do not decode are counted too), and the
//! rest (requests, replies, graph events, heartbeat answers, lost links)
//! goes to the process's control loop. Frames from a node the coordinator
//! fenced (declared lost) are refused and counted, whatever they carry.
//! Nanoservice actors never face the
//! network themselves. The gateway joins the ractor process group
//! [`GROUP`], where the rest of the process finds it.

use crate::Runtime;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use spigo_proto::cluster::Frame;
use spigo_proto::NodeId;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The ractor process group gateways join.
pub const GROUP: &str = "spigo.gateway";

pub struct Gateway;

pub enum Msg {
    Frame {
        from: NodeId,
        frame: Frame,
    },
    /// A frame from this node was refused (undecodable, oversize, over a
    /// batch limit).
    BadFrame(NodeId, String),
    /// Link `link` to `node` closed (its reader ended).
    Lost {
        node: NodeId,
        link: u64,
    },
}

/// What the gateway passes on to the control loop.
#[derive(Debug)]
pub enum Control {
    Frame { from: NodeId, frame: Frame },
    Lost(NodeId),
}

pub struct Arguments {
    pub rt: Arc<Runtime>,
    pub control: mpsc::UnboundedSender<Control>,
}

pub struct State {
    rt: Arc<Runtime>,
    control: mpsc::UnboundedSender<Control>,
}

impl Actor for Gateway {
    type Msg = Msg;
    type State = State;
    type Arguments = Arguments;

    async fn pre_start(
        &self,
        myself: ActorRef<Msg>,
        args: Arguments,
    ) -> Result<State, ActorProcessingErr> {
        ractor::pg::join(GROUP.to_string(), vec![myself.get_cell()]);
        Ok(State {
            rt: args.rt,
            control: args.control,
        })
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            // The coordinator declared it lost: what it still sends is
            // refused, counted, and reaches nothing.
            Msg::Frame { from, .. } | Msg::BadFrame(from, _) if state.rt.is_fenced(from) => {
                state.rt.count_fenced();
            }
            Msg::Frame {
                frame: Frame::Messages(batch),
                ..
            } => {
                state.rt.count_in(batch.len());
                for env in batch {
                    if env.to.node != state.rt.node() || !state.rt.exists(env.to) {
                        state.rt.count_misaddressed();
                        continue;
                    }
                    // Unknown or stopped receivers are counted by the
                    // runtime, and a request's asker told.
                    state.rt.deliver_from_link(env.to, env.msg);
                }
            }
            Msg::Frame { from, frame } => {
                let _ = state.control.send(Control::Frame { from, frame });
            }
            Msg::BadFrame(from, why) => {
                state.rt.count_bad_frame();
                tracing::warn!("refused a frame from node {from}: {why}");
            }
            // A link already replaced by a re-dialled one is no news.
            Msg::Lost { node, link } => {
                if state.rt.remove_link_if(node, link) {
                    let _ = state.control.send(Control::Lost(node));
                }
            }
        }
        Ok(())
    }
}

/// Starts a gateway for `rt`; its control frames go to `control`.
pub async fn start(
    rt: &Arc<Runtime>,
    control: mpsc::UnboundedSender<Control>,
) -> Result<ActorRef<Msg>, ractor::SpawnErr> {
    let (gw, _) = Actor::spawn(
        None,
        Gateway,
        Arguments {
            rt: rt.clone(),
            control,
        },
    )
    .await?;
    Ok(gw)
}
