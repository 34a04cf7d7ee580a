//! denominator: global DNS (named after Netflix's DNS library), the root of
//! the architecture. While asgard lets it chat, it sends a request into the
//! regions' load balancers every chat interval: a GetRequest for a fixed
//! key, a GetRequest for a key it put earlier, or a Put of a new key, each
//! starting a fresh trace. It times every answer, in the node's traffic
//! figures (so they can be watched while the run goes on). `-kv
//! arrivals:poisson` spreads its gaps as a Poisson process's and `-kv
//! load:` moves its rate over the run (see `spigo_proto::load`); it never
//! waits for answers (an open loop), so overload shows.
//!
//! It classifies each get it sends exactly once: answered (a value or
//! empty), or failed with a reason: the failure answer that came back, the
//! send that failed here, or `timeout` when it gave up waiting. Gets still
//! waiting when the run ends are left for the coordinator to count (sent
//! less everything classified), as in flight or interrupted.

use super::service::{Behaviour, Core, PENDING_TIMEOUT};
use crate::runtime::clock;
use compact_str::{format_compact, CompactString};
use rand::Rng;
use spigo_proto::cluster::SpanKind;
use spigo_proto::{Gotocol, Imposition, Intention, Reason, Timestamp, TraceContext};
use std::collections::HashMap;
use std::time::Duration;
use std::time::Instant;

/// The key spigo's denominator always asks for (nobody ever puts it).
pub const FIXED_KEY: &str = "why?";
pub const VALUE: &str = "remember me";
/// How many recently put keys it may ask for again.
const REMEMBERED: usize = 256;

pub struct Denominator;

pub struct State {
    every: Option<Duration>,
    /// When the next request is due: a fixed rate, so timer lateness does
    /// not slow the traffic down.
    due: Option<Instant>,
    /// When the traffic began: a load profile is a function of the time
    /// since.
    began: Option<Instant>,
    next: usize,
    puts: u64,
    recent: Vec<CompactString>,
    /// Requests out, by span: when they left.
    waiting: HashMap<u64, (TraceContext, Timestamp)>,
}

impl State {
    fn key_to_get(&mut self, core: &mut Core) -> CompactString {
        if self.recent.is_empty() || core.rng.random_bool(0.5) {
            FIXED_KEY.into()
        } else {
            self.recent[core.rng.random_range(0..self.recent.len())].clone()
        }
    }

    fn send_one(&mut self, core: &mut Core) {
        let Some(to) = core.round_robin(&mut self.next) else {
            return;
        };
        let ctx = core.new_trace();
        let (imposition, intention) = if core.rng.random_range(0..3) < 2 {
            (
                Imposition::GetRequest,
                Intention::Text(self.key_to_get(core)),
            )
        } else {
            self.puts += 1;
            let key = format_compact!("key{}-{}", core.me().index, self.puts);
            if self.recent.len() < REMEMBERED {
                self.recent.push(key.clone());
            } else {
                let slot = (self.puts as usize) % REMEMBERED;
                self.recent[slot] = key.clone();
            }
            (
                Imposition::Put,
                Intention::Pair(Box::new([key, VALUE.into()])),
            )
        };
        let sent = clock::now();
        let get = imposition == Imposition::GetRequest;
        // A get's first server span shares the client's id (marked shared,
        // as Zipkin's RPC model has it); a put's consumer is a child of
        // the producer span instead, with an id of its own: Zipkin never
        // shares a messaging span.
        let carried = match get {
            true => ctx,
            false => core.child_of(ctx),
        };
        match core.life().send(to, imposition, carried, intention) {
            Ok(()) => {
                core.rt().traffic_sent(get);
                if get {
                    self.waiting.insert(ctx.span, (ctx, sent));
                } else {
                    // A put is fire and forget: its client span ends as it
                    // leaves.
                    core.record_span(SpanKind::Client, imposition, ctx, sent, Duration::ZERO);
                }
            }
            // Sent, as far as the accounting goes, and failed at once.
            Err(e) => {
                core.rt().traffic_sent(get);
                match get {
                    true => core.rt().traffic_failed(e.reason()),
                    false => core.rt().put_failed(e.reason()),
                }
            }
        }
    }
}

impl State {
    /// Stops waiting for requests older than `after`, closing their spans;
    /// `timed_out` counts them as failed by timeout (at the end of the run
    /// they are not: they were still on their way).
    fn give_up(&mut self, core: &Core, after: Duration, timed_out: bool) {
        let now = clock::now();
        self.waiting.retain(|_, (ctx, sent)| {
            let age = now.since(*sent);
            if age < after {
                return true;
            }
            if timed_out {
                core.rt().traffic_failed(Reason::Timeout);
            }
            core.record_span(SpanKind::Client, Imposition::GetRequest, *ctx, *sent, age);
            false
        });
    }
}

/// How far behind its schedule the denominator still catches up: a tick
/// handled late sends the requests due meanwhile at once, as an open-loop
/// source's arrivals still happen when the sender was slow (at short
/// Poisson gaps a late tick is common, and skipping them lowered the
/// offered load by 2%); a stall longer than this is skipped, not burst.
const CATCH_UP: Duration = Duration::from_millis(10);

