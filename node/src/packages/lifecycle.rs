//! The one lifecycle every actor of a simulation lives: pirates, eureka
//! registries and service instances alike (and the link benchmark's
//! actors, which only need its sending).
//!
//! Whatever its kind, an actor is created at an address, named by a Hello
//! from whoever created it (the FSM or asgard, its *creator*), told where
//! its node's edda shard is by an Inform, and stopped by a Goodbye, which
//! it answers to its creator with how it left. In between it logs what it
//! receives (`-m`), records graph events with edda and sends messages with
//! itself as the reply-to. [`Lifecycle`] is that shared identity and those
//! operations; [`Member`] is the actor that runs any [`Kind`] through them,
//! so a kind's own file says only what is particular to it.

use super::supervisor::{self, crash_as_asked, panic_message, Crash};
use crate::runtime::{clock, Delivery, SendError, Timer};
use crate::Runtime;
use compact_str::CompactString;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use spigo_proto::archaius::Location;
use spigo_proto::{Address, Exit, Gotocol, GraphEvent, Imposition, Intention, TraceContext};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who an actor is and whom it knows from its lifecycle. `T` is its kind's
/// timer enum, so it can only set timers of its own kind.
pub(crate) struct Lifecycle<T> {
    rt: Arc<Runtime>,
    me: Address,
    /// Short graph name, set by Hello; used in `-m` lines.
    name: CompactString,
    /// The Hello's reply-to: the FSM or asgard, which hears the Goodbye.
    creator: Option<Address>,
    edda: Option<Address>,
    /// Where an instance runs (the latency model and the mailbox count
    /// apply to it); none for pirates and registries.
    location: Option<Location>,
    timers: PhantomData<fn(T)>,
}

impl<T: Timer> Lifecycle<T> {
    pub(crate) fn new(rt: Arc<Runtime>, me: Address, location: Option<Location>) -> Lifecycle<T> {
        Lifecycle {
            rt,
            me,
            name: CompactString::default(),
            creator: None,
            edda: None,
            location,
            timers: PhantomData,
        }
    }

    pub(crate) fn rt(&self) -> &Arc<Runtime> {
        &self.rt
    }

    pub(crate) fn me(&self) -> Address {
        self.me
    }

    pub(crate) fn name(&self) -> &CompactString {
        &self.name
    }

    /// Whoever created and named this actor, once it has been named.
    pub(crate) fn creator(&self) -> Option<Address> {
        self.creator
    }

    /// Sends `intention` from this actor (it is the reply-to) outside any
    /// trace; false if the receiver is gone.
    pub(crate) fn tell(&self, to: Address, imposition: Imposition, intention: Intention) -> bool {
        self.send(to, imposition, TraceContext::NIL, intention)
            .is_ok()
    }

    /// Tells `to` about another actor, `about`, which is the reply-to
    /// (NameDrop and Forget name a third party that way).
    pub(crate) fn tell_about(
        &self,
        to: Address,
        imposition: Imposition,
        about: Address,
        intention: Intention,
    ) -> bool {
        self.post(to, imposition, about, TraceContext::NIL, intention, 0)
            .is_ok()
    }

    /// Sends a message of the trace `ctx` from this actor.
    pub(crate) fn send(
        &self,
        to: Address,
        imposition: Imposition,
        ctx: TraceContext,
        intention: Intention,
    ) -> Result<(), SendError> {
        self.post(to, imposition, self.me, ctx, intention, 0)
    }

    /// Passes a request on: [`Lifecycle::send`] of a message `hops` steps
    /// down the request's path.
    pub(crate) fn pass_on(
        &self,
        to: Address,
        imposition: Imposition,
        ctx: TraceContext,
        intention: Intention,
        hops: u8,
    ) -> Result<(), SendError> {
        self.post(to, imposition, self.me, ctx, intention, hops)
    }

    fn post(
        &self,
        to: Address,
        imposition: Imposition,
        reply_to: Address,
        ctx: TraceContext,
        intention: Intention,
        hops: u8,
    ) -> Result<(), SendError> {
        let mut msg = Gotocol::new(imposition, Some(reply_to), clock::now(), intention)
            .with_ctx(ctx)
            .with_hops(hops);
        if let Some(at) = self.location {
            msg = msg.from_location(at);
        }
        self.rt.send(to, msg)
    }

    /// Records a graph event with edda (once it is known).
    pub(crate) fn record(&self, event: GraphEvent) {
        if let Some(edda) = self.edda {
            self.tell(edda, Imposition::Inform, Intention::Event(event));
        }
    }

    /// Has `timer` delivered to this actor after `delay`.
    pub(crate) fn wake_after(&self, delay: Duration, timer: T) {
        self.wake_at(Instant::now() + delay, timer);
    }

    /// Has `timer` delivered to this actor at `due`.
    pub(crate) fn wake_at(&self, due: Instant, timer: T) {
        self.rt.set_timer(due, self.me, timer);
    }

    /// A delivery was taken out of the mailbox (instances count theirs, so
    /// an overrun one can shed new work).
    fn dequeued(&self) {
        if self.location.is_some() {
            self.rt.dequeued(self.me);
        }
    }

