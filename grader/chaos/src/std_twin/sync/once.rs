//! Twins of `std::sync::Once` and `std::sync::OnceLock`: `std`'s own, with
//! noise before each call, so that two threads racing to initialize meet.

use std::fmt;
use std::sync::OnceState;

use crate::threads;

/// A one-time initialization, as `std::sync::Once`.
pub struct Once {
    inner: std::sync::Once,
}

impl Once {
    /// A new `Once` that has not run.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Once {
        Once {
            inner: std::sync::Once::new(),
        }
    }

    /// Runs `f` if no call has completed yet; every caller returns after it.
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        threads::noise();
        self.inner.call_once(f);
    }

    /// As [`call_once`](Once::call_once), also after a panicked call.
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        threads::noise();
        self.inner.call_once_force(f);
    }

    /// Whether a call has completed.
    pub fn is_completed(&self) -> bool {
        threads::noise();
        self.inner.is_completed()
    }

    /// Blocks until a call has completed.
    pub fn wait(&self) {
        threads::noise();
        self.inner.wait();
    }

    /// Blocks until a call has completed, even a panicked one.
    pub fn wait_force(&self) {
        threads::noise();
        self.inner.wait_force();
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// A cell written at most once, as `std::sync::OnceLock`.
pub struct OnceLock<T> {
    inner: std::sync::OnceLock<T>,
}

impl<T> OnceLock<T> {
    /// An empty cell.
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            inner: std::sync::OnceLock::new(),
        }
    }

    /// The value, if it was set.
    pub fn get(&self) -> Option<&T> {
        threads::noise();
        self.inner.get()
    }

    /// The value, through a unique borrow.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.get_mut()
    }

    /// Sets the value unless it is set; `Err(value)` if it was.
    pub fn set(&self, value: T) -> Result<(), T> {
        threads::noise();
        self.inner.set(value)
    }

    /// The value, running `f` to set it if nobody has.
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        threads::noise();
        self.inner.get_or_init(f)
    }

    /// Blocks until the value is set.
    pub fn wait(&self) -> &T {
        threads::noise();
        self.inner.wait()
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.inner.take()
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> OnceLock<T> {
        OnceLock {
            inner: self.inner.clone(),
        }
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(value: T) -> OnceLock<T> {
        OnceLock {
            inner: std::sync::OnceLock::from(value),
        }
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.inner == other.inner
    }
}

impl<T: Eq> Eq for OnceLock<T> {}

/// A value initialized on first access, as `std::sync::LazyLock`.
pub struct LazyLock<T, F = fn() -> T> {
    inner: std::sync::LazyLock<T, F>,
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A cell that runs `f` on first access.
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock {
            inner: std::sync::LazyLock::new(f),
        }
    }

    /// The value, initializing it if nobody has.
    pub fn force(this: &LazyLock<T, F>) -> &T {
        threads::noise();
        std::sync::LazyLock::force(&this.inner)
    }
}

impl<T, F: FnOnce() -> T> std::ops::Deref for LazyLock<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    fn default() -> LazyLock<T> {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
