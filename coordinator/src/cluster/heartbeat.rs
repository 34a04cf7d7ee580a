//! Heartbeats: every node is pinged each second, and one silent for longer
//! than `--heartbeat-timeout` (no pong and no other frame) is lost.

use super::state::Msg;
use ractor::ActorRef;
use spigo_node::Runtime;
use spigo_proto::cluster::Frame;
use std::sync::Arc;
use std::time::Duration;

/// How often the coordinator pings each node.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Pings every node; one silent for too long (no pong and no other frame)
/// is lost.
/// Ends when the cluster's state actor has stopped.
pub(super) async fn heartbeat(rt: Arc<Runtime>, state: ActorRef<Msg>, timeout: Duration) {
    let mut n = 0u64;
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        n += 1;
        // The nodes not lost, and when each was last heard from.
        let Ok(seen) = ractor::call!(state, Msg::LastSeen) else {
            return;
        };
        for (node, last) in seen {
            // A pong, or any other frame: a node working through a
            // backlog answers pings late but keeps talking.
            let silent = rt
                .silent_for(node)
                .map_or(last.elapsed(), |s| s.min(last.elapsed()));
            if silent > timeout {
                // Its link is dropped as it is fenced (`losses.rs`).
                let why = "it stopped answering heartbeats";
                let _ = state.cast(Msg::NodeLost { node, why });
            } else {
                let _ = rt.send_frame(node, Frame::Ping(n));
            }
        }
    }
}
