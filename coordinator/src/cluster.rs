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

use crate::cli::UsageError;
use crate::controller;
use crate::edda;
use crate::http::Snapshot;
use crate::placement::Room;
use anyhow::{anyhow, bail, Context, Result};
use futures::future::join_all;
use ractor::ActorRef;
use spigo_node::net::gateway::{self, Control};
use spigo_node::net::handshake::{self, Cookie};
use spigo_node::net::link::LinkError;
use spigo_node::net::tls::Tls;
use spigo_node::runtime::budget::Budget;
use spigo_node::{clock, Runtime};
use spigo_proto::capacity::{show, INSTANCE_BYTES, PIRATE_BYTES};
use spigo_proto::cluster::Span;
use spigo_proto::cluster::{
    Frame, JoinOrder, NodeReport, Reply, Request, Role, EDDA_SHARD_INDEX, FIRST_FREE_INDEX,
};
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{Address, Exit, GraphEvent, NodeId, NodeRecord, StampedEvent};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::oneshot;

/// How often the coordinator pings each node...
const HEARTBEAT: Duration = Duration::from_secs(1);
/// ...and how long a node may stay silent before it counts as lost.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a node gets to start and say where it listens.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Node {
    pub id: NodeId,
    pub name: String,
    pub addr: String,
    next_index: AtomicU32,
    /// Bytes the node said it can take when it joined.
    capacity: AtomicU64,
}

/// TLS for the links: the files (for nodes this coordinator starts) and
/// the configuration they make.
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    pub ca: std::path::PathBuf,
    pub config: Tls,
}

/// What was placed on a node, kept for `node-lost` records. Pirates are
/// kept as ranges: a million of them cost the coordinator one entry.
enum Placed {
    Pirates {
        first: Address,
        count: u32,
    },
    /// An instance and its graph record (a lost node may not have passed
    /// its own records on yet).
    Instance(Box<NodeRecord>),
}

impl Placed {
    fn actors(&self) -> usize {
        match self {
            Placed::Pirates { count, .. } => *count as usize,
            Placed::Instance(_) => 1,
        }
    }
}

/// A node was lost before it could answer.
#[derive(Debug, thiserror::Error)]
#[error("node {0} is lost")]
pub struct NodeLost(pub NodeId);

/// How to form the cluster.
pub struct Options {
    pub nodes: Nodes,
    pub tls: Option<TlsFiles>,
    pub seed: u64,
    /// `-c`: what the nodes collect (see the runtime's settings).
    pub collect: Option<f64>,
    /// How long a silent node lives on.
    pub heartbeat_timeout: Duration,
    /// `--max-memory`: this process's budget, passed on to nodes it starts.
    pub max_memory: Option<u64>,
    /// `--cpuprofile`: nodes it starts profile themselves beside this file.
    pub cpuprofile: Option<std::path::PathBuf>,
}

impl Options {
    /// Just this process.
    pub fn local() -> Options {
        Options {
            nodes: Nodes::Local,
            tls: None,
            seed: 0,
            collect: None,
            heartbeat_timeout: HEARTBEAT_TIMEOUT,
            max_memory: None,
            cpuprofile: None,
        }
    }
}

/// Where to find the nodes.
pub enum Nodes {
    /// This process only.
    Local,
    /// Start this many node processes on loopback.
    Start(u16),
    /// Use nodes already running at these addresses, which share this
    /// cookie.
    Join(Vec<String>, Cookie),
}

/// State shared with the control loop. The plain fields are set before
/// the control loop starts and never change.
#[derive(Default)]
struct Shared {
    waiting: Mutex<HashMap<u64, (NodeId, oneshot::Sender<Reply>)>>,
    lost: Mutex<BTreeSet<NodeId>>,
    last_seen: Mutex<HashMap<NodeId, Instant>>,
    /// What was placed on each node, for `node-lost` records: addresses,
    /// with the graph record of instances (a lost node may not have
    /// passed its own records on yet).
    placed: Mutex<HashMap<NodeId, Vec<Placed>>>,
    /// Who hears of a lost node.
    controllers: Mutex<Vec<ActorRef<controller::Msg>>>,
    edda: Option<ActorRef<edda::Msg>>,
    /// Each node's name and address, for the log line of its loss.
    node_names: HashMap<NodeId, (String, String)>,
    /// Set once the nodes are told to stop: links closing then are expected.
    stopping: std::sync::atomic::AtomicBool,
    /// Spans the nodes sent at Flush.
    spans: Mutex<Vec<Span>>,
    heartbeat_timeout: Duration,
}

