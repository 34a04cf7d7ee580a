//! The coordinator's view of the processes a simulation runs in.
//!
//! Without `--nodes` or `--join` the cluster is this process alone (node 0)
//! and every spawn is local. Otherwise the coordinator starts node
//! processes itself (`--nodes N`, on free loopback ports, with a random
//! cookie) or dials running ones (`--join`), tells each its node id and its
//! peers, and from then on places actors on nodes by asking them to spawn
//! at addresses it chooses. It heartbeats every node; a node whose link
//! closes or that stops answering is lost: its instances are recorded as
//! done with exit `node-lost`, whoever waits on them stops waiting, and the
//! run goes on without it.
//!
//! Every part of the cluster has its own file, from the flags to the
//! losses:
//!
//! - `options.rs`: what the flags ask for (`--nodes`, `--join`, TLS).
//! - `start.rs`: starting node processes on this machine (`--nodes`).
//! - `session.rs`: requests and replies, and each node's clock.
//! - `control.rs`: what the nodes send unasked (graph events, spans, pongs).
//! - `heartbeat.rs`: pinging the nodes, and noticing one gone silent.
//! - `losses.rs`: what a lost node takes with it.
//! - `links.rs`: a link between two nodes that stayed down (the node or
//!   only the link is lost).
//! - `state.rs`: the cluster's state, one actor the others talk to by
//!   message (its supervision tree is drawn there).

mod control;
mod heartbeat;
mod links;
mod losses;
mod options;
mod session;
mod start;
mod state;

pub(crate) use links::LostLink;
pub(crate) use losses::NodeLost;
pub(crate) use options::{Nodes, Options, TlsFiles, TlsPaths};

use crate::error::{self, Error};
use crate::model::placement::Room;
use crate::output::edda;
use crate::output::http::Snapshot;
use crate::output::metrics;
use anyhow::{anyhow, bail, Context, Result};
use futures::future::join_all;
use losses::Placed;
use ractor::{ActorRef, DerivedActorRef};
use session::{describe, Sessions};
use spigo_node::net::gateway;
use spigo_node::net::handshake::{self, Cookie};
use spigo_node::net::link::LinkError;
use spigo_node::runtime::budget::Budget;
use spigo_node::Runtime;
use spigo_proto::capacity::{show, INSTANCE_BYTES, PIRATE_BYTES};
use spigo_proto::cluster::Span;
use spigo_proto::cluster::{
    JoinOrder, NodeReport, Reply, Request, Role, EDDA_SHARD_INDEX, FIRST_FREE_INDEX,
};
use spigo_proto::fit::Bounded;
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{Address, NodeId};
use state::Msg;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) struct Node {
    pub id: NodeId,
    pub name: String,
    pub addr: String,
    next_index: AtomicU32,
    /// Bytes the node said it can take when it joined.
    capacity: AtomicU64,
}

pub(crate) struct Cluster {
    pub rt: Arc<Runtime>,
    pub nodes: Vec<Node>,
    /// The cluster's state (`state.rs`).
    state: ActorRef<Msg>,
    sessions: Sessions,
    children: Mutex<Vec<tokio::process::Child>>,
    /// The coordinator's own edda shard, when a graph is being written.
    local_shard: Option<Address>,
    /// This process's memory budget, for what it hosts itself.
    budget: Budget,
}

impl Cluster {
    /// A cluster of this process and the nodes named in `args`, whose
    /// links are not up yet.
    async fn formed(
        rt: Arc<Runtime>,
        local_shard: Option<Address>,
        args: state::Arguments,
    ) -> Result<Cluster> {
        let state = state::start(args)
            .await
            .context("cannot start the cluster's state")?;
        Ok(Cluster {
            sessions: Sessions::new(rt.clone(), state.clone()),
            rt,
            nodes: Vec::new(),
            state,
            children: Mutex::default(),
            local_shard,
            budget: Budget::default(),
        })
    }

