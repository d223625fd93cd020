//! Exercise 07 — a reusable barrier with an action, timeouts, abort and reset.
//!
//! Read `README.md` in this folder first: it is the lesson, and it says exactly
//! what each item below must do. Replace every `todo!()` (and the placeholder
//! field of [`Barrier`]); the error type is complete.
//! Check your work with `cargo test -p exercise-07`.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// The error of [`Barrier::wait`] and [`Barrier::wait_timeout`]: the barrier
/// is broken (aborted, reset, timed out, or its action panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier;

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl Error for BrokenBarrier {}

/// A barrier for a fixed number of parties (threads), usable for any number
/// of generations, like Python's `threading.Barrier`.
///
/// Each call to [`wait`](Barrier::wait) blocks until `parties` threads have
/// called it; then they are all released together and the barrier is ready
/// for the next generation.
pub struct Barrier {
    // Replace this placeholder with your own fields, for example the number
    // of parties, a `parking_lot::Mutex` around the state of the current
    // generation, and a `parking_lot::Condvar`. State the invariant next to them.
    _todo: (),
}

impl Barrier {
    /// A barrier for `parties` threads, with no action and no default timeout.
    ///
    /// # Panics
    ///
    /// If `parties` is 0.
    pub fn new(parties: usize) -> Barrier {
        todo!("Barrier::new: a barrier for {parties} parties (panic if 0)")
    }

    /// A barrier for `parties` threads that runs `action` once per
    /// generation, on the thread of one of its parties (typically the last
    /// to arrive), after all of them have arrived and before any is released.
    ///
    /// If `action` panics, the barrier breaks: the other parties get
    /// `Err(BrokenBarrier)` and the panic goes on in the thread that ran it.
    /// The action must not call methods of this barrier (it would deadlock).
    ///
    /// # Panics
    ///
    /// If `parties` is 0.
    pub fn with_action(parties: usize, action: impl FnMut() + Send + 'static) -> Barrier {
        let _ = action; // (only keeps the stub warning-free)
        todo!(
            "Barrier::with_action: a barrier for {parties} parties that runs the action once per generation"
        )
    }

    /// A barrier for `parties` threads whose [`wait`](Barrier::wait) gives
    /// up after `timeout` (breaking the barrier, like
    /// [`wait_timeout`](Barrier::wait_timeout)).
    ///
    /// # Panics
    ///
    /// If `parties` is 0.
    pub fn with_timeout(parties: usize, timeout: Duration) -> Barrier {
        todo!(
            "Barrier::with_timeout: a barrier for {parties} parties whose wait gives up after {timeout:?}"
        )
    }

    /// Waits until all `parties` have called `wait` in this generation
    /// (or until the default timeout, if the barrier has one).
    ///
    /// Returns this party's index in `0..parties`, distinct for each party
    /// of a generation (for example the order of arrival: CPython gives the
    /// first to arrive 0 and the last `parties - 1`). Use it to pick one
    /// party for some extra work.
    ///
    /// # Errors
    ///
    /// `Err(BrokenBarrier)` if the barrier is broken when called or while
    /// waiting (by `abort`, `reset`, another party's timeout or a panicking
    /// action), or if the default timeout passes (which breaks it).
    pub fn wait(&self) -> Result<usize, BrokenBarrier> {
        todo!("Barrier::wait: block until every party has arrived, then return this party's index")
    }

    /// Like [`wait`](Barrier::wait), but waits at most `timeout`. When the
    /// timeout passes the barrier breaks: this party and every other waiting
    /// party get `Err(BrokenBarrier)`.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Barrier::wait), and when the timeout passes.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BrokenBarrier> {
        todo!("Barrier::wait_timeout: like wait, but break the barrier after {timeout:?}")
    }

    /// Breaks the barrier: every party waiting now, and every later call to
    /// `wait`, gets `Err(BrokenBarrier)` until [`reset`](Barrier::reset).
    pub fn abort(&self) {
        todo!(
            "Barrier::abort: break the barrier, waking every waiting party with Err(BrokenBarrier)"
        )
    }

    /// Returns the barrier to its initial, empty state. Parties waiting now
    /// get `Err(BrokenBarrier)`; later calls to `wait` work normally (they
    /// first let the broken parties leave).
    pub fn reset(&self) {
        todo!(
            "Barrier::reset: wake the waiting parties with Err(BrokenBarrier) and make the barrier usable again"
        )
    }

    /// Whether the barrier is broken (by `abort`, a timeout or a panicking
    /// action) and not yet reset.
    pub fn is_broken(&self) -> bool {
        todo!("Barrier::is_broken: whether the barrier is broken and not yet reset")
    }

    /// How many parties are blocked in `wait` right now, waiting for the
    /// current generation to fill.
    pub fn n_waiting(&self) -> usize {
        todo!("Barrier::n_waiting: how many parties are blocked in wait now")
    }

    /// The number of parties needed to release a generation.
    pub fn parties(&self) -> usize {
        todo!("Barrier::parties: the number of parties given when it was made")
    }
}
