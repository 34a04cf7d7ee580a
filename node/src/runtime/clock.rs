//! The wall clock every Gotocol `sent` time is read from.
//!
//! Wall time (not `Instant`) because sent times cross process boundaries.
//! A node on another machine may read a different wall clock; at join the
//! coordinator estimates the offset (from round trips) and the node
//! subtracts it here, so every process reads the coordinator's time.

use spigo_proto::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds this process's clock runs ahead of the coordinator's.
static OFFSET: AtomicI64 = AtomicI64::new(0);

pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let local = d.as_nanos() as i64;
    Timestamp(local.saturating_sub(OFFSET.load(Ordering::Relaxed)).max(0) as u64)
}

/// Corrects this process's clock by `offset` nanoseconds (local minus
/// coordinator).
pub fn set_offset(offset: i64) {
    OFFSET.store(offset, Ordering::Relaxed);
}