    /// Who this actor is, for its supervisor, when its handler panicked
    /// with `payload`.
    fn crash(&self, payload: &(dyn std::any::Any + Send)) -> Crash {
        Crash {
            at: self.me,
            name: self.name.clone(),
            creator: self.creator,
            edda: self.edda,
            message: panic_message(payload),
        }
    }

    /// Takes a message in: a Hello's name is this actor's name from now on,
    /// and with `-m` the message is logged under it.
    fn take_in(&mut self, msg: &Gotocol) {
        if let (Imposition::Hello, Intention::Text(name)) = (msg.imposition, &msg.intention) {
            self.name = name.clone();
        }
        if self.rt.logs_messages() {
            self.rt.log_received(&self.name, self.location, msg);
        }
        // `-vv`: every request, response and poll, as it is taken in.
        match msg.reply_to {
            Some(from) => tracing::trace!(
                "{}: {} from {from}: {}",
                self.name,
                msg.imposition,
                msg.intention
            ),
            None => tracing::trace!("{}: {}: {}", self.name, msg.imposition, msg.intention),
        }
    }
}

/// What one kind of actor adds to the lifecycle.
pub(crate) trait Kind: Send + Sync + 'static {
    type Timer: Timer;
    type State: Send + 'static;
    type Arguments: Send + 'static;

    /// The actor's state, built in `pre_start`.
    fn start(&self, args: Self::Arguments) -> Self::State;

    /// The lifecycle inside the state.
    fn life(state: &mut Self::State) -> &mut Lifecycle<Self::Timer>;

    /// Every message, once taken in (named and logged), before anything
    /// else is done with it.
    fn heard(&self, _state: &mut Self::State, _msg: &Gotocol) {}

    /// A Hello: `named` when it carried this actor's name (from its
    /// creator); otherwise an acknowledgement (eureka's, of a registration).
    fn hello(&self, _state: &mut Self::State, _named: bool) {}

    /// Every message the lifecycle does not handle itself (all but Hello,
    /// Inform and Goodbye).
    fn receive(&self, state: &mut Self::State, msg: Gotocol);

    /// A timer the actor set fired.
    fn timer(&self, state: &mut Self::State, timer: Self::Timer);

    /// Last words before the Goodbye is answered and the actor stops.
    fn goodbye(&self, _state: &mut Self::State, _exit: Exit) {}
}

/// The actor of kind `K`: its mailbox takes deliveries, its life is the
/// lifecycle above.
pub(crate) struct Member<K>(pub(crate) K);

impl<K: Kind> Actor for Member<K> {
    type Msg = Delivery<K::Timer>;
    type State = K::State;
    type Arguments = K::Arguments;

    async fn pre_start(
        &self,
        _: ActorRef<Self::Msg>,
        args: K::Arguments,
    ) -> Result<K::State, ActorProcessingErr> {
        Ok(self.0.start(args))
    }

    /// A panic in the kind's code fails the actor with a [`Crash`] saying
    /// who it was; ractor then stops it and tells its supervisor.
    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        delivery: Self::Msg,
        state: &mut K::State,
    ) -> Result<(), ActorProcessingErr> {
        let handled =
            std::panic::catch_unwind(AssertUnwindSafe(|| self.take(&myself, delivery, state)));
        match handled {
            Ok(()) => Ok(()),
            Err(payload) => {
                let crash = K::life(state).crash(payload.as_ref());
                match (myself.try_get_supervisor(), K::life(state).rt.supervisor()) {
                    // Unlinked (a pirate): it tells the supervisor itself.
                    (None, Some(supervisor)) => {
                        let _ = supervisor.send_message(supervisor::Msg::Crashed(crash));
                        Err("crashed; reported to the supervisor".into())
                    }
                    _ => Err(Box::new(crash)),
                }
            }
        }
    }
}

impl<K: Kind> Member<K> {
    fn take(
        &self,
        myself: &ActorRef<Delivery<K::Timer>>,
        delivery: Delivery<K::Timer>,
        state: &mut K::State,
    ) {
        K::life(state).dequeued();
        let msg = match delivery {
            Delivery::Timer(timer) => {
                self.0.timer(state, timer);
                return;
            }
            Delivery::Message(msg) => msg,
        };
        K::life(state).take_in(&msg);
        self.0.heard(state, &msg);
        match msg.imposition {
            Imposition::Inform => K::life(state).edda = msg.reply_to,
            Imposition::Hello => {
                let named = matches!(msg.intention, Intention::Text(_));
                if named {
                    K::life(state).creator = msg.reply_to;
                }
                self.0.hello(state, named);
            }
            // The crash injector's request: leave by panicking.
            Imposition::Goodbye if msg.intention == Intention::Exit(Exit::Crashed) => {
                crash_as_asked()
            }
            Imposition::Goodbye => {
                let exit = match msg.intention {
                    Intention::Exit(e) => e,
                    _ => Exit::Normal,
                };
                self.0.goodbye(state, exit);
                let life = K::life(state);
                if let Some(creator) = life.creator {
                    life.tell(creator, Imposition::Goodbye, Intention::Exit(exit));
                }
                myself.stop(None);
            }
            _ => self.0.receive(state, msg),
        }
    }
}
