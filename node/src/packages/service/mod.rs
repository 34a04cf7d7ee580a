//! What every service instance does, whatever its package: on top of the
//! shared lifecycle, register with eureka once named, poll eureka for
//! dependencies (each new one an edge, each lost one a forget), route
//! responses back along the path their request came, and unregister on
//! Goodbye.
//!
//! A package (zuul, staash, ...) only says what to do with a request; it
//! implements [`Behaviour`] in its own file and runs as a
//! [`Nanoservice`] of that behaviour. What it builds on is [`Core`], whose
//! jobs are split over the files of this folder:
//!
//! | file | job |
//! | --- | --- |
//! | `core.rs` | the instance's state and the operations packages call |
//! | `discovery.rs` | the eureka client side: register, poll, adopt, forget |
//! | `routing.rs` | which live instance of a dependency a request goes to |
//! | `requests.rs` | requests passed on, waiting for their answers, and timeouts |
//! | `spans.rs` | trace contexts and the spans of sampled flows |
//! | `station.rs` | a work model's slots and queue: service time before the package sees a request |
//! | `calls.rs` | a caller's resilience: timeouts, retries, circuit breakers, fallbacks |

mod calls;
mod core;
mod discovery;
mod requests;
mod routing;
mod spans;
mod station;

use self::core::ServiceTimer;
pub use self::core::{Core, CORE_BYTES};
pub use discovery::{Dependency, Peer};
pub use requests::{Pending, PENDING_TIMEOUT};

use super::lifecycle::{Kind, Lifecycle};
use crate::runtime::clock;
use crate::Runtime;
use discovery::Discovery;
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{Address, Exit, Gotocol, Imposition, Intention, Reason, Timestamp, TraceContext};
use station::Held;
use std::sync::Arc;
use std::time::Duration;

/// What a package adds to the shared behaviour.
pub trait Behaviour: Send + Sync + 'static {
    type State: Send + 'static;

    fn init(core: &Core) -> Self::State;

    /// A request-traffic message: GetRequest, GetResponse, Put, Replicate.
    fn request(&self, core: &mut Core, state: &mut Self::State, msg: Gotocol);

    /// Chat sets (or, with no interval, stops) the instance's own traffic.
    fn chat(&self, _core: &mut Core, _state: &mut Self::State, _every: Option<Duration>) {}

    /// The traffic timer fired.
    fn tick(&self, _core: &mut Core, _state: &mut Self::State) {}

    /// Last words before leaving.
    fn goodbye(&self, _core: &mut Core, _state: &mut Self::State) {}
}

/// The behaviour of the middle tiers (zuul, karyon, monolith): pass each
/// request to a random dependency and each response back to its asker; with
/// no dependency at all, answer empty at once (a put ends here); with
/// dependencies but none that takes it, the request failed.
pub fn proxy(core: &mut Core, msg: Gotocol) {
    proxy_with(core, msg, Core::pick_any)
}

/// [`proxy`] with another way of picking where each request goes.
pub fn proxy_with(core: &mut Core, msg: Gotocol, pick: impl FnMut(&mut Core) -> Option<Address>) {
    match msg.imposition {
        Imposition::GetRequest | Imposition::Put => {
            if let Err(reason) = core.call_with(&msg, 0, pick) {
                core.end_or_fail(&msg, reason);
            }
        }
        Imposition::GetResponse => core.pass_back(msg),
        _ => {}
    }
}

/// A middle tier whose whole behaviour is [`proxy`] (zuul, karyon,
/// monolith): what tells them apart is where asgard puts them.
pub(crate) trait Proxy: Send + Sync + 'static {}

impl<P: Proxy> Behaviour for P {
    type State = ();

    fn init(_: &Core) {}

    fn request(&self, core: &mut Core, _: &mut (), msg: Gotocol) {
        proxy(core, msg);
    }
}

/// A service instance running package behaviour `B`.
pub struct Nanoservice<B>(pub B);

pub struct Arguments {
    pub rt: Arc<Runtime>,
    pub spec: InstanceSpec,
}

pub struct State<S> {
    pub core: Core,
    pub package: S,
}

impl<B: Behaviour> Nanoservice<B> {
    /// A message of request traffic. A request passed on more times than
    /// the hop limit allows is dropped here; one for a service with a work
    /// model first takes its service time in the instance's station; the
    /// rest go to the package at once.
    fn traffic(&self, state: &mut State<B::State>, msg: Gotocol) {
        let core = &mut state.core;
        let arrived = clock::now();
        let delivery = arrived.since(msg.sent);
        let request = msg.is_request();
        if request {
            core.metrics().requested();
        }
        if request && core.is_dark() {
            core.swallow(&msg);
            handled(core, msg.imposition, msg.ctx, arrived, delivery, arrived);
        } else if request && msg.hops > core.spec.hop_limit {
            core.requests.arrived = Some(arrived);
            core.fail(&msg, Reason::HopLimit);
            core.requests.arrived = None;
            handled(core, msg.imposition, msg.ctx, arrived, delivery, arrived);
        } else if request && core.has_station() {
            core.admit(Held {
                msg,
                arrived,
                delivery,
            });
        } else {
            self.serve(
                state,
                Held {
                    msg,
                    arrived,
                    delivery,
                },
            );
        }
    }

