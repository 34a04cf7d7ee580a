//! eureka: the service registry (Netflix's Eureka), one per zone.
//!
//! Instances register with their zone's registry, which records them in the
//! graph (edda's node entry) and replicates the registration to the other
//! zones of its region. Each registry keeps, per service, an append-only log
//! of registrations and deletions; a poll names the position already seen
//! and gets only what changed since, as NameDrop (new instance) and Forget
//! (instance gone) messages, then a GetResponse with the new position.
//!
//! A poll may ask for one zone only (zone-aware clients). If that zone has
//! no live instance of the service, the registry answers with every live
//! instance instead, so a client never ends up with nowhere to go.
//!
//! An instance that left meanwhile needs no answer, so what a registry
//! sends may fail unnoticed.

use super::lifecycle::{Kind, Lifecycle};
use crate::runtime::NoTimer;
use crate::Runtime;
use compact_str::CompactString;
use spigo_proto::archaius::Location;
use spigo_proto::time::GoDuration;
use spigo_proto::{Address, Exit, Gotocol, GraphEvent, Imposition, Intention, Name, NodeRecord};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Eureka;

pub struct Arguments {
    pub rt: Arc<Runtime>,
    pub me: Address,
}

#[derive(Clone, Copy)]
enum Change {
    Registered,
    Deleted(Exit),
}

#[derive(Clone, Copy)]
struct Entry {
    addr: Address,
    location: Location,
    change: Change,
}

#[derive(Default)]
struct ServiceLog {
    log: Vec<Entry>,
    live: HashMap<Address, Location>,
    /// How many of `live` are in each zone, so a zone-aware poll need not
    /// look through them all.
    live_in_zone: HashMap<u8, usize>,
}

impl ServiceLog {
    fn zone_has_some(&self, zone: u8) -> bool {
        self.live_in_zone.get(&zone).is_some_and(|&n| n > 0)
    }

    fn count_zone(&mut self, zone: u8, up: bool) {
        let n = self.live_in_zone.entry(zone).or_default();
        if up {
            *n += 1;
        } else {
            *n -= 1;
        }
    }
}

/// With `-v`, what changed in a registry, said at most once a second: a
/// registry of 100,000 instances would otherwise say something for every
/// registration and every poll.
#[derive(Default)]
struct Tally {
    registered: usize,
    left: usize,
    said: Option<Instant>,
}

impl Tally {
    const EVERY: Duration = Duration::from_secs(1);

    /// Says what changed since the last time, if anything did and a second
    /// has passed, or `now_anyway` (the registry is stopping).
    /// `counts` gives the live instances and services, asked only then.
    fn say(&mut self, name: &str, now_anyway: bool, counts: impl FnOnce() -> (usize, usize)) {
        if self.registered + self.left == 0 || !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let now = Instant::now();
        let since = *self.said.get_or_insert(now);
        if !now_anyway && now.duration_since(since) < Self::EVERY {
            return;
        }
        let (live, services) = counts();
        tracing::debug!(
            "{name}: {} registered, {} left in {}; {live} live in {services} services",
            self.registered,
            self.left,
            GoDuration(now.duration_since(since)),
        );
        *self = Tally {
            said: Some(now),
            ..Tally::default()
        };
    }
}

pub struct State {
    life: Lifecycle<NoTimer>,
    /// What `-v` is told of registrations and departures.
    tally: Tally,
    /// The registries of the other zones of this region.
    siblings: Vec<Address>,
    services: HashMap<CompactString, ServiceLog>,
    /// Which service each registered address belongs to.
    owner: HashMap<Address, CompactString>,
}

impl State {
    fn register(&mut self, record: &NodeRecord) {
        let service: CompactString = match Name::parse(&record.name) {
            Ok(n) if !n.service.is_empty() => n.service.into(),
            _ => record.name.as_str().into(),
        };
        let log = self.services.entry(service.clone()).or_default();
        let before = log.live.insert(record.id, record.location);
        if let Some(old) = before {
            log.count_zone(old.zone, false);
        }
        log.count_zone(record.location.zone, true);
        if before.is_none() {
            self.tally.registered += 1;
            log.log.push(Entry {
                addr: record.id,
                location: record.location,
                change: Change::Registered,
            });
        }
        self.owner.insert(record.id, service);
    }

    fn unregister(&mut self, id: Address, exit: Exit) -> bool {
        let Some(service) = self.owner.remove(&id) else {
            return false;
        };
        let Some(log) = self.services.get_mut(&service) else {
            return false;
        };
        let Some(location) = log.live.remove(&id) else {
            return false;
        };
        log.count_zone(location.zone, false);
        log.log.push(Entry {
            addr: id,
            location,
            change: Change::Deleted(exit),
        });
        self.tally.left += 1;
        true
    }

