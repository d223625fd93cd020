//! Exercise 03 (solution): a reentrant lock `RLock<T>` and a `Ledger` built
//! on it.
//!
//! The lesson is in `exercises/03-rlock/README.md`.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::thread::{self, ThreadId};

use parking_lot::{Condvar, Mutex, ReentrantMutex, ReentrantMutexGuard};

/// A reentrant lock around a value, like Python's `threading.RLock`: the
/// thread that owns it may lock it again (and again); other threads wait
/// until the owner has dropped every guard it holds.
///
/// Guards give shared access (`&T`) only, because the owner may hold several
/// at once. For changes, put a `Cell` or `RefCell` inside:
/// `RLock<RefCell<Vec<u64>>>`. `RLock<T>` is `Sync` whenever `T` is `Send`,
/// so it can be shared between threads even around a `RefCell`.
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
struct Ownership {
    owner: Option<ThreadId>,
    count: usize,
}

impl<T> RLock<T> {
    /// An unowned lock around `value`.
    pub fn new(value: T) -> RLock<T> {
        RLock {
            state: Mutex::new(Ownership {
                owner: None,
                count: 0,
            }),
            released: Condvar::new(),
            value: ReentrantMutex::new(value),
        }
    }

    /// Locks, blocking (without using CPU) while another thread owns the
    /// lock. If the calling thread already owns it, returns at once with one
    /// more guard. The lock is released when every guard is dropped.
    pub fn lock(&self) -> RLockGuard<'_, T> {
        let me = thread::current().id();
        let mut state = self.state.lock();
        while state.owner.is_some_and(|owner| owner != me) {
            self.released.wait(&mut state);
        }
        state.owner = Some(me);
        state.count += 1;
        drop(state);
        self.guard()
    }

    /// Locks if that is possible right now (the lock is free, or the calling
    /// thread owns it); returns `None` at once if another thread owns it.
    pub fn try_lock(&self) -> Option<RLockGuard<'_, T>> {
        let me = thread::current().id();
        let mut state = self.state.lock();
        if state.owner.is_some_and(|owner| owner != me) {
            return None;
        }
        state.owner = Some(me);
        state.count += 1;
        drop(state);
        Some(self.guard())
    }

    /// Whether the calling thread owns the lock (holds at least one guard).
    pub fn is_owned(&self) -> bool {
        self.state.lock().owner == Some(thread::current().id())
    }

    /// How many guards the calling thread holds: 0 if it does not own the
    /// lock, whether another thread owns it or nobody does.
    pub fn recursion_count(&self) -> usize {
        let state = self.state.lock();
        if state.owner == Some(thread::current().id()) {
            state.count
        } else {
            0
        }
    }

    /// A new guard for the calling thread, which must already own the lock
    /// (and have counted this guard). Call it after releasing `state`.
    ///
    /// # Panics
    ///
    /// If another thread still holds a guard: the lock let two threads own
    /// it at once.
    fn guard(&self) -> RLockGuard<'_, T> {
        let value = self.value.try_lock().expect(
            "RLock: another thread still holds a guard, so two threads own the lock at once",
        );
        RLockGuard {
            lock: self,
            value: Some(value),
        }
    }

    /// Called when a guard is dropped (after it gave back the value): one
    /// guard fewer; the last one releases the lock and wakes one waiter.
    fn unlock(&self) {
        let mut state = self.state.lock();
        state.count -= 1;
        if state.count == 0 {
            state.owner = None;
            drop(state);
            self.released.notify_one();
        }
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
#[derive(Debug)]
pub struct Ledger {
    /// Account `i`'s balance at index `i`. Borrowed only while a guard is held.
    accounts: RLock<RefCell<Vec<u64>>>,
}

impl Ledger {
    /// A ledger whose account `i` starts with `balances[i]`.
    pub fn new(balances: &[u64]) -> Ledger {
        Ledger {
            accounts: RLock::new(RefCell::new(balances.to_vec())),
        }
    }

    /// The balance of account `i`, or `None` if there is no such account.
    pub fn balance(&self, i: usize) -> Option<u64> {
        let accounts = self.accounts.lock();
        accounts.borrow().get(i).copied()
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
        let accounts = self.accounts.lock();
        let mut accounts = accounts.borrow_mut();
        let balance = accounts.get_mut(i).ok_or(LedgerError::NoSuchAccount(i))?;
        *balance = balance.checked_add(amount).expect("balance overflowed u64");
        Ok(())
    }

    /// Takes `amount` out of account `i`.
    ///
    /// # Errors
    ///
    /// [`LedgerError::NoSuchAccount`]`(i)`, then
    /// [`LedgerError::InsufficientFunds`] if the account holds less than
    /// `amount`.
    pub fn withdraw(&self, i: usize, amount: u64) -> Result<(), LedgerError> {
        let accounts = self.accounts.lock();
        let mut accounts = accounts.borrow_mut();
        let balance = accounts.get_mut(i).ok_or(LedgerError::NoSuchAccount(i))?;
        if *balance < amount {
            return Err(LedgerError::InsufficientFunds {
                available: *balance,
                requested: amount,
            });
        }
        *balance -= amount;
        Ok(())
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
        // Held across both calls: they lock again, which the owner may do.
        let held = self.accounts.lock();
        let n = held.borrow().len();
        if from >= n {
            return Err(LedgerError::NoSuchAccount(from));
        }
        if to >= n {
            return Err(LedgerError::NoSuchAccount(to));
        }
        self.withdraw(from, amount)?;
        self.deposit(to, amount)
    }

    /// The sum of all balances: a consistent snapshot, unchanged by transfers
    /// even while they run.
    pub fn total(&self) -> u64 {
        let accounts = self.accounts.lock();
        accounts.borrow().iter().sum()
    }
}
