//! Reference solution for exercise 05: an `Event` with CPython's semantics.
//! The lesson is in `exercises/05-event/README.md`.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A flag that threads can wait for, like Python's `threading.Event`.
///
/// [`set`](Event::set) raises the flag and wakes every waiting thread;
/// [`clear`](Event::clear) lowers it; [`wait`](Event::wait) blocks until the
/// flag is raised. As in CPython, `set` wakes every thread waiting at that
/// moment even if `clear` follows at once.
#[derive(Debug, Default)]
pub struct Event {
    state: Mutex<State>,
    /// Notified (all waiters) by every `set`.
    raised: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The flag itself.
    set: bool,
    /// Invariant: counts the calls to `set`. A waiter remembers it before
    /// sleeping and returns once it has changed, so a `set` immediately
    /// followed by `clear` still releases everyone who was waiting.
    sets: u64,
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Event {
        Event::default()
    }

    /// Raises the flag and wakes every thread waiting for it.
    pub fn set(&self) {
        let mut state = self.state.lock();
        state.set = true;
        state.sets = state.sets.wrapping_add(1);
        self.raised.notify_all();
    }

    /// Lowers the flag; later waits block until the next `set`.
    pub fn clear(&self) {
        self.state.lock().set = false;
    }

    /// Whether the flag is raised right now.
    pub fn is_set(&self) -> bool {
        self.state.lock().set
    }

    /// Blocks (without using CPU) until the flag is raised. Returns at once
    /// if it is raised already.
    pub fn wait(&self) {
        let mut state = self.state.lock();
        if state.set {
            return;
        }
        let seen = state.sets;
        while state.sets == seen {
            self.raised.wait(&mut state);
        }
    }

    /// Like [`wait`](Event::wait), but gives up after `timeout`. Returns
    /// `true` if the flag was raised (before or during the wait, even if it
    /// was lowered again since), `false` on timeout.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        // A timeout too large to add to `now` is as good as no timeout.
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            self.wait();
            return true;
        };
        let mut state = self.state.lock();
        if state.set {
            return true;
        }
        let seen = state.sets;
        while state.sets == seen {
            if self.raised.wait_until(&mut state, deadline).timed_out() {
                break;
            }
        }
        state.sets != seen
    }
}
