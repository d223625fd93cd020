//! Exercise 04: `Semaphore`, `BoundedSemaphore` and `run_limited`.
//!
//! Read `README.md` in this folder first: it explains Python's semaphores,
//! how they map to Rust, and exactly what each item below must do. Replace
//! every `todo!()`, then run `cargo test -p exercise-04`.

use std::fmt;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// The error of [`BoundedSemaphore::release`]: giving back a permit would
/// make more permits available than the semaphore started with.
///
/// Given complete: you do not need to change it.
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
///
/// The private fields are a suggestion: change them as you like.
#[derive(Debug)]
#[allow(dead_code)] // the stub does not use its fields yet; remove this line
pub struct Semaphore {
    /// The number of permits free right now.
    permits: Mutex<usize>,
    /// For threads waiting for a permit.
    freed: Condvar,
    /// The most permits that may be free at once: `usize::MAX` for a plain
    /// semaphore, the initial value for a bounded one.
    limit: usize,
}

impl Semaphore {
    /// A semaphore with `permits` permits free.
    pub fn new(permits: usize) -> Semaphore {
        todo!("Semaphore::new: a semaphore whose count of free permits starts at {permits}")
    }

    /// Takes a permit, blocking (without using CPU) until one is free.
    pub fn acquire(&self) -> Permit<'_> {
        todo!("Semaphore::acquire: wait until a permit is free, take it, return a Permit")
    }

    /// Takes a permit if one is free right now; never blocks.
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        todo!("Semaphore::try_acquire: take a permit if one is free, else None")
    }

    /// Takes a permit, waiting at most `timeout` for one to become free.
    /// Returns `None` if none was free in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Permit<'_>> {
        todo!("Semaphore::acquire_timeout: wait at most {timeout:?} for a permit")
    }

    /// Adds a permit and wakes one blocked acquirer, like Python's
    /// `release()`: the count may grow past the initial value.
    ///
    /// # Panics
    ///
    /// If the count would overflow `usize`.
    pub fn release(&self) {
        todo!("Semaphore::release: add a permit and wake one blocked acquirer")
    }

    /// How many permits are free right now (a snapshot: other threads may
    /// change it at once).
    pub fn available(&self) -> usize {
        todo!("Semaphore::available: the number of free permits")
    }
}

/// A semaphore that refuses to hold more permits than it started with, like
/// Python's `threading.BoundedSemaphore`.
///
/// The private field is a suggestion: change it as you like.
#[derive(Debug)]
#[allow(dead_code)] // the stub does not use its field yet; remove this line
pub struct BoundedSemaphore {
    /// A semaphore whose limit is its initial number of permits.
    semaphore: Semaphore,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits free, never more.
    pub fn new(permits: usize) -> BoundedSemaphore {
        todo!(
            "BoundedSemaphore::new: a semaphore whose count starts at {permits} and never exceeds it"
        )
    }

    /// Takes a permit, blocking (without using CPU) until one is free.
    pub fn acquire(&self) -> Permit<'_> {
        todo!("BoundedSemaphore::acquire: wait until a permit is free, take it")
    }

    /// Takes a permit if one is free right now; never blocks.
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        todo!("BoundedSemaphore::try_acquire: take a permit if one is free, else None")
    }

    /// Takes a permit, waiting at most `timeout` for one to become free.
    /// Returns `None` if none was free in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Permit<'_>> {
        todo!("BoundedSemaphore::acquire_timeout: wait at most {timeout:?} for a permit")
    }

    /// Adds a permit and wakes one blocked acquirer.
    ///
    /// # Errors
    ///
    /// [`OverRelease`] if the free permits would exceed the initial number;
    /// the count is then unchanged.
    pub fn release(&self) -> Result<(), OverRelease> {
        todo!("BoundedSemaphore::release: add a permit, or Err(OverRelease) if already full")
    }

    /// How many permits are free right now (a snapshot).
    pub fn available(&self) -> usize {
        todo!("BoundedSemaphore::available: the number of free permits")
    }
}

/// One permit taken from a [`Semaphore`] or a [`BoundedSemaphore`].
///
/// Dropping it gives the permit back and wakes one blocked acquirer. A permit
/// of a bounded semaphore never over-releases: if the semaphore is already
/// full (because `release()` was called meanwhile), dropping it adds nothing.
///
/// The private field is a suggestion: change it as you like.
#[derive(Debug)]
#[allow(dead_code)] // the stub does not use its field yet; remove this line
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct Permit<'a> {
    /// The semaphore this permit goes back to.
    semaphore: &'a Semaphore,
}

impl Permit<'_> {
    /// Uses the permit up without giving it back: the semaphore keeps one
    /// permit fewer (until a `release()` adds one).
    pub fn forget(self) {
        todo!("Permit::forget: consume the permit without giving it back")
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        todo!("Permit::drop: give the permit back (never past a bounded semaphore's limit)")
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
    todo!(
        "run_limited: run {} jobs, each on its own thread, at most {limit} at once, results in order",
        jobs.len()
    )
}
