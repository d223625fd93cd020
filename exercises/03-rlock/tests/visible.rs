//! Visible tests for exercise 03: the basic behaviour of `RLock` and
//! `Ledger`. The hidden tests go further (random depths, many threads,
//! busy-wait checks, snapshots taken while transfers run).

use std::cell::{Cell, RefCell};
use std::thread;
use std::time::Duration;

use exercise_03::{Ledger, LedgerError, RLock};

#[path = "../../within.rs"]
mod within;
use within::within;

#[test]
fn guard_derefs_to_the_value() {
    within(Duration::from_secs(10), || {
        let lock = RLock::new(41);
        let guard = lock.lock();
        assert_eq!(*guard + 1, 42);
    });
}

#[test]
fn the_owner_may_lock_again() {
    within(Duration::from_secs(10), || {
        let lock = RLock::new(Cell::new(0));
        let outer = lock.lock();
        let inner = lock.lock();
        inner.set(7);
        assert_eq!(outer.get(), 7);
        assert_eq!(lock.recursion_count(), 2);
        drop(inner);
        assert_eq!(lock.recursion_count(), 1);
        assert!(lock.is_owned());
        drop(outer);
        assert_eq!(lock.recursion_count(), 0);
        assert!(!lock.is_owned());
    });
}

#[test]
fn another_thread_cannot_try_lock_while_it_is_owned() {
    within(Duration::from_secs(10), || {
        let lock = RLock::new(());
        let guard = lock.lock();
        thread::scope(|scope| {
            scope.spawn(|| {
                assert!(lock.try_lock().is_none());
                assert!(!lock.is_owned());
                assert_eq!(lock.recursion_count(), 0);
            });
        });
        drop(guard);
        thread::scope(|scope| {
            scope.spawn(|| assert!(lock.try_lock().is_some()));
        });
    });
}

#[test]
fn ledger_transfer_moves_money_and_keeps_the_total() {
    within(Duration::from_secs(10), || {
        let ledger = Ledger::new(&[100, 0, 50]);
        assert_eq!(ledger.transfer(0, 1, 30), Ok(()));
        assert_eq!(ledger.balance(0), Some(70));
        assert_eq!(ledger.balance(1), Some(30));
        assert_eq!(ledger.total(), 150);
    });
}

#[test]
fn ledger_refuses_and_changes_nothing() {
    within(Duration::from_secs(10), || {
        let ledger = Ledger::new(&[10, 20]);
        assert_eq!(ledger.transfer(0, 9, 1), Err(LedgerError::NoSuchAccount(9)));
        assert_eq!(
            ledger.withdraw(1, 21),
            Err(LedgerError::InsufficientFunds {
                available: 20,
                requested: 21
            })
        );
        assert_eq!(ledger.deposit(2, 1), Err(LedgerError::NoSuchAccount(2)));
        assert_eq!((ledger.balance(0), ledger.balance(1)), (Some(10), Some(20)));
        assert_eq!(ledger.balance(2), None);
    });
}

#[test]
fn ledger_is_shared_between_threads() {
    within(Duration::from_secs(10), || {
        let ledger = Ledger::new(&[1000, 1000]);
        thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..500 {
                    ledger.transfer(0, 1, 1).unwrap();
                }
            });
            scope.spawn(|| {
                for _ in 0..500 {
                    ledger.transfer(1, 0, 2).unwrap();
                }
            });
        });
        assert_eq!(ledger.balance(0), Some(1500));
        assert_eq!(ledger.total(), 2000);
    });
}

#[test]
fn rlock_around_a_refcell_can_be_shared() {
    within(Duration::from_secs(10), || {
        let lock = RLock::new(RefCell::new(Vec::new()));
        thread::scope(|scope| {
            for t in 0..4 {
                let lock = &lock;
                scope.spawn(move || {
                    let guard = lock.lock();
                    guard.borrow_mut().push(t);
                });
            }
        });
        let mut seen = lock.lock().borrow().clone();
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3]);
    });
}

// Probes of the lesson's classic bugs (its "Pitfalls" section): light
// versions of what the hidden tests check in depth.

/// What a thread spent: CPU time and context switches. A thread that blocks
/// spends almost nothing; one that polls burns CPU on an idle machine and
/// keeps switching on a busy one (each `yield_now` or short sleep), where a
/// blocked thread switches once or twice.
#[derive(Debug, Clone, Copy)]
struct Effort {
    cpu: Duration,
    switches: u64,
}

impl Effort {
    /// Whether this is what a blocked thread spends, not a polling one.
    fn is_asleep(self) -> bool {
        self.cpu < Duration::from_millis(20) && self.switches < 25
    }
}

impl std::ops::Sub for Effort {
    type Output = Effort;
    fn sub(self, earlier: Effort) -> Effort {
        Effort {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            switches: self.switches.saturating_sub(earlier.switches),
        }
    }
}

/// The calling thread's effort so far, where Linux tells it
/// (`/proc/thread-self`); `None` elsewhere.
fn thread_cpu_time() -> Option<Effort> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let cpu = Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?);
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let switches = status
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Some(Effort { cpu, switches })
}

#[test]
fn releasing_the_last_guard_wakes_a_blocked_thread() {
    within(Duration::from_secs(3), || {
        let lock = RLock::new(());
        let guard = lock.lock();
        thread::scope(|scope| {
            let waiter = scope.spawn(|| drop(lock.lock()));
            thread::sleep(Duration::from_millis(100));
            drop(guard);
            waiter.join().unwrap();
        });
    });
}

#[test]
fn a_thread_blocked_in_lock_uses_no_cpu() {
    within(Duration::from_secs(5), || {
        let lock = RLock::new(());
        let guard = lock.lock();
        thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let before = thread_cpu_time();
                drop(lock.lock());
                thread_cpu_time()
                    .zip(before)
                    .map(|(after, before)| after - before)
            });
            thread::sleep(Duration::from_millis(300));
            drop(guard);
            if let Some(used) = waiter.join().unwrap() {
                assert!(
                    used.is_asleep(),
                    "a thread blocked 300 ms in lock() spent {used:?}: it must sleep, not spin"
                );
            }
        });
    });
}

#[test]
fn only_one_thread_owns_the_lock_at_a_time() {
    within(Duration::from_secs(10), || {
        let lock = RLock::new(());
        let inside = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..2_000 {
                        let guard = lock.lock();
                        let now = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        thread::yield_now();
                        inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        drop(guard);
                    }
                });
            }
        });
        let most = most.into_inner();
        assert_eq!(most, 1, "{most} threads held the lock at once");
    });
}

#[test]
fn ledger_total_is_constant_while_transfers_run() {
    within(Duration::from_secs(10), || {
        let ledger = Ledger::new(&[1000, 1000, 1000]);
        let stop = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|scope| {
            for (from, to) in [(0, 1), (1, 2), (2, 0)] {
                let (ledger, stop) = (&ledger, &stop);
                scope.spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = ledger.transfer(from, to, 7);
                    }
                });
            }
            let start = std::time::Instant::now();
            let mut wrong = None;
            while start.elapsed() < Duration::from_millis(300) && wrong.is_none() {
                let total = ledger.total();
                if total != 3000 {
                    wrong = Some(total);
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(total) = wrong {
                panic!(
                    "total() returned {total} while transfers ran, but the ledger always holds \
                     3000: a transfer was seen half done"
                );
            }
        });
    });
}
