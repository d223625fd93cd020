//! Twins of `std::thread`'s entry points: [`spawn`], [`scope`] (and its
//! [`Scope::spawn`]), [`Builder`], [`yield_now`], [`sleep`], [`park`] and
//! [`park_timeout`]. A spawned thread passes a noise point as it starts and
//! as its closure returns (just before a `join` can see it finish), so the
//! order in which threads start and end varies from run to run. The handles
//! (`JoinHandle`, `ScopedJoinHandle`), `Thread`, `current` and the rest are
//! `std`'s own. `park` may return spuriously, as `std` allows.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::time::Duration;

pub use ::std::thread::*;

use crate::config::config;
use crate::threads::{self, noise, yield_noise};

/// `f`, run between a noise point at its start and one at its end.
fn shaken<F, T>(f: F) -> impl FnOnce() -> T
where
    F: FnOnce() -> T,
{
    move || {
        noise();
        let value = f();
        noise();
        value
    }
}

/// Spawns a thread, as `std::thread::spawn`.
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    noise();
    std::thread::spawn(shaken(f))
}

/// Runs `f` with a scope whose threads are all joined before it returns, as
/// `std::thread::scope`.
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    std::thread::scope(|inner| f(Scope::wrap(inner)))
}

/// A scope of [`scope`], as `std::thread::Scope`.
#[repr(transparent)]
pub struct Scope<'scope, 'env: 'scope> {
    inner: std::thread::Scope<'scope, 'env>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    fn wrap<'a>(inner: &'a std::thread::Scope<'scope, 'env>) -> &'a Scope<'scope, 'env> {
        // SAFETY: `Scope` is a `repr(transparent)` wrapper of
        // `std::thread::Scope`, so both references have the same layout and
        // the same validity; the lifetime is unchanged.
        unsafe {
            &*(inner as *const std::thread::Scope<'scope, 'env> as *const Scope<'scope, 'env>)
        }
    }

    /// Spawns a thread that may borrow from outside the scope.
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        noise();
        self.inner.spawn(shaken(f))
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// A thread factory, as `std::thread::Builder`.
#[derive(Debug)]
pub struct Builder {
    inner: std::thread::Builder,
}

impl Builder {
    /// A builder with the defaults.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Builder {
        Builder {
            inner: std::thread::Builder::new(),
        }
    }

    /// Names the thread.
    pub fn name(self, name: String) -> Builder {
        Builder {
            inner: self.inner.name(name),
        }
    }

    /// Sets the thread's stack size.
    pub fn stack_size(self, size: usize) -> Builder {
        Builder {
            inner: self.inner.stack_size(size),
        }
    }

    /// Spawns the thread.
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        noise();
        self.inner.spawn(shaken(f))
    }

    /// Spawns a thread of `scope`.
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        noise();
        self.inner.spawn_scoped(&scope.inner, shaken(f))
    }
}

/// Gives up the CPU, as `std::thread::yield_now`, sometimes twice. Never
/// sleeps: a loop around it keeps using CPU, as it does with `std`.
pub fn yield_now() {
    yield_noise();
    std::thread::yield_now();
}

/// Sleeps at least `dur`, as `std::thread::sleep`.
pub fn sleep(dur: Duration) {
    noise();
    std::thread::sleep(dur);
}

/// Blocks until the thread's token is available, as `std::thread::park`;
/// like `std`'s, it may also return without one (a spurious wakeup), so
/// callers must check their condition in a loop.
pub fn park() {
    noise();
    match spurious_park() {
        Some(early) => std::thread::park_timeout(early),
        None => std::thread::park(),
    }
}

/// As [`park`], for at most `dur`.
pub fn park_timeout(dur: Duration) {
    noise();
    match spurious_park() {
        Some(early) if early < dur => std::thread::park_timeout(early),
        _ => std::thread::park_timeout(dur),
    }
}

/// How soon the next park returns without a token, if it is to.
fn spurious_park() -> Option<Duration> {
    let config = config();
    if !config.std_spurious {
        return None;
    }
    threads::with(|local| local.std_spurious()).flatten()
}
