//! Gotocol: the one message type every nanoservice speaks.
//!
//! The name and the shape come from spigo, which borrowed Promise Theory's
//! terms: the *imposition* says what the receiver is asked to do, the
//! *intention* is the body. spigo's intention was always a string; here it is
//! a small enum so the hot paths (gold, intervals, graph events) never format
//! or parse text, and short texts stay inline without a heap allocation.

use crate::{Address, Exit, GraphEvent, Location, Timestamp};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What the receiver of a [`Gotocol`] is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Imposition {
    /// Names the receiver; the reply-to is its controller (the FSM or asgard).
    Hello,
    /// Tells the receiver about a third party: the reply-to is that party.
    NameDrop,
    /// Starts periodic chatting at the interval in the intention.
    Chat,
    /// Gives gold coins; the reply-to is the benefactor.
    GoldCoin,
    /// Carries a graph event to edda, or tells an actor where edda is.
    Inform,
    /// Asks for a key's value or, with a Poll, asks eureka what changed.
    GetRequest,
    /// Answers a GetRequest: the value (none for a miss), or eureka's
    /// changes.
    GetResponse,
    /// Stores a key and its value, or registers an instance with eureka.
    Put,
    /// Copies a Put to a peer store or ring node, or a registration change
    /// to another zone's eureka.
    Replicate,
    /// Drops a dependency the receiver knew about.
    Forget,
    /// Unregisters an instance from eureka; the intention says why it
    /// finished.
    Delete,
    /// Asks the receiver to stop; it answers Goodbye to its controller.
    Goodbye,
}

impl Imposition {
    /// Every imposition, in spigo's order.
    pub const ALL: [Imposition; 12] = [
        Imposition::Hello,
        Imposition::NameDrop,
        Imposition::Chat,
        Imposition::GoldCoin,
        Imposition::Inform,
        Imposition::GetRequest,
        Imposition::GetResponse,
        Imposition::Put,
        Imposition::Replicate,
        Imposition::Forget,
        Imposition::Delete,
        Imposition::Goodbye,
    ];
}

impl fmt::Display for Imposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Ids that tie the messages of one request flow together (Zipkin-style);
/// zero means "not part of a trace", as spigo's `NilContext`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceContext {
    /// The request flow the message belongs to.
    pub trace: u64,
    /// The span of the call that caused this one, 0 where the flow starts.
    pub parent: u64,
    /// This call's own span.
    pub span: u64,
}

impl TraceContext {
    /// Not part of any trace.
    pub const NIL: TraceContext = TraceContext {
        trace: 0,
        parent: 0,
        span: 0,
    };
}

/// The body of a message; which variant is meaningful depends on the
/// imposition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Intention {
    /// No body: the imposition says it all (a GetResponse without one is a
    /// miss).
    #[default]
    None,
    /// Free text, such as a name or a key (inline up to 24 bytes).
    Text(CompactString),
    /// A number of gold coins.
    Gold(u64),
    /// A chat or polling interval.
    Interval(Duration),
    /// A graph event on its way to edda, or a registration for eureka.
    Event(GraphEvent),
    /// Asks eureka for instances of `service` registered after entry
    /// `since` of its log (only those in `zone`, if given); eureka's
    /// GetResponse carries the new `since`.
    Poll {
        /// The dependency asked about.
        service: CompactString,
        /// Only instances of this zone (callers that stay in their zone).
        zone: Option<u8>,
        /// How far into the registry's log the caller has read.
        since: u64,
    },
    /// An instance of `service` at `location` (eureka's NameDrop and Forget;
    /// the instance itself is the reply-to).
    Instance {
        /// The service the instance belongs to.
        service: CompactString,
        /// Where it runs, so callers can prefer their own zone.
        location: Location,
    },
    /// A key and its value (Put, Replicate).
    Pair(Box<[CompactString; 2]>),
    /// Why a Goodbye was sent.
    Exit(Exit),
    /// A GetResponse saying the request failed on its way, and why: it is
    /// relayed back along the request's path like any answer, so the asker
    /// learns of the failure instead of waiting for a timeout.
    Failed(Reason),
    /// With a Chat to a service instance: an outage. It takes requests
    /// and answers none for this long, then serves again (a hung process,
    /// not a dead one: eureka still lists it).
    Dark(Duration),
}

/// Why a request did not get where it was going. The names are stable:
/// they are the keys of `requests.failed` in `summary.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reason {
    /// An instance or a link was too far behind and refused new work.
    Shed,
    /// It was passed on more times than the hop limit allows (`-kv hops:N`),
    /// as it is when services depend on each other in a circle.
    HopLimit,
    /// No live instance to pass it to, or the receiver had stopped.
    Undeliverable,
    /// The node it was for is lost (declared so, and fenced).
    NodeLost,
    /// The link to the node it was for is down (broken and being dialled
    /// again, or given up while both nodes live on).
    LinkDown,
    /// The asker gave up waiting for its answer.
    Timeout,
    /// The instance's queue was full (its work model's `queue`), so it
    /// refused the request at once.
    Rejected,
    /// The caller's circuit breaker for that dependency was open, so the
    /// call was not made (and no fallback answered instead).
    ShortCircuited,
    /// It reached an instance in an outage (`-kv outage:`), which takes
    /// requests and answers none; a put ends there.
    Outage,
    /// Still on its way when the run ended as planned.
    InFlightAtEnd,
    /// Still on its way when an interrupt ended the run.
    Interrupted,
}