pub struct Cluster {
    pub rt: Arc<Runtime>,
    pub nodes: Vec<Node>,
    shared: Arc<Shared>,
    next_request: AtomicU64,
    children: Mutex<Vec<tokio::process::Child>>,
    /// The coordinator's own edda shard, when a graph is being written.
    local_shard: Option<Address>,
    /// This process's memory budget, for what it hosts itself.
    budget: Budget,
}

impl Cluster {
    /// A cluster of this process alone.
    pub fn local(rt: Arc<Runtime>, local_shard: Option<Address>) -> Cluster {
        Cluster {
            rt,
            nodes: Vec::new(),
            shared: Arc::default(),
            next_request: AtomicU64::new(1),
            children: Mutex::default(),
            local_shard,
            budget: Budget::default(),
        }
    }

    /// Starts or dials the nodes and joins them into one simulation.
    pub async fn connect(
        rt: Arc<Runtime>,
        local_shard: Option<Address>,
        edda: Option<ActorRef<edda::Msg>>,
        opts: Options,
    ) -> Result<Cluster> {
        let Options {
            nodes,
            tls,
            seed,
            collect,
            heartbeat_timeout,
            max_memory,
            cpuprofile,
        } = opts;
        let mut cluster = Cluster::local(rt, local_shard);
        cluster.budget = Budget::new(max_memory);
        let (addrs, cookie) = match nodes {
            Nodes::Local => return Ok(cluster),
            Nodes::Start(n) => {
                let cookie = Cookie::new(format!("{:032x}", rand::random::<u128>()));
                let addrs = cluster
                    .start_children(n, &cookie, tls.as_ref(), max_memory, cpuprofile.as_deref())
                    .await?;
                (addrs, cookie)
            }
            Nodes::Join(addrs, cookie) => (addrs, cookie),
        };
        let tls = tls.map(|t| t.config);
        let (control_tx, control_rx) = tokio::sync::mpsc::unbounded_channel();
        let gw = gateway::start(&cluster.rt, control_tx)
            .await
            .context("cannot start the coordinator's gateway")?;
        let mut node_names = HashMap::new();
        let mut last_seen = HashMap::new();
        for (i, addr) in addrs.iter().enumerate() {
            let id = i as NodeId + 1;
            let conn = handshake::dial(
                addr,
                &cookie,
                tls.as_ref(),
                Role::Coordinator,
                "coordinator",
            )
            .await
            .map_err(|e| match e {
                LinkError::Refused(reason) => {
                    UsageError::error(format!("node {addr} refused this coordinator: {reason}"))
                }
                other => UsageError::error(format!("cannot reach node {addr}: {other}")),
            })?;
            let name = conn.peer_name.clone();
            let (tx, _) = conn.start(id, gw.clone());
            cluster.rt.set_link(id, tx);
            node_names.insert(id, (name.clone(), addr.clone()));
            last_seen.insert(id, Instant::now());
            cluster.nodes.push(Node {
                id,
                name,
                addr: addr.clone(),
                next_index: AtomicU32::new(FIRST_FREE_INDEX),
                capacity: AtomicU64::new(0),
            });
        }
        // Nothing has used the shared state yet: what the control loop reads
        // is set here, once.
        cluster.shared = Arc::new(Shared {
            edda,
            node_names,
            last_seen: Mutex::new(last_seen),
            heartbeat_timeout,
            ..Shared::default()
        });
        tokio::spawn(control_loop(control_rx, cluster.shared.clone()));
        tokio::spawn(heartbeat(cluster.rt.clone(), cluster.shared.clone()));
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
            };
            cluster.request(n.id, Request::Join(order))
        });
        for (reply, node) in join_all(joins).await.into_iter().zip(&cluster.nodes) {
            match reply? {
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
                other => bail!("{} could not join: {}", node.name, describe(&other)),
            }
        }
        for node in &cluster.nodes {
            cluster.sync_clock(node).await?;
        }
        Ok(cluster)
    }

    /// Estimates how far a node's clock is from ours (the sample with the
    /// shortest round trip, error at most half of it) and tells the node to
    /// correct for it, so send times mean the same everywhere.
    async fn sync_clock(&self, node: &Node) -> Result<()> {
        let mut best: Option<(Duration, i64)> = None;
        for _ in 0..8 {
            let t0 = clock::now();
            let Reply::Clock(theirs) = self.request(node.id, Request::Clock).await? else {
                bail!("{} did not tell its time", node.name);
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
            node.name,
            offset as f64 / 1e6,
            rtt.as_secs_f64() * 1e3 / 2.0
        );
        match self.request(node.id, Request::SetClock(offset)).await? {
            Reply::Done => Ok(()),
            other => bail!(
                "{} could not set its clock: {}",
                node.name,
                describe(&other)
            ),
        }
    }

    async fn start_children(
        &self,
        n: u16,
        cookie: &Cookie,
        tls: Option<&TlsFiles>,
        max_memory: Option<u64>,
        cpuprofile: Option<&std::path::Path>,
    ) -> Result<Vec<String>> {
        let exe = std::env::current_exe().context("cannot find the spigo binary to start nodes")?;
        let mut addrs = Vec::new();
        for i in 1..=n {
            let name = format!("node{i}");
            let mut command = tokio::process::Command::new(&exe);
            command.args([
                "node",
                "--listen",
                "127.0.0.1:0",
                "--name",
                &name,
                "--exit-with-stdin",
            ]);
            if let Some(bytes) = max_memory {
                command.arg("--max-memory").arg(bytes.to_string());
            }
            if let Some(path) = cpuprofile {
                command
                    .arg("--cpuprofile")
                    .arg(crate::profile::for_node(path, &name));
            }
            if let Some(tls) = tls {
                command
                    .arg("--tls-cert")
                    .arg(&tls.cert)
                    .arg("--tls-key")
                    .arg(&tls.key)
                    .arg("--tls-ca")
                    .arg(&tls.ca);
            }
            let mut child = command
                .env("SPIGO_COOKIE", cookie.secret())
                .env("RUST_LOG", crate::logging::directive())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("cannot start {name}"))?;
            let stdout = child.stdout.take().expect("piped");
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let line = tokio::time::timeout(NODE_START_TIMEOUT, lines.next_line())
                .await
                .map_err(|_| anyhow!("{name} did not start within {NODE_START_TIMEOUT:?}"))??
                .with_context(|| format!("{name} exited before listening"))?;
            let addr = line
                .rsplit(' ')
                .next()
                .filter(|a| a.contains(':'))
                .with_context(|| format!("{name} said '{line}' instead of where it listens"))?
                .to_string();
            self.children.lock().unwrap().push(child);
            addrs.push(addr);
        }
        Ok(addrs)
    }

    pub fn is_local(&self) -> bool {
        self.nodes.is_empty()
    }

    /// What each live worker can be given, in bytes, in node order: what
    /// it can still take, less a tenth kept for what grows as a run goes
    /// on (queues, links, registries' answers).
    pub fn rooms(&self) -> Vec<Room> {
        let usable = |room: u64| room - room / 10;
        if self.nodes.is_empty() {
            return vec![(0, usable(self.budget.free().0))];
        }
        let lost = self.lost();
        self.nodes
            .iter()
            .filter(|n| !lost.contains(&n.id))
            .map(|n| (n.id, usable(n.capacity.load(Ordering::Relaxed))))
            .collect()
    }

    /// A worker's name for messages (`node2`); for this process, the
    /// limit on what it can take (`--max-memory 600 MB`).
    pub fn worker_name(&self, id: NodeId) -> String {
        self.node(id)
            .map_or_else(|| self.budget.free().1, |n| n.name.clone())
    }

    /// A node by id: nodes are numbered from 1 in the order they joined.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        let node = self.nodes.get(usize::from(id).checked_sub(1)?)?;
        debug_assert_eq!(node.id, id, "nodes are numbered from 1 in order");
        Some(node)
    }

    /// `n` consecutive fresh addresses on node `node`.
    pub fn alloc(&self, node: NodeId, n: u32) -> Result<Address> {
        match self.node(node) {
            None => Ok(self.rt.reserve(n)?),
            Some(remote) => Ok(Address::new(
                node,
                remote.next_index.fetch_add(n, Ordering::Relaxed),
            )),
        }
    }

    /// The edda shard instances on `node` report to, when recording.
    pub fn edda_shard(&self, node: NodeId) -> Option<Address> {
        let shard = self.local_shard?;
        Some(match node {
            0 => shard,
            n => Address::new(n, EDDA_SHARD_INDEX),
        })
    }

    /// How graph metadata names the node an instance runs on ("" alone).
    pub fn metadata_suffix(&self, node: NodeId) -> String {
        match self.node(node) {
            Some(n) => format!(",node/{}", n.name),
            None => String::new(),
        }
    }

    fn placed(&self, node: NodeId, what: impl IntoIterator<Item = Placed>) {
        if node != 0 {
            self.shared
                .placed
                .lock()
                .unwrap()
                .entry(node)
                .or_default()
                .extend(what);
        }
    }

    pub fn watch_losses(&self, controller: ActorRef<controller::Msg>) {
        for &lost in self.shared.lost.lock().unwrap().iter() {
            let _ = controller.send_message(controller::Msg::NodeLost(lost));
        }
        self.shared.controllers.lock().unwrap().push(controller);
    }

    pub fn lost(&self) -> BTreeSet<NodeId> {
        self.shared.lost.lock().unwrap().clone()
    }

    /// The nodes not lost, in start order.
    fn live(&self) -> Vec<NodeId> {
        let lost = self.shared.lost.lock().unwrap();
        self.nodes
            .iter()
            .map(|n| n.id)
            .filter(|id| !lost.contains(id))
            .collect()
    }

    /// Sends a request to a node and waits for its reply. A lost node's
    /// error is a [`NodeLost`].
    pub async fn request(&self, node: NodeId, body: Request) -> Result<Reply> {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id, (node, tx));
        if self.shared.lost.lock().unwrap().contains(&node)
            || self
                .rt
                .send_frame(node, Frame::Request { id, body })
                .is_err()
        {
            self.shared.waiting.lock().unwrap().remove(&id);
            return Err(NodeLost(node).into());
        }
        rx.await.map_err(|_| NodeLost(node).into())
    }

    /// Asks a node to do something; a node lost meanwhile is not an error
    /// (its loss is recorded and the run goes on without it).
    async fn expect_done(&self, node: NodeId, body: Request, what: &str) -> Result<()> {
        match self.request(node, body).await {
            Ok(Reply::Done) => Ok(()),
            Ok(other) => bail!("{what}: {}", describe(&other)),
            Err(e) if e.is::<NodeLost>() => {
                tracing::warn!("{what}: {e}; going on without it");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub async fn spawn_pirates(
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
        self.expect_done(
            node,
            Request::SpawnPirates { first, count, seed },
            "spawning pirates",
        )
        .await
    }

    pub async fn spawn_instances(&self, node: NodeId, specs: Vec<InstanceSpec>) -> Result<()> {
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
            for spec in specs {
                let name = spec.record.name.clone();
                spigo_node::packages::spawn::spawn_instance(&self.rt, spec)
                    .await
                    .with_context(|| format!("cannot start {name}"))?;
            }
            return Ok(());
        }
        self.expect_done(node, Request::SpawnInstances(specs), "spawning instances")
            .await
    }

    pub async fn spawn_registries(&self, node: NodeId, addrs: Vec<Address>) -> Result<()> {
        if node == 0 {
            for at in addrs {
                spigo_node::packages::spawn::spawn_registry(&self.rt, at).await?;
            }
            return Ok(());
        }
        self.expect_done(node, Request::SpawnRegistries(addrs), "spawning eureka")
            .await
    }

    /// Asks every live node to send its remaining graph events and report.
    pub async fn flush(&self) -> Vec<(NodeId, NodeReport)> {
        let live = self.live();
        let replies = join_all(live.iter().map(|&n| self.request(n, Request::Flush))).await;
        live.into_iter()
            .zip(replies)
            .filter_map(|(n, r)| match r {
                Ok(Reply::Flushed(report)) => Some((n, report)),
                _ => None,
            })
            .collect()
    }

    /// The spans every node sent with its Flush report.
    pub fn take_spans(&self) -> Vec<Span> {
        std::mem::take(&mut *self.shared.spans.lock().unwrap())
    }

    /// Everyone's figures so far: this process's and every live node's.
    pub async fn snapshot(&self) -> Snapshot {
        let mut metrics = self.rt.metrics_report();
        let live = self.live();
        for reply in join_all(live.iter().map(|&n| self.request(n, Request::Metrics))).await {
            if let Ok(Reply::Metrics(m)) = reply {
                crate::metrics::merge(&mut metrics, m);
            }
        }
        Snapshot {
            metrics,
            nodes: self.nodes.len(),
            lost: self.lost().len(),
        }
    }

    /// Tells every live node to stop and waits for the processes this
    /// coordinator started.
    pub async fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let live = self.live();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            join_all(live.iter().map(|&n| self.request(n, Request::Stop))),
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

fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Failed(why) => why.to_string(),
        other => format!("unexpected reply {other:?}"),
    }
}

