//! Sealing: every frame of an open link carries a MAC, so a link is as
//! trustworthy after its handshake as during it.
//!
//! The cookie handshake proves who is at the other end once; without TLS
//! anyone on the path could then insert a frame (a `Request::Stop`, say),
//! repeat one, or swap two. So each handshake also derives a session key
//! per direction, HMAC-SHA256 of the cookie over both ends' challenges and
//! the direction, and each frame after it is followed by an HMAC-SHA256 tag
//! of its body and its sequence number in that direction. The numbers are
//! never sent: each end counts, so a frame injected, replayed, dropped or
//! moved fails its tag, and the reader closes the link saying so (the
//! stream cannot be trusted past it). TLS, when configured, also encrypts;
//! the tags are kept under it too, so the rule has no exception.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the tag after each sealed frame's body.
pub const TAG_BYTES: usize = 32;

/// Which end of the handshake this is: it picks which key seals and
/// which opens.
#[derive(Clone, Copy, Debug)]
pub enum Side {
    Dialer,
    Listener,
}

/// The two directions' keys of one link, as this end uses them.
pub struct Session {
    pub seal: Sealer,
    pub open: Opener,
}

impl Session {
    /// Derives both directions' keys from the cookie and the two
    /// challenges; both ends, knowing the same three, get mirror sessions.
    pub fn derive(
        secret: &[u8],
        listener_nonce: &[u8; 32],
        dialer_nonce: &[u8; 32],
        side: Side,
    ) -> Session {
        let key = |direction: &[u8]| {
            let mut kdf = keyed(secret);
            kdf.update(b"spigo link session\0");
            kdf.update(direction);
            kdf.update(listener_nonce);
            kdf.update(dialer_nonce);
            keyed(&kdf.finalize().into_bytes())
        };
        let (out, back) = (key(b"dialer to listener"), key(b"listener to dialer"));
        let (seal, open) = match side {
            Side::Dialer => (out, back),
            Side::Listener => (back, out),
        };
        Session {
            seal: Sealer { mac: seal, seq: 0 },
            open: Opener { mac: open, seq: 0 },
        }
    }
}

fn keyed(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length")
}

/// Tags the frames this end sends. The keyed state is computed once and
/// cloned per frame, so a tag costs the hash of the body and little more.
pub struct Sealer {
    mac: Hmac<Sha256>,
    seq: u64,
}

impl Sealer {
    /// The tag of the next frame, whose encoded body is `body`.
    pub fn tag(&mut self, body: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac = self.mac.clone();
        mac.update(&self.seq.to_be_bytes());
        mac.update(body);
        self.seq += 1;
        mac.finalize().into_bytes().into()
    }
}

/// Checks the frames this end receives.
pub struct Opener {
    mac: Hmac<Sha256>,
    seq: u64,
}

/// A frame whose tag does not match: not from the other end of the
/// handshake, or not the frame it sent next.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("frame {0} of the link failed authentication (injected, replayed or out of order)")]
pub struct Forged(pub u64);

impl Opener {
    /// Checks the next frame's `body` against its `tag` (in constant time).
    pub fn check(&mut self, body: &[u8], tag: &[u8]) -> Result<(), Forged> {
        let mut mac = self.mac.clone();
        mac.update(&self.seq.to_be_bytes());
        mac.update(body);
        mac.verify_slice(tag).map_err(|_| Forged(self.seq))?;
        self.seq += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dialer with `dialer_cookie` and a listener with the cluster's
    /// cookie, after the same handshake.
    fn pair(dialer_cookie: &[u8]) -> (Session, Session) {
        let (l, d) = ([1; 32], [2; 32]);
        (
            Session::derive(dialer_cookie, &l, &d, Side::Dialer),
            Session::derive(b"cookie-of-the-cluster", &l, &d, Side::Listener),
        )
    }

    #[test]
    fn frames_open_in_order_both_ways() {
        let (mut d, mut l) = pair(b"cookie-of-the-cluster");
        for body in [&b"one"[..], b"two", b""] {
            let tag = d.seal.tag(body);
            assert_eq!(l.open.check(body, &tag), Ok(()));
            let tag = l.seal.tag(body);
            assert_eq!(d.open.check(body, &tag), Ok(()));
        }
    }

    #[test]
    fn injected_replayed_reordered_and_reflected_frames_fail() {
        let (mut d, mut l) = pair(b"cookie-of-the-cluster");
        let first = d.seal.tag(b"first");
        let second = d.seal.tag(b"second");
        // Out of order.
        assert_eq!(l.open.check(b"second", &second), Err(Forged(0)));
        assert_eq!(l.open.check(b"first", &first), Ok(()));
        // Replayed.
        assert_eq!(l.open.check(b"first", &first), Err(Forged(1)));
        // Changed, or with no valid tag at all.
        assert_eq!(l.open.check(b"secone", &second), Err(Forged(1)));
        assert_eq!(l.open.check(b"stop", &[0; TAG_BYTES]), Err(Forged(1)));
        assert_eq!(l.open.check(b"second", &second), Ok(()));
        // A frame sent back to the end that sealed it.
        let mine = l.seal.tag(b"x");
        assert_eq!(l.open.check(b"x", &mine), Err(Forged(2)));
    }

    #[test]
    fn another_cookie_or_session_gives_other_keys() {
        let (mut d, _) = pair(b"a-different-cookie!!");
        let (_, mut l) = pair(b"cookie-of-the-cluster");
        let tag = d.seal.tag(b"hello");
        assert_eq!(l.open.check(b"hello", &tag), Err(Forged(0)));
        let mut other =
            Session::derive(b"cookie-of-the-cluster", &[3; 32], &[2; 32], Side::Listener);
        let (mut d, _) = pair(b"cookie-of-the-cluster");
        let tag = d.seal.tag(b"hello");
        assert_eq!(other.open.check(b"hello", &tag), Err(Forged(0)));
    }
}
