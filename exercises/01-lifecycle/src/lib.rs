//! Exercise 01, the thread lifecycle: create, start, run, join.
//!
//! Read `README.md` in this folder first: it maps Python's `threading.Thread`,
//! `start`, `join`, `name`, `is_alive`, `current_thread` and `active_count`
//! to Rust, and lists what to build and the pitfalls the hidden tests catch.
//!
//! Replace every `todo!()` below. You may change private fields and add
//! private items freely; keep the public API as it is.

use std::fmt;
use std::marker::PhantomData;
use std::thread::JoinHandle;

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
    let _ = f;
    todo!("run_in_thread: run `f` on a new thread, join it, turn a panic into Err(message)")
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
    let _ = task;
    todo!(
        "spawn_named: start one thread per name in {names:?}, all before joining any, results in input order"
    )
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
    // Replace this placeholder with the fields you need.
    _todo: PhantomData<fn() -> T>,
}

impl<T: Send + 'static> Worker<T> {
    /// Makes a worker that will run `f` on a thread named `name`. Nothing runs
    /// until [`Worker::start`].
    pub fn new<F>(name: impl Into<String>, f: F) -> Worker<T>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let _ = f;
        todo!(
            "Worker::new: keep the name {:?} and the closure, start nothing yet",
            name.into()
        )
    }

    /// The worker's name, which is also its thread's name.
    pub fn name(&self) -> &str {
        todo!("Worker::name: return the name given to Worker::new")
    }

    /// Starts the closure on a new thread named [`Worker::name`] and returns at
    /// once, without waiting for the closure.
    ///
    /// # Errors
    ///
    /// [`LifecycleError::AlreadyStarted`] if the worker was started before
    /// (running or finished); the closure never runs twice.
    pub fn start(&mut self) -> Result<(), LifecycleError> {
        todo!("Worker::start: spawn a thread named after the worker, or Err(AlreadyStarted)")
    }

    /// Where the worker is: [`State::Created`] before `start`,
    /// [`State::Running`] while the closure runs, [`State::Finished`] as soon as
    /// it has returned or panicked, even before `join`.
    pub fn state(&self) -> State {
        todo!("Worker::state: Created, Running or Finished (Finished as soon as the closure ends)")
    }

    /// Whether the closure is running now: `state() == State::Running`
    /// (Python's `is_alive()`).
    pub fn is_alive(&self) -> bool {
        todo!("Worker::is_alive: true only while the closure runs")
    }

    /// Waits for the closure to finish and returns its value.
    ///
    /// # Errors
    ///
    /// [`LifecycleError::NotStarted`] if the worker was never started (the
    /// closure is dropped without running); [`LifecycleError::Panicked`] with
    /// the panic message if the closure panicked.
    pub fn join(self) -> Result<T, LifecycleError> {
        todo!("Worker::join: wait for the thread; Err(NotStarted) or Err(Panicked(message))")
    }
}

/// Counts and names the threads started through it that are still running:
/// Python's `threading.active_count()` and `threading.enumerate()`, limited to
/// this tracker's threads (the calling thread is not counted).
///
/// A `Tracker` can be shared between threads (`&Tracker` or `Arc<Tracker>`),
/// and its threads may outlive it.
pub struct Tracker {
    // Replace this placeholder with the fields you need.
    _todo: (),
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker::new()
    }
}

impl Tracker {
    /// A tracker with no threads.
    pub fn new() -> Tracker {
        todo!("Tracker::new: a tracker with no threads")
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
        let _ = f;
        todo!(
            "Tracker::spawn: start a thread named {:?} that counts as active until it ends, even by panicking",
            name.into()
        )
    }

    /// How many threads spawned through this tracker have not finished.
    pub fn active(&self) -> usize {
        todo!("Tracker::active: the number of this tracker's threads still running")
    }

    /// The names of the threads that [`Tracker::active`] counts, one entry per
    /// thread (a name appears twice if two live threads share it), in no
    /// particular order.
    pub fn names(&self) -> Vec<String> {
        todo!("Tracker::names: the names of this tracker's threads still running")
    }
}
