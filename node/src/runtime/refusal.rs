//! Requests handed on without their sender waiting on the send (released
//! by the delay queue, or arrived over a link): what is kept of one so
//! that, if it cannot be delivered, its asker still hears of it.

use super::clock;
use spigo_proto::{Address, Gotocol, Imposition, Intention, Reason, TraceContext};

/// A request's imposition, asker and trace context: enough to answer it
/// as failed or count it, without keeping the message.
#[derive(Clone, Copy)]
pub(super) struct Refusal {
    imposition: Imposition,
    reply_to: Option<Address>,
    ctx: TraceContext,
}

impl Refusal {
    /// Only request traffic is accounted for.
    pub(super) fn of(msg: &Gotocol) -> Option<Refusal> {
        msg.is_request().then_some(Refusal {
            imposition: msg.imposition,
            reply_to: msg.reply_to,
            ctx: msg.ctx,
        })
    }

    pub(super) fn is_put(&self) -> bool {
        self.imposition == Imposition::Put
    }

    /// For a get with an asker: where its failure answer goes, and the
    /// answer, under the span the asker waits on.
    pub(super) fn answer(&self, reason: Reason) -> Option<(Address, Gotocol)> {
        let asker = self
            .reply_to
            .filter(|_| self.imposition == Imposition::GetRequest)?;
        let answer = Gotocol::new(
            Imposition::GetResponse,
            None,
            clock::now(),
            Intention::Failed(reason),
        )
        .with_ctx(self.ctx);
        Some((asker, answer))
    }
}
