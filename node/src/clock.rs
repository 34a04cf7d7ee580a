//! The wall clock every Gotocol `sent` time is read from.
//!
//! Wall time (not `Instant`) because sent times cross process boundaries;
//! a node that joins from another machine corrects for its offset to the
//! coordinator when it receives (issue 5).

use spigo_proto::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_nanos() as u64)
}
