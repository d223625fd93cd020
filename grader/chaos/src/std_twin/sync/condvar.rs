//! The twin of `std::sync::Condvar`. `std` documents that its waits may
//! return without a notification, so, unlike the `parking_lot` stand-in
//! (whose `Condvar` promises no spurious wakeups), this twin wakes some waits
//! early by default (`INTERLEAVE_CHAOS` feature `std-spurious`): a lone `if`
//! around a `std` wait is a bug there, and shows.

use std::fmt;
use std::sync::LockResult;
use std::time::{Duration, Instant};

use super::mutex::MutexGuard;
use crate::config::config;
use crate::{report, threads};

/// A condition variable, as `std::sync::Condvar`.
pub struct Condvar {
    inner: crate::Condvar,
}

/// Whether a timed wait timed out, as `std::sync::WaitTimeoutResult`.
#[derive(Debug, PartialEq, Eq, Copy, Clone)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True when the wait ended because its time ran out.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Condvar {
        Condvar {
            inner: crate::Condvar::new(),
        }
    }

    /// How long a spurious wakeup of the next wait comes after it starts,
    /// if this wait is to have one.
    fn spurious_after() -> Option<Duration> {
        let config = config();
        if !config.std_spurious {
            return None;
        }
        threads::with(|local| local.std_spurious()).flatten()
    }

    /// Waits on the stand-in's Condvar; returns whether `limit` ran out.
    fn park<T>(&self, guard: &mut crate::MutexGuard<'_, T>, limit: Option<Duration>) -> bool {
        if let Some(early) = Self::spurious_after()
            && limit.is_none_or(|limit| early < limit)
        {
            if self.inner.wait_for(guard, early).timed_out() {
                report::note_spurious_wakeup();
            }
            return false;
        }
        match limit {
            None => {
                self.inner.wait(guard);
                false
            }
            Some(limit) => self.inner.wait_for(guard, limit).timed_out(),
        }
    }

    /// Releases the guard's lock, waits for a notification (or a spurious
    /// wakeup), and takes the lock again.
    pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.park(&mut guard.inner, None);
        guard.poison.result(guard)
    }

    /// Waits while `condition` holds for the data.
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// As [`wait`](Condvar::wait), giving up after `dur`.
    pub fn wait_timeout<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let timed_out = self.park(&mut guard.inner, Some(dur));
        guard.poison.result((guard, WaitTimeoutResult(timed_out)))
    }

    /// Waits while `condition` holds, for at most `dur` in all.
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let start = Instant::now();
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            let Some(left) = dur.checked_sub(start.elapsed()) else {
                return Ok((guard, WaitTimeoutResult(true)));
            };
            guard = self.wait_timeout(guard, left)?.0;
        }
    }

    /// Wakes one waiter, if any.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
