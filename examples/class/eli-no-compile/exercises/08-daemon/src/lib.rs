//! Exercise 08: daemon threads and what happens at exit (reference solution).
//!
//! The lesson is in `exercises/08-daemon/README.md`.

use parking_lot::{Condvar, Mutex, MutexGuard};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A handle to a set of threads, in the role of Python's interpreter: it
/// knows which threads are daemons and, at [`shutdown`](Runtime::shutdown),
/// waits for every thread that is not.
///
/// Cloning is cheap (the clones share one set of threads), so a thread can
/// spawn more threads through a clone it captured.
#[derive(Clone, Default)]
pub struct Runtime {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Join handles of the non-daemon threads nobody has joined yet.
    /// Invariant: a thread's handle is pushed before `spawn` returns, so the
    /// children of a non-daemon thread are listed before that thread ends.
    non_daemon: Mutex<Vec<JoinHandle<()>>>,
    /// Threads spawned through the runtime whose closure has not finished.
    active: AtomicUsize,
}

/// Decrements the active count when the thread's closure ends, whether it
/// returned or panicked.
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Runtime {
    /// A runtime with no threads yet.
    pub fn new() -> Runtime {
        Runtime::default()
    }

    /// Starts a non-daemon thread named `name` that runs `f`.
    ///
    /// [`shutdown`](Runtime::shutdown) waits for it. The name is the OS
    /// thread's name, so `thread::current().name()` inside `f` returns it.
    pub fn spawn<F>(&self, name: impl Into<String>, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let handle = self.start(name.into(), f);
        self.shared.non_daemon.lock().push(handle);
    }

    /// Starts a daemon thread named `name` that runs `f`.
    ///
    /// Nobody waits for a daemon: [`shutdown`](Runtime::shutdown) ignores it,
    /// and when the process exits it simply stops.
    pub fn spawn_daemon<F>(&self, name: impl Into<String>, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        // Dropping the handle detaches the thread.
        drop(self.start(name.into(), f));
    }

    fn start<F>(&self, name: String, f: F) -> JoinHandle<()>
    where
        F: FnOnce() + Send + 'static,
    {
        // Counted before the thread exists, so `active()` includes it as soon
        // as `spawn` returns.
        self.shared.active.fetch_add(1, Ordering::SeqCst);
        let guard = ActiveGuard(Arc::clone(&self.shared));
        thread::Builder::new()
            .name(name)
            .spawn(move || {
                let _guard = guard;
                f();
            })
            .expect("failed to spawn a thread")
    }

    /// How many threads spawned through this runtime (daemon or not) are
    /// still running: counted from the moment `spawn` returns until the
    /// thread's closure returns or panics. The calling thread is not counted
    /// (unlike Python's `threading.active_count()`, which counts the main
    /// thread too).
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Waits for every non-daemon thread, including the ones that non-daemon
    /// threads spawn while it waits, and returns the panic messages of those
    /// that panicked (each the text given to `panic!`, in no particular
    /// order). Daemon threads are neither waited for nor reported.
    ///
    /// Call it from the thread that owns the runtime, never from one of its
    /// non-daemon threads (that thread would wait for itself).
    pub fn shutdown(self) -> Vec<String> {
        let mut panics = Vec::new();
        loop {
            // Take one handle at a time: a thread being joined may still add
            // its children to the list.
            let next = self.shared.non_daemon.lock().pop();
            let Some(handle) = next else { break };
            if let Err(payload) = handle.join() {
                panics.push(panic_message(&*payload));
            }
        }
        panics
    }
}

/// The text of a panic payload (`panic!` with a literal or a format string).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_string()
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
    let runtime = Runtime::new();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&runtime)));
    let panics = runtime.shutdown();
    match outcome {
        Ok(()) => panics,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// A background thread that calls `tick` about every `interval` until
/// stopped: the daemon loop of Python's `while not stop.wait(interval): tick()`.
pub struct Ticker {
    stop: Arc<StopFlag>,
    thread: JoinHandle<()>,
}

struct StopFlag {
    /// Whether `stop` was called. Guarded so that setting it and waking the
    /// ticker cannot slip between the ticker's check and its wait.
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Ticker {
    /// Starts a thread that calls `tick` one `interval` after the start, then
    /// again one `interval` after each tick returns, until [`stop`](Ticker::stop).
    /// Every call runs on that one thread. Between ticks the thread sleeps
    /// (it does not poll).
    ///
    /// Dropping a `Ticker` without calling `stop` detaches it: it keeps
    /// ticking in the background, like a daemon thread, until the process ends.
    pub fn start<F>(interval: Duration, mut tick: F) -> Ticker
    where
        F: FnMut() + Send + 'static,
    {
        let stop = Arc::new(StopFlag {
            stopped: Mutex::new(false),
            wake: Condvar::new(),
        });
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut stopped = flag.stopped.lock();
            loop {
                let due = Instant::now() + interval;
                // `while`, not `if`: a wakeup is not proof that it is time.
                while !*stopped && Instant::now() < due {
                    flag.wake.wait_until(&mut stopped, due);
                }
                if *stopped {
                    return;
                }
                // Tick without holding the lock, so `stop` never waits for it.
                MutexGuard::unlocked(&mut stopped, &mut tick);
            }
        });
        Ticker { stop, thread }
    }

    /// Stops the ticker and waits for its thread to end. Returns promptly
    /// even in the middle of a long interval; if a tick is running, waits for
    /// that tick to return. Once `stop` returns, `tick` is not running and is
    /// never called again.
    ///
    /// Never call it from inside `tick` (the thread would wait for itself).
    pub fn stop(self) {
        *self.stop.stopped.lock() = true;
        self.stop.wake.notify_one();
        // A panic in `tick` already ended the thread; nothing more to do.
        let _ = self.thread.join();
    }
}