    /// Starts or dials the nodes and joins them into one simulation.
    pub(crate) async fn connect(
        rt: Arc<Runtime>,
        local_shard: Option<Address>,
        edda: Option<ActorRef<edda::Msg>>,
        opts: Options,
    ) -> error::Result<Cluster> {
        let Options {
            nodes,
            tls,
            seed,
            collect,
            heartbeat_timeout,
            connect_timeout,
            max_memory,
            cpuprofile,
        } = opts;
        let alone = state::Arguments {
            rt: rt.clone(),
            edda: None,
            node_names: HashMap::new(),
            heartbeat_timeout,
        };
        // Node processes started here, killed if the cluster does not form.
        let mut started = Vec::new();
        let (addrs, cookie) = match nodes {
            Nodes::Local => {
                let mut cluster = Cluster::formed(rt, local_shard, alone).await?;
                cluster.budget = Budget::new(max_memory);
                return Ok(cluster);
            }
            Nodes::Start(n) => {
                let cookie = Cookie::new(spigo_node::net::cookies::fresh());
                let (children, addrs) =
                    start::start_nodes(n, &cookie, tls.as_ref(), max_memory, cpuprofile.as_deref())
                        .await?;
                started = children;
                (addrs, cookie)
            }
            Nodes::Join(addrs, cookie) => (addrs, cookie),
        };
        let mut dialled = Vec::new();
        let tls = tls.map(|t| t.config);
        let (control_tx, control_rx) = tokio::sync::mpsc::unbounded_channel();
        let gw = gateway::start(&rt, control_tx)
            .await
            .context("cannot start the coordinator's gateway")?;
        let mut node_names = HashMap::new();
        for (i, addr) in addrs.iter().enumerate() {
            let id = i as NodeId + 1;
            let conn = handshake::dial(
                addr,
                connect_timeout,
                &cookie,
                tls.as_ref(),
                Role::Coordinator,
                "coordinator",
            )
            .await
            .map_err(|e| match e {
                LinkError::Refused(reason) => {
                    Error::usage(format!("node {addr} refused this coordinator: {reason}"))
                }
                other => Error::usage_because(format!("cannot reach node {addr}"), other),
            })?;
            let name = conn.peer_name.clone();
            let (tx, _) = conn.start(id, gw.clone());
            rt.set_link(id, tx);
            node_names.insert(id, (name.clone(), addr.clone()));
            dialled.push(Node {
                id,
                name,
                addr: addr.clone(),
                next_index: AtomicU32::new(FIRST_FREE_INDEX),
                capacity: AtomicU64::new(0),
            });
        }
        let args = state::Arguments {
            rt: rt.clone(),
            edda: edda.clone(),
            node_names,
            heartbeat_timeout,
        };
        let mut cluster = Cluster::formed(rt, local_shard, args).await?;
        cluster.budget = Budget::new(max_memory);
        cluster.nodes = dialled;
        *cluster.children.get_mut().unwrap() = started;
        tokio::spawn(control::control_loop(
            control_rx,
            cluster.state.clone(),
            edda,
        ));
        tokio::spawn(heartbeat::heartbeat(
            cluster.rt.clone(),
            cluster.state.clone(),
            heartbeat_timeout,
        ));
        let peers: Vec<(NodeId, String)> = cluster
            .nodes
            .iter()
            .map(|n| (n.id, n.addr.clone()))
            .collect();
        let joins = cluster.nodes.iter().map(|n| {
            let order = JoinOrder {
                node: n.id,
                msglog: cluster.rt.logs_messages(),
                peers: peers.clone(),
                latency: cluster.rt.latency_model().cloned(),
                seed,
                collect,
                heartbeat_timeout,
            };
            cluster.sessions.request(n.id, Request::Join(order))
        });
        for (reply, node) in join_all(joins).await.into_iter().zip(&cluster.nodes) {
            match reply.map_err(Error::failed)? {
                Reply::Joined { pid, capacity } => {
                    node.capacity.store(capacity, Ordering::Relaxed);
                    tracing::info!(
                        "{} ({}, pid {pid}) joined as node {}, room for about {}",
                        node.name,
                        node.addr,
                        node.id,
                        show(capacity)
                    )
                }
                other => {
                    return Err(
                        anyhow!("{} could not join: {}", node.name, describe(&other)).into(),
                    )
                }
            }
        }
        for node in &cluster.nodes {
            cluster.sessions.sync_clock(node.id, &node.name).await?;
        }
        Ok(cluster)
    }

