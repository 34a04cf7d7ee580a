//! `spigo node`: a process that hosts part of a simulation for a coordinator.
//!
//! It listens, checks the cookie of whoever connects, and waits for a
//! coordinator's Join, which gives it its node id. It then links to the
//! other nodes (dialling those with a higher id), spawns what the
//! coordinator places on it, passes its graph events to the coordinator,
//! and reports its figures on Flush. It exits when told to stop, when the
//! coordinator goes away, or when it has heard nothing from the coordinator
//! for the heartbeat timeout, so no node outlives its simulation; and when
//! the coordinator says it fenced this node (declared it lost: a node cut
//! off past the heartbeat timeout that comes back), with a non-zero status.
//! Told that another node is fenced, it drops its link to it, stops
//! re-dialling it and refuses whatever still comes from it
//! (`runtime/fences.rs`, the gateway). Watching its links (heartbeats,
//! re-dialling a broken one) is `peers.rs`'s job.
//!
//! How the parts are supervised. Links are not actors: each is a reader
//! and a writer task (`link.rs`) that live as long as the connection, and
//! a link's end, however it comes, reaches the gateway as `Lost`, which
//! this control loop acts on (ractor_cluster's NodeServer → NodeSession
//! tree has the same shape: the accept loop (`accept.rs`), one link per
//! peer). The actors the coordinator places are linked under the node's
//! supervisor (`packages/supervisor.rs`), which records any that panics.
//!
//! Once bound beyond loopback, a node refuses a short cookie before it
//! says where it listens (`cookies.rs`), and warns if it has no TLS.

use super::accept::{accept_loop, Door};
use super::cookies::{self, ShortCookie};
use super::gateway::{self, Control};
use super::handshake::{self, Cookie};
use super::link::{Connected, LinkError};
use super::peers::{self, Dialer, Peers};
use super::tls::Tls;
use crate::packages::edda::{self as shard, EddaShard, LinkSink};
use crate::packages::pirate;
use crate::packages::spawn::{spawn_instances, spawn_registry};
use crate::packages::supervisor;
use crate::runtime::budget::Budget;
use crate::runtime::metrics::peak_rss;
use crate::runtime::{clock, EdgeCounts, Overload, Settings};
use crate::{Runtime, SpawnError, TimerError};
use ractor::ActorRef;
use spigo_proto::capacity::{INSTANCE_BYTES, PIRATE_BYTES};
use spigo_proto::cluster::{
    Failure, Frame, JoinOrder, NodeReport, Refusal, Reply, Request, Role, EDDA_SHARD_INDEX,
};
use spigo_proto::{Address, NodeId};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Spans per frame: well under the frame size limit.
const SPANS_PER_FRAME: usize = spigo_proto::cluster::MAX_SPANS;

pub struct NodeOptions {
    pub listen: String,
    pub cookie: Cookie,
    /// Mutual TLS for every link, when set.
    pub tls: Option<Tls>,
    /// Shown in logs and the graph's metadata; empty: `node@<address>`.
    pub name: String,
    /// Exit when standard input closes (set for nodes a coordinator started
    /// itself, so they go when it goes, however it ends).
    pub exit_with_stdin: bool,
    /// `--max-memory`, in bytes.
    pub max_memory: Option<u64>,
}

