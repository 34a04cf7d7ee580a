//! The control loop: what the gateway passes on from the nodes (replies to
//! requests, graph events, spans, pongs, links between nodes that stayed
//! down) and the links it saw close.

use super::links::link_down;
use super::losses::node_lost;
use super::state::Shared;
use crate::output::edda;
use spigo_node::net::gateway::Control;
use spigo_node::Runtime;
use spigo_proto::cluster::Frame;
use std::sync::Arc;
use std::time::Instant;

/// Handles what the gateway passes on: replies, graph events, heartbeats,
/// lost links.
pub(super) async fn control_loop(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Control>,
    shared: Arc<Shared>,
    rt: Arc<Runtime>,
) {
    while let Some(c) = rx.recv().await {
        match c {
            Control::Frame {
                frame: Frame::Reply { id, body },
                ..
            } => {
                if let Some((_, tx)) = shared.waiting.lock().unwrap().remove(&id) {
                    let _ = tx.send(body);
                }
            }
            Control::Frame {
                frame: Frame::Events(batch),
                ..
            } => {
                if let Some(edda) = &shared.edda {
                    let _ = edda.send_message(edda::Msg::Batch(batch));
                }
            }
            Control::Frame {
                frame: Frame::Spans(batch),
                ..
            } => shared.spans.lock().unwrap().extend(batch),
            Control::Frame {
                from,
                frame: Frame::Pong(_),
            } => {
                shared
                    .last_seen
                    .lock()
                    .unwrap()
                    .insert(from, Instant::now());
            }
            Control::Frame {
                frame: Frame::LinkDown(down),
                ..
            } => link_down(&shared, &rt, down),
            Control::Frame { from, .. } => {
                tracing::debug!("coordinator: ignoring a frame from node {from}")
            }
            Control::Lost(node) => node_lost(&shared, node, "its link closed"),
        }
    }
}
