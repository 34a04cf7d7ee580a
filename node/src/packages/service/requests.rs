//! Requests: what an instance remembers of the requests it passed on, so
//! their answers go back the way they came, and when it gives up on them.
//!
//! A GetRequest passed to a dependency is a child call under a fresh span
//! id; the answer comes back under that id and is relayed to whoever asked
//! this instance, under the asker's own span. An answer that never comes is
//! given up after [`PENDING_TIMEOUT`], on the instance's poll timer.

use spigo_proto::{Address, Gotocol, Imposition, Intention, Timestamp, TraceContext};
use std::collections::HashMap;
use std::time::Duration;

/// A request still waiting for its answer is given up after this long.
pub const PENDING_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the answer to a request this instance passed on must go.
#[derive(Clone, Debug)]
pub struct Pending {
    pub requester: Option<Address>,
    /// The trace context of the request as it arrived here.
    pub ctx: TraceContext,
    pub started: Timestamp,
    /// Package-specific progress (staash's fall-through stage).
    pub stage: u8,
    /// What was asked (the key), for packages that ask again elsewhere.
    pub asked: Intention,
}

impl Pending {
    /// The request this entry stands for, as it arrived here; used to ask
    /// again elsewhere (staash's fall-through).
    pub fn original(&self) -> Gotocol {
        Gotocol::new(
            Imposition::GetRequest,
            self.requester,
            self.started,
            self.asked.clone(),
        )
        .with_ctx(self.ctx)
    }
}

/// The requests an instance waits on, by the span id of its child call.
#[derive(Default)]
pub(crate) struct Requests {
    pending: HashMap<u64, Pending>,
    /// When the request being handled arrived here.
    pub(super) arrived: Option<Timestamp>,
}

impl Requests {
    /// Remembers `request`, passed on as the child call `child`, at
    /// `stage`.
    pub(super) fn wait_for(&mut self, child: TraceContext, request: &Gotocol, stage: u8) {
        self.pending.insert(
            child.span,
            Pending {
                requester: request.reply_to,
                ctx: request.ctx,
                // Arrival here; a staash re-asking elsewhere passes the
                // original arrival as the request's send time.
                started: self.arrived.unwrap_or(request.sent),
                stage,
                asked: request.intention.clone(),
            },
        );
    }

    /// Takes the entry of child call `span` (one given up by its caller).
    pub(super) fn take(&mut self, span: u64) -> Option<Pending> {
        self.pending.remove(&span)
    }

    /// Whether child call `span` still waits for its answer.
    pub(super) fn is_waiting(&self, span: u64) -> bool {
        self.pending.contains_key(&span)
    }

    /// Takes the entry a response answers.
    pub(super) fn answered_by(&mut self, response: &Gotocol) -> Option<Pending> {
        self.pending.remove(&response.ctx.span)
    }

    /// Gives up on requests older than [`PENDING_TIMEOUT`] at `now`;
    /// returns their contexts and start times, so their spans can be
    /// closed.
    pub(super) fn expire(&mut self, now: Timestamp) -> Vec<(TraceContext, Timestamp)> {
        let mut expired = Vec::new();
        self.pending.retain(|_, p| {
            let keep = now.since(p.started) < PENDING_TIMEOUT;
            if !keep {
                expired.push((p.ctx, p.started));
            }
            keep
        });
        expired
    }
}
