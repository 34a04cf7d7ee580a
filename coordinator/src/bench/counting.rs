//! The process's allocator (mimalloc) with a switch that makes it count
//! allocations by size, for `spigo bench memory`'s breakdown of where an
//! actor's bytes go. Only in builds with the `alloc-count` feature: even
//! switched off it is a load and a branch on every allocation.
//!
//! One of the two modules of the workspace allowed `unsafe` (with
//! `rusage.rs`): a `GlobalAlloc` is an unsafe trait, and each method only
//! forwards to mimalloc's.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

pub(crate) struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
/// Distinct sizes seen, with how many of each: a fixed open-addressed
/// table, since the allocator itself must not allocate.
const SLOTS: usize = 512;
static SIZES: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static COUNTS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static FREED: AtomicU64 = AtomicU64::new(0);
static OVERFLOW: AtomicU64 = AtomicU64::new(0);

fn record(size: usize) {
    let mut i = size.wrapping_mul(0x9E37_79B9) % SLOTS;
    for _ in 0..SLOTS {
        match SIZES[i].compare_exchange(0, size, Relaxed, Relaxed) {
            Ok(_) => {
                COUNTS[i].fetch_add(1, Relaxed);
                return;
            }
            Err(s) if s == size => {
                COUNTS[i].fetch_add(1, Relaxed);
                return;
            }
            Err(_) => i = (i + 1) % SLOTS,
        }
    }
    OVERFLOW.fetch_add(1, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            record(layout.size());
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            record(layout.size());
        }
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ON.load(Relaxed) {
            FREED.fetch_add(layout.size() as u64, Relaxed);
        }
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ON.load(Relaxed) {
            record(new_size);
            FREED.fetch_add(layout.size() as u64, Relaxed);
        }
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

/// What was allocated while counting was on.
pub(crate) struct Tally {
    /// (size, count), largest total first.
    pub sizes: Vec<(usize, u64)>,
    pub freed: u64,
    /// Allocations of sizes that did not fit the table (uncounted).
    pub overflow: u64,
}

impl Tally {
    pub(crate) fn allocated(&self) -> u64 {
        self.sizes.iter().map(|&(s, c)| s as u64 * c).sum()
    }
}

/// Counts allocations made while `f` runs (on every thread).
pub(crate) async fn count<F: std::future::Future>(f: F) -> (F::Output, Tally) {
    for i in 0..SLOTS {
        SIZES[i].store(0, Relaxed);
        COUNTS[i].store(0, Relaxed);
    }
    FREED.store(0, Relaxed);
    OVERFLOW.store(0, Relaxed);
    ON.store(true, Relaxed);
    let out = f.await;
    ON.store(false, Relaxed);
    let mut sizes: Vec<(usize, u64)> = (0..SLOTS)
        .map(|i| (SIZES[i].load(Relaxed), COUNTS[i].load(Relaxed)))
        .filter(|&(s, c)| s > 0 && c > 0)
        .collect();
    sizes.sort_by_key(|&(s, c)| std::cmp::Reverse(s as u64 * c));
    let tally = Tally {
        sizes,
        freed: FREED.load(Relaxed),
        overflow: OVERFLOW.load(Relaxed),
    };
    (out, tally)
}
