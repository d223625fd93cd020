//! Visible tests for exercise 02: the basic behaviour of `Counter`,
//! `count_in_parallel` and `Bank`. The hidden tests go further (many threads,
//! random inputs, snapshots taken while transfers run, deadlock checks).

use std::thread;
use std::time::Duration;

use exercise_02::{Bank, Counter, TransferError, count_in_parallel};

#[path = "../../within.rs"]
mod within;
use within::within;

#[test]
fn counter_starts_at_zero_and_counts() {
    within(Duration::from_secs(10), || {
        let counter = Counter::new();
        assert_eq!(counter.get(), 0);
        counter.increment();
        counter.increment();
        counter.add(40);
        assert_eq!(counter.get(), 42);
    });
}

#[test]
fn counter_is_shared_by_reference_between_threads() {
    within(Duration::from_secs(10), || {
        let counter = Counter::new();
        thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        counter.increment();
                    }
                });
            }
        });
        assert_eq!(counter.get(), 4000);
    });
}

#[test]
fn count_in_parallel_runs_the_lessons_example() {
    within(Duration::from_secs(10), || {
        assert_eq!(
            within(Duration::from_secs(10), || count_in_parallel(5, 100_000)),
            500_000
        );
    });
}

#[test]
fn bank_reports_balances_and_total() {
    within(Duration::from_secs(10), || {
        let bank = Bank::new(&[10, 20, 30]);
        assert_eq!(bank.balance(0), Some(10));
        assert_eq!(bank.balance(2), Some(30));
        assert_eq!(bank.balance(3), None);
        assert_eq!(bank.total(), 60);
    });
}

#[test]
fn transfer_moves_money() {
    within(Duration::from_secs(10), || {
        let bank = Bank::new(&[10, 20, 30]);
        assert_eq!(bank.transfer(2, 0, 25), Ok(()));
        assert_eq!(bank.balance(0), Some(35));
        assert_eq!(bank.balance(2), Some(5));
        assert_eq!(bank.total(), 60);
    });
}

#[test]
fn transfer_refuses_and_changes_nothing() {
    within(Duration::from_secs(10), || {
        let bank = Bank::new(&[10, 20]);
        assert_eq!(bank.transfer(5, 0, 1), Err(TransferError::NoSuchAccount(5)));
        assert_eq!(bank.transfer(0, 7, 1), Err(TransferError::NoSuchAccount(7)));
        assert_eq!(bank.transfer(1, 1, 1), Err(TransferError::SameAccount));
        assert_eq!(
            bank.transfer(0, 1, 11),
            Err(TransferError::InsufficientFunds {
                available: 10,
                requested: 11
            })
        );
        assert_eq!((bank.balance(0), bank.balance(1)), (Some(10), Some(20)));
    });
}

#[test]
fn opposite_transfers_from_two_threads_finish() {
    within(Duration::from_secs(10), || {
        let bank = Bank::new(&[1000, 1000]);
        thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..2000 {
                    let _ = bank.transfer(0, 1, 1);
                }
            });
            scope.spawn(|| {
                for _ in 0..2000 {
                    let _ = bank.transfer(1, 0, 1);
                }
            });
        });
        assert_eq!(bank.total(), 2000);
    });
}

// Probes of the lesson's classic bugs (its "Pitfalls" section): light
// versions of what the hidden tests check in depth.

/// CPU time the calling thread has used so far, where Linux tells it
/// (`/proc/thread-self/schedstat`); `None` elsewhere.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

#[test]
fn count_in_parallel_counts_on_the_spawned_threads() {
    within(Duration::from_secs(10), || {
        let Some(before) = thread_cpu_time() else {
            eprintln!("this system does not report a thread's CPU time; probe skipped");
            return;
        };
        assert_eq!(count_in_parallel(4, 250_000), 1_000_000);
        let used = thread_cpu_time().unwrap() - before;
        // Spawning and joining four threads takes well under a millisecond;
        // a million increments take far longer.
        assert!(
            used < Duration::from_millis(15),
            "the calling thread used {used:?} of CPU: the counting must happen on the spawned threads"
        );
    });
}

#[test]
fn many_opposite_transfers_at_once_never_deadlock() {
    within(Duration::from_secs(10), || {
        let bank = Bank::new(&[1_000_000, 1_000_000]);
        thread::scope(|scope| {
            for (from, to) in [(0, 1), (1, 0), (0, 1), (1, 0)] {
                let bank = &bank;
                scope.spawn(move || {
                    for _ in 0..50_000 {
                        let _ = bank.transfer(from, to, 1);
                    }
                });
            }
        });
        assert_eq!(bank.total(), 2_000_000);
    });
}

#[test]
fn the_last_coin_is_spent_only_once() {
    // Two threads race for the coins of account 0 while a third keeps
    // putting one back: a balance checked in one critical section and
    // debited in another lets both spend the same coin.
    within(Duration::from_secs(10), || {
        let bank = Bank::new(&[1, 0]);
        thread::scope(|scope| {
            for (from, to) in [(0, 1), (0, 1), (1, 0)] {
                let bank = &bank;
                scope.spawn(move || {
                    for _ in 0..100_000 {
                        let _ = bank.transfer(from, to, 1);
                    }
                });
            }
        });
        assert_eq!(bank.total(), 1, "money was created or lost");
    });
}

#[test]
fn total_is_constant_while_transfers_run() {
    within(Duration::from_secs(10), || {
        let bank = Bank::new(&[1000, 1000, 1000]);
        let stop = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|scope| {
            for (from, to) in [(0, 1), (1, 2), (2, 0)] {
                let (bank, stop) = (&bank, &stop);
                scope.spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = bank.transfer(from, to, 7);
                    }
                });
            }
            let start = std::time::Instant::now();
            let mut wrong = None;
            while start.elapsed() < Duration::from_millis(300) && wrong.is_none() {
                let total = bank.total();
                if total != 3000 {
                    wrong = Some(total);
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(total) = wrong {
                panic!(
                    "total() returned {total} while transfers ran, but the bank always holds 3000: \
                     a transfer was seen half done"
                );
            }
        });
    });
}