    /// Hands a request (its service time over, if it had one) or any other
    /// message of traffic to the package.
    fn serve(&self, state: &mut State<B::State>, held: Held) {
        let State { core, package } = state;
        let started = clock::now();
        let Held {
            msg,
            arrived,
            delivery,
        } = held;
        let (imposition, ctx) = (msg.imposition, msg.ctx);
        core.requests.arrived = matches!(
            imposition,
            Imposition::GetRequest | Imposition::Put | Imposition::Replicate
        )
        .then_some(arrived);
        self.0.request(core, package, msg);
        core.requests.arrived = None;
        handled(core, imposition, ctx, arrived, delivery, started);
    }
}

/// The figures of a message of traffic handled from `started`: its
/// delivery delay and the time spent handling it go to the service's
/// histograms; puts and replicates have no answer, so their span ends here.
fn handled(
    core: &Core,
    imposition: Imposition,
    ctx: TraceContext,
    arrived: Timestamp,
    delivery: Duration,
    started: Timestamp,
) {
    core.metrics()
        .handled(delivery, clock::now().since(started));
    if matches!(imposition, Imposition::Put | Imposition::Replicate) {
        core.finished(imposition, ctx, arrived, false);
    }
}

impl<B: Behaviour> Kind for Nanoservice<B> {
    type Timer = ServiceTimer;
    type State = State<B::State>;
    type Arguments = Arguments;

    fn start(&self, args: Arguments) -> Self::State {
        let core = Core::new(args.rt, args.spec);
        let package = B::init(&core);
        State { core, package }
    }

    fn life(state: &mut Self::State) -> &mut Lifecycle<ServiceTimer> {
        &mut state.core.life
    }

    fn hello(&self, state: &mut Self::State, named: bool) {
        let core = &state.core;
        if named {
            // From asgard: this is your name; register with eureka.
            Discovery::register(&core.life, &core.spec);
        } else if let Some(asgard) = core.life.creator() {
            // From eureka: you are registered; tell asgard.
            core.life.tell(asgard, Imposition::Hello, Intention::None);
        }
    }

    fn receive(&self, state: &mut Self::State, msg: Gotocol) {
        let core = &mut state.core;
        let (life, spec, found) = (&core.life, &core.spec, &mut core.discovery);
        match (msg.imposition, msg.intention) {
            // From asgard, once the whole tier is registered: eureka is
            // ready, look for dependencies (and report when first found).
            (Imposition::NameDrop, Intention::Text(_)) => {
                found.first_look(life, spec);
                life.wake_after(spec.eureka_poll, ServiceTimer::Poll);
            }
            (Imposition::NameDrop, Intention::Instance { service, location }) => {
                if let Some(addr) = msg.reply_to {
                    found.adopt(life, addr, &service, location);
                }
            }
            (Imposition::Forget, Intention::Instance { service, .. }) => {
                if let Some(addr) = msg.reply_to {
                    found.forget(life, addr, &service);
                }
            }
            (Imposition::GetResponse, Intention::Poll { service, since, .. }) => {
                if let Some(registry) = msg.reply_to {
                    found.polled(life, spec, registry, &service, since);
                }
            }
            (Imposition::Chat, Intention::Interval(every)) => {
                let every = (!every.is_zero()).then_some(every);
                self.0.chat(core, &mut state.package, every)
            }
            (Imposition::Chat, Intention::Dark(length)) => core.go_dark(length),
            (Imposition::Chat, _) => self.0.chat(core, &mut state.package, None),
            (imposition, intention) => {
                let msg = Gotocol {
                    imposition,
                    intention,
                    ..msg
                };
                self.traffic(state, msg);
            }
        }
    }

    fn timer(&self, state: &mut Self::State, timer: ServiceTimer) {
        let State { core, package } = state;
        match timer {
            ServiceTimer::Poll => {
                core.discovery.poll(&core.life, &core.spec);
                core.sweep();
                core.life
                    .wake_after(core.spec.eureka_poll, ServiceTimer::Poll);
            }
            ServiceTimer::Traffic => self.0.tick(core, package),
            ServiceTimer::Calls => core.calls_due(),
            ServiceTimer::Done => {
                if let Some(held) = core.service_done() {
                    self.serve(state, held);
                }
            }
        }
    }

    fn goodbye(&self, state: &mut Self::State, exit: Exit) {
        let State { core, package } = state;
        core.drop_held(exit);
        self.0.goodbye(core, package);
        Discovery::unregister(&core.life, &core.spec, exit);
    }
}
