//! karyon: Netflix's base server for business-logic microservices (the
//! prototype every new service is copied from). It calls a random
//! dependency for each request and relays the answer.

use super::service::Proxy;

pub struct Karyon;

impl Proxy for Karyon {}

#[cfg(test)]
mod tests {
    use crate::packages::spawn::spawn_instance;
    use crate::runtime::clock;
    use crate::testkit::{hand_dependency, next, probe, spec};
    use crate::Runtime;
    use spigo_proto::{Gotocol, Imposition, Intention, Package, Reason, TraceContext};
    use std::sync::Arc;

    fn get(client: spigo_proto::Address, hops: u8) -> Gotocol {
        let ctx = TraceContext {
            trace: 1,
            parent: 0,
            span: 10,
        };
        Gotocol::new(
            Imposition::GetRequest,
            Some(client),
            clock::now(),
            Intention::Text("k".into()),
        )
        .with_ctx(ctx)
        .with_hops(hops)
    }

    async fn karyon(rt: &Arc<Runtime>, deps: &[(&str, Package)]) -> spigo_proto::Address {
        let at = rt.reserve(1).unwrap();
        spawn_instance(rt, spec(at, Package::Karyon, deps))
            .await
            .unwrap();
        at
    }

    #[tokio::test]
    async fn requests_beyond_the_hop_limit_are_answered_failed() {
        let rt = Runtime::new(0, false).unwrap();
        let (client, mut client_rx) = probe(&rt).await;
        let (dep, mut dep_rx) = probe(&rt).await;
        let at = karyon(&rt, &[("next", Package::Karyon)]).await;
        hand_dependency(&rt, at, dep, "next");

        // Within the limit: passed on, one hop further.
        rt.send(at, get(client, 31)).unwrap();
        let passed = next(&mut dep_rx).await;
        assert_eq!(
            (passed.imposition, passed.hops),
            (Imposition::GetRequest, 32)
        );
        // A failure answer from below goes back up like any answer.
        let failed = Gotocol::new(
            Imposition::GetResponse,
            Some(dep),
            clock::now(),
            Intention::Failed(Reason::Shed),
        );
        rt.send(at, failed.with_ctx(passed.ctx)).unwrap();
        let answer = next(&mut client_rx).await;
        assert_eq!(answer.intention, Intention::Failed(Reason::Shed));
        assert_eq!(answer.ctx.span, 10);

        // Beyond it: dropped here, the asker told why.
        rt.send(at, get(client, 33)).unwrap();
        let answer = next(&mut client_rx).await;
        assert_eq!(answer.intention, Intention::Failed(Reason::HopLimit));
        let figures = rt.metrics_report().services;
        assert_eq!(figures[0].requests, 2);
    }

    #[tokio::test]
    async fn with_no_live_dependency_a_request_is_undeliverable() {
        let rt = Runtime::new(0, false).unwrap();
        let (client, mut client_rx) = probe(&rt).await;
        let at = karyon(&rt, &[("next", Package::Karyon)]).await;
        rt.send(at, get(client, 0)).unwrap();
        let answer = next(&mut client_rx).await;
        assert_eq!(answer.intention, Intention::Failed(Reason::Undeliverable));
        let put = Gotocol::new(
            Imposition::Put,
            Some(client),
            clock::now(),
            Intention::Pair(Box::new(["k".into(), "v".into()])),
        );
        rt.send(at, put.clone()).unwrap();
        // A tier with no dependency at all is the end of the line.
        let leaf = karyon(&rt, &[]).await;
        rt.send(leaf, get(client, 0)).unwrap();
        assert_eq!(next(&mut client_rx).await.intention, Intention::None);
        rt.send(leaf, put).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let t = rt.traffic();
        assert_eq!(t.puts_failed[Reason::Undeliverable.index()], 1);
        assert_eq!(t.puts_delivered, 1);
    }
}
