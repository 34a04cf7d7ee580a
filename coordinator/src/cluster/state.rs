//! The cluster's state, one actor: who waits for which answer, which nodes
//! are lost, when each was last heard, what was placed where, who hears of
//! losses, and the spans the nodes sent. Everything else of the cluster
//! (the requests of `session.rs`, the control loop, the heartbeat) talks
//! to it by message, so no two of them ever hold the same state at once,
//! and a node's loss is handled in one place, once.
//!
//! ```text
//! Supervisor (node 0's, spigo_node::packages::supervisor)
//!  ├── ClusterState (this file) ◄─ call/cast ─ Sessions::request   (session.rs)
//!  │        ▲                  ◄─ cast ────── control loop task   (control.rs)
//!  │        │                  ◄─ call/cast ─ heartbeat task      (heartbeat.rs)
//!  │        └── tells: the watchers of losses (the FSM's and asgard's controllers)
//!  └── gateway (node 0's; every link's reader hands it frames; its Control
//!      goes to the control loop)
//! ```
//!
//! ractor_cluster draws a NodeServer with one NodeSession per peer; here
//! the coordinator's "sessions" with its nodes are the requests in flight
//! to each, kept in this actor, and a link's reader and writer tasks
//! (`spigo_node::net::link`) end with the link, which the gateway reports
//! as lost. The actor is linked under node 0's supervisor: were it to fail,
//! the supervisor logs it and every request still waiting fails as if its
//! node were lost (its reply channel is dropped).

use super::links::{self, LostLink, LostLinks, Verdict};
use super::losses::{Losses, NodeLost, Placed};
use crate::output::edda;
use ractor::{Actor, ActorProcessingErr, ActorRef, DerivedActorRef, RpcReplyPort};
use spigo_node::Runtime;
use spigo_proto::cluster::{Frame, LinkDown, Reply, Request, Span};
use spigo_proto::NodeId;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub(super) struct ClusterState;

pub(crate) enum Msg {
    /// A request to `node` is about to be sent; its reply goes to
    /// `reply`. Answers with the request's id, or none if the node is lost.
    Await {
        node: NodeId,
        reply: oneshot::Sender<Reply>,
        id: RpcReplyPort<Option<u64>>,
    },
    /// The request `id` could not be sent after all.
    Forget(u64),
    /// A node answered request `id`.
    Replied { id: u64, body: Reply },
    /// A node was heard from (a pong).
    Seen(NodeId),
    /// When each node not lost was last heard from (for the heartbeat).
    LastSeen(RpcReplyPort<Vec<(NodeId, Instant)>>),
    /// A node's link closed or it went silent: it is lost, once.
    NodeLost { node: NodeId, why: &'static str },
    /// Actors were placed on a node.
    Placed(NodeId, Vec<Placed>),
    /// This watcher hears of every node lost, those lost already first.
    Watch(DerivedActorRef<NodeLost>),
    /// The nodes lost so far.
    Lost(RpcReplyPort<BTreeSet<NodeId>>),
    /// Spans a node sent at Flush.
    Spans(Vec<Span>),
    /// Every span so far, taken.
    TakeSpans(RpcReplyPort<Vec<Span>>),
    /// The nodes are being told to stop: links closing now are expected.
    Stopping,
    /// A node reports its link to a peer down a whole heartbeat timeout.
    LinkDown(LinkDown),
    /// The links between nodes given up while both nodes lived.
    LostLinks(RpcReplyPort<Vec<LostLink>>),
}

pub(super) struct Arguments {
    pub rt: Arc<Runtime>,
    pub edda: Option<ActorRef<edda::Msg>>,
    /// Each node's name and address, for the log line of its loss.
    pub node_names: HashMap<NodeId, (String, String)>,
    /// A node silent this long is lost.
    pub heartbeat_timeout: Duration,
}

pub(super) struct State {
    /// Where fences go out.
    pub rt: Arc<Runtime>,
    /// The id of the next request to a node.
    next_request: u64,
    /// Requests waiting for a reply, by id, with the node asked.
    pub waiting: HashMap<u64, (NodeId, oneshot::Sender<Reply>)>,
    pub last_seen: HashMap<NodeId, Instant>,
    /// Lost nodes, what was placed where, who hears of losses.
    pub losses: Losses,
    pub spans: Vec<Span>,
    pub heartbeat_timeout: Duration,
    /// Links between nodes given up while both nodes lived.
    lost_links: LostLinks,
}

impl State {
    /// A fresh request id: requests are matched with their replies by it.
    fn next_id(&mut self) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        id
    }