/// Why a node process ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Stopped,
    CoordinatorGone,
    /// The coordinator declared this node lost and fenced it: whatever it
    /// simulated since does not count.
    Fenced,
    /// Nothing heard from the coordinator for the heartbeat timeout: the
    /// node stopped by itself (a failure: its simulation is cut off).
    CoordinatorSilent,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--listen {0}: {1}")]
    Bind(String, std::io::Error),
    #[error(transparent)]
    ShortCookie(#[from] ShortCookie),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Why a coordinator could not join this node.
#[derive(Debug, thiserror::Error)]
enum JoinFailed {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("expected a Join request")]
    NotAJoin,
    #[error("cannot start the supervisor: {0}")]
    Supervisor(#[source] ractor::SpawnErr),
    #[error("cannot start the gateway: {0}")]
    Gateway(#[source] ractor::SpawnErr),
    #[error("cannot start the edda shard: {0}")]
    Shard(#[source] SpawnError),
    #[error(transparent)]
    Timer(#[from] TimerError),
}

enum Event {
    Accepted(Connected, Role, std::net::SocketAddr),
    Control(Control),
    StdinClosed,
    /// Time to heartbeat and look at every link.
    Tick,
    /// A broken link to this peer was dialled again.
    Redialled(NodeId, Connected),
}

/// What a joined node runs.
struct Joined {
    rt: Arc<Runtime>,
    shard: ActorRef<shard::Msg>,
    gateway: ActorRef<gateway::Msg>,
    coordinator_writer: tokio::task::JoinHandle<()>,
    /// Where the coordinator dialled from, for the logs.
    coordinator: std::net::SocketAddr,
    heartbeat_timeout: Duration,
    peers: Peers,
}

/// Who may connect: one coordinator, then nodes of its simulation.
#[derive(Default)]
struct Admission {
    coordinator: AtomicBool,
    /// Our node id once joined (0 = not yet).
    node: AtomicU16,
}

impl Admission {
    fn admit(&self, role: Role) -> Result<(), Refusal> {
        match role {
            Role::Coordinator if self.coordinator.swap(true, Ordering::SeqCst) => {
                Err(Refusal::HasCoordinator)
            }
            Role::Coordinator => Ok(()),
            Role::Node(_) if self.node.load(Ordering::SeqCst) == 0 => Err(Refusal::NotJoinedYet),
            Role::Node(_) => Ok(()),
        }
    }
}

pub async fn serve(mut opts: NodeOptions) -> Result<Outcome, ServeError> {
    let listener = TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| ServeError::Bind(opts.listen.clone(), e))?;
    let addr = listener.local_addr()?;
    // Decided on the address bound, so `localhost:0` is loopback and
    // `0.0.0.0` is not.
    let loopback = addr.ip().is_loopback();
    cookies::check(opts.cookie.secret(), loopback, || {
        format!("--listen {}", opts.listen)
    })?;
    if opts.name.is_empty() {
        // The bound address, so that `--listen 127.0.0.1:0` names its port.
        opts.name = format!("node@{addr}");
    }
    // The first line on stdout tells a parent coordinator where we listen;
    // if nobody can read it, there is no one to serve (an error, not a panic).
    {
        use std::io::Write as _;
        let mut out = std::io::stdout();
        writeln!(out, "spigo node {} listening on {addr}", opts.name)?;
        out.flush()?;
    }
    std::io::stdout().flush()?;
    tracing::info!(
        "{}: listening on {addr}, cookie {}",
        opts.name,
        opts.cookie.hint()
    );
    if !loopback && opts.tls.is_none() {
        tracing::warn!(
            "{}: listening on {addr}, beyond loopback, without TLS: whoever is on the path \
             reads every frame (--tls-cert, --tls-key and --tls-ca encrypt them)",
            opts.name
        );
    }

    let (events_tx, mut events) = mpsc::unbounded_channel();
    let admission = Arc::new(Admission::default());
    let (admitting, accepted) = (admission.clone(), events_tx.clone());
    tokio::spawn(accept_loop(
        listener,
        Door {
            cookie: opts.cookie.clone(),
            tls: opts.tls.clone(),
            name: opts.name.clone(),
            admit: move |role| admitting.admit(role),
            accepted: move |conn, role, from| {
                let _ = accepted.send(Event::Accepted(conn, role, from));
            },
        },
    ));
    if opts.exit_with_stdin {
        let tx = events_tx.clone();
        tokio::spawn(async move {
            let mut sink = [0u8; 64];
            let mut stdin = tokio::io::stdin();
            while matches!(stdin.read(&mut sink).await, Ok(n) if n > 0) {}
            let _ = tx.send(Event::StdinClosed);
        });
    }

    let mut joined: Option<Joined> = None;
    while let Some(event) = events.recv().await {
        match event {
            Event::Accepted(conn, Role::Coordinator, from) => {
                match join(conn, from, &opts, &admission, &events_tx).await {
                    Ok(j) => {
                        let events = events_tx.clone();
                        tokio::spawn(peers::heartbeats(
                            j.rt.clone(),
                            j.peers.linked_with(),
                            peers::tick_every(j.heartbeat_timeout),
                            move || events.send(Event::Tick).is_ok(),
                        ));
                        joined = Some(j)
                    }
                    Err(e) => {
                        tracing::warn!("{}: coordinator could not join: {e}", opts.name);
                        admission.coordinator.store(false, Ordering::SeqCst);
                    }
                }
            }
            Event::Accepted(_, Role::Node(peer), _) | Event::Redialled(peer, _)
                if joined.as_ref().is_some_and(|j| j.rt.is_fenced(peer)) =>
            {
                tracing::warn!(
                    "{}: refused a link with node {peer}: it is fenced",
                    opts.name
                );
            }
            Event::Accepted(conn, Role::Node(peer), _) | Event::Redialled(peer, conn) => {
                if let Some(j) = &mut joined {
                    j.peers.linked(&j.rt, peer, conn, j.gateway.clone());
                }
            }
            Event::Tick => {
                let Some(j) = &mut joined else { continue };
                // A coordinator link that has closed is gone, not silent:
                // its `Lost` event may still be queued behind this tick.
                if j.rt.silent_for(0).is_none() {
                    tracing::warn!("{}: the coordinator went away; exiting", opts.name);
                    let j = joined.take().expect("checked above");
                    return Ok(finish(j, Outcome::CoordinatorGone).await);
                }
                if let Some(silent) = j.peers.tick(&j.rt) {
                    tracing::error!(
                        "{}: coordinator at {} silent for {}: stopping",
                        opts.name,
                        j.coordinator,
                        spigo_proto::time::GoDuration(Duration::from_secs(silent.as_secs()))
                    );
                    let j = joined.take().expect("checked above");
                    return Ok(finish(j, Outcome::CoordinatorSilent).await);
                }
            }
            Event::Control(Control::Frame {
                from: 0,
                frame: Frame::Request { id, body },
            }) => {
                let Some(j) = &joined else { continue };
                if body == Request::Fence(j.rt.node()) {
                    tracing::error!(
                        "{}: fenced: the coordinator declared this node lost; exiting",
                        opts.name
                    );
                    let j = joined.take().expect("checked above");
                    return Ok(finish(j, Outcome::Fenced).await);
                }
                let stop = body == Request::Stop;
                if body == Request::Flush {
                    j.peers.finished();
                }
                let reply = handle(j, body, &opts).await;
                let _ = j.rt.send_frame(0, Frame::Reply { id, body: reply });
                if stop {
                    let j = joined.take().expect("checked above");
                    return Ok(finish(j, Outcome::Stopped).await);
                }
            }
            Event::Control(Control::Lost(0)) | Event::StdinClosed => {
                tracing::warn!("{}: the coordinator went away; exiting", opts.name);
                return Ok(match joined.take() {
                    Some(j) => finish(j, Outcome::CoordinatorGone).await,
                    None => Outcome::CoordinatorGone,
                });
            }
            Event::Control(Control::Lost(peer)) => {
                if let Some(j) = &mut joined {
                    j.peers.broke(&j.rt, peer, "it closed", Duration::ZERO);
                }
            }
            Event::Control(Control::Frame { from, .. }) => {
                tracing::debug!("{}: ignoring a frame from node {from}", opts.name)
            }
        }
    }
    Ok(Outcome::CoordinatorGone)
}

/// Reads the coordinator's Join, starts the runtime, gateway and edda
/// shard, links to the peers, and answers Joined.
async fn join(
    mut conn: Connected,
    coordinator: std::net::SocketAddr,
    opts: &NodeOptions,
    admission: &Admission,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<Joined, JoinFailed> {
    let (id, order) = match conn.read().await? {
        Frame::Request {
            id,
            body: Request::Join(order),
        } => (id, order),
        _ => return Err(JoinFailed::NotAJoin),
    };
    let JoinOrder {
        node,
        msglog,
        peers,
        latency,
        seed,
        collect,
        heartbeat_timeout,
    } = order;
    let rt = Runtime::with(Settings {
        node,
        log_messages: msglog,
        latency,
        seed,
        collect,
    })?;
    supervisor::start(&rt)
        .await
        .map_err(JoinFailed::Supervisor)?;
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    let forward = events.clone();
    tokio::spawn(async move {
        while let Some(c) = control_rx.recv().await {
            if forward.send(Event::Control(c)).is_err() {
                return;
            }
        }
    });
    let gateway = gateway::start(&rt, control_tx)
        .await
        .map_err(JoinFailed::Gateway)?;
    let (tx, coordinator_writer) = conn.start(0, gateway.clone());
    rt.set_link(0, tx);
    let shard_at = Address::new(node, EDDA_SHARD_INDEX);
    let args = shard::Arguments {
        rt: rt.clone(),
        me: shard_at,
        sink: Box::new(LinkSink(rt.clone())),
    };
    let shard = rt
        .spawn_at(shard_at, None, EddaShard, args)
        .await
        .map_err(JoinFailed::Shard)?;
    admission.node.store(node, Ordering::SeqCst);
    tracing::info!("{}: joined as node {node}", opts.name);

    let mut reply = Reply::Joined {
        pid: std::process::id(),
        capacity: Budget::new(opts.max_memory).free().0,
    };
    let redialled = events.clone();
    let dialer = Dialer {
        cookie: opts.cookie.clone(),
        tls: opts.tls.clone(),
        name: opts.name.clone(),
        on_redial: Arc::new(move |peer, conn| {
            let _ = redialled.send(Event::Redialled(peer, conn));
        }),
    };
    let mut watch = Peers::new(node, heartbeat_timeout, peers.clone(), dialer);
    for (peer, addr) in peers.into_iter().filter(|(p, _)| *p > node) {
        match dial_peer(&addr, &opts.cookie, opts.tls.as_ref(), node, &opts.name).await {
            Ok(conn) => watch.linked(&rt, peer, conn, gateway.clone()),
            Err(e) => {
                reply = Reply::Failed(Failure::PeerUnreachable {
                    id: node,
                    peer,
                    addr,
                    why: e.to_string(),
                });
                break;
            }
        }
    }
    let _ = rt.send_frame(0, Frame::Reply { id, body: reply });
    Ok(Joined {
        rt,
        shard,
        gateway,
        coordinator_writer,
        coordinator,
        heartbeat_timeout,
        peers: watch,
    })
}

/// Dials a peer node, retrying while it has not joined yet.
async fn dial_peer(
    addr: &str,
    cookie: &Cookie,
    tls: Option<&Tls>,
    me: NodeId,
    name: &str,
) -> Result<Connected, LinkError> {
    let mut tries = 0;
    loop {
        match handshake::dial(
            addr,
            handshake::CONNECT_TIMEOUT,
            cookie,
            tls,
            Role::Node(me),
            name,
        )
        .await
        {
            Err(LinkError::Refused(Refusal::NotJoinedYet)) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

async fn handle(j: &Joined, request: Request, opts: &NodeOptions) -> Reply {
    let rt = &j.rt;
    let node = || opts.name.clone();
    let over = |over| Reply::Failed(Failure::OverBudget { node: node(), over });
    let spawned = |done: Result<(), SpawnError>| match done {
        Ok(()) => Reply::Done,
        Err(e) => Reply::Failed(Failure::Spawn {
            node: node(),
            why: e.to_string(),
        }),
    };
    let budget = Budget::new(opts.max_memory);
    match request {
        Request::Join(_) => Reply::Failed(Failure::AlreadyJoined { node: node() }),
        Request::SpawnPirates { first, count, seed } => {
            let need = count as u64 * PIRATE_BYTES;
            if let Err(e) = budget.admit(|| format!("{count} pirates"), need) {
                return over(e);
            }
            spawned(pirate::spawn_many(rt, first, count, seed).await)
        }
        Request::SpawnInstances(specs) => {
            let n = specs.len();
            if let Err(e) = budget.admit(|| format!("{n} instances"), n as u64 * INSTANCE_BYTES) {
                return over(e);
            }
            spawned(spawn_instances(rt, specs).await)
        }
        Request::SpawnRegistries(addrs) => {
            for at in addrs {
                if let Err(e) = spawn_registry(rt, at).await {
                    return spawned(Err(e));
                }
            }
            Reply::Done
        }
        Request::SpawnBench(specs) => {
            for spec in specs {
                if let Err(e) = super::bench::spawn(rt, spec).await {
                    return spawned(Err(e));
                }
            }
            Reply::Done
        }
        Request::Clock => Reply::Clock(clock::now()),
        Request::SetClock(offset) => {
            clock::set_offset(offset);
            tracing::info!("{}: clock set {}ns behind local time", opts.name, offset);
            Reply::Done
        }
        Request::Metrics => Reply::Metrics(rt.metrics_report()),
        Request::Flush => {
            let events_sent = ractor::call!(j.shard, shard::Msg::Flush).unwrap_or(0);
            // Spans go ahead of the reply on the same link.
            if let Some(flows) = rt.flows() {
                let mut spans = flows.take().into_iter();
                loop {
                    let batch: Vec<_> = spans.by_ref().take(SPANS_PER_FRAME).collect();
                    if batch.is_empty() {
                        break;
                    }
                    let _ = rt.send_frame(0, Frame::Spans(batch));
                }
            }
            Reply::Flushed(Box::new(report(rt, events_sent)))
        }
        Request::Stop => Reply::Done,
        Request::Fence(peer) => {
            if rt.fence(peer) {
                tracing::warn!(
                    "{}: node {peer} fenced: the coordinator declared it lost; refusing what it still sends",
                    opts.name
                );
            }
            Reply::Done
        }
    }
}

/// This node's figures, for the coordinator's summary.
fn report(rt: &Runtime, events_sent: u64) -> NodeReport {
    let EdgeCounts { made, forgotten } = rt.edge_counts();
    let links = rt.link_counts();
    let Overload {
        shed,
        deepest_mailbox,
        deepest_link,
    } = rt.overload();
    NodeReport {
        shed,
        deepest_mailbox: deepest_mailbox as u64,
        deepest_link: deepest_link as u64,
        events_sent,
        edges_made: made,
        edges_forgotten: forgotten,
        undeliverable: rt.undeliverable(),
        refused: links.refused(),
        oversize: links.oversize,
        links: rt.link_costs(),
        messages_in: links.messages_in,
        messages_out: links.messages_out,
        latency: rt.latency_report(),
        metrics: Box::new(rt.metrics_report()),
        peak_rss: peak_rss().unwrap_or(0),
        crashed: rt.crashed(),
        fenced: rt.fenced(),
    }
}

/// Flushes what is left and closes the link to the coordinator cleanly.
async fn finish(j: Joined, outcome: Outcome) -> Outcome {
    let _ = ractor::call!(j.shard, shard::Msg::Flush);
    j.rt.remove_link(0);
    let _ = tokio::time::timeout(Duration::from_secs(2), j.coordinator_writer).await;
    j.gateway.stop(None);
    outcome
}
