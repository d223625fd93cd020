//! Exercise 01, the thread lifecycle: reference solution.
//!
//! The lesson is in `exercises/01-lifecycle/README.md`.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use parking_lot::Mutex;

/// The text of a panic payload. `panic!("literal")` carries a `&'static str`,
/// `panic!("{x}")` a `String`; anything else (`std::panic::panic_any(42)`)
/// has no text of its own.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Runs `f` on a new thread, waits for it, and returns what it returned.
///
/// The Rust form of `t = Thread(target=f); t.start(); t.join()`. Because the
/// call waits for the thread, `f` may borrow from the caller (no `'static`).
///
/// # Errors
///
/// If `f` panics, returns `Err` with the panic message (the text given to
/// `panic!`, whether a literal or a formatted `String`). A payload that is not
/// a string gives some text describing it.
pub fn run_in_thread<T, F>(f: F) -> Result<T, String>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    thread::scope(|scope| {
        let handle = scope.spawn(f);
        // Joining here, inside the scope, is what turns the panic into a value:
        // a scoped thread left unjoined would make `scope` itself panic.
        handle.join().map_err(|payload| panic_message(&*payload))
    })
}

/// Runs `task(i)` for every index `i` of `names`, each on its own thread named
/// `names[i]`, all at the same time, and returns the results in input order
/// (`result[i] == task(i)`), whatever order the threads finish in.
///
/// Every thread is started before any is joined. No thread is started for an
/// empty `names`.
///
/// # Panics
///
/// If a task panics, `spawn_named` panics too, after every thread has finished.
pub fn spawn_named<T, F>(names: &[&str], task: F) -> Vec<T>
where
    F: Fn(usize) -> T + Sync,
    T: Send,
{
    let task = &task;
    thread::scope(|scope| {
        // Start them all first...
        let handles: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                thread::Builder::new()
                    .name(name.to_string())
                    .spawn_scoped(scope, move || task(i))
                    .expect("spawn a named thread")
            })
            .collect();
        // ...then join them in input order, so `results[i]` is `task(i)`.
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    })
}

/// Where a [`Worker`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Made by [`Worker::new`], not started yet.
    Created,
    /// Started; its closure has not returned or panicked yet.
    Running,
    /// Its closure has returned or panicked (the worker may not be joined yet).
    Finished,
}

/// What can go wrong with a [`Worker`]'s lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleError {
    /// [`Worker::start`] was called on a worker that was already started
    /// (Python: `RuntimeError: threads can only be started once`).
    AlreadyStarted,
    /// [`Worker::join`] was called on a worker that was never started
    /// (Python: `RuntimeError: cannot join thread before it is started`).
    NotStarted,
    /// The worker's closure panicked with this message.
    Panicked(String),
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LifecycleError::AlreadyStarted => {
                write!(
                    f,
                    "the worker was already started (threads can only be started once)"
                )
            }
            LifecycleError::NotStarted => write!(f, "the worker was never started"),
            LifecycleError::Panicked(message) => write!(f, "the worker panicked: {message}"),
        }
    }
}

impl std::error::Error for LifecycleError {}

/// A thread with Python's lifecycle: made, then started once, then joined.
///
/// The Rust form of `threading.Thread(target=f, name=name)`.
pub struct Worker<T> {
    name: String,
    // Invariant: exactly one of `task` and `handle` is `Some`. `task` until
    // `start` moves the closure into the thread, `handle` from then on.
    task: Option<Box<dyn FnOnce() -> T + Send + 'static>>,
    handle: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Worker<T> {
    /// Makes a worker that will run `f` on a thread named `name`. Nothing runs
    /// until [`Worker::start`].
    pub fn new<F>(name: impl Into<String>, f: F) -> Worker<T>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        Worker {
            name: name.into(),
            task: Some(Box::new(f)),
            handle: None,
        }
    }

