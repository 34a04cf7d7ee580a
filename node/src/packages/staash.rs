//! staash: Storage Tier As A Service HTTP, Netflix's data access layer. A
//! get is looked up in its dependencies in a fixed order (cache, volume,
//! priamCassandra, store, then other staash instances), falling through to
//! the next kind on an empty answer; a put is written to one instance of
//! every storage dependency.

use super::service::{Behaviour, Core};
use spigo_proto::{Gotocol, Imposition, Intention, Package, Reason};

pub struct Staash;

pub struct State {
    /// Dependency indices in look-up order.
    order: Vec<usize>,
}

fn rank(p: Package) -> u8 {
    match p {
        Package::Cache => 0,
        Package::Volume => 1,
        Package::PriamCassandra => 2,
        Package::Store | Package::Riak => 3,
        Package::Staash => 4,
        _ => 5,
    }
}

impl State {
    /// Asks the first dependency at or after `stage` that takes the
    /// request; if none is left, the error says why the last one did not.
    fn ask_from(&self, core: &mut Core, request: &Gotocol, stage: usize) -> Result<(), Reason> {
        let mut why = Reason::Undeliverable;
        for (s, &d) in self.order.iter().enumerate().skip(stage) {
            match core.call_with(request, s as u8, |core| core.pick_in(d)) {
                Ok(()) => return Ok(()),
                Err(reason) => why = reason,
            }
        }
        Err(why)
    }

    /// Writes a put to one instance of every storage dependency: each
    /// write after the first is a put of its own, counted as forked, and
    /// each ends (or fails) on its own. With no storage at all the put
    /// ends here.
    fn write(&self, core: &mut Core, msg: &Gotocol) {
        let mut writes = 0;
        for &d in &self.order {
            if core.deps()[d].package != Package::Staash {
                writes += 1;
                if let Err(reason) = core.call_with(msg, 0, |core| core.pick_in(d)) {
                    core.rt().put_failed(reason);
                }
            }
        }
        match writes {
            0 => core.delivered(),
            n => core.rt().puts_forked(n - 1),
        }
    }
}

impl Behaviour for Staash {
    type State = State;

    fn init(core: &Core) -> State {
        let mut order: Vec<usize> = (0..core.deps().len()).collect();
        order.sort_by_key(|&d| rank(core.deps()[d].package));
        State { order }
    }

    fn request(&self, core: &mut Core, state: &mut State, msg: Gotocol) {
        match msg.imposition {
            Imposition::GetRequest => {
                if let Err(reason) = state.ask_from(core, &msg, 0) {
                    core.end_or_fail(&msg, reason);
                }
            }
            Imposition::GetResponse => {
                let Some(pending) = core.take_pending(&msg) else {
                    return;
                };
                let empty = matches!(msg.intention, Intention::None);
                if empty {
                    let again = pending.original();
                    // Nothing left to fall through to: the miss stands.
                    if state
                        .ask_from(core, &again, pending.stage as usize + 1)
                        .is_ok()
                    {
                        return;
                    }
                }
                core.relay(&pending, msg.intention);
            }
            Imposition::Put => state.write(core, &msg),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::packages::spawn::spawn_instance;
    use crate::runtime::clock;
    use crate::testkit::{hand_dependency, next, probe, spec};
    use crate::Runtime;
    use spigo_proto::{Gotocol, Imposition, Intention, Package, TraceContext};

    #[tokio::test]
    async fn gets_fall_through_to_the_next_kind_of_store() {
        let rt = Runtime::new(0, false).unwrap();
        let (cache, mut cache_rx) = probe(&rt).await;
        let (db, mut db_rx) = probe(&rt).await;
        let (client, mut client_rx) = probe(&rt).await;
        let at = rt.reserve(1).unwrap();
        // Declared database first: the cache must still be asked first.
        let deps = [("db", Package::Store), ("mem", Package::Cache)];
        spawn_instance(&rt, spec(at, Package::Staash, &deps))
            .await
            .unwrap();
        hand_dependency(&rt, at, db, "db");
        hand_dependency(&rt, at, cache, "mem");

        let ctx = TraceContext {
            trace: 7,
            parent: 0,
            span: 70,
        };
        let get = Gotocol::new(
            Imposition::GetRequest,
            Some(client),
            clock::now(),
            Intention::Text("k".into()),
        );
        rt.send(at, get.with_ctx(ctx)).unwrap();

        let asked = next(&mut cache_rx).await;
        assert_eq!(
            (asked.imposition, asked.ctx.trace, asked.ctx.parent),
            (Imposition::GetRequest, 7, 70)
        );
        let miss = Gotocol::new(
            Imposition::GetResponse,
            Some(cache),
            clock::now(),
            Intention::None,
        );
        rt.send(at, miss.with_ctx(asked.ctx)).unwrap();

        let asked = next(&mut db_rx).await;
        assert_eq!(asked.intention, Intention::Text("k".into()));
        let hit = Gotocol::new(
            Imposition::GetResponse,
            Some(db),
            clock::now(),
            Intention::Text("v".into()),
        );
        rt.send(at, hit.with_ctx(asked.ctx)).unwrap();

        let answer = next(&mut client_rx).await;
        assert_eq!(answer.imposition, Imposition::GetResponse);
        assert_eq!(answer.intention, Intention::Text("v".into()));
        assert_eq!(
            answer.ctx, ctx,
            "the answer goes back under the caller's span"
        );
    }
}
