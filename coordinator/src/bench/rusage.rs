//! What one child process cost, as its kernel accounting has it: CPU time,
//! context switches and peak resident memory, read by waiting for it with
//! `wait4`, and what the calling thread cost, with `getrusage`.
//!
//! `getrusage(RUSAGE_CHILDREN)` would sum every child so far and keep the
//! largest peak of any of them, so each child is waited for by its own
//! process id. This is the workspace's second module allowed `unsafe`
//! (after the counting allocator): `wait4` is a C call, made once per
//! child, into a struct the kernel fills.
#![allow(unsafe_code)]

use std::process::Child;
use std::time::Duration;

/// One child's figures.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    /// The exit status (128 + signal number when a signal ended it).
    pub status: i32,
    /// User plus system CPU time over all its threads.
    pub cpu: Duration,
    /// Context switches the child asked for (it waited: a lock, a
    /// condition, I/O, an empty queue).
    pub voluntary: u64,
    /// Context switches forced on it (its time slice ran out).
    pub involuntary: u64,
    /// Peak resident memory, bytes.
    pub peak_rss: u64,
}

#[cfg(unix)]
fn time(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

/// Waits for `child` to end and reads what it cost. The child is reaped:
/// `Child::wait` must not be called on it afterwards.
#[cfg(unix)]
pub(crate) fn wait(child: Child) -> std::io::Result<Usage> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: all-zero is a valid `rusage` (integers and timevals only).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types, and
        // `pid` is our own child, not yet waited for.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let status = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok(Usage {
        status,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        voluntary: usage.ru_nvcsw.max(0) as u64,
        involuntary: usage.ru_nivcsw.max(0) as u64,
        // Linux counts ru_maxrss in kilobytes.
        peak_rss: usage.ru_maxrss.max(0) as u64 * 1024,
    })
}

/// CPU time (user plus system) the calling thread has used so far.
#[cfg(target_os = "linux")]
pub(crate) fn this_thread() -> std::io::Result<Duration> {
    own(libc::RUSAGE_THREAD)
}

/// CPU time (user plus system) this process, every thread, has used so far.
#[cfg(unix)]
pub(crate) fn this_process() -> std::io::Result<Duration> {
    own(libc::RUSAGE_SELF)
}

#[cfg(unix)]
fn own(who: libc::c_int) -> std::io::Result<Duration> {
    // SAFETY: as for `wait4` above: all-zero is a valid `rusage`, and the
    // pointer is to a live local the kernel fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: see above; `who` is one of the kernel's own constants.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(time(usage.ru_utime) + time(usage.ru_stime))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn this_thread() -> std::io::Result<Duration> {
    Err(unsupported())
}

#[cfg(not(unix))]
pub(crate) fn this_process() -> std::io::Result<Duration> {
    Err(unsupported())
}

#[cfg(not(target_os = "linux"))]
fn unsupported() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "a thread's or process's own CPU is read with getrusage, which needs Linux",
    )
}

#[cfg(not(unix))]
pub(crate) fn wait(mut child: Child) -> std::io::Result<Usage> {
    let _ = child.kill();
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "a child's CPU and context switches are read with wait4, which needs a Unix",
    ))
}
