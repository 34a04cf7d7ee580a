//! The wire encoding between spigo processes.
//!
//! This is the only module that knows the encoding crate (`bincode` 2.0.1, the
//! last working release of an unmaintained crate); moving to postcard or
//! wincode later means changing this file alone. Every frame starts with a
//! version byte and is bounded in size, so a peer speaking another version or
//! sending garbage is refused with an error instead of being misread.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Bumped whenever a frame's layout changes.
pub const WIRE_VERSION: u8 = 9;
/// Largest frame a node accepts (4 MiB); batches are flushed well below this.
pub const MAX_FRAME_BYTES: usize = 4 << 20;

/// Why a frame was refused, or a value could not be made into one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A frame without even its version byte.
    #[error("empty frame")]
    Empty,
    /// A frame from a peer speaking another wire version (the one it carried).
    #[error("frame of wire version {0}, this build speaks version {WIRE_VERSION}")]
    Version(u8),
    /// A frame larger than [`MAX_FRAME_BYTES`] (its size in bytes).
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")]
    Oversize(usize),
    /// Bytes that do not decode as the expected type (the decoder's words).
    #[error("undecodable frame: {0}")]
    Decode(String),
    /// Bytes left over after the value (how many): sender and receiver
    /// disagree on a layout.
    #[error("frame has {0} trailing bytes")]
    Trailing(usize),
    /// A value the encoder could not write (its words).
    #[error("unencodable value: {0}")]
    Encode(String),
    /// A frame that decodes but holds values a node must not act on, such
    /// as NaN jitter (what is wrong).
    #[error("frame out of range: {0}")]
    Invalid(String),
    /// A batch longer than its limit, refused before anything in it is used.
    #[error("a batch of {len} {what}, more than the {max} allowed")]
    Batch {
        /// What the batch holds, e.g. `messages`.
        what: &'static str,
        /// How many it held.
        len: usize,
        /// The most a batch of that kind may hold.
        max: usize,
    },
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME_BYTES>()
}

/// Encodes a value behind the version byte.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut out = vec![WIRE_VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .map_err(|e| WireError::Encode(e.to_string()))?;
    if out.len() > MAX_FRAME_BYTES {
        return Err(WireError::Oversize(out.len()));
    }
    Ok(out)
}

/// How many bytes [`encode`] would make of `value`, without making them:
/// for checking that something fits before it is queued.
pub fn encoded_len<T: Serialize>(value: &T) -> Result<usize, WireError> {
    let mut size = bincode::enc::write::SizeWriter::default();
    bincode::serde::encode_into_writer(value, &mut size, config())
        .map_err(|e| WireError::Encode(e.to_string()))?;
    Ok(1 + size.bytes_written)
}

