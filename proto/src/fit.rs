//! What fits in one frame: a cheap upper bound of the wire size of each
//! item a batch frame carries, and the splitting of a batch into frames
//! that each stay under [`MAX_FRAME_BYTES`].
//!
//! A receiver closes a link whose peer announces a frame over the limit
//! (it cannot tell a huge frame from garbage), so the sender must never
//! build one. Encoding an item to learn its size would cost the hot path a
//! second encoding; the bound is a few additions instead: the item's texts
//! (which are what can grow without limit, e.g. 100 KB service names) plus
//! a fixed allowance for everything else, which bincode's varints keep
//! small.

use crate::cluster::{Envelope, Frame, Span};
use crate::gotocol::{Gotocol, Intention};
use crate::graph::{GraphEvent, StampedEvent};
use crate::wire::MAX_FRAME_BYTES;

/// What a frame itself takes beyond its items at most: the version byte,
/// the variant and the batch's length.
pub const FRAME_OVERHEAD: usize = 16;
/// The bytes a frame's items may take together.
pub const ROOM: usize = MAX_FRAME_BYTES - FRAME_OVERHEAD;

/// An item's bytes besides its texts, at most: addresses, times, ids and
/// enum tags as varints, and each text's length prefix (at most 9 bytes).
const FIXED: usize = 192;

/// Something a batch frame carries, with an upper bound of its wire size.
pub trait Bounded {
    /// At least as many bytes as the item takes on the wire.
    fn wire_bound(&self) -> usize;
}

impl Bounded for Gotocol {
    fn wire_bound(&self) -> usize {
        FIXED
            + match &self.intention {
                Intention::None
                | Intention::Gold(_)
                | Intention::Interval(_)
                | Intention::Dark(_)
                | Intention::Exit(_)
                | Intention::Failed(_) => 0,
                Intention::Text(t) => t.len(),
                Intention::Poll { service, .. } | Intention::Instance { service, .. } => {
                    service.len()
                }
                Intention::Pair(kv) => kv[0].len() + kv[1].len(),
                Intention::Event(e) => event_texts(e),
            }
    }
}

fn event_texts(e: &GraphEvent) -> usize {
    match e {
        GraphEvent::Node(n) => n.name.len() + n.package.len() + n.metadata.len(),
        GraphEvent::Edge { .. } | GraphEvent::Forget { .. } | GraphEvent::Done { .. } => 0,
    }
}

impl Bounded for Envelope {
    fn wire_bound(&self) -> usize {
        self.msg.wire_bound()
    }
}

impl Bounded for StampedEvent {
    fn wire_bound(&self) -> usize {
        FIXED + event_texts(&self.event)
    }
}

impl Bounded for Span {
    fn wire_bound(&self) -> usize {
        FIXED + self.name.len() + self.service.len() + self.instance.len()
    }
}

/// An instance to spawn is measured exactly: spawning is not a hot path,
/// and a spec holds many texts (names, dependencies, metadata).
impl Bounded for crate::spec::InstanceSpec {
    fn wire_bound(&self) -> usize {
        crate::wire::encoded_len(self).map_or(usize::MAX, |n| n + FRAME_OVERHEAD)
    }
}

/// `items` in consecutive runs whose bounds add up to at most `room` each
/// (an item too big alone goes alone: refusing it is the sender's job).
pub fn chunks<T: Bounded>(items: Vec<T>, room: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut used = 0;
    for item in items {
        let size = item.wire_bound();
        if !current.is_empty() && used + size > room {
            out.push(std::mem::take(&mut current));
            used = 0;
        }
        used += size;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A frame as frames that each fit: a batch (messages, graph events,
/// spans) is split where it would overrun [`ROOM`]; any other frame comes
/// back whole.
pub fn split(frame: Frame) -> Vec<Frame> {
    fn total<T: Bounded>(items: &[T]) -> usize {
        items.iter().map(Bounded::wire_bound).sum()
    }
    match frame {
        Frame::Messages(m) if total(&m) > ROOM => {
            chunks(m, ROOM).into_iter().map(Frame::Messages).collect()
        }
        Frame::Events(e) if total(&e) > ROOM => {
            chunks(e, ROOM).into_iter().map(Frame::Events).collect()
        }
        Frame::Spans(s) if total(&s) > ROOM => {
            chunks(s, ROOM).into_iter().map(Frame::Spans).collect()
        }
        whole => vec![whole],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{encode, encoded_len};
    use crate::{Address, Imposition, Location, NodeRecord, Timestamp};

    fn big_hello(to: u32, text: usize) -> Envelope {
        Envelope {
            to: Address::new(u16::MAX, to),
            msg: Gotocol::new(
                Imposition::Hello,
                Some(Address::new(u16::MAX, u32::MAX)),
                Timestamp(u64::MAX),
                Intention::Text("x".repeat(text).into()),
            )
            .from_location(Location { region: 3, zone: 2 }),
        }
    }

    #[test]
    fn bounds_are_never_below_the_real_size() {
        let record = |n: usize| NodeRecord {
            id: Address::new(u16::MAX, u32::MAX),
            name: "n".repeat(n),
            package: "karyon".into(),
            metadata: "m".repeat(n),
            location: Location { region: 1, zone: 1 },
        };
        for n in [0, 10, 300, 100_000] {
            let env = big_hello(u32::MAX, n);
            assert!(encoded_len(&env).unwrap() <= env.wire_bound());
            let event = StampedEvent {
                time: Timestamp(u64::MAX),
                event: GraphEvent::Node(Box::new(record(n))),
            };
            assert!(encoded_len(&event).unwrap() <= event.wire_bound());
            let msg = Gotocol::new(
                Imposition::Put,
                None,
                Timestamp(u64::MAX),
                Intention::Event(event.event.clone()),
            );
            assert!(encoded_len(&msg).unwrap() <= msg.wire_bound());
        }
    }

    #[test]
    fn a_batch_over_the_limit_is_split_into_frames_that_fit() {
        // 100 messages of 100 KB: about 10 MB, more than two frames' worth.
        let batch: Vec<Envelope> = (0..100).map(|i| big_hello(i, 100_000)).collect();
        let frames = split(Frame::Messages(batch.clone()));
        assert!(frames.len() >= 3, "{} frames", frames.len());
        let mut again = Vec::new();
        for f in frames {
            assert!(encode(&f).is_ok(), "every frame fits");
            let Frame::Messages(m) = f else {
                panic!("still messages")
            };
            again.extend(m);
        }
        assert_eq!(again, batch, "all of them, in order");
        let small = Frame::Messages(vec![big_hello(1, 10)]);
        assert_eq!(split(small.clone()), vec![small]);
    }
}
