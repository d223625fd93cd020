//! Exercise 08: daemon threads and what happens at exit.
//!
//! Read `README.md` in this folder first: it explains the lesson and what to
//! build. Replace every `todo!()` below; the private fields are yours to
//! change. Check your work with `cargo test -p exercise-08`.

use std::time::Duration;

/// A handle to a set of threads, in the role of Python's interpreter: it
/// knows which threads are daemons and, at [`shutdown`](Runtime::shutdown),
/// waits for every thread that is not.
///
/// Cloning is cheap (the clones share one set of threads), so a thread can
/// spawn more threads through a clone it captured.
#[derive(Clone)]
pub struct Runtime {
    // Your shared state goes here (behind an `Arc`, so clones share it).
}

impl Default for Runtime {
    fn default() -> Runtime {
        Runtime::new()
    }
}

impl Runtime {
    /// A runtime with no threads yet.
    pub fn new() -> Runtime {
        todo!("Runtime::new: a runtime with no threads yet")
    }

    /// Starts a non-daemon thread named `name` that runs `f`.
    ///
    /// [`shutdown`](Runtime::shutdown) waits for it. The name is the OS
    /// thread's name, so `thread::current().name()` inside `f` returns it.
    pub fn spawn<F>(&self, name: impl Into<String>, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let _ = f;
        todo!(
            "Runtime::spawn: start a non-daemon thread named {:?} that shutdown waits for",
            name.into()
        )
    }

    /// Starts a daemon thread named `name` that runs `f`.
    ///
    /// Nobody waits for a daemon: [`shutdown`](Runtime::shutdown) ignores it,
    /// and when the process exits it simply stops.
    pub fn spawn_daemon<F>(&self, name: impl Into<String>, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let _ = f;
        todo!(
            "Runtime::spawn_daemon: start a daemon thread named {:?} that nobody waits for",
            name.into()
        )
    }

    /// How many threads spawned through this runtime (daemon or not) are
    /// still running: counted from the moment `spawn` returns until the
    /// thread's closure returns or panics. The calling thread is not counted
    /// (unlike Python's `threading.active_count()`, which counts the main
    /// thread too).
    pub fn active(&self) -> usize {
        todo!("Runtime::active: count the threads still running")
    }

    /// Waits for every non-daemon thread, including the ones that non-daemon
    /// threads spawn while it waits, and returns the panic messages of those
    /// that panicked (each the text given to `panic!`, in no particular
    /// order). Daemon threads are neither waited for nor reported.
    ///
    /// Call it from the thread that owns the runtime, never from one of its
    /// non-daemon threads (that thread would wait for itself).
    pub fn shutdown(self) -> Vec<String> {
        todo!("Runtime::shutdown: wait for every non-daemon thread and collect their panics")
    }
}

/// Runs `f` on the calling thread with a fresh [`Runtime`], then shuts the
/// runtime down, as Python's interpreter does when the main module ends: it
/// waits for the non-daemon threads and leaves the daemons behind. Returns
/// the panic messages [`Runtime::shutdown`] collected.
///
/// If `f` panics, the non-daemon threads are still waited for, then the
/// panic continues.
pub fn run_main<F>(f: F) -> Vec<String>
where
    F: FnOnce(&Runtime),
{
    let _ = f;
    todo!("run_main: run f(&runtime), then shut the runtime down")
}

/// A background thread that calls `tick` about every `interval` until
/// stopped: the daemon loop of Python's `while not stop.wait(interval): tick()`.
pub struct Ticker {
    // Your fields go here.
}

impl Ticker {
    /// Starts a thread that calls `tick` one `interval` after the start, then
    /// again one `interval` after each tick returns, until [`stop`](Ticker::stop).
    /// Every call runs on that one thread. Between ticks the thread sleeps
    /// (it does not poll).
    ///
    /// Dropping a `Ticker` without calling `stop` detaches it: it keeps
    /// ticking in the background, like a daemon thread, until the process ends.
    pub fn start<F>(interval: Duration, tick: F) -> Ticker
    where
        F: FnMut() + Send + 'static,
    {
        let _ = tick;
        todo!("Ticker::start: a thread that calls tick every {interval:?} until stopped")
    }

    /// Stops the ticker and waits for its thread to end. Returns promptly
    /// even in the middle of a long interval; if a tick is running, waits for
    /// that tick to return. Once `stop` returns, `tick` is not running and is
    /// never called again.
    ///
    /// Never call it from inside `tick` (the thread would wait for itself).
    pub fn stop(self) {
        todo!("Ticker::stop: wake the ticker at once and wait for its thread")
    }
}
