//! The one accounting of a run's requests, shared by the text summary and
//! `summary.json`: every get and put sent is answered (gets), delivered
//! (puts) or failed with a reason, so that
//! `sent == answered + delivered + sum(failed)` always holds.
//!
//! Nodes count what they see where it happens: a denominator classifies
//! each get it sent once (answered, or failed with the reason its failure
//! answer carried, or by timeout); a put is counted where it ends
//! (delivered) or where it is dropped (failed). What is left once every
//! report is in was still on its way when the run ended: in flight at the
//! end, interrupted, or lost with a node.

use spigo_node::runtime::metrics::Traffic;
use spigo_proto::Reason;
use std::collections::BTreeMap;

/// How the run ended, as far as requests still on their way go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Simulated time ran out as planned.
    Complete,
    /// A node was lost: what it had in hand is gone with it.
    NodesLost,
    /// An interrupt ended simulated time early.
    Interrupted,
}

impl End {
    /// Why requests still on their way at the end did not finish.
    fn leftover(self) -> Reason {
        match self {
            End::Complete => Reason::InFlightAtEnd,
            End::NodesLost => Reason::NodeLost,
            End::Interrupted => Reason::Interrupted,
        }
    }
}

/// One kind of request (gets or puts), accounted for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub sent: u64,
    /// Answered (gets) or delivered (puts).
    pub ended: u64,
    pub failed: BTreeMap<Reason, u64>,
    /// Ended or failed on surviving nodes but sent by a node that was lost
    /// before it reported: counted as sent, so the accounting adds up.
    pub unreported: u64,
}

impl Tally {
    fn new(sent: u64, ended: u64, failed: &[u64; Reason::ALL.len()], end: End) -> Tally {
        let failed: BTreeMap<Reason, u64> = Reason::ALL
            .iter()
            .map(|&r| (r, failed[r.index()]))
            .filter(|&(_, n)| n > 0)
            .collect();
        let mut t = Tally {
            sent,
            ended,
            failed,
            unreported: 0,
        };
        let done = t.ended + t.failures();
        match sent.checked_sub(done) {
            Some(0) => {}
            Some(left) => *t.failed.entry(end.leftover()).or_default() += left,
            None => {
                t.unreported = done - sent;
                t.sent = done;
            }
        }
        t
    }

    /// Every failure, whatever the reason.
    pub(crate) fn failures(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Failures for `reason`.
    #[cfg(test)]
    pub(crate) fn failed_for(&self, reason: Reason) -> u64 {
        self.failed.get(&reason).copied().unwrap_or(0)
    }
}

/// Every request of the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Accounting {
    pub gets: Tally,
    pub puts: Tally,
    /// Gets answered with a value.
    pub found: u64,
    /// Puts made by writing one put to several stores, counted among
    /// `puts.sent`.
    pub forked: u64,
}

impl Accounting {
    /// The accounting of every node's figures, merged into `t`.
    pub(crate) fn of(t: &Traffic, end: End) -> Accounting {
        let puts = t.requests.saturating_sub(t.gets) + t.puts_forked;
        Accounting {
            gets: Tally::new(t.gets, t.responses, &t.failed, end),
            puts: Tally::new(puts, t.puts_delivered, &t.puts_failed, end),
            found: t.hits,
            forked: t.puts_forked,
        }
    }

    pub(crate) fn sent(&self) -> u64 {
        self.gets.sent + self.puts.sent
    }

    /// Failures of gets and puts together, by reason.
    pub(crate) fn failed(&self) -> BTreeMap<Reason, u64> {
        let mut all = self.gets.failed.clone();
        for (&r, &n) in &self.puts.failed {
            *all.entry(r).or_default() += n;
        }
        all
    }

    /// Answered gets as a percentage of gets sent.
    pub(crate) fn answered_percent(&self) -> f64 {
        match self.gets.sent {
            0 => 0.0,
            n => 100.0 * self.gets.ended as f64 / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(gets: u64, puts: u64) -> Traffic {
        Traffic {
            requests: gets + puts,
            gets,
            ..Traffic::default()
        }
    }

    fn adds_up(a: &Accounting) {
        let failed: u64 = a.failed().values().sum();
        assert_eq!(a.sent(), a.gets.ended + a.puts.ended + failed, "{a:?}");
    }

    #[test]
    fn what_is_left_is_in_flight_interrupted_or_lost() {
        let mut t = traffic(10, 5);
        t.responses = 6;
        t.hits = 2;
        t.failed[Reason::Timeout.index()] = 1;
        t.failed[Reason::HopLimit.index()] = 1;
        t.puts_delivered = 3;
        t.puts_failed[Reason::Shed.index()] = 1;
        for (end, reason) in [
            (End::Complete, Reason::InFlightAtEnd),
            (End::Interrupted, Reason::Interrupted),
            (End::NodesLost, Reason::NodeLost),
        ] {
            let a = Accounting::of(&t, end);
            adds_up(&a);
            assert_eq!(a.gets.failed_for(reason), 2);
            assert_eq!(a.puts.failed_for(reason), 1);
            assert_eq!(a.gets.failed_for(Reason::HopLimit), 1);
            assert_eq!(a.found, 2);
            assert_eq!(a.failed()[&Reason::Shed], 1);
        }
    }

    #[test]
    fn nothing_left_means_no_leftover_reason() {
        let mut t = traffic(2, 1);
        t.responses = 2;
        t.puts_delivered = 1;
        let a = Accounting::of(&t, End::Interrupted);
        adds_up(&a);
        assert!(a.failed().is_empty());
        assert_eq!(a.answered_percent(), 100.0);
    }

    #[test]
    fn forked_puts_count_as_sent() {
        let mut t = traffic(0, 2);
        t.puts_forked = 2;
        t.puts_delivered = 3;
        t.puts_failed[Reason::Undeliverable.index()] = 1;
        let a = Accounting::of(&t, End::Complete);
        adds_up(&a);
        assert_eq!((a.puts.sent, a.forked), (4, 2));
        assert!(!a.puts.failed.contains_key(&Reason::InFlightAtEnd));
    }

    #[test]
    fn ends_reported_without_their_sender_are_counted_as_sent() {
        // A lost node's denominator sent puts that survivors stored.
        let mut t = traffic(0, 1);
        t.puts_delivered = 3;
        let a = Accounting::of(&t, End::NodesLost);
        adds_up(&a);
        assert_eq!((a.puts.sent, a.puts.unreported), (3, 2));
    }
}
