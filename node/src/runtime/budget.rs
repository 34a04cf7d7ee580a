//! A process's memory budget (`--max-memory`): how much more it can take,
//! announced to the coordinator when a node joins, and checked again before
//! each spawn so that a node refuses work it cannot hold rather than being
//! killed by the kernel half way through a run.

use super::metrics::{current_rss, proc_kb};
/// Travels in a node's failed reply, so it is plain data in `proto`.
pub use spigo_proto::capacity::OverBudget;
use spigo_proto::capacity::{show, BASE_BYTES};

#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    /// `--max-memory`, in bytes; without it, the machine's available memory
    /// is the only limit.
    pub max: Option<u64>,
}

impl Budget {
    pub fn new(max: Option<u64>) -> Budget {
        Budget { max }
    }

    /// Bytes this process can still take, and which limit says so.
    pub fn free(&self) -> (u64, String) {
        let available = mem_available();
        let machine = || "the machine's available memory".to_string();
        match self.max {
            Some(max) => {
                // The runtime grows to about BASE_BYTES of its own once
                // links and workers are busy; count that from the start.
                let used = current_rss().unwrap_or(0).max(BASE_BYTES);
                let left = max.saturating_sub(used);
                match available {
                    Some(a) if a < left => (a, machine()),
                    _ => (left, format!("--max-memory {}", show(max))),
                }
            }
            None => (available.unwrap_or(u64::MAX), machine()),
        }
    }

    /// Whether `need` more bytes fit; the error says what did not.
    pub fn admit(&self, what: impl FnOnce() -> String, need: u64) -> Result<(), OverBudget> {
        let (free, limit) = self.free();
        if need <= free {
            return Ok(());
        }
        Err(OverBudget {
            what: what(),
            need,
            free,
            limit,
        })
    }
}

/// `MemAvailable` from /proc/meminfo: what the kernel can hand out without
/// swapping (None where there is no such file).
pub fn mem_available() -> Option<u64> {
    proc_kb("/proc/meminfo", "MemAvailable:").map(|kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_admits_what_fits_and_names_what_does_not() {
        let rss = current_rss().unwrap().max(BASE_BYTES);
        let budget = Budget::new(Some(rss + 50_000_000));
        assert!(budget.admit(|| "ten pirates".into(), 10 * 8_000).is_ok());
        let e = budget
            .admit(|| "100000 pirates".into(), 800_000_000)
            .unwrap_err();
        assert_eq!(e.need, 800_000_000);
        assert!(e.free <= 50_000_000, "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with("out of memory budget: 100000 pirates need about 763 MiB, and "),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("(--max-memory {})", show(rss + 50_000_000))),
            "{text}"
        );
        // Already over: nothing is free.
        let spent = Budget::new(Some(1));
        assert_eq!(spent.free().0, 0);
        assert!(spent.admit(|| "one".into(), 1).is_err());
        // No --max-memory: the machine is the limit.
        let open = Budget::new(None);
        assert!(open.admit(|| "one".into(), 1).is_ok());
        assert!(open.admit(|| "everything".into(), u64::MAX).is_err());
    }
}
