//! What a mailbox in the address table accepts: a [`Delivery`].
//!
//! An actor receives Gotocol messages from other actors and, later, the
//! timers it set for itself. Each actor kind names its timers with its own
//! small enum (a pirate has one, a service instance two, eureka none), so a
//! timer can never be mistaken for another kind's. The node's one delay
//! queue holds the timers of every kind at once, so there it travels as a
//! [`TimerCode`]: the timer's position in its enum's [`Timer::ALL`], one
//! byte and no allocation, turned back into the enum by the mailbox of the
//! actor that set it.

use ractor::Message;
use spigo_proto::Gotocol;

/// A message from another actor, or one of the receiver's own timers.
#[derive(Debug)]
pub enum Delivery<T = NoTimer> {
    Message(Gotocol),
    Timer(T),
}

/// An actor kind's own timers: a fieldless enum listing every value in
/// [`Timer::ALL`].
pub trait Timer: Copy + PartialEq + Send + 'static {
    /// Every value, once, in a fixed order: the delay queue carries a timer
    /// as its position here.
    const ALL: &'static [Self];
}

/// The timers of an actor that sets none (eureka, probes, controllers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTimer {}

impl Timer for NoTimer {
    const ALL: &'static [NoTimer] = &[];
}

/// A message type the address table can hand deliveries to. Actors whose
/// whole mailbox is a [`Delivery`] get it for free; an actor with messages
/// of its own (an RPC, say) wraps the delivery in one of them.
pub trait Inbox: Message + From<Delivery<Self::Timer>> {
    /// The timers this actor sets for itself.
    type Timer: Timer;
}

impl<T: Timer> Inbox for Delivery<T> {
    type Timer = T;
}

/// A timer on its way through the delay queue, its kind forgotten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerCode(u8);

impl TimerCode {
    pub(crate) fn of<T: Timer>(timer: T) -> TimerCode {
        let at = T::ALL
            .iter()
            .position(|t| *t == timer)
            .expect("every timer is listed in its enum's ALL");
        TimerCode(at as u8)
    }

    /// The timer back as the enum the receiver sets; None if the code does
    /// not belong to it (it was set for an actor of another kind).
    pub(crate) fn as_timer<T: Timer>(self) -> Option<T> {
        T::ALL.get(self.0 as usize).copied()
    }
}

impl Delivery<TimerCode> {
    /// This delivery as actor kind `T` receives it.
    pub(crate) fn typed<T: Timer>(self) -> Option<Delivery<T>> {
        match self {
            Delivery::Message(m) => Some(Delivery::Message(m)),
            Delivery::Timer(code) => code.as_timer().map(Delivery::Timer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Two {
        A,
        B,
    }

    impl Timer for Two {
        const ALL: &'static [Two] = &[Two::A, Two::B];
    }

    #[test]
    fn timers_travel_as_their_position() {
        for t in [Two::A, Two::B] {
            assert_eq!(TimerCode::of(t).as_timer::<Two>(), Some(t));
        }
        assert_eq!(TimerCode::of(Two::B).as_timer::<NoTimer>(), None);
    }
}
