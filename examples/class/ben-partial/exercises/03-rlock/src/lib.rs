//! Exercise 03: a reentrant lock `RLock<T>` and a `Ledger` built on it.
//!
//! Read `README.md` in this folder first: it explains Python's `RLock`, how
//! it maps to Rust, and exactly what each item below must do. Replace every
//! `todo!()`, then run `cargo test -p exercise-03`.
//!
//! Some code below is given complete: the `value` field and the guard (its
//! `Deref` and `Drop`, and `RLock::guard` that makes one). Your part is the
//! ownership protocol: who owns the lock, how many guards it holds, and
//! waiting on the condition variable until the lock is free.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::thread::ThreadId;

use parking_lot::{Condvar, Mutex, ReentrantMutex, ReentrantMutexGuard};

/// A reentrant lock around a value, like Python's `threading.RLock`: the
/// thread that owns it may lock it again (and again); other threads wait
/// until the owner has dropped every guard it holds.
///
/// Guards give shared access (`&T`) only, because the owner may hold several
/// at once. For changes, put a `Cell` or `RefCell` inside:
/// `RLock<RefCell<Vec<u64>>>`. `RLock<T>` is `Sync` whenever `T` is `Send`,
/// so it can be shared between threads even around a `RefCell`.
///
/// `state` and `released` are a suggestion: change them as you like. Keep
/// `value` (the given code uses it).
#[allow(dead_code)] // the stub does not use its fields yet; remove this line
pub struct RLock<T> {
    /// Who owns the lock and how many guards it holds.
    state: Mutex<Ownership>,
    /// Notified when the owner drops its last guard.
    released: Condvar,
    /// The value, in a container that safe code may share between threads
    /// when `T` is only `Send`. Only the owner of the `RLock` ever locks it
    /// (in [`RLock::guard`]), so it never makes anyone wait.
    value: ReentrantMutex<T>,
}

/// Invariant: `count == 0` exactly when `owner` is `None`; otherwise `owner`
/// holds `count` live guards.
#[derive(Debug)]
#[allow(dead_code)] // the stub does not use its fields yet; remove this line
struct Ownership {
    owner: Option<ThreadId>,
    count: usize,
}

impl<T> RLock<T> {
    /// An unowned lock around `value`.
    pub fn new(value: T) -> RLock<T> {
        let _ = value;
        todo!("RLock::new: an unowned lock around the value (store it in a ReentrantMutex)")
    }

    /// Locks, blocking (without using CPU) while another thread owns the
    /// lock. If the calling thread already owns it, returns at once with one
    /// more guard. The lock is released when every guard is dropped.
    pub fn lock(&self) -> RLockGuard<'_, T> {
        todo!("RLock::lock: wait while another thread owns the lock, then count one more guard")
    }

    /// Locks if that is possible right now (the lock is free, or the calling
    /// thread owns it); returns `None` at once if another thread owns it.
    pub fn try_lock(&self) -> Option<RLockGuard<'_, T>> {
        todo!("RLock::try_lock: lock if free or owned by this thread, else None at once")
    }

    /// Whether the calling thread owns the lock (holds at least one guard).
    pub fn is_owned(&self) -> bool {
        todo!("RLock::is_owned: whether the calling thread owns the lock")
    }

    /// How many guards the calling thread holds: 0 if it does not own the
    /// lock, whether another thread owns it or nobody does.
    pub fn recursion_count(&self) -> usize {
        todo!("RLock::recursion_count: guards held by the calling thread (0 if not the owner)")
    }

    /// Given: a new guard for the calling thread, which must already own the
    /// lock (and have counted this guard). Call it from `lock` and
    /// `try_lock` after releasing `state`'s mutex.
    ///
    /// # Panics
    ///
    /// If another thread still holds a guard: the lock let two threads own
    /// it at once.
    #[allow(dead_code)] // your `lock` and `try_lock` will use it; remove this line
    fn guard(&self) -> RLockGuard<'_, T> {
        let value = self.value.try_lock().expect(
            "RLock: another thread still holds a guard, so two threads own the lock at once",
        );
        RLockGuard {
            lock: self,
            value: Some(value),
        }
    }

    /// Called by the (given) `Drop` of every guard, after the guard gave back
    /// the value: one guard fewer; the last one releases the lock and wakes
    /// a waiting thread.
    fn unlock(&self) {
        todo!("RLock::unlock: one guard fewer; the last one releases the lock and wakes a waiter")
    }
}

