//! Exercise 02 (solution): `Counter`, `count_in_parallel` and `Bank`.
//!
//! The lesson is in `exercises/02-lock/README.md`.

use std::fmt;
use std::thread;

use parking_lot::Mutex;

/// A counter that many threads may increment at once, like the lesson's
/// `counter` guarded by `threading.Lock()`. It is `Sync`: threads share it
/// by reference (`thread::scope`) or in an `Arc`.
#[derive(Debug, Default)]
pub struct Counter {
    // Invariant: every change is one read-modify-write inside one lock section.
    value: Mutex<u64>,
}

impl Counter {
    /// A counter at 0.
    pub fn new() -> Counter {
        Counter {
            value: Mutex::new(0),
        }
    }

    /// Adds 1, atomically with respect to every other thread.
    pub fn increment(&self) {
        self.add(1);
    }

    /// Adds `n`, atomically with respect to every other thread.
    ///
    /// # Panics
    ///
    /// If the value would overflow `u64`.
    pub fn add(&self, n: u64) {
        let mut value = self.value.lock();
        *value = value.checked_add(n).expect("Counter overflowed u64");
    }

    /// The current value (a snapshot: other threads may change it at once).
    pub fn get(&self) -> u64 {
        *self.value.lock()
    }
}

/// The lesson's example in Rust: `threads` worker threads each call
/// [`Counter::increment`] `per_thread` times on one shared [`Counter`];
/// returns the final value once every worker has finished.
///
/// The workers run at the same time; the calling thread only spawns and
/// joins them. `count_in_parallel(5, 100_000)` is the lesson's program and
/// returns 500000.
///
/// # Panics
///
/// If `threads * per_thread` overflows `u64`.
pub fn count_in_parallel(threads: usize, per_thread: u64) -> u64 {
    let counter = Counter::new();
    // A scope joins every worker before it returns, so no increment is missed.
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..per_thread {
                    counter.increment();
                }
            });
        }
    });
    counter.get()
}

/// Why [`Bank::transfer`] refused a transfer. Nothing changed in that case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferError {
    /// There is no account with this index.
    NoSuchAccount(usize),
    /// `from` and `to` are the same account.
    SameAccount,
    /// The source account holds less than the amount.
    InsufficientFunds {
        /// The source balance at the moment of the transfer.
        available: u64,
        /// The amount asked for.
        requested: u64,
    },
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::NoSuchAccount(i) => write!(f, "there is no account {i}"),
            TransferError::SameAccount => f.write_str("cannot transfer to the same account"),
            TransferError::InsufficientFunds {
                available,
                requested,
            } => write!(
                f,
                "insufficient funds: {requested} requested, {available} available"
            ),
        }
    }
}

impl std::error::Error for TransferError {}

/// Accounts numbered `0..n` whose money moves between them but is never
/// created or lost. It is `Sync`: many threads transfer at once.
#[derive(Debug)]
pub struct Bank {
    // One lock per account, so transfers between different accounts run in
    // parallel. Invariant: whoever needs several accounts locks them in
    // increasing index order (a transfer its two, `total` all of them), so no
    // two threads ever wait for each other in a cycle.
    accounts: Vec<Mutex<u64>>,
}

impl Bank {
    /// A bank whose account `i` starts with `balances[i]`.
    ///
    /// # Panics
    ///
    /// If the balances add up to more than `u64::MAX`.
    pub fn new(balances: &[u64]) -> Bank {
        balances
            .iter()
            .try_fold(0u64, |sum, &b| sum.checked_add(b))
            .expect("the balances add up to more than u64::MAX");
        Bank {
            accounts: balances.iter().map(|&b| Mutex::new(b)).collect(),
        }
    }

    /// The balance of account `i`, or `None` if there is no such account.
    pub fn balance(&self, i: usize) -> Option<u64> {
        self.accounts.get(i).map(|account| *account.lock())
    }

    /// Moves `amount` from account `from` to account `to`, atomically: no
    /// other thread ever sees the money gone from `from` but not yet in `to`.
    ///
    /// Errors, checked in this order: [`TransferError::NoSuchAccount`]`(from)`,
    /// [`TransferError::NoSuchAccount`]`(to)`, [`TransferError::SameAccount`],
    /// then [`TransferError::InsufficientFunds`] if `from` holds less than
    /// `amount`. On an error nothing changes. A transfer of 0 succeeds.
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> Result<(), TransferError> {
        let n = self.accounts.len();
        if from >= n {
            return Err(TransferError::NoSuchAccount(from));
        }
        if to >= n {
            return Err(TransferError::NoSuchAccount(to));
        }
        if from == to {
            return Err(TransferError::SameAccount);
        }
        // Lower index first, whatever the direction of the transfer.
        let mut low = self.accounts[from.min(to)].lock();
        let mut high = self.accounts[from.max(to)].lock();
        let (source, target) = if from < to {
            (&mut *low, &mut *high)
        } else {
            (&mut *high, &mut *low)
        };
        // Check and act inside the same critical section.
        if *source < amount {
            return Err(TransferError::InsufficientFunds {
                available: *source,
                requested: amount,
            });
        }
        *source -= amount;
        // Cannot overflow: the sum of all balances fits in u64 and never changes.
        *target += amount;
        Ok(())
    }

    /// The sum of all balances: a consistent snapshot, equal to the sum the
    /// bank started with even while transfers run.
    pub fn total(&self) -> u64 {
        // Hold every account at once, so no transfer is half seen.
        let guards: Vec<_> = self.accounts.iter().map(|account| account.lock()).collect();
        guards.iter().map(|balance| **balance).sum()
    }
}
