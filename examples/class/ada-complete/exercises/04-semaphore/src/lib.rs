//! Reference solution for exercise 04: `Semaphore`, `BoundedSemaphore` and
//! `run_limited`. The lesson is in `exercises/04-semaphore/README.md`.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The error of [`BoundedSemaphore::release`]: giving back a permit would
/// make more permits available than the semaphore started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverRelease;

impl fmt::Display for OverRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bounded semaphore released too many times")
    }
}

impl std::error::Error for OverRelease {}

/// A counting semaphore, like Python's `threading.Semaphore`.
///
/// It holds a number of permits. [`acquire`](Semaphore::acquire) takes one,
/// waiting while none is free, and returns a [`Permit`] that gives it back
/// when dropped. [`release`](Semaphore::release) adds a permit, whether or not
/// it was ever acquired, exactly as in Python.
#[derive(Debug)]
pub struct Semaphore {
    /// Invariant: the number of permits free right now. It only goes down
    /// under this lock, and only when it is above zero.
    permits: Mutex<usize>,
    /// Notified once for every permit that becomes free.
    freed: Condvar,
    /// The most permits that may be free at once: `usize::MAX` for a plain
    /// semaphore, the initial value for a bounded one.
    limit: usize,
}

impl Semaphore {
    /// A semaphore with `permits` permits free.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore::with_limit(permits, usize::MAX)
    }

    fn with_limit(permits: usize, limit: usize) -> Semaphore {
        Semaphore {
            permits: Mutex::new(permits),
            freed: Condvar::new(),
            limit,
        }
    }

    /// Takes a permit, blocking (without using CPU) until one is free.
    pub fn acquire(&self) -> Permit<'_> {
        let mut permits = self.permits.lock();
        while *permits == 0 {
            self.freed.wait(&mut permits);
        }
        *permits -= 1;
        Permit { semaphore: self }
    }

    /// Takes a permit if one is free right now; never blocks.
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        let mut permits = self.permits.lock();
        if *permits == 0 {
            return None;
        }
        *permits -= 1;
        Some(Permit { semaphore: self })
    }

    /// Takes a permit, waiting at most `timeout` for one to become free.
    /// Returns `None` if none was free in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Permit<'_>> {
        // A timeout too large to add to `now` is as good as no timeout.
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            return Some(self.acquire());
        };
        let mut permits = self.permits.lock();
        while *permits == 0 {
            if self.freed.wait_until(&mut permits, deadline).timed_out() {
                break;
            }
        }
        if *permits == 0 {
            return None;
        }
        *permits -= 1;
        Some(Permit { semaphore: self })
    }

    /// Adds a permit and wakes one blocked acquirer, like Python's
    /// `release()`: the count may grow past the initial value.
    ///
    /// # Panics
    ///
    /// If the count would overflow `usize`.
    pub fn release(&self) {
        self.give_back()
            .expect("Semaphore::release: the permit count overflowed");
    }

    /// How many permits are free right now (a snapshot: other threads may
    /// change it at once).
    pub fn available(&self) -> usize {
        *self.permits.lock()
    }

    /// Adds a permit unless that would exceed `limit`, and wakes one waiter.
    fn give_back(&self) -> Result<(), OverRelease> {
        let mut permits = self.permits.lock();
        if *permits >= self.limit {
            return Err(OverRelease);
        }
        *permits += 1;
        self.freed.notify_one();
        Ok(())
    }
}

/// A semaphore that refuses to hold more permits than it started with, like
/// Python's `threading.BoundedSemaphore`.
#[derive(Debug)]
pub struct BoundedSemaphore {
    /// A semaphore whose limit is its initial number of permits.
    semaphore: Semaphore,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits free, never more.
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            semaphore: Semaphore::with_limit(permits, permits),
        }
    }

    /// Takes a permit, blocking (without using CPU) until one is free.
    pub fn acquire(&self) -> Permit<'_> {
        self.semaphore.acquire()
    }

    /// Takes a permit if one is free right now; never blocks.
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        self.semaphore.try_acquire()
    }

    /// Takes a permit, waiting at most `timeout` for one to become free.
    /// Returns `None` if none was free in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Permit<'_>> {
        self.semaphore.acquire_timeout(timeout)
    }

    /// Adds a permit and wakes one blocked acquirer.
    ///
    /// # Errors
    ///
    /// [`OverRelease`] if the free permits would exceed the initial number;
    /// the count is then unchanged.
    pub fn release(&self) -> Result<(), OverRelease> {
        self.semaphore.give_back()
    }

    /// How many permits are free right now (a snapshot).
    pub fn available(&self) -> usize {
        self.semaphore.available()
    }
}

/// One permit taken from a [`Semaphore`] or a [`BoundedSemaphore`].
///
/// Dropping it gives the permit back and wakes one blocked acquirer. A permit
/// of a bounded semaphore never over-releases: if the semaphore is already
/// full (because `release()` was called meanwhile), dropping it adds nothing.
#[derive(Debug)]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Permit<'_> {
    /// Uses the permit up without giving it back: the semaphore keeps one
    /// permit fewer (until a `release()` adds one).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // A full bounded semaphore refuses the permit; that is the point.
        let _ = self.semaphore.give_back();
    }
}

/// Runs every job on its own thread, at most `limit` of them at once, and
/// returns their results in the order of `jobs`.
///
/// # Panics
///
/// If `limit` is 0, or if a job panics.
pub fn run_limited<T, F>(jobs: Vec<F>, limit: usize) -> Vec<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    assert!(limit > 0, "run_limited: limit must be at least 1");
    let semaphore = Semaphore::new(limit);
    thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                let semaphore = &semaphore;
                scope.spawn(move || {
                    let _permit = semaphore.acquire();
                    job()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("run_limited: a job panicked"))
            .collect()
    })
}