impl<T: fmt::Debug> fmt::Debug for RLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never blocks: shows the value only if this thread can lock now.
        match self.try_lock() {
            Some(guard) => f.debug_struct("RLock").field("value", &*guard).finish(),
            None => f.write_str("RLock { <owned by another thread> }"),
        }
    }
}

/// Proof that the calling thread owns an [`RLock`]; derefs to `&T`.
/// Dropping the last guard of the owner releases the lock.
///
/// A guard stays on the thread that locked: it is not `Send`.
pub struct RLockGuard<'a, T> {
    lock: &'a RLock<T>,
    /// The owner's hold on the value; `None` only while the guard drops.
    value: Option<ReentrantMutexGuard<'a, T>>,
}

impl<T> Deref for RLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> Drop for RLockGuard<'_, T> {
    fn drop(&mut self) {
        // The value first, so that the next owner finds it free.
        self.value = None;
        self.lock.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for RLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Why a [`Ledger`] operation was refused. Nothing changed in that case.
///
/// Given complete: you do not need to change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// There is no account with this index.
    NoSuchAccount(usize),
    /// The account holds less than the amount.
    InsufficientFunds {
        /// The balance at the moment of the operation.
        available: u64,
        /// The amount asked for.
        requested: u64,
    },
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::NoSuchAccount(i) => write!(f, "there is no account {i}"),
            LedgerError::InsufficientFunds {
                available,
                requested,
            } => write!(
                f,
                "insufficient funds: {requested} requested, {available} available"
            ),
        }
    }
}

impl std::error::Error for LedgerError {}

/// Accounts numbered `0..n` behind one [`RLock`]. Every public method locks;
/// [`transfer`](Ledger::transfer) calls [`withdraw`](Ledger::withdraw) and
/// [`deposit`](Ledger::deposit) while holding the lock, so the transfer as a
/// whole is atomic.
///
/// The private field is a suggestion: change it as you like.
#[derive(Debug)]
#[allow(dead_code)] // the stub does not use its field yet; remove this line
pub struct Ledger {
    /// Account `i`'s balance at index `i`. Borrowed only while a guard is held.
    accounts: RLock<RefCell<Vec<u64>>>,
}

impl Ledger {
    /// A ledger whose account `i` starts with `balances[i]`.
    pub fn new(balances: &[u64]) -> Ledger {
        todo!(
            "Ledger::new: {} accounts starting with {balances:?}",
            balances.len()
        )
    }

    /// The balance of account `i`, or `None` if there is no such account.
    pub fn balance(&self, i: usize) -> Option<u64> {
        todo!("Ledger::balance: the balance of account {i}, or None")
    }

    /// Adds `amount` to account `i`.
    ///
    /// # Errors
    ///
    /// [`LedgerError::NoSuchAccount`]`(i)`.
    ///
    /// # Panics
    ///
    /// If the balance would overflow `u64`.
    pub fn deposit(&self, i: usize, amount: u64) -> Result<(), LedgerError> {
        todo!("Ledger::deposit: add {amount} to account {i}, under the lock")
    }

    /// Takes `amount` out of account `i`.
    ///
    /// # Errors
    ///
    /// [`LedgerError::NoSuchAccount`]`(i)`, then
    /// [`LedgerError::InsufficientFunds`] if the account holds less than
    /// `amount`.
    pub fn withdraw(&self, i: usize, amount: u64) -> Result<(), LedgerError> {
        todo!("Ledger::withdraw: take {amount} out of account {i}, under the lock")
    }

    /// Moves `amount` from `from` to `to` by calling [`withdraw`] and
    /// [`deposit`] while holding the lock, so no other thread sees the money
    /// in neither account. A transfer to the same account succeeds if the
    /// account holds `amount`, and changes nothing.
    ///
    /// # Errors
    ///
    /// Checked in this order: [`LedgerError::NoSuchAccount`]`(from)`,
    /// [`LedgerError::NoSuchAccount`]`(to)`, then
    /// [`LedgerError::InsufficientFunds`]. On an error nothing changes.
    ///
    /// [`withdraw`]: Ledger::withdraw
    /// [`deposit`]: Ledger::deposit
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> Result<(), LedgerError> {
        todo!(
            "Ledger::transfer: hold the lock while calling withdraw({from}, {amount}) and deposit({to}, {amount})"
        )
    }

    /// The sum of all balances: a consistent snapshot, unchanged by transfers
    /// even while they run.
    pub fn total(&self) -> u64 {
        todo!("Ledger::total: the sum of all balances, under one hold of the lock")
    }
}
