//! The lock sites that precede a Condvar wait, learnt as the run goes, so
//! that the stand-in can stall a thread just before it locks at one of them.
//!
//! A lost wakeup needs a notification to land between a waiter's check of its
//! condition and its wait. When the check and the wait are in two critical
//! sections, the second `lock()` (the one whose guard goes into `wait`) is in
//! that window: a longer stall right before it opens the window wide. The
//! stall costs correct code nothing but time, since whatever it checks after
//! the lock is still true or false as it would be without the stall.
//!
//! Invariant: each slot holds 0 or the address of a `Location` that some
//! thread locked a mutex at and then waited on a Condvar with that guard.

use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};

const SLOTS: usize = 64;

static SITES: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

fn key(at: &'static Location<'static>) -> usize {
    std::ptr::from_ref(at) as usize
}

fn slot(key: usize) -> usize {
    (key >> 3).wrapping_mul(0x9E37_79B9) % SLOTS
}

/// Remembers that a guard taken at `at` went into a Condvar wait.
pub(crate) fn learn(at: &'static Location<'static>) {
    let key = key(at);
    let start = slot(key);
    for probe in 0..SLOTS {
        let cell = &SITES[(start + probe) % SLOTS];
        match cell.compare_exchange(0, key, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(existing) if existing == key => return,
            Err(_) => {}
        }
    }
}

/// Whether a guard taken at `at` has gone into a Condvar wait before.
pub(crate) fn known(at: &'static Location<'static>) -> bool {
    let key = key(at);
    let start = slot(key);
    for probe in 0..SLOTS {
        match SITES[(start + probe) % SLOTS].load(Ordering::Relaxed) {
            0 => return false,
            existing if existing == key => return true,
            _ => {}
        }
    }
    false
}
