// BUG: `if` instead of `while` around the wait in pop (a consumer whose item was taken by another thread returns None on an open queue)
//! Exercise 06 — a bounded producer/consumer queue built on a condition variable.
//!
//! Reference solution. The lesson is in `exercises/06-condition/README.md`.

use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

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
    capacity: usize,
    /// Invariant: `state.items.len() <= capacity`; once `state.closed` is
    /// true it stays true and no item is added.
    state: Mutex<State<T>>,
    /// Signalled when an item is added (or the queue closes): poppers wait here.
    not_empty: Condvar,
    /// Signalled when an item is removed (or the queue closes): pushers wait here.
    not_full: Condvar,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> BoundedQueue<T> {
    /// An empty, open queue that holds at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (such a queue could never accept an item).
    pub fn new(capacity: usize) -> BoundedQueue<T> {
        assert!(
            capacity > 0,
            "BoundedQueue::new: capacity must be at least 1"
        );
        BoundedQueue {
            capacity,
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity),
                closed: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        }
    }

    /// Adds `item` at the back, blocking while the queue is full.
    ///
    /// # Errors
    ///
    /// `Err(Closed(item))` if the queue is closed, including when it is
    /// closed while this call is blocked; the item is given back.
    pub fn push(&self, item: T) -> Result<(), Closed<T>> {
        let mut state = self.state.lock();
        // `while`, not `if`: another pusher may take the free slot between
        // the notification and this thread getting the lock back.
        while !state.closed && state.items.len() == self.capacity {
            self.not_full.wait(&mut state);
        }
        if state.closed {
            return Err(Closed(item));
        }
        state.items.push_back(item);
        self.not_empty.notify_one();
        Ok(())
    }

    /// Removes the item at the front, blocking while the queue is empty.
    ///
    /// Returns `None` once the queue is closed and every item has been
    /// popped; items pushed before `close` are still delivered.
    pub fn pop(&self) -> Option<T> {
        let mut state = self.state.lock();
        if !state.closed && state.items.is_empty() {
            self.not_empty.wait(&mut state);
        }
        self.take_front(&mut state)
    }

    /// Adds `item` at the back if there is room, without blocking.
    ///
    /// # Errors
    ///
    /// `Err(TryPushError::Closed(item))` if the queue is closed (even if it
    /// is also full), otherwise `Err(TryPushError::Full(item))` if it holds
    /// `capacity` items.
    pub fn try_push(&self, item: T) -> Result<(), TryPushError<T>> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(TryPushError::Closed(item));
        }
        if state.items.len() == self.capacity {
            return Err(TryPushError::Full(item));
        }
        state.items.push_back(item);
        self.not_empty.notify_one();
        Ok(())
    }

    /// Removes the item at the front if there is one, without blocking.
    /// Returns `None` if the queue is empty (closed or not).
    pub fn try_pop(&self) -> Option<T> {
        let mut state = self.state.lock();
        self.take_front(&mut state)
    }

    /// Like [`pop`](BoundedQueue::pop), but waits at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Err(PopTimeoutError::Closed)` if the queue is closed and empty
    /// (returned as soon as that is so, without waiting out the timeout);
    /// `Err(PopTimeoutError::Timeout)` if `timeout` passed and no item came.
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, PopTimeoutError> {
        // One deadline for the whole call: a wakeup that finds the queue
        // empty again must not restart the full timeout.
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.state.lock();
        while !state.closed && state.items.is_empty() {
            match deadline {
                Some(deadline) => {
                    if Instant::now() >= deadline {
                        return Err(PopTimeoutError::Timeout);
                    }
                    self.not_empty.wait_until(&mut state, deadline);
                }
                None => self.not_empty.wait(&mut state),
            }
        }
        self.take_front(&mut state).ok_or(PopTimeoutError::Closed)
    }

    /// Closes the queue: every later push fails, and every thread blocked in
    /// `push`, `pop` or `pop_timeout` wakes up. Items already in the queue
    /// can still be popped. Closing twice is harmless.
    pub fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        // Every waiter must re-check: all of them, not just one.
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    /// Whether [`close`](BoundedQueue::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// How many items the queue holds right now (never more than `capacity`).
    pub fn len(&self) -> usize {
        self.state.lock().items.len()
    }

    /// Whether the queue holds no items right now.
    pub fn is_empty(&self) -> bool {
        self.state.lock().items.is_empty()
    }

    /// The most items the queue can hold, as given to `new`.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Pops the front item (if any) and wakes one pusher for the freed slot.
    fn take_front(&self, state: &mut State<T>) -> Option<T> {
        let item = state.items.pop_front();
        if item.is_some() {
            self.not_full.notify_one();
        }
        item
    }
}
