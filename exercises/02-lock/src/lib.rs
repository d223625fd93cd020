//! Exercise 02: `Counter`, `count_in_parallel` and `Bank`.
//!
//! Read `README.md` in this folder first: it explains Python's `Lock`, why
//! the lesson's race cannot even be written in safe Rust, which races still
//! can, and exactly what each item below must do. Replace every `todo!()`,
//! then run `cargo test -p exercise-02`.

use std::fmt;

use parking_lot::Mutex;

/// A counter that many threads may increment at once, like the lesson's
/// `counter` guarded by `threading.Lock()`. It is `Sync`: threads share it
/// by reference (`thread::scope`) or in an `Arc`.
///
/// The private field is a suggestion: change it as you like.
#[derive(Debug, Default)]
#[allow(dead_code)] // the stub does not use its field yet; remove this line
pub struct Counter {
    /// The count, behind the lock that every change must hold.
    value: Mutex<u64>,
}

impl Counter {
    /// A counter at 0.
    pub fn new() -> Counter {
        todo!("Counter::new: a counter whose value starts at 0")
    }

    /// Adds 1, atomically with respect to every other thread.
    pub fn increment(&self) {
        todo!("Counter::increment: add 1 under the lock")
    }

    /// Adds `n`, atomically with respect to every other thread.
    ///
    /// # Panics
    ///
    /// If the value would overflow `u64`.
    pub fn add(&self, n: u64) {
        todo!("Counter::add: add {n} under the lock, in one critical section")
    }

    /// The current value (a snapshot: other threads may change it at once).
    pub fn get(&self) -> u64 {
        todo!("Counter::get: read the value under the lock")
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
    todo!(
        "count_in_parallel: {threads} threads each increment one shared Counter \
         {per_thread} times; join them all, return the count"
    )
}

/// Why [`Bank::transfer`] refused a transfer. Nothing changed in that case.
///
/// Given complete: you do not need to change it.
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
///
/// The private field is a suggestion (one lock per account): change it as
/// you like.
#[derive(Debug)]
#[allow(dead_code)] // the stub does not use its field yet; remove this line
pub struct Bank {
    /// Account `i`'s balance, behind its own lock.
    accounts: Vec<Mutex<u64>>,
}

impl Bank {
    /// A bank whose account `i` starts with `balances[i]`.
    ///
    /// # Panics
    ///
    /// If the balances add up to more than `u64::MAX`.
    pub fn new(balances: &[u64]) -> Bank {
        todo!(
            "Bank::new: {} accounts starting with {balances:?}",
            balances.len()
        )
    }

    /// The balance of account `i`, or `None` if there is no such account.
    pub fn balance(&self, i: usize) -> Option<u64> {
        todo!("Bank::balance: the balance of account {i}, or None")
    }

    /// Moves `amount` from account `from` to account `to`, atomically: no
    /// other thread ever sees the money gone from `from` but not yet in `to`.
    ///
    /// Errors, checked in this order: [`TransferError::NoSuchAccount`]`(from)`,
    /// [`TransferError::NoSuchAccount`]`(to)`, [`TransferError::SameAccount`],
    /// then [`TransferError::InsufficientFunds`] if `from` holds less than
    /// `amount`. On an error nothing changes. A transfer of 0 succeeds.
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> Result<(), TransferError> {
        todo!("Bank::transfer: move {amount} from account {from} to account {to} atomically")
    }

    /// The sum of all balances: a consistent snapshot, equal to the sum the
    /// bank started with even while transfers run.
    pub fn total(&self) -> u64 {
        todo!("Bank::total: the sum of all balances, as one consistent snapshot")
    }
}
