//! edda shard: this node's collector of graph events.
//!
//! Edda (named after Netflix's tool that tracks how cloud resources change)
//! records the architecture as it evolves. Actors send it Inform messages
//! carrying graph events; the shard stamps them with their send time and
//! passes them on in batches to the coordinator's edda, which merges the
//! shards of all nodes and writes the graph. Batching keeps a node from
//! sending one network frame per edge.

use crate::runtime::{Delivery, Inbox, Timer};
use crate::Runtime;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use spigo_proto::{Address, Gotocol, Imposition, Intention, StampedEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a shard's batches go: the coordinator's edda, locally or remotely.
pub trait EventSink: Send + Sync + 'static {
    fn send_batch(&self, batch: Vec<StampedEvent>);
}

/// A shard on a cluster node sends its batches over the link to the
/// coordinator (node 0).
pub struct LinkSink(pub Arc<Runtime>);

impl EventSink for LinkSink {
    fn send_batch(&self, batch: Vec<StampedEvent>) {
        let n = batch.len();
        if self
            .0
            .send_frame(0, spigo_proto::cluster::Frame::Events(batch))
            .is_err()
        {
            tracing::warn!("edda shard: the coordinator is gone; {n} graph events lost");
        }
    }
}

/// A batch is sent once it holds this many events...
pub const BATCH_EVENTS: usize = spigo_proto::cluster::MAX_EVENTS;
/// ...or this long after its first event, whichever comes first.
pub const BATCH_DELAY: Duration = Duration::from_millis(50);

pub struct EddaShard;

/// The shard's one timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchDue {
    /// [`BATCH_DELAY`] has passed since the batch's first event.
    Flush,
}

impl Timer for BatchDue {
    const ALL: &'static [BatchDue] = &[BatchDue::Flush];
}

pub enum Msg {
    Delivery(Delivery<BatchDue>),
    /// Sends what is pending and answers with the number of events sent so
    /// far; everything queued before this message is included.
    Flush(RpcReplyPort<u64>),
}

impl From<Delivery<BatchDue>> for Msg {
    fn from(d: Delivery<BatchDue>) -> Msg {
        Msg::Delivery(d)
    }
}

impl Inbox for Msg {
    type Timer = BatchDue;
}

pub struct Arguments {
    pub rt: Arc<Runtime>,
    pub me: Address,
    pub sink: Box<dyn EventSink>,
}

pub struct State {
    rt: Arc<Runtime>,
    me: Address,
    sink: Box<dyn EventSink>,
    batch: Vec<StampedEvent>,
    sent: u64,
}

impl State {
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        self.sent += self.batch.len() as u64;
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_EVENTS));
        self.sink.send_batch(batch);
    }
}

impl Actor for EddaShard {
    type Msg = Msg;
    type State = State;
    type Arguments = Arguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Msg>,
        args: Arguments,
    ) -> Result<State, ActorProcessingErr> {
        Ok(State {
            rt: args.rt,
            me: args.me,
            sink: args.sink,
            batch: Vec::with_capacity(BATCH_EVENTS),
            sent: 0,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Msg>,
        msg: Msg,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Delivery(Delivery::Message(Gotocol {
                imposition: Imposition::Inform,
                sent,
                intention: Intention::Event(event),
                ..
            })) => {
                if state.batch.is_empty() {
                    let due = Instant::now() + BATCH_DELAY;
                    state.rt.set_timer(due, state.me, BatchDue::Flush);
                }
                state.batch.push(StampedEvent { time: sent, event });
                if state.batch.len() >= BATCH_EVENTS {
                    state.flush();
                }
            }
            Msg::Delivery(Delivery::Message(other)) => {
                tracing::debug!("edda: ignoring {} {}", other.imposition, other.intention)
            }
            Msg::Delivery(Delivery::Timer(BatchDue::Flush)) => state.flush(),
            Msg::Flush(reply) => {
                state.flush();
                let _ = reply.send(state.sent);
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Msg>,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        state.flush();
        Ok(())
    }
}
