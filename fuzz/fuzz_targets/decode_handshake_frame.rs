//! Fuzzes `preauth::decode_handshake_frame`, what a node reads from a peer
//! that has not proved the cookie yet: a length, checked against the
//! 16 KiB limit and for the start of a TLS record, then a body.
//!
//! Any input must either be refused with an error or decode to a frame
//! from no more bytes than there are and no more than the limit allows;
//! an accepted frame must be what `decode_frame` makes of the same body,
//! and a refusal must be the one the input's first bytes call for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spigo_proto::cluster::decode_frame;
use spigo_proto::preauth::{
    decode_handshake_frame, handshake_frame_len, PreAuthError, PRE_AUTH_FRAME_BYTES,
};
use spigo_proto::wire::encode;

fuzz_target!(|data: &[u8]| {
    match decode_handshake_frame(data) {
        Ok((frame, used)) => {
            assert!(used <= data.len(), "took {used} of {} bytes", data.len());
            assert!(used - 4 <= PRE_AUTH_FRAME_BYTES, "a body of {} bytes", used - 4);
            let prefix: [u8; 4] = data[..4].try_into().unwrap();
            assert_eq!(handshake_frame_len(prefix), Ok(used - 4));
            assert_eq!(
                decode_frame(&data[4..used]).as_ref(),
                Ok(&frame),
                "the general decoder disagrees"
            );
            // What is accepted re-encodes to a frame accepted the same way
            // (if it still fits: the decoder may take a longer spelling).
            let body = encode(&frame).expect("a decoded frame re-encodes");
            if body.len() <= PRE_AUTH_FRAME_BYTES {
                let mut again = (body.len() as u32).to_be_bytes().to_vec();
                again.extend_from_slice(&body);
                assert_eq!(
                    decode_handshake_frame(&again),
                    Ok((frame, again.len())),
                    "the round trip changed the frame"
                );
            }
        }
        Err(PreAuthError::Short { have, need }) => {
            assert_eq!(have, data.len());
            assert!(need > have, "{need} bytes needed, {have} there");
        }
        Err(PreAuthError::Oversize(prefix, len)) => {
            assert!(len > PRE_AUTH_FRAME_BYTES);
            assert_eq!(prefix, data[..4]);
            assert_eq!(len as u32, u32::from_be_bytes(data[..4].try_into().unwrap()));
        }
        Err(PreAuthError::PeerSpeaksTls) => {
            assert!(matches!(data[0], 0x15..=0x17) && data[1] == 3, "{:02x?}", &data[..4]);
        }
        Err(PreAuthError::Wire(_)) => {
            let len = handshake_frame_len(data[..4].try_into().unwrap()).expect("a length passed");
            assert!(data.len() >= 4 + len);
        }
    }
});
