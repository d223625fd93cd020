//! Telling, for certain, that a test can never go on.
//!
//! The watchdog's limit waits for a stuck test as long as for a slow one.
//! But a test is stuck *for certain* when every one of its threads sleeps in
//! the kernel in a wait that has no timeout, so that only another of its
//! threads could wake it, and none is left to do so: a lock never released,
//! two locks taken in opposite orders, a condition variable never notified,
//! a `join` of such a thread. On Linux every blocking primitive of `std` and
//! `parking_lot` (mutexes, condition variables, barriers, channels, `park`,
//! `join`) ends in a `futex` wait, and `/proc/self/task/<tid>/syscall`
//! shows, for a thread asleep in a system call, its number and arguments:
//! a `futex` wait whose timeout argument is null waits forever.
//!
//! What keeps this certain rather than likely:
//! - any thread in another kind of sleep (`sleep`, a timed wait, a read of a
//!   socket or pipe) or running counts as able to go on;
//! - a process with child processes is never called stuck (a child could
//!   write to a pipe, or exit and be waited for);
//! - the threads that only watch the test ([`HOUSEKEEPING`]) are left out,
//!   and so are the threads in [`join_within`](crate::join_within)'s polling
//!   loop ([`Poller`]): they only look at whether another thread has
//!   finished, and their deadline only fails the test (a poller whose
//!   deadline lets the test go on, such as [`eventually`](crate::eventually),
//!   is a timed wait like any other);
//! - the picture must stay the same, every thread and its CPU time
//!   unchanged, over a whole grace period ([`Stillness`]).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::progress::{HOUSEKEEPING, schedstat};

/// How long the picture of "every thread blocked, no timeout pending" must
/// hold before the test is ended: longer than the chaos stand-in's hang
/// report takes (1.5 s), so that the feedback still says who waits for what.
pub const GRACE: Duration = Duration::from_secs(2);

/// The threads (kernel ids) that are inside one of the harness's polling
/// loops right now.
static POLLERS: Mutex<Vec<i64>> = Mutex::new(Vec::new());

/// Marks the calling thread as one of the harness's pollers while it lives:
/// a thread that only sleeps and looks at whether another thread is done,
/// and fails the test at its deadline, is no thread that could wake another.
pub struct Poller {
    tid: i64,
}

impl Poller {
    /// Registers the calling thread until the guard is dropped.
    pub fn enter() -> Poller {
        let tid = own_tid();
        if let Ok(mut pollers) = POLLERS.lock() {
            pollers.push(tid);
        }
        Poller { tid }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        if let Ok(mut pollers) = POLLERS.lock()
            && let Some(pos) = pollers.iter().position(|&t| t == self.tid)
        {
            pollers.swap_remove(pos);
        }
    }
}

/// The calling thread's kernel id.
pub fn own_tid() -> i64 {
    // SAFETY: gettid has no preconditions.
    #[allow(unsafe_code)]
    let tid = unsafe { libc::gettid() };
    tid as i64
}

/// Whether the `syscall` file's text shows a futex wait without a timeout:
/// `<nr> <uaddr> <op> <val> <timeout> ...`, numbers in decimal or hex.
pub fn waits_forever(syscall: &str) -> bool {
    let fields: Vec<&str> = syscall.split_whitespace().collect();
    let number = |i: usize| -> Option<u64> {
        let text = fields.get(i)?;
        match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => text.parse().ok(),
        }
    };
    if number(0) != Some(libc::SYS_futex as u64) {
        return false;
    }
    // FUTEX_WAIT and FUTEX_WAIT_BITSET, whatever the private and clock flags.
    let op = number(2).unwrap_or(u64::MAX) & 0x7f;
    (op == 0 || op == 9) && number(4) == Some(0)
}

/// One look at the process: each counted thread and its CPU time, when all
/// of them are blocked forever; `None` as soon as one could go on.
fn blocked_forever(skip: &[i64]) -> Option<Vec<(i64, u64)>> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut picture = Vec::new();
    for task in tasks.flatten() {
        let tid: i64 = task.file_name().to_str()?.parse().ok()?;
        let dir = task.path();
        let children = std::fs::read_to_string(dir.join("children")).ok()?;
        if !children.trim().is_empty() {
            return None;
        }
        if skip.contains(&tid) || is_housekeeping(&dir) {
            continue;
        }
        let syscall = std::fs::read_to_string(dir.join("syscall")).ok()?;
        if !waits_forever(&syscall) {
            return None;
        }
        let [cpu, _, _] = schedstat(&dir.join("schedstat"))?;
        picture.push((tid, cpu));
    }
    picture.sort_unstable();
    (!picture.is_empty()).then_some(picture)
}

fn is_housekeeping(task: &Path) -> bool {
    let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
    HOUSEKEEPING.contains(&name.trim_end())
}

/// Looks, sample after sample, for a picture of "every thread blocked
/// forever" that stays the same for [`GRACE`].
#[derive(Debug, Default)]
pub struct Stillness {
    since: Option<(Instant, Vec<(i64, u64)>)>,
}

impl Stillness {
    /// Takes a sample now, leaving out the threads `skip` (the caller) and
    /// the registered pollers; returns whether the test is stuck for certain.
    pub fn sample(&mut self, skip: i64) -> bool {
        let mut left_out = POLLERS.lock().map(|p| p.clone()).unwrap_or_default();
        left_out.push(skip);
        let now = Instant::now();
        match (blocked_forever(&left_out), self.since.take()) {
            (None, _) => false,
            (Some(picture), Some((at, before))) if picture == before => {
                self.since = Some((at, before));
                now.duration_since(at) >= GRACE
            }
            (Some(picture), _) => {
                self.since = Some((now, picture));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_futex_wait_without_a_timeout_waits_forever() {
        let futex = libc::SYS_futex;
        assert!(waits_forever(&format!(
            "{futex} 0x7f00 0x80 0x2 0x0 0x0 0x0 0x7ff 0x7f"
        )));
        assert!(waits_forever(&format!(
            "{futex} 0x7f00 0x189 0x0 0x0 0x0 0xffffffff"
        )));
        assert!(!waits_forever(&format!(
            "{futex} 0x7f00 0x80 0x2 0x7ffd10 0x0 0x0"
        )));
        assert!(!waits_forever(&format!(
            "{futex} 0x7f00 0x81 0x1 0x0 0x0 0x0"
        )));
        assert!(!waits_forever("230 0x0 0x0 0x7ffd 0x0 0x0 0x0 0x7ff 0x7f"));
        assert!(!waits_forever("running"));
        assert!(!waits_forever("-1 0x7ffd 0x7f"));
    }
}
