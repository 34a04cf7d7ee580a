//! edda: the actor that merges the graph events of every node into one
//! [`Graph`] (named after Netflix's edda, which records the history of a
//! cloud's changes).
//!
//! Each node's edda shard sends batches here; the coordinator's own shard
//! hands them over in this process ([`LocalSink`]). [`Recorder`] starts both
//! for a run that writes a graph and hands the finished graph over at the end.

use super::graph::{Graph, Watch};
use anyhow::{Context, Result};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use spigo_node::packages::edda::{self as shard, EddaShard, EventSink};
use spigo_node::Runtime;
use spigo_proto::StampedEvent;
use std::sync::Arc;

/// The edda actor of the coordinator.
pub(crate) struct Edda;

pub(crate) enum Msg {
    Batch(Vec<StampedEvent>),
    /// All shards have flushed: hand over the finished graph.
    Finish(RpcReplyPort<Graph>),
}

impl Actor for Edda {
    type Msg = Msg;
    type State = Option<Graph>;
    type Arguments = Graph;

    async fn pre_start(
        &self,
        _: ActorRef<Msg>,
        graph: Graph,
    ) -> Result<Option<Graph>, ActorProcessingErr> {
        Ok(Some(graph))
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        state: &mut Option<Graph>,
    ) -> Result<(), ActorProcessingErr> {
        let Some(graph) = state.as_mut() else {
            return Ok(());
        };
        match msg {
            Msg::Batch(batch) => {
                for ev in batch {
                    graph.add(ev);
                }
                graph.settle();
            }
            Msg::Finish(reply) => {
                let mut graph = state.take().expect("checked above");
                graph.finish();
                let _ = reply.send(graph);
            }
        }
        Ok(())
    }
}

/// Shards on this process hand their batches straight to the edda actor.
pub(crate) struct LocalSink(pub ActorRef<Msg>);

impl EventSink for LocalSink {
    fn send_batch(&self, batch: Vec<StampedEvent>) {
        if let Err(e) = self.0.send_message(Msg::Batch(batch)) {
            tracing::warn!("edda: lost a batch of graph events: {e}");
        }
    }
}

/// The edda actors of a run that writes a graph.
pub(crate) struct Recorder {
    shard: ActorRef<shard::Msg>,
    pub shard_at: spigo_proto::Address,
    pub edda: ActorRef<Msg>,
}

impl Recorder {
    pub(crate) async fn start(
        rt: &Arc<Runtime>,
        filter: bool,
        feed: Option<Arc<dyn Watch>>,
    ) -> Result<Recorder> {
        let (edda, _) = Actor::spawn(None, Edda, Graph::new(filter).with_feed(feed))
            .await
            .context("cannot start edda")?;
        let shard_at = rt.reserve(1)?;
        let args = shard::Arguments {
            rt: rt.clone(),
            me: shard_at,
            sink: Box::new(LocalSink(edda.clone())),
        };
        let (shard, _) = Actor::spawn(None, EddaShard, args)
            .await
            .context("cannot start the edda shard")?;
        rt.register(shard_at, &shard)?;
        Ok(Recorder {
            shard,
            shard_at,
            edda,
        })
    }

    /// Flushes the shard and takes the merged graph from edda, with the
    /// number of events the local shard sent.
    pub(crate) async fn finish(self) -> Result<(Graph, u64)> {
        let sent =
            ractor::call!(self.shard, shard::Msg::Flush).context("edda shard did not flush")?;
        let graph = ractor::call!(self.edda, Msg::Finish).context("edda did not finish")?;
        self.shard.stop(None);
        self.edda.stop(None);
        Ok((graph, sent))
    }
}
