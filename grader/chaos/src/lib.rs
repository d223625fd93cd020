//! A schedule-perturbing stand-in for `parking_lot` 0.13, used when grading.
//!
//! The grader builds a submission with
//! `parking_lot = { package = "chaos", path = ".../grader/chaos" }`, so student
//! code that says `use parking_lot::{Mutex, Condvar};` compiles unchanged
//! against this crate. The public types are the very `lock_api` types that
//! `parking_lot` uses, over instrumented raw locks, so every signature is the
//! same. On top of `parking_lot`'s behaviour the stand-in:
//!
//! 1. **perturbs the schedule** at every lock, unlock, wait and notify: it
//!    sometimes yields, sometimes sleeps a few microseconds and rarely stalls
//!    one thread for milliseconds, from a per-thread generator seeded by
//!    `INTERLEAVE_SEED`, so that atomicity violations and lost wakeups show up;
//! 2. **wakes Condvar waiters spuriously** now and then, so that a waiter
//!    that does not re-check its condition in a loop fails;
//! 3. **keeps a lock-order graph** (as Linux's lockdep does) and reports two
//!    locks taken in opposite orders as a possible deadlock, even when the
//!    run did not deadlock; cycles whose every order is taken under one
//!    common outer lock are not reported;
//! 4. **reports hangs**: a background monitor names the threads of a
//!    certain deadlock (and ends the test), and prints what blocked threads
//!    wait for before the test's watchdog would time out.
//!
//! Verdicts go to the process's stderr, prefixed by [`VERDICT_PREFIX`], and
//! end the process with [`LOCK_ORDER_EXIT_CODE`] or [`DEADLOCK_EXIT_CODE`].
//! `INTERLEAVE_CHAOS=off` turns everything off; see [`CHAOS_VAR`] and
//! [`TUNE_VAR`] for finer control.
//!
//! [`std_twin`] holds twins of `std::sync`, `std::sync::atomic` and
//! `std::thread` with the same noise, lock-order graph and hang reports, for
//! code that does not go through `parking_lot` (the grader points a
//! submission's `std::sync` and `std::thread` paths at it).
//!
//! [`Once`], [`OnceState`] and the recursive reader-writer lock are
//! `parking_lot`'s own, uninstrumented.

mod config;
mod lockdep;
mod monitor;
mod raw;
mod report;
mod threads;
mod wait_sites;

pub mod std_twin;

/// `core` with the twins of [`std_twin::sync::atomic`] in place of
/// `core::sync::atomic` (the grader rewrites `core::sync` paths here).
pub mod core_twin {
    pub use ::core::*;

    /// `core::sync`, with the atomic twins.
    pub mod sync {
        pub use crate::std_twin::sync::atomic;
        pub use ::core::sync::*;
    }
}

pub use config::{CHAOS_VAR, SEED_VAR, TUNE_VAR, seed};
pub use raw::{RawCondvar, RawFairMutex, RawMutex, RawRwLock};
pub use report::{DEADLOCK_EXIT_CODE, LOCK_ORDER_EXIT_CODE, PANIC_NOTE, VERDICT_PREFIX};

pub use parking_lot::lock_api;
pub use parking_lot::{
    MappedRecursiveRwLockReadGuard, MappedRecursiveRwLockWriteGuard, Once, OnceState,
    RawRwLockRecursive, RawThreadId, RecursiveRwLock, RecursiveRwLockReadGuard,
    RecursiveRwLockUpgradableReadGuard, RecursiveRwLockWriteGuard,
};

/// A mutual exclusion lock, as `parking_lot::Mutex`.
pub type Mutex<T> = lock_api::Mutex<RawMutex, T>;
/// The guard of a locked [`Mutex`].
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// A [`MutexGuard`] narrowed to part of the data.
pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawMutex, T>;

/// A mutex whose every unlock is fair, as `parking_lot::FairMutex`.
pub type FairMutex<T> = lock_api::Mutex<RawFairMutex, T>;
/// The guard of a locked [`FairMutex`].
pub type FairMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawFairMutex, T>;
/// A [`FairMutexGuard`] narrowed to part of the data.
pub type MappedFairMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawFairMutex, T>;

/// A condition variable, as `parking_lot::Condvar`, except that waits may
/// return spuriously (see [`RawCondvar`]).
pub type Condvar = lock_api::Condvar<RawCondvar>;
/// Whether a timed Condvar wait timed out.
pub use lock_api::WaitTimeoutResult;

/// A lock its owner may take again, as `parking_lot::ReentrantMutex`. The
/// owner's re-acquisitions are not lock-order edges.
pub type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;
/// The guard of a locked [`ReentrantMutex`].
pub type ReentrantMutexGuard<'a, T> = lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
/// A [`ReentrantMutexGuard`] narrowed to part of the data.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// A reader-writer lock, as `parking_lot::RwLock`.
pub type RwLock<T> = lock_api::RwLock<RawRwLock, T>;
/// The guard of a read-locked [`RwLock`].
pub type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock, T>;
/// The guard of a write-locked [`RwLock`].
pub type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock, T>;
/// The guard of an upgradable read of an [`RwLock`].
pub type RwLockUpgradableReadGuard<'a, T> = lock_api::RwLockUpgradableReadGuard<'a, RawRwLock, T>;
/// A [`RwLockReadGuard`] narrowed to part of the data.
pub type MappedRwLockReadGuard<'a, T> = lock_api::MappedRwLockReadGuard<'a, RawRwLock, T>;
/// A [`RwLockWriteGuard`] narrowed to part of the data.
pub type MappedRwLockWriteGuard<'a, T> = lock_api::MappedRwLockWriteGuard<'a, RawRwLock, T>;