    /// `node` is lost (once): nobody waits for it any more, and it is
    /// fenced.
    fn node_lost(&mut self, node: NodeId, why: &str) {
        if self.losses.node_lost(node, why) {
            // Whoever waited for an answer from it will not get one.
            self.waiting.retain(|_, (n, _)| *n != node);
            self.fence(node);
        }
    }

    /// What a node's report that its link to a peer stayed down means
    /// (see `links.rs`): the peer lost, or only the link.
    fn link_down(&mut self, down: LinkDown) {
        let answers = self
            .rt
            .silent_for(down.to)
            .is_some_and(|s| s < self.heartbeat_timeout);
        let names = &self.losses.node_names;
        let name = |n: NodeId| {
            names
                .get(&n)
                .map_or_else(|| format!("node {n}"), |(n, _)| n.clone())
        };
        match links::judge(&down, &self.losses.lost, answers, &name) {
            Verdict::Moot => {}
            Verdict::PeerLost(why) => {
                self.rt.remove_link(down.to);
                self.node_lost(down.to, &why);
            }
            Verdict::LinkLost => self.lost_links.record(&down, &name),
        }
    }

    /// Fences lost `node` (see `losses.rs`): tells it (if it can still
    /// hear), this process, and every node not lost. Their answers are not
    /// awaited: a survivor lost meanwhile is fenced in its turn.
    fn fence(&mut self, node: NodeId) {
        let tell = |state: &mut State, to: NodeId| {
            let id = state.next_id();
            let body = Request::Fence(node);
            let _ = state.rt.send_frame(to, Frame::Request { id, body });
        };
        // Queued ahead of the link's close, which the fence below makes.
        tell(self, node);
        self.rt.fence(node);
        let survivors: Vec<NodeId> = self
            .losses
            .node_names
            .keys()
            .copied()
            .filter(|n| !self.losses.lost.contains(n))
            .collect();
        for s in survivors {
            tell(self, s);
        }
    }
}

impl Actor for ClusterState {
    type Msg = Msg;
    type State = State;
    type Arguments = Arguments;

    async fn pre_start(
        &self,
        _: ActorRef<Msg>,
        args: Arguments,
    ) -> Result<State, ActorProcessingErr> {
        let now = Instant::now();
        Ok(State {
            rt: args.rt,
            next_request: 1,
            waiting: HashMap::new(),
            // Every node counts as heard from when the cluster forms.
            last_seen: args.node_names.keys().map(|&n| (n, now)).collect(),
            losses: Losses::new(args.edda, args.node_names),
            spans: Vec::new(),
            heartbeat_timeout: args.heartbeat_timeout,
            lost_links: LostLinks::default(),
        })
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Await { node, reply, id } => {
                let admitted = (!state.losses.lost.contains(&node)).then(|| {
                    let id = state.next_id();
                    state.waiting.insert(id, (node, reply));
                    id
                });
                let _ = id.send(admitted);
            }
            Msg::Forget(id) => {
                state.waiting.remove(&id);
            }
            Msg::Replied { id, body } => {
                if let Some((_, tx)) = state.waiting.remove(&id) {
                    let _ = tx.send(body);
                }
            }
            Msg::Seen(node) => {
                state.last_seen.insert(node, Instant::now());
            }
            Msg::LastSeen(reply) => {
                let seen = state
                    .last_seen
                    .iter()
                    .filter(|(n, _)| !state.losses.lost.contains(n))
                    .map(|(&n, &t)| (n, t))
                    .collect();
                let _ = reply.send(seen);
            }
            Msg::NodeLost { node, why } => state.node_lost(node, why),
            Msg::LinkDown(down) => state.link_down(down),
            Msg::LostLinks(reply) => {
                let _ = reply.send(state.lost_links.list());
            }
            Msg::Placed(node, what) => {
                let placed = state.losses.placed.entry(node).or_default();
                placed.extend(what);
            }
            Msg::Watch(watcher) => state.losses.watch(watcher),
            Msg::Lost(reply) => {
                let _ = reply.send(state.losses.lost.clone());
            }
            Msg::Spans(batch) => state.spans.extend(batch),
            Msg::TakeSpans(reply) => {
                let _ = reply.send(std::mem::take(&mut state.spans));
            }
            Msg::Stopping => state.losses.stopping = true,
        }
        Ok(())
    }
}

/// Starts the cluster's state actor, linked under this process's
/// supervisor (if it has one).
pub(super) async fn start(args: Arguments) -> Result<ActorRef<Msg>, ractor::SpawnErr> {
    let (state, _) = match args.rt.supervisor() {
        Some(supervisor) => Actor::spawn_linked(None, ClusterState, args, supervisor).await?,
        None => Actor::spawn(None, ClusterState, args).await?,
    };
    Ok(state)
}
