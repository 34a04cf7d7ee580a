//! Test fixtures: a probe actor that stands in for an FSM, asgard, edda or
//! a peer and hands whatever it receives to the test, and specs of
//! instances. It sits at the top of the crate, beside the rooms, because
//! the tests of all three use it.

use crate::runtime::Delivery;
use crate::Runtime;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use spigo_proto::{Address, Gotocol};
use std::sync::Arc;
use tokio::sync::mpsc;

struct Probe;

impl Actor for Probe {
    type Msg = Delivery;
    type State = mpsc::UnboundedSender<Gotocol>;
    type Arguments = mpsc::UnboundedSender<Gotocol>;

    async fn pre_start(
        &self,
        _: ActorRef<Delivery>,
        tx: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(tx)
    }

    async fn handle(
        &self,
        _: ActorRef<Delivery>,
        delivery: Delivery,
        tx: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let Delivery::Message(m) = delivery;
        let _ = tx.send(m);
        Ok(())
    }
}

/// A new probe at a fresh address, and the messages it receives.
pub(crate) async fn probe(rt: &Arc<Runtime>) -> (Address, mpsc::UnboundedReceiver<Gotocol>) {
    probe_at(rt, None).await
}

/// A probe that runs at `location` (the latency model applies to it).
pub(crate) async fn probe_at(
    rt: &Arc<Runtime>,
    location: Option<spigo_proto::archaius::Location>,
) -> (Address, mpsc::UnboundedReceiver<Gotocol>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let at = rt.reserve(1).unwrap();
    let (actor, _) = Actor::spawn(None, Probe, tx).await.unwrap();
    rt.register_at(at, &actor, location).unwrap();
    (at, rx)
}

/// Receives the next message, failing the test after a second.
pub(crate) async fn next(rx: &mut mpsc::UnboundedReceiver<Gotocol>) -> Gotocol {
    tokio::time::timeout(std::time::Duration::from_secs(1), rx.recv())
        .await
        .expect("a message within a second")
        .expect("probe alive")
}

/// A spec for an instance at `at` with the given dependencies and no
/// registries (tests hand it its dependencies directly).
pub(crate) fn spec(
    at: Address,
    package: spigo_proto::Package,
    deps: &[(&str, spigo_proto::Package)],
) -> spigo_proto::spec::InstanceSpec {
    use spigo_proto::spec::{DependencySpec, InstanceSpec};
    InstanceSpec {
        record: spigo_proto::NodeRecord {
            id: at,
            name: spigo_proto::Name::new("t", "r", "z", "x00", "x", package.as_str()).to_string(),
            package: package.as_str().into(),
            metadata: String::new(),
            location: Default::default(),
        },
        package,
        service: "x".into(),
        dependencies: deps
            .iter()
            .map(|(s, p)| DependencySpec {
                service: (*s).into(),
                package: *p,
            })
            .collect(),
        registries: Vec::new(),
        eureka_poll: std::time::Duration::from_secs(3600),
        cross_region: false,
        seed: 1,
        hop_limit: spigo_proto::archaius::DEFAULT_HOPS,
        traffic: None,
        work: None,
        calls: None,
    }
}

/// Tells `to` that `dep` is an instance of `service` (as eureka would).
pub(crate) fn hand_dependency(rt: &Runtime, to: Address, dep: Address, service: &str) {
    let intention = spigo_proto::Intention::Instance {
        service: service.into(),
        location: Default::default(),
    };
    let msg = Gotocol::new(
        spigo_proto::Imposition::NameDrop,
        Some(dep),
        crate::runtime::clock::now(),
        intention,
    );
    rt.send(to, msg).unwrap();
}
