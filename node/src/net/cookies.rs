//! What a cookie must be, given who can reach the processes that share it,
//! and where a fresh one comes from.
//!
//! The cookie handshake sends the HMAC-SHA256 of a challenge that travels
//! in the clear, so whoever records one handshake can try cookies offline
//! as fast as they can compute HMACs: a one-character cookie fell in 19
//! guesses. Only a long random cookie makes that hopeless, so a process
//! others can reach (anything beyond loopback) refuses a short one, while
//! a node that only this machine can reach may keep a short one for tests
//! and demos.

use std::net::IpAddr;

/// The shortest cookie a process reachable beyond loopback takes: 16 bytes,
/// 128 bits when they are random, out of reach of an offline search.
pub const MIN_COOKIE_BYTES: usize = 16;

/// A cookie too short for where it is used.
#[derive(Debug, thiserror::Error)]
#[error(
    "a cookie of {len} bytes is too short for {reach}, beyond loopback: give at least \
     {MIN_COOKIE_BYTES} random bytes (`spigo cookie` prints a fresh one)"
)]
pub struct ShortCookie {
    /// The cookie's length in bytes.
    pub len: usize,
    /// Where it is used, as the flags say (`--listen ...`, `--join ...`).
    pub reach: String,
}

/// Refuses a cookie under [`MIN_COOKIE_BYTES`] unless every process that
/// uses it is on loopback; `reach` names the first one that is not.
pub fn check(
    cookie: &str,
    loopback: bool,
    reach: impl FnOnce() -> String,
) -> Result<(), ShortCookie> {
    if loopback || cookie.len() >= MIN_COOKIE_BYTES {
        return Ok(());
    }
    Err(ShortCookie {
        len: cookie.len(),
        reach: reach(),
    })
}

/// Whether `addr`, a `host:port` as `--join` takes it, names this machine's
/// loopback: an address in 127.0.0.0/8, `::1` (bracketed or not), or
/// `localhost`. Host names are not resolved here (the flags are checked
/// before anything touches the network), so any other is taken to be
/// beyond loopback.
pub fn is_loopback_host(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A fresh random cookie: 128 bits as 32 hexadecimal digits, safe to pass
/// in an environment variable or a shell word.
pub fn fresh() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_cookie_is_refused_only_beyond_loopback() {
        let reach = || "--listen 0.0.0.0:4697".to_string();
        assert!(check("x", true, reach).is_ok());
        assert!(check("0123456789abcdef", false, reach).is_ok());
        let e = check("short", false, reach).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a cookie of 5 bytes is too short for --listen 0.0.0.0:4697, beyond loopback: \
             give at least 16 random bytes (`spigo cookie` prints a fresh one)"
        );
    }

    #[test]
    fn loopback_hosts() {
        for near in ["127.0.0.1:4697", "127.9.8.7:1", "[::1]:4697", "localhost:1"] {
            assert!(is_loopback_host(near), "{near}");
        }
        for far in [
            "10.0.0.5:4697",
            "[::]:1",
            "0.0.0.0:1",
            "east:4697",
            "[fe80::1]:2",
        ] {
            assert!(!is_loopback_host(far), "{far}");
        }
    }

    #[test]
    fn fresh_cookies_are_long_enough_and_differ() {
        let (a, b) = (fresh(), fresh());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
        assert!(check(&a, false, String::new).is_ok());
    }
}
