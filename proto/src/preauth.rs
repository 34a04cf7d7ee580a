//! What a link reads before its peer has proved the cookie: handshake
//! frames, each a 4-byte length and a body of at most
//! [`PRE_AUTH_FRAME_BYTES`], checked before anything is allocated.
//!
//! A stranger can send these, so the rules are in a pure function,
//! [`decode_handshake_frame`], that a fuzz target feeds arbitrary bytes; a
//! reader of a socket applies the same rules with [`handshake_frame_len`]
//! to the length it has read and [`crate::cluster::decode_frame`] to the
//! body.

use crate::cluster::{decode_frame, Frame};
use crate::wire::WireError;

/// Before a peer has proved the cookie its frames are small (a Hello names
/// the peer; the rest are nonces and proofs), so a longer one is refused
/// before anything is allocated: a peer that announces 4 MiB and sends one
/// byte costs nothing.
pub const PRE_AUTH_FRAME_BYTES: usize = 16 * 1024;

/// Why bytes from a peer that has not proved the cookie are not a
/// handshake frame.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PreAuthError {
    /// The length is the start of a TLS record: a TLS peer met by one that
    /// speaks plain frames.
    #[error("the peer speaks TLS and this end does not: give every process --tls-cert, --tls-key and --tls-ca, or none")]
    PeerSpeaksTls,
    /// A length over [`PRE_AUTH_FRAME_BYTES`] (the four bytes and the
    /// length they announce). A peer speaking another protocol usually ends
    /// here, so its first bytes are shown.
    #[error("not a spigo handshake: the first bytes {shown} announce a frame of {len} bytes, and before the cookie is proved a frame may have {PRE_AUTH_FRAME_BYTES}", shown = quoted(.0), len = .1)]
    Oversize([u8; 4], usize),
    /// The bytes end before the frame does.
    #[error("handshake frame cut short: {have} of {need} bytes")]
    Short {
        /// Bytes there are.
        have: usize,
        /// Bytes the length (and its own 4) ask for.
        need: usize,
    },
    /// The body does not decode, or breaks a limit.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Bytes a stranger sent, quoted for a log line: printable ASCII as is,
/// the rest escaped (`\xNN`).
fn quoted(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    format!("\"{shown}\"")
}

/// Whether a frame length is the start of a TLS record (handshake, alert or
/// data, version 3.x).
fn is_tls_record(len: u32) -> bool {
    matches!(len >> 24, 0x15..=0x17) && (len >> 16) & 0xff == 0x03
}

/// The body length a handshake frame's 4-byte prefix announces, if a peer
/// that has not proved the cookie may send it.
pub fn handshake_frame_len(prefix: [u8; 4]) -> Result<usize, PreAuthError> {
    let len = u32::from_be_bytes(prefix);
    if is_tls_record(len) {
        return Err(PreAuthError::PeerSpeaksTls);
    }
    let len = len as usize;
    if len > PRE_AUTH_FRAME_BYTES {
        return Err(PreAuthError::Oversize(prefix, len));
    }
    Ok(len)
}

/// Decodes the handshake frame at the start of `bytes` (its length, then
/// its body) and says how many bytes it took; what follows is left alone.
pub fn decode_handshake_frame(bytes: &[u8]) -> Result<(Frame, usize), PreAuthError> {
    let short = |need| PreAuthError::Short {
        have: bytes.len(),
        need,
    };
    let prefix: [u8; 4] = match bytes.get(..4) {
        Some(p) => p.try_into().expect("four bytes"),
        None => return Err(short(4)),
    };
    let len = handshake_frame_len(prefix)?;
    let body = bytes.get(4..4 + len).ok_or_else(|| short(4 + len))?;
    Ok((decode_frame(body)?, 4 + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Role;

    fn framed(frame: &Frame) -> Vec<u8> {
        let body = crate::wire::encode(frame).unwrap();
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend(body);
        bytes
    }

    #[test]
    fn a_hello_decodes_and_what_follows_is_left() {
        let hello = Frame::Hello {
            role: Role::Coordinator,
            name: "c".into(),
        };
        let mut bytes = framed(&hello);
        let len = bytes.len();
        bytes.extend([1, 2, 3]);
        assert_eq!(decode_handshake_frame(&bytes), Ok((hello, len)));
        assert_eq!(
            decode_handshake_frame(&bytes[..len - 1]),
            Err(PreAuthError::Short {
                have: len - 1,
                need: len
            })
        );
        assert_eq!(
            decode_handshake_frame(&bytes[..2]),
            Err(PreAuthError::Short { have: 2, need: 4 })
        );
    }

    #[test]
    fn a_long_announcement_is_refused_before_the_body() {
        assert_eq!(
            decode_handshake_frame(&[0, 0x40, 0, 0, 1]),
            Err(PreAuthError::Oversize([0, 0x40, 0, 0], 4 << 20))
        );
        let name = "n".repeat(PRE_AUTH_FRAME_BYTES);
        let big = framed(&Frame::Hello {
            role: Role::Node(1),
            name,
        });
        assert!(matches!(
            decode_handshake_frame(&big),
            Err(PreAuthError::Oversize(..))
        ));
    }

    #[test]
    fn a_tls_client_hello_is_named() {
        // A TLS 1.2 record header: handshake (0x16), version 3.1, length.
        assert_eq!(
            decode_handshake_frame(&[0x16, 0x03, 0x01, 0x00, 0xf4, 0x01]),
            Err(PreAuthError::PeerSpeaksTls)
        );
    }
}