    /// The worker's name, which is also its thread's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts the closure on a new thread named [`Worker::name`] and returns at
    /// once, without waiting for the closure.
    ///
    /// # Errors
    ///
    /// [`LifecycleError::AlreadyStarted`] if the worker was started before
    /// (running or finished); the closure never runs twice.
    pub fn start(&mut self) -> Result<(), LifecycleError> {
        let task = self.task.take().ok_or(LifecycleError::AlreadyStarted)?;
        let handle = thread::Builder::new()
            .name(self.name.clone())
            .spawn(task)
            .expect("spawn the worker's thread");
        self.handle = Some(handle);
        Ok(())
    }

    /// Where the worker is: [`State::Created`] before `start`,
    /// [`State::Running`] while the closure runs, [`State::Finished`] as soon as
    /// it has returned or panicked, even before `join`.
    pub fn state(&self) -> State {
        match &self.handle {
            None => State::Created,
            // The thread drops its share of the result just after the closure
            // returns or unwinds, which is what `is_finished` observes.
            Some(handle) if handle.is_finished() => State::Finished,
            Some(_) => State::Running,
        }
    }

    /// Whether the closure is running now: `state() == State::Running`
    /// (Python's `is_alive()`).
    pub fn is_alive(&self) -> bool {
        self.state() == State::Running
    }

    /// Waits for the closure to finish and returns its value.
    ///
    /// # Errors
    ///
    /// [`LifecycleError::NotStarted`] if the worker was never started (the
    /// closure is dropped without running); [`LifecycleError::Panicked`] with
    /// the panic message if the closure panicked.
    pub fn join(self) -> Result<T, LifecycleError> {
        let handle = self.handle.ok_or(LifecycleError::NotStarted)?;
        handle
            .join()
            .map_err(|payload| LifecycleError::Panicked(panic_message(&*payload)))
    }
}

/// Counts and names the threads started through it that are still running:
/// Python's `threading.active_count()` and `threading.enumerate()`, limited to
/// this tracker's threads (the calling thread is not counted).
///
/// A `Tracker` can be shared between threads (`&Tracker` or `Arc<Tracker>`),
/// and its threads may outlive it.
pub struct Tracker {
    // Invariant: `live` holds one entry per thread spawned through this
    // tracker whose closure has not yet returned or panicked. An entry is added
    // before the thread starts and removed by a drop guard inside the thread.
    live: Arc<Mutex<Live>>,
}

#[derive(Debug, Default)]
struct Live {
    next_id: u64,
    // Keyed by a private id, not by name: names may repeat.
    names: HashMap<u64, String>,
}

/// Removes its thread's entry when dropped, which happens when the closure
/// returns and also when it panics (drops run during unwinding).
struct Deregister {
    live: Arc<Mutex<Live>>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.live.lock().names.remove(&self.id);
    }
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker::new()
    }
}

impl Tracker {
    /// A tracker with no threads.
    pub fn new() -> Tracker {
        Tracker {
            live: Arc::new(Mutex::new(Live::default())),
        }
    }

    /// Starts `f` on a new thread named `name` and returns its handle. The
    /// thread counts in [`Tracker::active`] and [`Tracker::names`] from the
    /// moment `spawn` returns until `f` returns or panics (so by the time
    /// `join` on the handle returns, it no longer counts).
    pub fn spawn<T, F>(&self, name: impl Into<String>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = name.into();
        // Register before the thread exists, so it counts as soon as we return.
        let id = {
            let mut live = self.live.lock();
            let id = live.next_id;
            live.next_id += 1;
            live.names.insert(id, name.clone());
            id
        };
        let guard = Deregister {
            live: Arc::clone(&self.live),
            id,
        };
        thread::Builder::new()
            .name(name)
            .spawn(move || {
                let _guard = guard;
                f()
            })
            .expect("spawn a tracked thread")
    }

    /// How many threads spawned through this tracker have not finished.
    pub fn active(&self) -> usize {
        self.live.lock().names.len()
    }

    /// The names of the threads that [`Tracker::active`] counts, one entry per
    /// thread (a name appears twice if two live threads share it), in no
    /// particular order.
    pub fn names(&self) -> Vec<String> {
        self.live.lock().names.values().cloned().collect()
    }
}