    pub(crate) fn is_local(&self) -> bool {
        self.nodes.is_empty()
    }

    /// What each live worker can be given, in bytes, in node order: what
    /// it can still take, less a tenth kept for what grows as a run goes
    /// on (queues, links, registries' answers).
    pub(crate) async fn rooms(&self) -> Vec<Room> {
        let usable = |room: u64| room - room / 10;
        if self.nodes.is_empty() {
            return vec![(0, usable(self.budget.free().0))];
        }
        let lost = self.lost().await;
        self.nodes
            .iter()
            .filter(|n| !lost.contains(&n.id))
            .map(|n| (n.id, usable(n.capacity.load(Ordering::Relaxed))))
            .collect()
    }

    /// A worker's name for messages (`node2`); for this process, the
    /// limit on what it can take (`--max-memory 600 MB`).
    pub(crate) fn worker_name(&self, id: NodeId) -> String {
        self.node(id)
            .map_or_else(|| self.budget.free().1, |n| n.name.clone())
    }

    /// A node by id: nodes are numbered from 1 in the order they joined.
    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        let node = self.nodes.get(usize::from(id).checked_sub(1)?)?;
        debug_assert_eq!(node.id, id, "nodes are numbered from 1 in order");
        Some(node)
    }

    /// `n` consecutive fresh addresses on node `node`.
    pub(crate) fn alloc(&self, node: NodeId, n: u32) -> Result<Address> {
        match self.node(node) {
            None => Ok(self.rt.reserve(n)?),
            Some(remote) => Ok(Address::new(
                node,
                remote.next_index.fetch_add(n, Ordering::Relaxed),
            )),
        }
    }

    /// The edda shard instances on `node` report to, when recording.
    pub(crate) fn edda_shard(&self, node: NodeId) -> Option<Address> {
        let shard = self.local_shard?;
        Some(match node {
            0 => shard,
            n => Address::new(n, EDDA_SHARD_INDEX),
        })
    }

    /// How graph metadata names the node an instance runs on ("" alone).
    pub(crate) fn metadata_suffix(&self, node: NodeId) -> String {
        match self.node(node) {
            Some(n) => format!(",node/{}", n.name),
            None => String::new(),
        }
    }

    fn placed(&self, node: NodeId, what: impl IntoIterator<Item = Placed>) {
        if node != 0 {
            let _ = self
                .state
                .cast(Msg::Placed(node, what.into_iter().collect()));
        }
    }

    /// `watcher` hears of every node lost, those lost already first.
    pub(crate) fn watch_losses(&self, watcher: DerivedActorRef<NodeLost>) {
        let _ = self.state.cast(Msg::Watch(watcher));
    }

    /// The nodes lost so far (all of them, should the cluster's state
    /// have failed: nothing more can be asked of any).
    pub(crate) async fn lost(&self) -> BTreeSet<NodeId> {
        match ractor::call!(self.state, Msg::Lost) {
            Ok(lost) => lost,
            Err(_) => self.nodes.iter().map(|n| n.id).collect(),
        }
    }

    /// The links between nodes given up while both nodes lived (none,
    /// should the cluster's state have failed).
    pub(crate) async fn lost_links(&self) -> Vec<LostLink> {
        ractor::call!(self.state, Msg::LostLinks).unwrap_or_default()
    }

    /// The nodes not lost, in start order.
    async fn live(&self) -> Vec<NodeId> {
        let lost = self.lost().await;
        self.nodes
            .iter()
            .map(|n| n.id)
            .filter(|id| !lost.contains(id))
            .collect()
    }

    /// Sends a request to a node and waits for its reply.
    pub(crate) async fn request(&self, node: NodeId, body: Request) -> Result<Reply, NodeLost> {
        self.sessions.request(node, body).await
    }

    pub(crate) async fn spawn_pirates(
        &self,
        node: NodeId,
        first: Address,
        count: u32,
        seed: u64,
    ) -> Result<()> {
        self.placed(node, [Placed::Pirates { first, count }]);
        if node == 0 {
            self.budget
                .admit(|| format!("{count} pirates"), count as u64 * PIRATE_BYTES)?;
            return Ok(
                spigo_node::packages::pirate::spawn_many(&self.rt, first, count, seed).await?,
            );
        }
        self.sessions
            .expect_done(
                node,
                Request::SpawnPirates { first, count, seed },
                "spawning pirates",
            )
            .await
    }

    pub(crate) async fn spawn_instances(
        &self,
        node: NodeId,
        specs: Vec<InstanceSpec>,
    ) -> Result<()> {
        self.placed(
            node,
            specs
                .iter()
                .map(|s| Placed::Instance(Box::new(s.record.clone()))),
        );
        if node == 0 {
            let n = specs.len();
            self.budget
                .admit(|| format!("{n} instances"), n as u64 * INSTANCE_BYTES)?;
            spigo_node::packages::spawn::spawn_instances(&self.rt, specs).await?;
            return Ok(());
        }
        // In requests that each fit in a frame (long names make big specs).
        let room = spigo_proto::fit::ROOM - 64;
        if let Some(big) = specs.iter().find(|s| s.wire_bound() > room) {
            bail!(
                "{} is {} bytes as a spawn order, more than fits in a frame ({room})",
                big.record.name.chars().take(80).collect::<String>(),
                big.wire_bound()
            );
        }
        for part in spigo_proto::fit::chunks(specs, room) {
            self.sessions
                .expect_done(node, Request::SpawnInstances(part), "spawning instances")
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn spawn_registries(&self, node: NodeId, addrs: Vec<Address>) -> Result<()> {
        if node == 0 {
            for at in addrs {
                spigo_node::packages::spawn::spawn_registry(&self.rt, at).await?;
            }
            return Ok(());
        }
        self.sessions
            .expect_done(node, Request::SpawnRegistries(addrs), "spawning eureka")
            .await
    }

    /// Asks every live node to send its remaining graph events and report.
    pub(crate) async fn flush(&self) -> Vec<(NodeId, NodeReport)> {
        let live = self.live().await;
        let replies = join_all(
            live.iter()
                .map(|&n| self.sessions.request(n, Request::Flush)),
        )
        .await;
        live.into_iter()
            .zip(replies)
            .filter_map(|(n, r)| match r {
                Ok(Reply::Flushed(report)) => Some((n, *report)),
                _ => None,
            })
            .collect()
    }

    /// The spans every node sent with its Flush report.
    pub(crate) async fn take_spans(&self) -> Vec<Span> {
        ractor::call!(self.state, Msg::TakeSpans).unwrap_or_default()
    }

    /// Everyone's figures so far: this process's and every live node's.
    pub(crate) async fn snapshot(&self) -> Snapshot {
        let mut metrics = self.rt.metrics_report();
        let live = self.live().await;
        for reply in join_all(
            live.iter()
                .map(|&n| self.sessions.request(n, Request::Metrics)),
        )
        .await
        {
            if let Ok(Reply::Metrics(m)) = reply {
                metrics::merge(&mut metrics, m);
            }
        }
        Snapshot {
            metrics,
            nodes: self.nodes.len(),
            lost: self.lost().await.len(),
        }
    }

    /// Tells every live node to stop and waits for the processes this
    /// coordinator started.
    pub(crate) async fn stop(&self) {
        // Ahead of the Stop requests in the state's mailbox.
        let _ = self.state.cast(Msg::Stopping);
        let live = self.live().await;
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            join_all(
                live.iter()
                    .map(|&n| self.sessions.request(n, Request::Stop)),
            ),
        )
        .await;
        let children = std::mem::take(&mut *self.children.lock().unwrap());
        for mut child in children {
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}
