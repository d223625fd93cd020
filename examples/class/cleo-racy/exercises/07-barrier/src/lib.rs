//! Exercise 07 — a reusable barrier with an action, timeouts, abort and reset.
//!
//! Reference solution. The lesson is in `exercises/07-barrier/README.md`.

use std::error::Error;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

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

/// Where the current generation is. The names follow CPython's `Barrier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Parties are arriving; fewer than `parties` have come.
    Filling,
    /// The last party arrived: the waiters are leaving with `Ok`.
    Draining,
    /// `reset` was called while parties were waiting: they are leaving with `Err`.
    Resetting,
    /// Broken by `abort`, a timeout or a panicking action, until `reset`.
    Broken,
}

struct State {
    phase: Phase,
    /// Parties inside `wait` (arrived and not yet left). A new generation
    /// starts filling only when the previous one has fully left, so a fast
    /// thread can never be counted in the old generation.
    count: usize,
    action: Option<Box<dyn FnMut() + Send>>,
}

/// A barrier for a fixed number of parties (threads), usable for any number
/// of generations, like Python's `threading.Barrier`.
///
/// Each call to [`wait`](Barrier::wait) blocks until `parties` threads have
/// called it; then they are all released together and the barrier is ready
/// for the next generation.
pub struct Barrier {
    parties: usize,
    default_timeout: Option<Duration>,
    state: Mutex<State>,
    /// Signalled on every phase change; waiters re-check `state.phase`.
    changed: Condvar,
}

impl Barrier {
    /// A barrier for `parties` threads, with no action and no default timeout.
    ///
    /// # Panics
    ///
    /// If `parties` is 0.
    pub fn new(parties: usize) -> Barrier {
        Barrier::build(parties, None, None)
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
        Barrier::build(parties, Some(Box::new(action)), None)
    }

    /// A barrier for `parties` threads whose [`wait`](Barrier::wait) gives
    /// up after `timeout` (breaking the barrier, like
    /// [`wait_timeout`](Barrier::wait_timeout)).
    ///
    /// # Panics
    ///
    /// If `parties` is 0.
    pub fn with_timeout(parties: usize, timeout: Duration) -> Barrier {
        Barrier::build(parties, None, Some(timeout))
    }

    fn build(
        parties: usize,
        action: Option<Box<dyn FnMut() + Send>>,
        default_timeout: Option<Duration>,
    ) -> Barrier {
        assert!(parties > 0, "Barrier: parties must be at least 1");
        Barrier {
            parties,
            default_timeout,
            state: Mutex::new(State {
                phase: Phase::Filling,
                count: 0,
                action,
            }),
            changed: Condvar::new(),
        }
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
        self.wait_deadline(self.default_timeout)
    }

    /// Like [`wait`](Barrier::wait), but waits at most `timeout`. When the
    /// timeout passes the barrier breaks: this party and every other waiting
    /// party get `Err(BrokenBarrier)`.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Barrier::wait), and when the timeout passes.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BrokenBarrier> {
        self.wait_deadline(Some(timeout))
    }

    fn wait_deadline(&self, timeout: Option<Duration>) -> Result<usize, BrokenBarrier> {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut state = self.state.lock();
        // Let the previous generation (or a reset) finish leaving first.
        while matches!(state.phase, Phase::Draining | Phase::Resetting) {
            self.changed.wait(&mut state);
        }
        if state.phase == Phase::Broken {
            return Err(BrokenBarrier);
        }
        let index = state.count;
        state.count += 1;
        let result = if state.count == self.parties {
            // The last to arrive runs the action, then releases everyone.
            let ran = match state.action.as_mut() {
                Some(action) => panic::catch_unwind(AssertUnwindSafe(action)),
                None => Ok(()),
            };
            if let Err(payload) = ran {
                state.phase = Phase::Broken;
                state.count -= 1;
                self.changed.notify_all();
                drop(state);
                panic::resume_unwind(payload);
            }
            state.phase = Phase::Draining;
            self.changed.notify_all();
            Ok(index)
        } else {
            loop {
                match state.phase {
                    Phase::Draining => break Ok(index),
                    Phase::Resetting | Phase::Broken => break Err(BrokenBarrier),
                    Phase::Filling => {}
                }
                match deadline {
                    Some(deadline) if Instant::now() >= deadline => {
                        // Timed out: break the barrier for everyone.
                        state.phase = Phase::Broken;
                        self.changed.notify_all();
                        break Err(BrokenBarrier);
                    }
                    Some(deadline) => {
                        self.changed.wait_until(&mut state, deadline);
                    }
                    None => self.changed.wait(&mut state),
                }
            }
        };
        // Leave; the last one out of a finished generation opens the next.
        state.count -= 1;
        if state.count == 0 && matches!(state.phase, Phase::Draining | Phase::Resetting) {
            state.phase = Phase::Filling;
            self.changed.notify_all();
        }
        result
    }

    /// Breaks the barrier: every party waiting now, and every later call to
    /// `wait`, gets `Err(BrokenBarrier)` until [`reset`](Barrier::reset).
    pub fn abort(&self) {
        let mut state = self.state.lock();
        state.phase = Phase::Broken;
        self.changed.notify_all();
    }

    /// Returns the barrier to its initial, empty state. Parties waiting now
    /// get `Err(BrokenBarrier)`; later calls to `wait` work normally (they
    /// first let the broken parties leave).
    pub fn reset(&self) {
        let mut state = self.state.lock();
        if state.count == 0 {
            state.phase = Phase::Filling;
        } else if matches!(state.phase, Phase::Filling | Phase::Broken) {
            // The parties inside leave with Err; the last one out reopens.
            state.phase = Phase::Resetting;
        }
        self.changed.notify_all();
    }

    /// Whether the barrier is broken (by `abort`, a timeout or a panicking
    /// action) and not yet reset.
    pub fn is_broken(&self) -> bool {
        self.state.lock().phase == Phase::Broken
    }

    /// How many parties are blocked in `wait` right now, waiting for the
    /// current generation to fill.
    pub fn n_waiting(&self) -> usize {
        let state = self.state.lock();
        if state.phase == Phase::Filling {
            state.count
        } else {
            0
        }
    }

    /// The number of parties needed to release a generation.
    pub fn parties(&self) -> usize {
        self.parties
    }
}
