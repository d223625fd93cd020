//! Twins of `std::sync`: [`Mutex`], [`RwLock`], [`Condvar`], [`Barrier`],
//! [`Once`], [`OnceLock`], [`LazyLock`], [`mpsc`] and [`atomic`], over the
//! stand-in's instrumented locks. Everything else (`Arc`, `Weak`, the error
//! types) is `std`'s own.

pub use ::std::sync::*;

pub mod atomic;
pub mod mpsc;

mod barrier;
mod condvar;
mod mutex;
mod once;
mod poisoning;
mod rwlock;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use once::{LazyLock, Once, OnceLock};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
