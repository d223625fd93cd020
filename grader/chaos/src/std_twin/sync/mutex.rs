//! The twin of `std::sync::Mutex`: the stand-in's instrumented mutex (noise,
//! lock-order graph, hang monitor) with `std`'s API and poisoning.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{LockResult, TryLockError, TryLockResult};

use super::poisoning::{Flag, Taken};

/// A mutual exclusion lock, as `std::sync::Mutex`.
pub struct Mutex<T: ?Sized> {
    /// Set when a guard was dropped during a panic.
    pub(super) poison: Flag,
    pub(super) inner: crate::Mutex<T>,
}

/// The guard of a locked [`Mutex`], as `std::sync::MutexGuard`.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    pub(super) poison: &'a Flag,
    pub(super) taken: Taken,
    pub(super) inner: crate::MutexGuard<'a, T>,
}

impl<T: ?Sized> UnwindSafe for Mutex<T> {}
impl<T: ?Sized> RefUnwindSafe for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            poison: Flag::new(),
            inner: crate::Mutex::new(value),
        }
    }

    /// Consumes the mutex and returns its data (in a `PoisonError` if it is
    /// poisoned).
    pub fn into_inner(self) -> LockResult<T> {
        let Mutex { poison, inner } = self;
        poison.result(inner.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    fn guard<'a>(&'a self, inner: crate::MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        MutexGuard {
            poison: &self.poison,
            taken: self.poison.take(),
            inner,
        }
    }

    /// Blocks until the lock is free, then takes it.
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let inner = self.inner.lock();
        self.poison.result(self.guard(inner))
    }

    /// Takes the lock if it is free right now.
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        match self.inner.try_lock() {
            None => Err(TryLockError::WouldBlock),
            Some(inner) => Ok(self.poison.result(self.guard(inner))?),
        }
    }

    /// Whether a thread panicked while holding the lock.
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Forgets that the lock was poisoned.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The data, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        let data = self.inner.get_mut();
        if poisoned {
            Err(std::sync::PoisonError::new(data))
        } else {
            Ok(data)
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.inner.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get());
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.poison.release(&self.taken);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
