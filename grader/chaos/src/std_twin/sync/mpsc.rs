//! Twins of `std::sync::mpsc`'s channels: `std`'s own, with a noise point
//! before every send and receive. The error types are `std`'s.

use std::fmt;
use std::time::Duration;

pub use ::std::sync::mpsc::*;

use crate::threads::noise;

/// The sending half of [`channel`], as `std::sync::mpsc::Sender`.
pub struct Sender<T>(std::sync::mpsc::Sender<T>);

/// The sending half of [`sync_channel`], as `std::sync::mpsc::SyncSender`.
pub struct SyncSender<T>(std::sync::mpsc::SyncSender<T>);

/// The receiving half of a channel, as `std::sync::mpsc::Receiver`.
pub struct Receiver<T>(std::sync::mpsc::Receiver<T>);

/// A channel with an unbounded buffer.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = std::sync::mpsc::channel();
    (Sender(tx), Receiver(rx))
}

/// A channel whose buffer holds `bound` messages (0: every send waits for a
/// receive).
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(bound);
    (SyncSender(tx), Receiver(rx))
}

impl<T> Sender<T> {
    /// Sends `value`; `Err` if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        noise();
        self.0.send(value)
    }
}

impl<T> SyncSender<T> {
    /// Sends `value`, waiting for room; `Err` if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        noise();
        self.0.send(value)
    }

    /// Sends `value` if there is room right now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        noise();
        self.0.try_send(value)
    }
}

impl<T> Receiver<T> {
    /// Waits for a message; `Err` once every sender is gone and it is empty.
    pub fn recv(&self) -> Result<T, RecvError> {
        noise();
        self.0.recv()
    }

    /// A message if one is waiting right now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        noise();
        self.0.try_recv()
    }

    /// Waits at most `timeout` for a message.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        noise();
        self.0.recv_timeout(timeout)
    }

    /// Every message, waiting for each, until every sender is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// The messages waiting right now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

/// What [`Receiver::iter`] returns.
#[derive(Debug)]
pub struct Iter<'a, T: 'a> {
    rx: &'a Receiver<T>,
}

/// What [`Receiver::try_iter`] returns.
#[derive(Debug)]
pub struct TryIter<'a, T: 'a> {
    rx: &'a Receiver<T>,
}

/// What `Receiver::into_iter` returns.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender(self.0.clone())
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> SyncSender<T> {
        SyncSender(self.0.clone())
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
