//! Tracing: the trace context of each request and the spans instances
//! record of them (with `-c`, for the flow file).
//!
//! A call made on behalf of a request is a child of its span; a request
//! that starts here (the denominator's) starts a fresh trace. Span ids come
//! from the runtime, unique across the whole simulation, so a trace stays
//! whole when it crosses node processes.

use crate::runtime::flows::Flows;
use crate::Runtime;
use compact_str::CompactString;
use spigo_proto::cluster::{Span, SpanKind};
use spigo_proto::{Imposition, Timestamp, TraceContext};
use std::time::Duration;

/// A fresh trace, for requests that start here.
pub(super) fn new_trace(rt: &Runtime) -> TraceContext {
    TraceContext {
        trace: rt.next_id(),
        parent: 0,
        span: rt.next_id(),
    }
}

/// The context of a call made on behalf of a request with context `ctx`.
pub(super) fn child_of(rt: &Runtime, ctx: TraceContext) -> TraceContext {
    TraceContext {
        trace: ctx.trace,
        parent: ctx.span,
        span: rt.next_id(),
    }
}

/// Who records a span: the instance, its service and its address.
pub(super) struct Recorder<'a> {
    pub service: &'a CompactString,
    pub instance: &'a CompactString,
    pub ipv4: Option<[u8; 4]>,
}

/// What one span says: how it relates to the request, what was asked,
/// under which context, from when and for how long.
pub(super) struct Timed {
    pub kind: SpanKind,
    pub imposition: Imposition,
    pub ctx: TraceContext,
    pub start: Timestamp,
    pub took: Duration,
}

impl Recorder<'_> {
    /// Records the span in `flows` if its trace is sampled.
    pub(super) fn record(&self, flows: &Flows, span: Timed) {
        let Timed {
            kind,
            imposition,
            ctx,
            start,
            took,
        } = span;
        if flows.sampled(ctx.trace) {
            flows.record(Span {
                trace: ctx.trace,
                id: ctx.span,
                parent: ctx.parent,
                kind: SpanKind::of_call(kind, answered(imposition)),
                name: span_name(imposition),
                service: self.service.clone(),
                instance: self.instance.clone(),
                ipv4: self.ipv4,
                start_us: start.0 / 1_000,
                duration_us: took.as_micros() as u64,
            });
        }
    }
}

/// Whether a call of this kind is answered: only a get is. A put or a
/// replication is fire-and-forget, so its spans are a producer's and
/// consumers' (a put's sender is done in a microsecond; the copies it
/// started run for tens of milliseconds after).
fn answered(imposition: Imposition) -> bool {
    imposition == Imposition::GetRequest
}

/// A span's name: its imposition in lower case.
fn span_name(imposition: Imposition) -> CompactString {
    CompactString::const_new(match imposition {
        Imposition::Hello => "hello",
        Imposition::NameDrop => "namedrop",
        Imposition::Chat => "chat",
        Imposition::GoldCoin => "goldcoin",
        Imposition::Inform => "inform",
        Imposition::GetRequest => "getrequest",
        Imposition::GetResponse => "getresponse",
        Imposition::Put => "put",
        Imposition::Replicate => "replicate",
        Imposition::Forget => "forget",
        Imposition::Delete => "delete",
        Imposition::Goodbye => "goodbye",
    })
}

/// The address in graph metadata such as `IP/54.198.0.7,node/node2`.
pub(super) fn ip_of(metadata: &str) -> Option<[u8; 4]> {
    let ip: std::net::Ipv4Addr = metadata
        .strip_prefix("IP/")?
        .split(',')
        .next()?
        .parse()
        .ok()?;
    Some(ip.octets())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_names_are_impositions_in_lower_case() {
        for i in Imposition::ALL {
            assert_eq!(span_name(i), i.to_string().to_lowercase());
        }
    }
}