    /// Passes the tally on to `-v`, when it is time.
    fn say(&mut self, now_anyway: bool) {
        let (services, owner) = (&self.services, &self.owner);
        self.tally.say(self.life.name(), now_anyway, || {
            let in_use = services.values().filter(|l| !l.live.is_empty()).count();
            (owner.len(), in_use)
        });
    }

    fn answer_poll(&self, client: Address, service: CompactString, zone: Option<u8>, since: u64) {
        let Some(log) = self.services.get(&service) else {
            let done = Intention::Poll {
                service,
                zone,
                since,
            };
            self.life.tell(client, Imposition::GetResponse, done);
            return;
        };
        let start = (since as usize).min(log.log.len());
        let zone_has_some = zone.is_none_or(|z| log.zone_has_some(z));
        let instance = |location| Intention::Instance {
            service: service.clone(),
            location,
        };
        if !zone_has_some {
            for (&addr, &location) in &log.live {
                self.life
                    .tell_about(client, Imposition::NameDrop, addr, instance(location));
            }
        }
        for e in &log.log[start..] {
            match e.change {
                Change::Registered
                    if zone_has_some && zone.is_none_or(|z| e.location.zone == z) =>
                {
                    self.life.tell_about(
                        client,
                        Imposition::NameDrop,
                        e.addr,
                        instance(e.location),
                    );
                }
                // The end of a run is not a loss worth a forget in the graph.
                Change::Deleted(exit) if exit != Exit::Normal => {
                    self.life
                        .tell_about(client, Imposition::Forget, e.addr, instance(e.location));
                }
                _ => {}
            }
        }
        let done = Intention::Poll {
            service,
            zone,
            since: log.log.len() as u64,
        };
        self.life.tell(client, Imposition::GetResponse, done);
    }

    /// Passes what happened here on to the other zones' registries.
    fn replicate(&self, event: impl Fn() -> GraphEvent) {
        for &s in &self.siblings {
            self.life
                .tell(s, Imposition::Replicate, Intention::Event(event()));
        }
    }
}

impl Kind for Eureka {
    type Timer = NoTimer;
    type State = State;
    type Arguments = Arguments;

    fn start(&self, args: Arguments) -> State {
        State {
            life: Lifecycle::new(args.rt, args.me, None),
            siblings: Vec::new(),
            tally: Tally::default(),
            services: HashMap::new(),
            owner: HashMap::new(),
        }
    }

    fn life(state: &mut State) -> &mut Lifecycle<NoTimer> {
        &mut state.life
    }

    fn receive(&self, state: &mut State, msg: Gotocol) {
        let from = msg.reply_to;
        match (msg.imposition, msg.intention) {
            (Imposition::NameDrop, _) => state.siblings.extend(from),
            // An instance of this zone registers.
            (Imposition::Put, Intention::Event(GraphEvent::Node(record))) => {
                state.register(&record);
                state.replicate(|| GraphEvent::Node(record.clone()));
                state
                    .life
                    .tell(record.id, Imposition::Hello, Intention::None);
                state.life.record(GraphEvent::Node(record));
            }
            (Imposition::Delete, Intention::Event(GraphEvent::Done { id, exit })) => {
                if state.unregister(id, exit) {
                    state.replicate(|| GraphEvent::Done { id, exit });
                    state.life.record(GraphEvent::Done { id, exit });
                }
            }
            // Another zone's registry passes on what happened there.
            (Imposition::Replicate, Intention::Event(GraphEvent::Node(record))) => {
                state.register(&record)
            }
            (Imposition::Replicate, Intention::Event(GraphEvent::Done { id, exit })) => {
                state.unregister(id, exit);
            }
            (
                Imposition::GetRequest,
                Intention::Poll {
                    service,
                    zone,
                    since,
                },
            ) => {
                if let Some(client) = from {
                    state.answer_poll(client, service, zone, since);
                }
            }
            (imposition, _) => tracing::debug!("{}: ignoring {imposition}", state.life.name()),
        }
        // Polls keep coming once registrations stop, so the last of them
        // are said within a second too.
        state.say(false);
    }

    fn goodbye(&self, state: &mut State, _: Exit) {
        state.say(true);
    }

