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

use super::clock;
use super::metrics::{micros_histogram, record, recorded};
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

    /// Records the delay of a message the delay queue released.
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
