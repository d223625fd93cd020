//! Exercise 06 — a bounded producer/consumer queue built on a condition variable.
//!
//! Read `README.md` in this folder first: it is the lesson, and it says exactly
//! what each item below must do. Replace every `todo!()` (and the placeholder
//! field of [`BoundedQueue`]); the error types are complete.
//! Check your work with `cargo test -p exercise-06`.

use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use parking_lot::Mutex;

/// The error of [`BoundedQueue::push`] on a closed queue. It gives the value
/// back: `Closed(value)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed<T>(pub T);

impl<T> Closed<T> {
    /// The value that could not be pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is closed")
    }
}

impl<T: fmt::Debug> Error for Closed<T> {}

/// The error of [`BoundedQueue::try_push`]. Both variants give the value back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryPushError<T> {
    /// The queue holds `capacity` items already.
    Full(T),
    /// The queue is closed (reported even if it is also full).
    Closed(T),
}

impl<T> TryPushError<T> {
    /// The value that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            TryPushError::Full(value) | TryPushError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Display for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPushError::Full(_) => f.write_str("the queue is full"),
            TryPushError::Closed(_) => f.write_str("the queue is closed"),
        }
    }
}

impl<T: fmt::Debug> Error for TryPushError<T> {}

/// The error of [`BoundedQueue::pop_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopTimeoutError {
    /// The timeout passed and the queue stayed empty.
    Timeout,
    /// The queue is closed and has no items left.
    Closed,
}

impl fmt::Display for PopTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopTimeoutError::Timeout => f.write_str("timed out waiting for an item"),
            PopTimeoutError::Closed => f.write_str("the queue is closed and empty"),
        }
    }
}

impl Error for PopTimeoutError {}

/// A first-in, first-out queue of at most `capacity` items, shared by any
/// number of producer and consumer threads (share it with `Arc` or a scope).
///
/// `push` blocks while the queue is full and `pop` blocks while it is empty.
/// After [`close`](BoundedQueue::close), pushes fail and pops drain what is
/// left, then return `None`.
pub struct BoundedQueue<T> {
    // Replace this placeholder with your own fields, for example a
    // `parking_lot::Mutex` around a `VecDeque<T>` and a `closed` flag, and
    // one or two `parking_lot::Condvar`s. State the invariant next to them.
    _todo: PhantomData<Mutex<VecDeque<T>>>,
}

impl<T> BoundedQueue<T> {
    /// An empty, open queue that holds at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (such a queue could never accept an item).
    pub fn new(capacity: usize) -> BoundedQueue<T> {
        todo!("BoundedQueue::new: an empty open queue of capacity {capacity} (panic if 0)")
    }

    /// Adds `item` at the back, blocking while the queue is full.
    ///
    /// # Errors
    ///
    /// `Err(Closed(item))` if the queue is closed, including when it is
    /// closed while this call is blocked; the item is given back.
    pub fn push(&self, item: T) -> Result<(), Closed<T>> {
        let _ = item; // (only keeps the stub warning-free: `T` cannot be printed)
        todo!("BoundedQueue::push: wait while full, then add item; Err(Closed(item)) when closed")
    }

    /// Removes the item at the front, blocking while the queue is empty.
    ///
    /// Returns `None` once the queue is closed and every item has been
    /// popped; items pushed before `close` are still delivered.
    pub fn pop(&self) -> Option<T> {
        todo!(
            "BoundedQueue::pop: wait while empty and open, then take the front item (None once closed and drained)"
        )
    }

    /// Adds `item` at the back if there is room, without blocking.
    ///
    /// # Errors
    ///
    /// `Err(TryPushError::Closed(item))` if the queue is closed (even if it
    /// is also full), otherwise `Err(TryPushError::Full(item))` if it holds
    /// `capacity` items.
    pub fn try_push(&self, item: T) -> Result<(), TryPushError<T>> {
        let _ = item; // (only keeps the stub warning-free: `T` cannot be printed)
        todo!(
            "BoundedQueue::try_push: add item if there is room, else Err(Full(item)) or Err(Closed(item))"
        )
    }

    /// Removes the item at the front if there is one, without blocking.
    /// Returns `None` if the queue is empty (closed or not).
    pub fn try_pop(&self) -> Option<T> {
        todo!("BoundedQueue::try_pop: take the front item if there is one, without waiting")
    }

    /// Like [`pop`](BoundedQueue::pop), but waits at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Err(PopTimeoutError::Closed)` if the queue is closed and empty
    /// (returned as soon as that is so, without waiting out the timeout);
    /// `Err(PopTimeoutError::Timeout)` if `timeout` passed and no item came.
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, PopTimeoutError> {
        todo!(
            "BoundedQueue::pop_timeout: like pop, but give up after {timeout:?} with Err(Timeout)"
        )
    }

    /// Closes the queue: every later push fails, and every thread blocked in
    /// `push`, `pop` or `pop_timeout` wakes up. Items already in the queue
    /// can still be popped. Closing twice is harmless.
    pub fn close(&self) {
        todo!("BoundedQueue::close: mark the queue closed and wake every blocked pusher and popper")
    }

    /// Whether [`close`](BoundedQueue::close) has been called.
    pub fn is_closed(&self) -> bool {
        todo!("BoundedQueue::is_closed: whether close has been called")
    }

    /// How many items the queue holds right now (never more than `capacity`).
    pub fn len(&self) -> usize {
        todo!("BoundedQueue::len: how many items the queue holds now")
    }

    /// Whether the queue holds no items right now.
    pub fn is_empty(&self) -> bool {
        todo!("BoundedQueue::is_empty: whether the queue holds no items now")
    }

    /// The most items the queue can hold, as given to `new`.
    pub fn capacity(&self) -> usize {
        todo!("BoundedQueue::capacity: the capacity given to new")
    }
}
