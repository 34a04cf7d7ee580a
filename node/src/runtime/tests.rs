//! Tests of the runtime as a whole: messages through the address table
//! and the latency model, as actors see them.

use super::{clock, Runtime, Settings};
use crate::testkit::{next, probe_at};
use spigo_proto::archaius::{default_regions, Location};
use spigo_proto::latency::LatencyModel;
use spigo_proto::{Gotocol, Imposition, Intention};
use std::time::Duration;

fn rt() -> std::sync::Arc<Runtime> {
    Runtime::with(Settings {
        node: 0,
        log_messages: false,
        latency: Some(LatencyModel::aws(&default_regions()).unwrap()),
        seed: 1,
        collect: None,
    })
    .unwrap()
}

#[tokio::test]
async fn messages_arrive_no_earlier_than_the_model_says() {
    let rt = rt();
    let (east, mut east_rx) = probe_at(&rt, Some(Location::new(0, 0))).await;
    let (west, mut west_rx) = probe_at(&rt, Some(Location::new(1, 0))).await;
    let (infra, mut infra_rx) = probe_at(&rt, None).await;
    let send = |to, from: Location| {
        let msg = Gotocol::new(Imposition::GetRequest, None, clock::now(), Intention::None)
            .from_location(from);
        rt.send(to, msg).unwrap();
    };
    send(west, Location::new(0, 1));
    send(east, Location::new(0, 0));
    send(infra, Location::new(1, 0));
    let got = next(&mut infra_rx).await;
    assert!(
        clock::now().since(got.sent) < Duration::from_millis(5),
        "infrastructure is never held"
    );
    let got = next(&mut east_rx).await;
    let took = clock::now().since(got.sent);
    assert!(
        took >= Duration::from_micros(225) && took < Duration::from_millis(5),
        "{took:?}"
    );
    let got = tokio::time::timeout(Duration::from_secs(1), west_rx.recv())
        .await
        .unwrap()
        .unwrap();
    let took = clock::now().since(got.sent);
    assert!(
        took >= Duration::from_micros(43_500) && took < Duration::from_millis(60),
        "{took:?}"
    );
    let report = rt.latency_report();
    assert_eq!(report.len(), 2);
    assert!(report.iter().all(|r| r.late == 0));
}

#[tokio::test]
async fn messages_already_late_go_at_once_and_are_counted() {
    let rt = rt();
    let (west, mut west_rx) = probe_at(&rt, Some(Location::new(1, 0))).await;
    let mut msg = Gotocol::new(Imposition::GetRequest, None, clock::now(), Intention::None)
        .from_location(Location::new(0, 0));
    msg.sent = spigo_proto::Timestamp(msg.sent.0 - 100_000_000);
    rt.send(west, msg).unwrap();
    next(&mut west_rx).await;
    let report = rt.latency_report();
    assert_eq!(report[0].late, 1);
}

/// A request from another node that cannot be delivered here is answered
/// as failed (a get) or counted as failed (a put): its sender is not
/// waiting on the send to learn of it.
#[tokio::test]
async fn requests_from_a_link_that_cannot_be_delivered_are_answered_failed() {
    use spigo_proto::{Reason, TraceContext};
    let rt = Runtime::new(0, false).unwrap();
    let (asker, mut asker_rx) = probe_at(&rt, None).await;
    let nobody = rt.reserve(1).unwrap();
    let ctx = TraceContext {
        trace: 3,
        parent: 0,
        span: 30,
    };
    let get = Gotocol::new(
        Imposition::GetRequest,
        Some(asker),
        clock::now(),
        Intention::Text("k".into()),
    )
    .with_ctx(ctx);
    rt.deliver_from_link(nobody, get);
    let answer = next(&mut asker_rx).await;
    assert_eq!(answer.imposition, Imposition::GetResponse);
    assert_eq!(answer.intention, Intention::Failed(Reason::Undeliverable));
    assert_eq!(answer.ctx, ctx, "under the span the asker waits on");

    let put = Gotocol::new(
        Imposition::Put,
        Some(asker),
        clock::now(),
        Intention::Pair(Box::new(["k".into(), "v".into()])),
    );
    rt.deliver_from_link(nobody, put);
    // Not request traffic: a registry's poll is not accounted for.
    let poll = Gotocol::new(
        Imposition::GetRequest,
        Some(asker),
        clock::now(),
        Intention::None,
    );
    rt.deliver_from_link(nobody, poll);
    let t = rt.traffic();
    assert_eq!(t.puts_failed[Reason::Undeliverable.index()], 1);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), asker_rx.recv())
            .await
            .is_err(),
        "no answer to what is not a request"
    );
}

/// A send to a node without a link says why: never linked or fenced (the
/// node is lost), or only its link is down (it may come back).
#[tokio::test]
async fn a_send_without_a_link_says_whether_the_node_or_the_link_is_gone() {
    use super::links::LinkTx;
    use super::SendError;
    use spigo_proto::Address;
    let rt = rt();
    let get = || Gotocol::new(Imposition::GetRequest, None, clock::now(), Intention::None);
    let never = Address::new(3, 100);
    assert_eq!(rt.send(never, get()), Err(SendError::NoRoute(3)));
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    rt.set_link(2, LinkTx::new(tx, Default::default(), Default::default()));
    rt.remove_link(2);
    let there = Address::new(2, 100);
    assert_eq!(rt.send(there, get()), Err(SendError::LinkDown(2)));
    assert_eq!(
        SendError::LinkDown(2).reason().as_str(),
        "link down",
        "counted apart from a lost node"
    );
    rt.fence(2);
    assert_eq!(rt.send(there, get()), Err(SendError::NoRoute(2)));
}
