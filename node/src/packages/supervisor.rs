//! The node's supervisor: the parent the actors of a node are linked under,
//! so that a handler that panics is seen, recorded, and survived.
//!
//! ```text
//! Supervisor (one per process: each `spigo node`, and the coordinator's node 0)
//!  ├── instance   (Member<Nanoservice<..>>, one per placed instance)
//!  ├── registry   (Member<Eureka>)
//!  ├── edda shard (and whatever else is spawned at an address)
//!  └── on the coordinator, the cluster's state (coordinator/src/cluster/state.rs)
//! ```
//!
//! [`Runtime::spawn_at`] links each actor under it once it is installed
//! ([`start`]), except the FSM's pirates: a link costs each actor two
//! supervision events and a place in the supervisor's children, which is
//! a sixth of the CPU of spawning 100,000 pirates, so they are spawned
//! unlinked and a pirate that panics tells the supervisor itself, with the
//! same [`Crash`] (`Msg::Crashed`).
//!
//! ractor tells a supervisor of every child's end; this one acts only on
//! a failure: a child whose handler panicked is logged once,
//! counted (the node report's `crashed`), recorded with edda as done with
//! exit `crashed`, and its creator (the FSM or asgard) is sent the Goodbye
//! the child can no longer send, so nobody waits for it. The run goes on
//! without it; messages still sent to it count as undeliverable. Nothing is
//! done per message: supervision costs one event at each linked actor's
//! start and end.
//!
//! `Member` (`lifecycle.rs`) catches its kind's panic only to say who it
//! was ([`Crash`]: ractor's own catch would carry just the panic's text)
//! and fails with it, so ractor stops the actor and reports it here.
//!
//! The crash injector (`-kv crash:SERVICE@T`) asks one instance to panic by
//! a Goodbye with exit `crashed`; that panic is expected, so Rust's panic
//! hook stays quiet about it and this supervisor's line is its only report
//! (any other panic is reported by the hook as usual, then here).

use crate::runtime::clock;
use crate::Runtime;
use compact_str::CompactString;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use spigo_proto::{Address, Exit, Gotocol, GraphEvent, Imposition, Intention};
use std::any::Any;
use std::cell::Cell;
use std::sync::{Arc, Once, Weak};

/// Who panicked, as its lifecycle knew it: what the supervisor needs to
/// record the end and answer for the actor.
#[derive(Debug, thiserror::Error)]
#[error("{name} ({at}) panicked: {message}")]
pub struct Crash {
    pub at: Address,
    /// Its graph name (empty if it panicked before it was named).
    pub name: CompactString,
    /// Whoever named it, who would have heard its Goodbye.
    pub creator: Option<Address>,
    /// The edda shard it reports to, once told.
    pub edda: Option<Address>,
    /// The panic's message.
    pub message: String,
}

/// The text of a panic's payload (`panic!` makes a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".to_string(),
    }
}

thread_local! {
    /// Set just before the crash injector panics on this thread.
    static EXPECTED: Cell<bool> = const { Cell::new(false) };
}

/// The crash injector's panic: an instance asked to crash does, as a bug
/// would, from inside its handler.
pub(crate) fn crash_as_asked() -> ! {
    EXPECTED.set(true);
    panic!("crash injected by -kv crash");
}

/// Wraps the process's panic hook, once, so that it stays quiet about the
/// crash injector's panics (the supervisor reports those) and reports every
/// other panic as before.
fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPECTED.replace(false) {
                previous(info);
            }
        }));
    });
}

pub struct Supervisor;

/// Besides its children's ends (supervision events), the supervisor hears
/// of the crashes of actors spawned unlinked (pirates).
pub enum Msg {
    Crashed(Crash),
}

pub struct Arguments {
    pub rt: Arc<Runtime>,
}

pub struct State {
    /// Weak: the runtime holds this actor's cell, and must still be
    /// dropped when its process is done with it.
    rt: Weak<Runtime>,
}

impl Actor for Supervisor {
    type Msg = Msg;
    type State = State;
    type Arguments = Arguments;

