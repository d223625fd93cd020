//! The twin of `std::sync::Barrier`, built on the stand-in's mutex and
//! condition variable, so its waits get noise and hang reports.

use std::fmt;

/// A barrier for `n` threads, as `std::sync::Barrier`.
pub struct Barrier {
    /// Invariant: `count` threads of generation `generation` are waiting.
    state: crate::Mutex<State>,
    released: crate::Condvar,
    parties: usize,
}

struct State {
    count: usize,
    generation: u64,
}

/// What [`Barrier::wait`] returns: whether this thread was the leader.
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one thread of each generation (the last to arrive).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier that releases threads in groups of `n` (0 counts as 1).
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            state: crate::Mutex::new(State {
                count: 0,
                generation: 0,
            }),
            released: crate::Condvar::new(),
            parties: n,
        }
    }

    /// Blocks until `n` threads have called `wait`.
    pub fn wait(&self) -> BarrierWaitResult {
        let mut state = self.state.lock();
        let generation = state.generation;
        state.count += 1;
        if state.count < self.parties {
            while state.generation == generation {
                self.released.wait(&mut state);
            }
            BarrierWaitResult(false)
        } else {
            state.count = 0;
            state.generation = state.generation.wrapping_add(1);
            self.released.notify_all();
            BarrierWaitResult(true)
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").finish_non_exhaustive()
    }
}

impl fmt::Debug for BarrierWaitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitResult")
            .field("is_leader", &self.0)
            .finish()
    }
}
