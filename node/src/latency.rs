//! The latency gate: where the model holds messages back.
//!
//! A message for a local instance is released no earlier than its send
//! time plus the model's one-way latency between the sender's location and
//! the receiver's. Time already spent in real transport (queues, the link
//! between node processes) counts towards it, so it is subtracted, not
//! added; a message whose transport alone took longer is delivered at once
//! and counted as late. Infrastructure actors (asgard, eureka, edda) have no
//! location and are never held. Measured delays are kept per pair of
//! regions, one histogram each.

use crate::clock;
use crate::metrics::{micros_histogram, record, recorded};
use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use spigo_proto::archaius::Location;
use spigo_proto::cluster::{PairReport, Reach};
use spigo_proto::latency::LatencyModel;
use spigo_proto::{Gotocol, Timestamp};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Which figures a message's delay is recorded with: regions from and to,
/// and whether it stayed in a zone, crossed zones, or crossed regions.
pub type PairKey = (u8, u8, Reach);

/// A message being held: what to record when it is released.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub key: PairKey,
    pub model: Duration,
    pub sent: Timestamp,
}

fn reach(from: Location, to: Location) -> Reach {
    use spigo_proto::archaius::ANY;
    if LatencyModel::region_of(from) != LatencyModel::region_of(to) {
        Reach::Region
    } else if from.zone == to.zone || from.zone == ANY || to.zone == ANY {
        Reach::Zone
    } else {
        Reach::CrossZone
    }
}

struct PairStats {
    model: Duration,
    late: u64,
    delay: Histogram<u64>,
}

pub struct Gate {
    model: LatencyModel,
    seed: u64,
    pairs: Mutex<BTreeMap<PairKey, PairStats>>,
}

thread_local! {
    static JITTER: RefCell<Option<SmallRng>> = const { RefCell::new(None) };
}

impl Gate {
    pub fn new(model: LatencyModel, seed: u64) -> Gate {
        Gate {
            model,
            seed,
            pairs: Mutex::default(),
        }
    }

    pub fn model(&self) -> &LatencyModel {
        &self.model
    }

    /// The model's figure for a message to an actor at `to`, if it applies.
    pub fn model_for(&self, msg: &Gotocol, to: Option<Location>) -> Option<Duration> {
        Some(self.model.one_way(msg.from?, to?))
    }

    fn jittered(&self, base: Duration) -> Duration {
        if self.model.jitter <= 0.0 {
            return base;
        }
        let u: f64 = JITTER.with(|cell| {
            let mut cell = cell.borrow_mut();
            let rng =
                cell.get_or_insert_with(|| SmallRng::seed_from_u64(self.seed ^ thread_seed()));
            rng.random_range(f64::MIN_POSITIVE..=1.0)
        });
        self.model.with_jitter(base, u)
    }

    /// Decides a message's fate: `Some((wait, held))` to hold it, `None` to
    /// deliver it now (recorded here, as late if the model was exceeded).
    pub fn hold(&self, msg: &Gotocol, to: Option<Location>) -> Option<(Duration, Held)> {
        let (from, to) = (msg.from?, to?);
        let model = self.model.one_way(from, to);
        let key = (
            LatencyModel::region_of(from),
            LatencyModel::region_of(to),
            reach(from, to),
        );
        let held = Held {
            key,
            model,
            sent: msg.sent,
        };
        let due = msg.sent.after(self.jittered(model));
        let now = clock::now();
        if due > now {
            return Some((due.since(now), held));
        }
        self.record(held, now.since(msg.sent), !model.is_zero());
        None
    }

    /// Records the delay of a message the timer thread released.
    pub fn released(&self, held: Held) {
        self.record(held, clock::now().since(held.sent), false);
    }

    fn record(&self, held: Held, delay: Duration, late: bool) {
        let mut pairs = self.pairs.lock().expect("latency stats lock");
        let stats = pairs.entry(held.key).or_insert_with(|| PairStats {
            model: held.model,
            late: 0,
            delay: micros_histogram(),
        });
        stats.late += u64::from(late);
        record(&mut stats.delay, delay);
    }

    /// The measured delays so far, per pair of regions.
    pub fn report(&self) -> Vec<PairReport> {
        let pairs = self.pairs.lock().expect("latency stats lock");
        pairs
            .iter()
            .map(|(&(from, to, reach), s)| PairReport {
                from,
                to,
                reach,
                model_us: s.model.as_micros() as u64,
                late: s.late,
                delay: recorded(&s.delay),
            })
            .collect()
    }
}

fn thread_seed() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use crate::clock;
    use crate::runtime::{Runtime, Settings};
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
}
