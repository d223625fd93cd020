//! Exercise 05: an `Event` with CPython's semantics.
//!
//! Read `README.md` in this folder first: it explains Python's `Event`, how it
//! maps to Rust, and exactly what each method must do. Replace every
//! `todo!()`, then run `cargo test -p exercise-05`.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// A flag that threads can wait for, like Python's `threading.Event`.
///
/// [`set`](Event::set) raises the flag and wakes every waiting thread;
/// [`clear`](Event::clear) lowers it; [`wait`](Event::wait) blocks until the
/// flag is raised. As in CPython, `set` wakes every thread waiting at that
/// moment even if `clear` follows at once.
///
/// The private fields are a suggestion: change them, or add more state, as
/// you need.
#[derive(Debug)]
#[allow(dead_code)] // the stub does not use its fields yet; remove this line
pub struct Event {
    /// The flag.
    flag: Mutex<bool>,
    /// For threads waiting for the flag.
    raised: Condvar,
}

impl Default for Event {
    /// The same as [`Event::new`].
    fn default() -> Event {
        Event::new()
    }
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Event {
        todo!("Event::new: an event whose flag starts lowered")
    }

    /// Raises the flag and wakes every thread waiting for it.
    pub fn set(&self) {
        todo!("Event::set: raise the flag and wake every waiting thread")
    }

    /// Lowers the flag; later waits block until the next `set`.
    pub fn clear(&self) {
        todo!("Event::clear: lower the flag")
    }

    /// Whether the flag is raised right now.
    pub fn is_set(&self) -> bool {
        todo!("Event::is_set: report whether the flag is raised")
    }

    /// Blocks (without using CPU) until the flag is raised. Returns at once
    /// if it is raised already.
    pub fn wait(&self) {
        todo!("Event::wait: block until the flag is raised (or a set happened meanwhile)")
    }

    /// Like [`wait`](Event::wait), but gives up after `timeout`. Returns
    /// `true` if the flag was raised (before or during the wait, even if it
    /// was lowered again since), `false` on timeout.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        todo!("Event::wait_timeout: wait at most {timeout:?}; true if set, false on timeout")
    }
}
