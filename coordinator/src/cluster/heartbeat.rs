//! Heartbeats: every node is pinged each second, and one silent for longer
//! than `--heartbeat-timeout` (no pong and no other frame) is lost.

use super::losses::node_lost;
use super::state::Shared;
use spigo_node::Runtime;
use spigo_proto::cluster::Frame;
use spigo_proto::NodeId;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the coordinator pings each node.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Pings every node; one silent for too long (no pong and no other frame)
/// is lost.
pub(super) async fn heartbeat(rt: Arc<Runtime>, shared: Arc<Shared>) {
    let mut n = 0u64;
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        n += 1;
        let seen: Vec<(NodeId, Instant)> = shared
            .last_seen
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        for (node, last) in seen {
            if shared.lost.lock().unwrap().contains(&node) {
                continue;
            }
            // A pong, or any other frame: a node working through a
            // backlog answers pings late but keeps talking.
            let silent = rt
                .silent_for(node)
                .map_or(last.elapsed(), |s| s.min(last.elapsed()));
            if silent > shared.heartbeat_timeout {
                rt.remove_link(node);
                node_lost(&shared, node, "it stopped answering heartbeats");
            } else {
                let _ = rt.send_frame(node, Frame::Ping(n));
            }
        }
    }
}
