//! Requests to the nodes and their replies, matched by id, and setting
//! each node's clock to the coordinator's.

use super::losses::NodeLost;
use super::state::Msg;
use anyhow::{bail, Result};
use ractor::ActorRef;
use spigo_node::{clock, Runtime};
use spigo_proto::cluster::{Frame, Reply, Request};
use spigo_proto::NodeId;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The requests of one coordinator: each gets a fresh id, and the control
/// loop hands the reply with that id back.
pub(super) struct Sessions {
    rt: Arc<Runtime>,
    state: ActorRef<Msg>,
}

impl Sessions {
    pub(super) fn new(rt: Arc<Runtime>, state: ActorRef<Msg>) -> Sessions {
        Sessions { rt, state }
    }

    /// Sends a request to a node and waits for its reply.
    pub(super) async fn request(&self, node: NodeId, body: Request) -> Result<Reply, NodeLost> {
        let (reply, rx) = oneshot::channel();
        // A node lost already is not asked; nor is one whose link is gone.
        let id = ractor::call!(self.state, |id| Msg::Await { node, reply, id });
        let Ok(Some(id)) = id else {
            return Err(NodeLost(node));
        };
        if self
            .rt
            .send_frame(node, Frame::Request { id, body })
            .is_err()
        {
            let _ = self.state.cast(Msg::Forget(id));
            return Err(NodeLost(node));
        }
        // Dropped unanswered when the node is lost.
        rx.await.map_err(|_| NodeLost(node))
    }

    /// Asks a node to do something; a node lost meanwhile is not an error
    /// (its loss is recorded and the run goes on without it).
    pub(super) async fn expect_done(&self, node: NodeId, body: Request, what: &str) -> Result<()> {
        match self.request(node, body).await {
            Ok(Reply::Done) => Ok(()),
            Ok(other) => bail!("{what}: {}", describe(&other)),
            Err(lost) => {
                tracing::warn!("{what}: {lost}; going on without it");
                Ok(())
            }
        }
    }

    /// Estimates how far a node's clock is from ours (the sample with the
    /// shortest round trip, error at most half of it) and tells the node to
    /// correct for it, so send times mean the same everywhere.
    pub(super) async fn sync_clock(&self, node: NodeId, name: &str) -> Result<()> {
        let mut best: Option<(Duration, i64)> = None;
        for _ in 0..8 {
            let t0 = clock::now();
            let Reply::Clock(theirs) = self.request(node, Request::Clock).await? else {
                bail!("{} did not tell its time", name);
            };
            let t1 = clock::now();
            let rtt = t1.since(t0);
            let midpoint = t0.0 as i64 + (rtt.as_nanos() / 2) as i64;
            let offset = theirs.0 as i64 - midpoint;
            if best.is_none_or(|(r, _)| rtt < r) {
                best = Some((rtt, offset));
            }
        }
        let (rtt, offset) = best.expect("eight samples");
        tracing::info!(
            "{}: clock offset {:+.3}ms ± {:.3}ms",
            name,
            offset as f64 / 1e6,
            rtt.as_secs_f64() * 1e3 / 2.0
        );
        match self.request(node, Request::SetClock(offset)).await? {
            Reply::Done => Ok(()),
            other => bail!("{} could not set its clock: {}", name, describe(&other)),
        }
    }
}

/// What a node said instead of doing what it was asked.
pub(super) fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Failed(why) => why.to_string(),
        other => format!("unexpected reply {other:?}"),
    }
}