    fn timer(&self, _: &mut State, timer: NoTimer) {
        match timer {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::clock;
    use crate::testkit::{next, probe};

    fn record(id: Address, instance: &str, zone: u8) -> Box<NodeRecord> {
        let zones = ["zoneA", "zoneB", "zoneC"];
        Box::new(NodeRecord {
            id,
            name: Name::new(
                "t",
                "us-east-1",
                zones[zone as usize],
                instance,
                "web",
                "karyon",
            )
            .to_string(),
            package: "karyon".into(),
            metadata: String::new(),
            location: Location::new(0, zone),
        })
    }

    async fn registry(rt: &Arc<Runtime>) -> Address {
        let at = rt.reserve(1).unwrap();
        crate::packages::spawn::spawn_registry(rt, at)
            .await
            .unwrap();
        at
    }

    fn send(
        rt: &Runtime,
        to: Address,
        from: Address,
        imposition: Imposition,
        intention: Intention,
    ) {
        rt.send(
            to,
            Gotocol::new(imposition, Some(from), clock::now(), intention),
        )
        .unwrap();
    }

    fn poll(zone: Option<u8>, since: u64) -> Intention {
        Intention::Poll {
            service: "web".into(),
            zone,
            since,
        }
    }

    #[tokio::test]
    async fn registrations_replicate_and_polls_see_only_changes() {
        let rt = Runtime::new(0, false).unwrap();
        let (home, other) = (registry(&rt).await, registry(&rt).await);
        let (edda, mut edda_rx) = probe(&rt).await;
        let (a, mut a_rx) = probe(&rt).await;
        let (client, mut client_rx) = probe(&rt).await;
        send(&rt, home, edda, Imposition::Inform, Intention::None);
        send(&rt, home, other, Imposition::NameDrop, Intention::None);
        send(
            &rt,
            home,
            a,
            Imposition::Put,
            Intention::Event(GraphEvent::Node(record(a, "web00", 0))),
        );
        assert_eq!(
            next(&mut a_rx).await.imposition,
            Imposition::Hello,
            "registration is acknowledged"
        );
        assert!(matches!(
            next(&mut edda_rx).await.intention,
            Intention::Event(GraphEvent::Node(_))
        ));

        // The other zone's registry got the replica.
        send(&rt, other, client, Imposition::GetRequest, poll(None, 0));
        let found = next(&mut client_rx).await;
        assert_eq!(
            (found.imposition, found.reply_to),
            (Imposition::NameDrop, Some(a))
        );
        let done = next(&mut client_rx).await;
        assert_eq!(done.intention, poll(None, 1));

        // Nothing new since position 1; then the chaos monkey's victim leaves.
        send(&rt, home, client, Imposition::GetRequest, poll(None, 1));
        assert_eq!(next(&mut client_rx).await.intention, poll(None, 1));
        let gone = GraphEvent::Done {
            id: a,
            exit: Exit::ChaosMonkey,
        };
        send(&rt, home, a, Imposition::Delete, Intention::Event(gone));
        for registry in [home, other] {
            // Once home has answered, its replica of the deletion is on its way
            // ahead of this poll to the other registry.
            send(&rt, registry, client, Imposition::GetRequest, poll(None, 1));
            let forget = next(&mut client_rx).await;
            assert_eq!(
                (forget.imposition, forget.reply_to),
                (Imposition::Forget, Some(a))
            );
            assert_eq!(next(&mut client_rx).await.intention, poll(None, 2));
        }
    }

    #[tokio::test]
    async fn zone_polls_fall_back_to_every_zone() {
        let rt = Runtime::new(0, false).unwrap();
        let home = registry(&rt).await;
        let (a, mut a_rx) = probe(&rt).await;
        let (b, mut b_rx) = probe(&rt).await;
        let (client, mut client_rx) = probe(&rt).await;
        send(
            &rt,
            home,
            a,
            Imposition::Put,
            Intention::Event(GraphEvent::Node(record(a, "web00", 0))),
        );
        send(
            &rt,
            home,
            b,
            Imposition::Put,
            Intention::Event(GraphEvent::Node(record(b, "web01", 1))),
        );
        next(&mut a_rx).await;
        next(&mut b_rx).await;
        // Zone B has b: only b is offered.
        send(&rt, home, client, Imposition::GetRequest, poll(Some(1), 0));
        assert_eq!(next(&mut client_rx).await.reply_to, Some(b));
        assert_eq!(next(&mut client_rx).await.intention, poll(Some(1), 2));
        // Zone C has none: everything live is offered.
        send(&rt, home, client, Imposition::GetRequest, poll(Some(2), 0));
        let mut offered = vec![
            next(&mut client_rx).await.reply_to,
            next(&mut client_rx).await.reply_to,
        ];
        offered.sort();
        assert_eq!(offered, vec![Some(a), Some(b)]);
    }
}
