//! Poisoning, as `std` does it: a guard dropped while its thread panics
//! (and was not panicking when it took the lock) marks the lock poisoned,
//! and every later acquisition returns its guard inside a `PoisonError`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LockResult, PoisonError};

/// Whether a lock is poisoned.
#[derive(Debug)]
pub(super) struct Flag(AtomicBool);

/// What a guard remembers for its drop.
#[derive(Debug)]
pub(super) struct Taken {
    panicking: bool,
}

impl Flag {
    pub(super) const fn new() -> Flag {
        Flag(AtomicBool::new(false))
    }

    pub(super) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(super) fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Called when a guard is created.
    pub(super) fn take(&self) -> Taken {
        Taken {
            panicking: std::thread::panicking(),
        }
    }

    /// Called when a guard is dropped, before the lock is released.
    pub(super) fn release(&self, taken: &Taken) {
        if !taken.panicking && std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    /// `Ok(value)`, or `Err` holding it when the lock is poisoned.
    pub(super) fn result<G>(&self, value: G) -> LockResult<G> {
        if self.get() {
            Err(PoisonError::new(value))
        } else {
            Ok(value)
        }
    }
}