    async fn pre_start(
        &self,
        _: ActorRef<Msg>,
        args: Arguments,
    ) -> Result<State, ActorProcessingErr> {
        quiet_injected_panics();
        Ok(State {
            rt: Arc::downgrade(&args.rt),
        })
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        let Msg::Crashed(crash) = msg;
        if let Some(rt) = state.rt.upgrade() {
            rt.count_crashed();
            record(&rt, &crash);
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _: ActorRef<Msg>,
        event: SupervisionEvent,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        let (SupervisionEvent::ActorFailed(cell, err), Some(rt)) = (event, state.rt.upgrade())
        else {
            // A child that started or stopped as it should: nothing to do.
            return Ok(());
        };
        match err.downcast::<Crash>() {
            Ok(crash) => {
                rt.count_crashed();
                record(&rt, &crash);
            }
            // An actor without a lifecycle (the edda shard, the cluster's
            // state): nobody to answer for, no graph entry of its own.
            Err(other) => {
                let at = rt.address_of(cell.get_id());
                let at = at.map_or_else(|| format!("{}", cell.get_id()), |a| a.to_string());
                tracing::error!("actor at {at} crashed: {other}");
            }
        }
        Ok(())
    }
}

/// Logs a crashed actor once, records it done with exit `crashed`, and
/// says its Goodbye to its creator.
fn record(rt: &Runtime, crash: &Crash) {
    let Crash {
        at,
        name,
        creator,
        edda,
        message,
    } = crash;
    let name = if name.is_empty() {
        "an unnamed actor"
    } else {
        name
    };
    tracing::error!(
        "{name} ({at}) crashed: {message}; recorded done (exit crashed), the run goes on"
    );
    let from_it =
        |imposition, intention| Gotocol::new(imposition, Some(*at), clock::now(), intention);
    if let Some(edda) = edda {
        let done = GraphEvent::Done {
            id: *at,
            exit: Exit::Crashed,
        };
        let _ = rt.send(*edda, from_it(Imposition::Inform, Intention::Event(done)));
    }
    if let Some(creator) = creator {
        let bye = from_it(Imposition::Goodbye, Intention::Exit(Exit::Crashed));
        let _ = rt.send(*creator, bye);
    }
}

/// Starts `rt`'s supervisor and links every actor spawned at an address
/// from now on under it. Every process that hosts actors starts one.
/// A runtime supervised already keeps its supervisor.
pub async fn start(rt: &Arc<Runtime>) -> Result<(), ractor::SpawnErr> {
    let args = Arguments { rt: rt.clone() };
    let (supervisor, _) = Actor::spawn(None, Supervisor, args).await?;
    if let Err(spare) = rt.supervise_with(supervisor.get_cell()) {
        spare.stop(None);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::lifecycle::Member;
    use crate::packages::pirate::{self, Pirate};
    use crate::testkit::{next, probe};

    fn msg(imposition: Imposition, reply_to: Option<Address>, intention: Intention) -> Gotocol {
        Gotocol::new(imposition, reply_to, clock::now(), intention)
    }

    #[tokio::test]
    async fn a_panic_is_counted_recorded_and_answered_for() {
        crash_one(true).await;
    }

    #[tokio::test]
    async fn an_unlinked_actor_reports_its_own_panic() {
        crash_one(false).await;
    }

    /// A pirate, spawned `linked` or not, asked to crash.
    async fn crash_one(linked: bool) {
        let rt = Runtime::new(0, false).unwrap();
        start(&rt).await.unwrap();
        let (creator, mut creator_rx) = probe(&rt).await;
        let (edda, mut edda_rx) = probe(&rt).await;
        let me = rt.reserve(1).unwrap();
        let args = pirate::Arguments {
            rt: rt.clone(),
            me,
            seed: 1,
            metrics: None,
        };
        let pirate = match linked {
            true => rt.spawn_at(me, None, Member(Pirate), args).await,
            false => rt.spawn_unlinked_at(me, Member(Pirate), args).await,
        }
        .unwrap();
        let hello = Intention::Text("pirate0".into());
        rt.send(me, msg(Imposition::Hello, Some(creator), hello))
            .unwrap();
        rt.send(me, msg(Imposition::Inform, Some(edda), Intention::None))
            .unwrap();
        let crash = Intention::Exit(Exit::Crashed);
        rt.send(me, msg(Imposition::Goodbye, Some(creator), crash.clone()))
            .unwrap();

        let bye = next(&mut creator_rx).await;
        assert_eq!(
            (bye.imposition, bye.reply_to, bye.intention),
            (Imposition::Goodbye, Some(me), crash)
        );
        let done = GraphEvent::Done {
            id: me,
            exit: Exit::Crashed,
        };
        assert_eq!(next(&mut edda_rx).await.intention, Intention::Event(done));
        assert_eq!(rt.crashed(), 1);
        assert_eq!(rt.address_of(pirate.get_id()), Some(me));
        // It has stopped (ractor marks it so just after telling the
        // supervisor): messages to it are undeliverable.
        for _ in 0..100 {
            if pirate.get_status() == ractor::ActorStatus::Stopped {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(pirate.get_status(), ractor::ActorStatus::Stopped);
    }
}
