//! The control loop: what the gateway passes on from the nodes (replies to
//! requests, graph events, spans, pongs, links between nodes that stayed
//! down) and the links it saw close.

use super::state::Msg;
use crate::output::edda;
use ractor::ActorRef;
use spigo_node::net::gateway::Control;
use spigo_proto::cluster::Frame;

/// Handles what the gateway passes on: replies, graph events, heartbeats,
/// lost links.
pub(super) async fn control_loop(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Control>,
    state: ActorRef<Msg>,
    edda: Option<ActorRef<edda::Msg>>,
) {
    while let Some(c) = rx.recv().await {
        match c {
            Control::Frame {
                frame: Frame::Reply { id, body },
                ..
            } => {
                let _ = state.cast(Msg::Replied { id, body });
            }
            Control::Frame {
                frame: Frame::Events(batch),
                ..
            } => {
                if let Some(edda) = &edda {
                    let _ = edda.send_message(edda::Msg::Batch(batch));
                }
            }
            Control::Frame {
                frame: Frame::Spans(batch),
                ..
            } => {
                let _ = state.cast(Msg::Spans(batch));
            }
            Control::Frame {
                from,
                frame: Frame::Pong(_),
            } => {
                let _ = state.cast(Msg::Seen(from));
            }
            Control::Frame {
                frame: Frame::LinkDown(down),
                ..
            } => {
                let _ = state.cast(Msg::LinkDown(down));
            }
            Control::Frame { from, .. } => {
                tracing::debug!("coordinator: ignoring a frame from node {from}")
            }
            Control::Lost(node) => {
                let why = "its link closed";
                let _ = state.cast(Msg::NodeLost { node, why });
            }
        }
    }
}
