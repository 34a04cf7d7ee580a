//! Fuzzes `cluster::decode_frame`, the entry point for the bytes a peer
//! process sends over a cluster link.
//!
//! Any input must either be refused with an error or decode to a frame; a
//! decoded frame must then survive a round trip through `wire::encode` and
//! `decode_frame` unchanged. The input itself need not come back byte for
//! byte (the decoder may accept several spellings of one value), but the
//! encoding of a decoded frame must be a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spigo_proto::cluster::decode_frame;
use spigo_proto::wire::encode;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = decode_frame(data) else {
        return;
    };
    let bytes = encode(&frame)
        .unwrap_or_else(|e| panic!("a decoded frame does not re-encode: {e}\n{frame:?}"));
    let again = decode_frame(&bytes).unwrap_or_else(|e| {
        panic!("a re-encoded frame does not decode: {e}\n{frame:?}\nre-encoded: {bytes:02x?}")
    });
    // The decoder refuses NaN (the only floats are a Join's jitter and
    // trace sample), so every accepted frame equals itself.
    assert_eq!(again, frame, "the round trip changed the frame");
    let bytes_again = encode(&again).expect("a decoded frame re-encodes");
    assert_eq!(bytes_again, bytes, "re-encoding a frame is not stable");
});