/// Handles what the gateway passes on: replies, graph events, heartbeats,
/// lost links.
async fn control_loop(mut rx: tokio::sync::mpsc::UnboundedReceiver<Control>, shared: Arc<Shared>) {
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
            Control::Frame { from, .. } => {
                tracing::debug!("coordinator: ignoring a frame from node {from}")
            }
            Control::Lost(node) => node_lost(&shared, node, "its link closed"),
        }
    }
}

/// Pings every node; one silent for too long (no pong and no other frame)
/// is lost.
async fn heartbeat(rt: Arc<Runtime>, shared: Arc<Shared>) {
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

fn node_lost(shared: &Shared, node: NodeId, why: &str) {
    if shared.stopping.load(Ordering::SeqCst) || !shared.lost.lock().unwrap().insert(node) {
        return;
    }
    let (name, addr) = shared
        .node_names
        .get(&node)
        .map_or(("", ""), |(n, a)| (n.as_str(), a.as_str()));
    let placed = shared
        .placed
        .lock()
        .unwrap()
        .remove(&node)
        .unwrap_or_default();
    tracing::error!(
        "{name} ({addr}) lost: {why}; {} actors went with it",
        placed.iter().map(Placed::actors).sum::<usize>()
    );
    // Whoever waited for an answer from it will not get one.
    shared
        .waiting
        .lock()
        .unwrap()
        .retain(|_, (n, _)| *n != node);
    if let Some(edda) = &shared.edda {
        let now = clock::now();
        // In batches of at most MAX_EVENTS, each sent as it fills.
        let mut batch: Vec<StampedEvent> = Vec::new();
        let mut emit = |event: GraphEvent| {
            batch.push(StampedEvent { time: now, event });
            if batch.len() == spigo_proto::cluster::MAX_EVENTS {
                let _ = edda.send_message(edda::Msg::Batch(std::mem::take(&mut batch)));
            }
        };
        let done = |id| GraphEvent::Done {
            id,
            exit: Exit::NodeLost,
        };
        for p in placed {
            match p {
                Placed::Pirates { first, count } => {
                    for i in 0..count {
                        emit(done(Address::new(node, first.index + i)));
                    }
                }
                // Edda ignores a record it has already; one that never left
                // the lost node is still known here.
                Placed::Instance(record) => {
                    let id = record.id;
                    emit(GraphEvent::Node(record));
                    emit(done(id));
                }
            }
        }
        if !batch.is_empty() {
            let _ = edda.send_message(edda::Msg::Batch(batch));
        }
    }
    for c in shared.controllers.lock().unwrap().iter() {
        let _ = c.send_message(controller::Msg::NodeLost(node));
    }
}