/// The gap before the request after one sent `since` into the traffic:
/// the chat interval itself (spigo's pacing), or as the instance's
/// [`Shape`](spigo_proto::load::Shape) draws it (the instance's own seeded
/// generator, so a run with `--seed` repeats it).
fn gap(core: &mut Core, every: Duration, since: Duration) -> Duration {
    match core.spec.traffic.as_deref().copied() {
        None => every,
        Some(shape) => {
            let uniform = 1.0 - core.rng.random::<f64>();
            shape.gap(every, since, uniform)
        }
    }
}

impl Behaviour for Denominator {
    type State = State;

    fn init(_: &Core) -> State {
        State {
            every: None,
            due: None,
            began: None,
            next: 0,
            puts: 0,
            recent: Vec::new(),
            waiting: HashMap::new(),
        }
    }

    fn chat(&self, core: &mut Core, state: &mut State, every: Option<Duration>) {
        state.every = every;
        if let (Some(every), None) = (every, state.due) {
            let now = Instant::now();
            let began = *state.began.get_or_insert(now);
            let due = now + gap(core, every, now - began);
            state.due = Some(due);
            core.traffic_at(due);
        }
    }

    fn tick(&self, core: &mut Core, state: &mut State) {
        let (Some(every), Some(due)) = (state.every, state.due) else {
            state.due = None;
            return;
        };
        state.send_one(core);
        if state.waiting.len() > 10_000 {
            state.give_up(core, PENDING_TIMEOUT, true);
        }
        // Catch up at most CATCH_UP (or one interval) behind; beyond that,
        // skip ahead.
        let since = due - state.began.unwrap_or(due);
        let next = (due + gap(core, every, since)).max(Instant::now() - every.max(CATCH_UP));
        state.due = Some(next);
        core.traffic_at(next);
    }

    fn request(&self, core: &mut Core, state: &mut State, msg: Gotocol) {
        if msg.imposition != Imposition::GetResponse {
            return;
        }
        if let Some((ctx, sent)) = state.waiting.remove(&msg.ctx.span) {
            let took = clock::now().since(sent);
            match msg.intention {
                Intention::Failed(reason) => core.rt().traffic_failed(reason),
                _ => {
                    let hit = !matches!(msg.intention, Intention::None);
                    core.rt().traffic_answered(took, hit);
                    core.metrics().response(took);
                }
            }
            core.record_span(SpanKind::Client, Imposition::GetRequest, ctx, sent, took);
        }
    }

    fn goodbye(&self, core: &mut Core, state: &mut State) {
        // Requests still out are unanswered; their spans end here. Those
        // older than an instance waits are timed out, the rest were still
        // on their way.
        state.give_up(core, PENDING_TIMEOUT, true);
        state.give_up(core, Duration::ZERO, false);
    }
}

#[cfg(test)]
mod tests {
    use crate::packages::spawn::spawn_instance;
    use crate::runtime::clock;
    use crate::testkit::{hand_dependency, next, probe, spec};
    use crate::Runtime;
    use spigo_proto::{Gotocol, Imposition, Intention, Package, Reason};
    use std::time::Duration;

    /// Each get is classified once: a failure answer counts as failed with
    /// its reason, never as answered; a second answer to the same get is
    /// ignored.
    #[tokio::test]
    async fn failure_answers_count_as_failed_not_answered() {
        let rt = Runtime::new(0, false).unwrap();
        let (elb, mut elb_rx) = probe(&rt).await;
        let at = rt.reserve(1).unwrap();
        spawn_instance(
            &rt,
            spec(at, Package::Denominator, &[("elb", Package::Elb)]),
        )
        .await
        .unwrap();
        hand_dependency(&rt, at, elb, "elb");
        let chat = Intention::Interval(Duration::from_millis(5));
        rt.send(at, Gotocol::new(Imposition::Chat, None, clock::now(), chat))
            .unwrap();
        let (mut failed, mut answered) = (0, 0);
        while failed + answered < 4 {
            let asked = next(&mut elb_rx).await;
            if asked.imposition != Imposition::GetRequest {
                continue;
            }
            let value = match failed <= answered {
                true => Intention::Failed(Reason::HopLimit),
                false => Intention::Text("v".into()),
            };
            match value {
                Intention::Failed(_) => failed += 1,
                _ => answered += 1,
            }
            let answer = Gotocol::new(Imposition::GetResponse, Some(elb), clock::now(), value);
            rt.send(at, answer.clone().with_ctx(asked.ctx)).unwrap();
            rt.send(at, answer.with_ctx(asked.ctx)).unwrap();
        }
        rt.send(
            at,
            Gotocol::new(Imposition::Chat, None, clock::now(), Intention::None),
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = rt.traffic();
        assert_eq!(t.failed[Reason::HopLimit.index()], 2);
        assert_eq!((t.responses, t.hits), (2, 2));
    }
}