impl Reason {
    /// Every reason, in the order summaries list them.
    pub const ALL: [Reason; 11] = [
        Reason::Shed,
        Reason::HopLimit,
        Reason::Undeliverable,
        Reason::NodeLost,
        Reason::LinkDown,
        Reason::Timeout,
        Reason::Rejected,
        Reason::ShortCircuited,
        Reason::Outage,
        Reason::InFlightAtEnd,
        Reason::Interrupted,
    ];

    /// The reason's stable name, as summaries show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Shed => "shed",
            Reason::HopLimit => "hop limit",
            Reason::Undeliverable => "undeliverable",
            Reason::NodeLost => "node lost",
            Reason::LinkDown => "link down",
            Reason::Timeout => "timeout",
            Reason::Rejected => "rejected",
            Reason::ShortCircuited => "short_circuited",
            Reason::Outage => "outage",
            Reason::InFlightAtEnd => "in flight at end",
            Reason::Interrupted => "interrupted",
        }
    }

    /// Its place in [`Reason::ALL`], for counting in arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Intention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Intention::None => Ok(()),
            Intention::Text(t) => f.write_str(t),
            Intention::Gold(g) => write!(f, "{g}"),
            Intention::Interval(d) => write!(f, "{}", crate::time::GoDuration(*d)),
            Intention::Event(e) => write!(f, "{e}"),
            Intention::Poll {
                service,
                zone,
                since,
            } => match zone {
                Some(z) => write!(f, "{service} zone {z} since {since}"),
                None => write!(f, "{service} since {since}"),
            },
            Intention::Instance { service, location } => write!(f, "{service} at {location}"),
            Intention::Pair(kv) => write!(f, "{} {}", kv[0], kv[1]),
            Intention::Exit(e) => f.write_str(e.as_str()),
            Intention::Failed(r) => write!(f, "failed: {r}"),
            Intention::Dark(d) => write!(f, "dark for {}", crate::time::GoDuration(*d)),
        }
    }
}

/// One message between actors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gotocol {
    /// What the receiver is asked to do.
    pub imposition: Imposition,
    /// Who to answer, or the third party a NameDrop is about.
    pub reply_to: Option<Address>,
    /// When the sender sent it; the receiver measures delivery delay from it.
    pub sent: Timestamp,
    /// The trace the message is part of, [`TraceContext::NIL`] if none.
    pub ctx: TraceContext,
    /// Where the sending instance runs, for the latency model (none for
    /// infrastructure: asgard, eureka, edda).
    pub from: Option<Location>,
    /// The body; which variant means something depends on the imposition.
    pub intention: Intention,
    /// How many times the request this message is part of has been passed
    /// on from one instance to the next: the request a denominator sends
    /// has 0, each instance passing it on adds one. A request beyond the
    /// hop limit is dropped, so a dependency cycle cannot make it circle
    /// forever.
    pub hops: u8,
}

impl Gotocol {
    /// A message outside any trace and from no location; add those with
    /// [`Gotocol::with_ctx`] and [`Gotocol::from_location`].
    pub fn new(
        imposition: Imposition,
        reply_to: Option<Address>,
        sent: Timestamp,
        intention: Intention,
    ) -> Self {
        Gotocol {
            imposition,
            reply_to,
            sent,
            ctx: TraceContext::NIL,
            from: None,
            intention,
            hops: 0,
        }
    }

    /// A message `hops` steps down its request's path.
    pub fn with_hops(mut self, hops: u8) -> Self {
        self.hops = hops;
        self
    }

    /// Whether this is request traffic (a get or put of a key, which the
    /// summary accounts for), not a registry's poll or registration that
    /// uses the same impositions.
    pub fn is_request(&self) -> bool {
        matches!(
            (self.imposition, &self.intention),
            (Imposition::GetRequest, Intention::Text(_)) | (Imposition::Put, Intention::Pair(_))
        )
    }

    /// Says where the sender runs, so the latency model can delay the
    /// message by the distance it travels.
    pub fn from_location(mut self, at: Location) -> Self {
        self.from = Some(at);
        self
    }

    /// Puts the message in a trace.
    pub fn with_ctx(mut self, ctx: TraceContext) -> Self {
        self.ctx = ctx;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_impositions_with_spigo_names() {
        let names: Vec<String> = Imposition::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            names,
            [
                "Hello",
                "NameDrop",
                "Chat",
                "GoldCoin",
                "Inform",
                "GetRequest",
                "GetResponse",
                "Put",
                "Replicate",
                "Forget",
                "Delete",
                "Goodbye"
            ]
        );
    }

    #[test]
    fn message_stays_small() {
        // Every message is boxed once by ractor; keep that box small.
        assert!(
            std::mem::size_of::<Gotocol>() <= 96,
            "{}",
            std::mem::size_of::<Gotocol>()
        );
    }

    #[test]
    fn intentions_display_like_spigo_logs() {
        assert_eq!(Intention::Text("why?".into()).to_string(), "why?");
        assert_eq!(Intention::Gold(42).to_string(), "42");
        assert_eq!(
            Intention::Interval(Duration::from_millis(1500)).to_string(),
            "1.5s"
        );
        assert_eq!(Intention::None.to_string(), "");
        assert_eq!(
            Intention::Failed(Reason::HopLimit).to_string(),
            "failed: hop limit"
        );
    }

    #[test]
    fn reasons_have_stable_names_in_order() {
        let names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "shed",
                "hop limit",
                "undeliverable",
                "node lost",
                "link down",
                "timeout",
                "rejected",
                "short_circuited",
                "outage",
                "in flight at end",
                "interrupted"
            ]
        );
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