/// Decodes a value written by [`encode`], refusing anything malformed.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let (&version, body) = bytes.split_first().ok_or(WireError::Empty)?;
    if version != WIRE_VERSION {
        return Err(WireError::Version(version));
    }
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::Oversize(bytes.len()));
    }
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| WireError::Decode(e.to_string()))?;
    if used != body.len() {
        return Err(WireError::Trailing(body.len() - used));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Envelope, Frame};
    use crate::{
        Address, Exit, Gotocol, GraphEvent, Imposition, Intention, NodeRecord, Timestamp,
        TraceContext,
    };
    use std::time::Duration;

    fn sample_messages() -> Vec<Gotocol> {
        let a = Address::new(1, 7);
        let mut out = Vec::new();
        for imp in Imposition::ALL {
            out.push(Gotocol::new(imp, Some(a), Timestamp(123), Intention::None));
        }
        out.push(
            Gotocol::new(
                Imposition::GetRequest,
                None,
                Timestamp(u64::MAX),
                Intention::Text("a key longer than twenty-four bytes".into()),
            )
            .with_ctx(TraceContext {
                trace: 1,
                parent: 2,
                span: 3,
            }),
        );
        out.push(Gotocol::new(
            Imposition::GoldCoin,
            Some(a),
            Timestamp(1),
            Intention::Gold(99),
        ));
        for intention in [
            Intention::Poll {
                service: "homepage".into(),
                zone: Some(1),
                since: 77,
            },
            Intention::Instance {
                service: "www-elb".into(),
                location: crate::Location::GLOBAL,
            },
            Intention::Pair(Box::new(["key9".into(), "remember me".into()])),
            Intention::Exit(Exit::ChaosMonkey),
        ] {
            out.push(Gotocol::new(
                Imposition::NameDrop,
                Some(a),
                Timestamp(2),
                intention,
            ));
        }
        out.push(Gotocol::new(
            Imposition::Chat,
            None,
            Timestamp(1),
            Intention::Interval(Duration::from_millis(2500)),
        ));
        for event in [
            GraphEvent::Node(Box::new(NodeRecord {
                id: a,
                name: "fsm.atlantic.bermuda..blackbeard06...blackbeard.pirate".into(),
                package: "pirate".into(),
                metadata: "IP/54.198.0.1".into(),
                location: crate::Location::new(0, 2),
            })),
            GraphEvent::Edge {
                source: a,
                target: Address::new(0, 0),
            },
            GraphEvent::Forget {
                source: a,
                target: Address::new(65535, u32::MAX),
            },
            GraphEvent::Done {
                id: a,
                exit: Exit::NodeLost,
            },
        ] {
            out.push(Gotocol::new(
                Imposition::Inform,
                Some(a),
                Timestamp(5),
                Intention::Event(event),
            ));
        }
        out
    }

    #[test]
    fn every_message_shape_round_trips() {
        for msg in sample_messages() {
            let bytes = encode(&msg).unwrap();
            assert_eq!(decode::<Gotocol>(&bytes).unwrap(), msg);
        }
    }

    #[test]
    fn batched_frames_round_trip() {
        let frame = Frame::Messages(
            sample_messages()
                .into_iter()
                .enumerate()
                .map(|(i, msg)| Envelope {
                    to: Address::new(2, i as u32),
                    msg,
                })
                .collect(),
        );
        let bytes = encode(&frame).unwrap();
        assert_eq!(decode::<Frame>(&bytes).unwrap(), frame);
    }

    #[test]
    fn oversized_batches_are_refused() {
        let env = |i: u32| Envelope {
            to: Address::new(1, i),
            msg: Gotocol::new(Imposition::Hello, None, Timestamp(0), Intention::None),
        };
        let ok = Frame::Messages((0..crate::cluster::MAX_BATCH as u32).map(env).collect());
        assert!(crate::cluster::decode_frame(&encode(&ok).unwrap()).is_ok());
        let big = Frame::Messages((0..=crate::cluster::MAX_BATCH as u32).map(env).collect());
        assert!(matches!(
            crate::cluster::decode_frame(&encode(&big).unwrap()),
            Err(WireError::Batch {
                what: "messages",
                ..
            })
        ));
    }

    #[test]
    fn malformed_frames_are_refused() {
        let bytes = encode(&sample_messages()[0]).unwrap();
        assert_eq!(decode::<Gotocol>(&[]), Err(WireError::Empty));
        let mut wrong = bytes.clone();
        wrong[0] = 99;
        assert_eq!(decode::<Gotocol>(&wrong), Err(WireError::Version(99)));
        assert!(matches!(
            decode::<Gotocol>(&bytes[..bytes.len() - 1]),
            Err(WireError::Decode(_))
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(decode::<Gotocol>(&long), Err(WireError::Trailing(1)));
        let huge = vec![WIRE_VERSION; MAX_FRAME_BYTES + 1];
        assert_eq!(
            decode::<Gotocol>(&huge),
            Err(WireError::Oversize(MAX_FRAME_BYTES + 1))
        );
    }

    /// A Join whose numbers would make a node panic later is refused at
    /// the door (the fuzzer found NaN jitter and a negative sample).
    #[test]
    fn joins_out_of_range_are_refused() {
        use crate::archaius::default_regions;
        use crate::cluster::{decode_frame, JoinOrder, Request};
        use crate::latency::LatencyModel;
        let join = |jitter: f64, collect: Option<f64>| {
            let model = LatencyModel::aws(&default_regions()).unwrap();
            let order = JoinOrder {
                node: 1,
                msglog: false,
                peers: vec![],
                latency: Some(LatencyModel { jitter, ..model }),
                seed: 1,
                collect,
                heartbeat_timeout: std::time::Duration::from_secs(10),
            };
            let frame = Frame::Request {
                id: 1,
                body: Request::Join(order),
            };
            decode_frame(&encode(&frame).unwrap())
        };
        assert!(join(0.1, Some(0.5)).is_ok());
        assert!(matches!(join(f64::NAN, None), Err(WireError::Invalid(_))));
        assert!(matches!(join(0.0, Some(-1.0)), Err(WireError::Invalid(_))));
        assert!(matches!(
            join(0.0, Some(f64::NAN)),
            Err(WireError::Invalid(_))
        ));
    }
}
