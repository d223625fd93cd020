//! Hidden suite for exercise 03: `RLock<T>` and `Ledger`.
//!
//! Beyond the visible tests: random reentrancy depths and random drop
//! orders, other threads probing while guards are held, a waiter that must
//! sleep (CPU-time probe), mutual exclusion measured with a meter under
//! contention, every waiter served, and a `Ledger` whose transfers must stay
//! atomic while a snapshot thread watches the total. Random inputs are seeded
//! (replay with `INTERLEAVE_SEED`).

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use exercise_03::{Ledger, LedgerError, RLock};
use harness::{LIMIT, Meter, check, eventually};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// How long "has it happened yet?" checks may poll before giving up.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long the worker threads of a stress test may take (a correct run
/// takes well under a second).
const WORK_LIMIT: Duration = Duration::from_secs(8);
/// How long each stress test keeps its threads busy. Stress is measured in
/// time, not in operations, so that the threads really overlap on a busy
/// machine and a slow implementation still finishes quickly.
const STRESS: Duration = Duration::from_millis(250);
/// The most CPU time that threads blocked in `lock()` for 300 ms may use
/// in total (sleeping waiters use well under 1 ms; spinning ones, tens).
const BUSY_CPU: Duration = Duration::from_millis(10);
/// Threads that call `total()` over and over while transfers run.
const SNAPSHOT_THREADS: usize = 4;

fn assert_send_sync<T: Send + Sync>() {}

/// Whether a stress loop that started at `start` should go on.
fn busy(start: Instant) -> bool {
    start.elapsed() < STRESS
}

/// One seed per worker thread, drawn from the test's seeded generator.
fn seeds(rng: &mut StdRng, n: usize) -> Vec<u64> {
    (0..n).map(|_| rng.random()).collect()
}

/// Held by a worker thread; counts it out of `running` when dropped, even if
/// the worker panicked, so a loop that waits for the workers always ends.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `work(t)` for `t` in `0..n`, each on its own detached thread, and
/// waits at most [`WORK_LIMIT`] for all of them; returns their results in
/// order. A thread that panics fails the test with its message; threads that
/// never finish fail it too and are left behind, blocked (a lock that is
/// never released or a waiter never woken must not hang the test).
fn run_threads<R: Send + 'static>(
    n: usize,
    what: &str,
    work: impl Fn(usize) -> R + Send + Sync + 'static,
) -> Vec<R> {
    let work = Arc::new(work);
    let (done, finished) = mpsc::channel();
    for t in 0..n {
        let (work, done) = (Arc::clone(&work), done.clone());
        thread::spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(|| work(t)));
            let _ = done.send((t, result.map_err(|p| harness::panic_message(&*p))));
        });
    }
    let deadline = Instant::now() + harness::scaled(WORK_LIMIT);
    // Its deadline only fails the test: a hang is found without waiting for it.
    let _poller = harness::stuck::Poller::enter();
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for finished_so_far in 0..n {
        match finished.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((t, Ok(result))) => results[t] = Some(result),
            Ok((t, Err(message))) => panic!("{what}: thread {t} panicked: {message}"),
            Err(_) => panic!(
                "{what}: only {finished_so_far} of {n} threads finished within {WORK_LIMIT:?}; \
                 the others are stuck (a lock never released, or a waiter never woken)"
            ),
        }
    }
    results.into_iter().flatten().collect()
}

/// `RLock<T>` is `Send + Sync` whenever `T` is `Send`, even for `Cell` and
/// `RefCell`, and `Ledger` is `Send + Sync`. The owner locks again to a random
/// depth (with `lock` and `try_lock`), `recursion_count` counts each level,
/// and guards dropped in a random order keep the lock owned until the last.
#[test]
fn owner_relocks_to_a_random_depth_and_counts_each_level() {
    check(LIMIT, || {
        assert_send_sync::<RLock<Cell<u64>>>();
        assert_send_sync::<RLock<RefCell<Vec<u64>>>>();
        assert_send_sync::<Ledger>();
        let mut rng = harness::rng();
        for _ in 0..5 {
            let depth = rng.random_range(1..=40);
            let value = rng.random_range(0..u64::MAX);
            let lock = RLock::new(value);
            assert!(!lock.is_owned(), "a new lock is not owned");
            assert_eq!(lock.recursion_count(), 0, "a new lock");
            let mut guards = Vec::new();
            for level in 1..=depth {
                let guard = if rng.random_bool(0.5) {
                    lock.lock()
                } else {
                    lock.try_lock()
                        .unwrap_or_else(|| panic!("try_lock by the owner at level {level}"))
                };
                assert_eq!(*guard, value);
                guards.push(guard);
                assert_eq!(lock.recursion_count(), level, "after locking {level} times");
                assert!(lock.is_owned(), "after locking {level} times");
            }
            guards.shuffle(&mut rng);
            while let Some(guard) = guards.pop() {
                drop(guard);
                let left = guards.len();
                assert_eq!(
                    lock.recursion_count(),
                    left,
                    "after dropping one of {depth} guards, {left} remain"
                );
                assert_eq!(lock.is_owned(), left > 0, "{left} of {depth} guards remain");
            }
        }
    });
}

/// While the owner holds guards (dropped in a random order with pauses),
/// another thread's `lock()` stays blocked and a third thread's `try_lock()`
/// returns `None`; the owner may still lock again at once; the waiter gets
/// the lock only after the last guard is dropped, and then with a count of 1.
/// Catches a release on the first (or outermost) guard dropped, and an owner
/// that cannot lock again.
#[test]
fn another_thread_waits_until_the_last_guard_is_dropped() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let depth = rng.random_range(2..=5);
        let lock = RLock::new(Cell::new(0u64));
        let started = AtomicBool::new(false);
        let all_dropped = AtomicBool::new(false);
        let acquired = AtomicBool::new(false);
        thread::scope(|scope| {
            // Inside the scope, so that a failed check drops the guards
            // before the scope waits for the waiter.
            let mut guards: Vec<_> = (0..depth).map(|_| lock.lock()).collect();
            let waiter = scope.spawn(|| {
                started.store(true, Ordering::SeqCst);
                let guard = lock.lock();
                acquired.store(true, Ordering::SeqCst);
                assert!(
                    all_dropped.load(Ordering::SeqCst),
                    "lock() returned on another thread while the owner still held a guard"
                );
                assert_eq!(
                    lock.recursion_count(),
                    1,
                    "the waiter after it got the lock"
                );
                guard.set(guard.get() + 1);
            });
            assert!(eventually(PATIENCE, || started.load(Ordering::SeqCst)));
            thread::sleep(Duration::from_millis(20));
            // The owner may lock again even though another thread waits.
            guards.push(lock.lock());
            guards.shuffle(&mut rng);
            while guards.len() > 1 {
                drop(guards.pop());
                thread::sleep(Duration::from_millis(15));
                let left = guards.len();
                assert!(
                    !acquired.load(Ordering::SeqCst),
                    "another thread got the lock while the owner still held {left} guards"
                );
                let prober = scope.spawn(|| {
                    (
                        lock.try_lock().is_none(),
                        lock.is_owned(),
                        lock.recursion_count(),
                    )
                });
                assert_eq!(
                    prober.join().unwrap(),
                    (true, false, 0),
                    "(try_lock is None, is_owned, recursion_count) on a third thread while \
                     the owner holds {left} guards"
                );
            }
            all_dropped.store(true, Ordering::SeqCst);
            drop(guards.pop());
            assert!(
                eventually(PATIENCE, || acquired.load(Ordering::SeqCst)),
                "the waiting thread never got the lock after the last guard was dropped"
            );
            waiter.join().unwrap();
        });
        assert_eq!(lock.lock().get(), 1);
    });
}

/// `is_owned` and `recursion_count` answer for the calling thread only: a
/// thread that does not own the lock sees `false` and 0 whether another
/// thread owns it or nobody does, and `try_lock` fails while the other owns
/// it and succeeds once it is released.
#[test]
fn is_owned_and_recursion_count_describe_the_calling_thread_only() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let depth = rng.random_range(1..=6);
        let lock = RLock::new(());
        thread::scope(|scope| {
            // Inside the scope, so that a failed check drops `to_owner` and
            // the owner stops waiting before the scope waits for it.
            let (to_main, from_owner) = mpsc::channel();
            let (to_owner, from_main) = mpsc::channel::<()>();
            let lock = &lock;
            scope.spawn(move || {
                let first = lock.try_lock().expect("try_lock on a free lock");
                let more: Vec<_> = (1..depth).map(|_| lock.lock()).collect();
                to_main
                    .send((lock.is_owned(), lock.recursion_count()))
                    .unwrap();
                from_main.recv().unwrap();
                drop(more);
                drop(first);
                to_main
                    .send((lock.is_owned(), lock.recursion_count()))
                    .unwrap();
            });
            let seen = {
                let _poller = harness::stuck::Poller::enter();
                from_owner.recv_timeout(harness::scaled(PATIENCE))
            }
            .expect("the owner reports");
            assert_eq!(
                seen,
                (true, depth),
                "(is_owned, recursion_count) on the owner"
            );
            assert!(
                !lock.is_owned(),
                "is_owned on a thread that is not the owner"
            );
            assert_eq!(
                lock.recursion_count(),
                0,
                "on a thread that is not the owner"
            );
            assert!(
                lock.try_lock().is_none(),
                "try_lock succeeded while another thread owned the lock"
            );
            to_owner.send(()).unwrap();
            let seen = {
                let _poller = harness::stuck::Poller::enter();
                from_owner.recv_timeout(harness::scaled(PATIENCE))
            }
            .expect("the owner reports");
            assert_eq!(
                seen,
                (false, 0),
                "the former owner after dropping every guard"
            );
        });
        assert!(!lock.is_owned());
        assert_eq!(lock.recursion_count(), 0);
        let guard = lock.try_lock().expect("try_lock after the owner released");
        assert_eq!((lock.is_owned(), lock.recursion_count()), (true, 1));
        drop(guard);
    });
}

/// Threads blocked in `lock()` for 300 ms sleep: each uses almost no CPU
/// and is rarely even runnable (`Cost::busy_waited`). Catches a lock that spins (a loop around `try_lock`, `yield_now`, or an
/// atomic flag) instead of waiting on a condition variable.
#[test]
fn threads_blocked_in_lock_use_almost_no_cpu() {
    check(LIMIT, || {
        let waiters = 3;
        let lock = RLock::new(());
        let started = AtomicUsize::new(0);
        let released = AtomicBool::new(false);
        thread::scope(|scope| {
            // Inside the scope, so that a failed check releases the lock
            // before the scope waits for the waiters.
            let guard = lock.lock();
            let handles: Vec<_> = (0..waiters)
                .map(|_| {
                    scope.spawn(|| {
                        started.fetch_add(1, Ordering::SeqCst);
                        let (guard, cost) = harness::measure(|| lock.lock());
                        assert!(
                            released.load(Ordering::SeqCst),
                            "lock() returned while another thread held the lock"
                        );
                        drop(guard);
                        cost
                    })
                })
                .collect();
            assert!(eventually(PATIENCE, || started.load(Ordering::SeqCst) == waiters));
            thread::sleep(Duration::from_millis(300));
            released.store(true, Ordering::SeqCst);
            drop(guard);
            let mut total = harness::Cost::default();
            for handle in handles {
                let cost = handle.join().unwrap();
                println!("a thread blocked in lock(): {cost}");
                total += cost;
            }
            assert!(
                !total.busy_waited(BUSY_CPU),
                "{waiters} threads blocked in lock() for about 300 ms cost in total {total}: \
                 they busy-wait"
            );
        });
    });
}

/// Many threads lock (sometimes with `try_lock` first), re-lock to a random
/// depth, update a `Cell` and drop the inner guards before the outer one:
/// never more than one thread is inside, the owner still owns the lock after
/// dropping its inner guards, and no update is lost. Catches `if` instead of
/// `while` around the wait, check-then-act in `lock`, and a release when any
/// guard drops.
#[test]
fn only_one_thread_holds_the_lock_at_a_time() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let threads = rng.random_range(4..=8);
        let lock = Arc::new(RLock::new(Cell::new(0u64)));
        let meter = Arc::new(Meter::new());
        let seeds = seeds(&mut rng, threads);
        let (shared, inside) = (Arc::clone(&lock), Arc::clone(&meter));
        let rounds = run_threads(threads, "threads taking turns", move |t| {
            let (lock, meter) = (&*shared, &*inside);
            let mut rng = StdRng::seed_from_u64(seeds[t]);
            let mut rounds = 0u64;
            let start = Instant::now();
            while busy(start) {
                let outer = if rng.random_bool(0.3) {
                    lock.try_lock().unwrap_or_else(|| lock.lock())
                } else {
                    lock.lock()
                };
                let inside = meter.enter();
                let depth = rng.random_range(1..=3);
                let inner: Vec<_> = (0..depth).map(|_| lock.lock()).collect();
                let before = outer.get();
                if rng.random_bool(0.1) {
                    thread::yield_now();
                }
                inner[depth - 1].set(before + 1);
                drop(inner);
                if rng.random_bool(0.2) {
                    thread::yield_now();
                }
                assert!(
                    lock.is_owned() && lock.recursion_count() == 1,
                    "after dropping its inner guards the owner must still own the lock once \
                     (recursion_count {})",
                    lock.recursion_count()
                );
                drop(inside);
                drop(outer);
                rounds += 1;
            }
            rounds
        });
        assert_eq!(
            meter.max(),
            1,
            "{} threads were inside the lock at the same time",
            meter.max()
        );
        let (total, expected) = (lock.lock().get(), rounds.iter().sum::<u64>());
        assert_eq!(
            total, expected,
            "{threads} threads made {expected} updates in total; some were lost"
        );
    });
}

/// Threads hammer the lock with very short critical sections, half of them
/// polling with `try_lock`, the others blocking in `lock()`: never more than
/// one thread is inside and no update is lost. Catches a `lock()` that sees
/// the lock free and claims it in two separate critical sections (a polling
/// `try_lock` slips in between), and `if` instead of `while` around the wait.
#[test]
fn try_lock_pollers_and_blocking_lockers_never_overlap() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let threads = 2 * rng.random_range(2..=3);
        let lock = Arc::new(RLock::new(Cell::new(0u64)));
        let meter = Arc::new(Meter::new());
        let gate = Arc::new(Barrier::new(threads));
        let (shared, inside) = (Arc::clone(&lock), Arc::clone(&meter));
        let updates = run_threads(threads, "pollers and lockers", move |t| {
            let (lock, meter) = (&*shared, &*inside);
            let mut updates = 0u64;
            gate.wait();
            let start = Instant::now();
            while busy(start) {
                let guard = if t % 2 == 0 {
                    match lock.try_lock() {
                        Some(guard) => guard,
                        None => {
                            std::hint::spin_loop();
                            continue;
                        }
                    }
                } else {
                    lock.lock()
                };
                let _inside = meter.enter();
                guard.set(guard.get() + 1);
                updates += 1;
            }
            updates
        });
        assert_eq!(
            meter.max(),
            1,
            "{} threads were inside the lock at the same time",
            meter.max()
        );
        let (total, expected) = (lock.lock().get(), updates.iter().sum::<u64>());
        assert_eq!(
            total, expected,
            "{threads} threads made {expected} updates in total; some were lost"
        );
    });
}

/// Threads blocked in `lock()` while the owner holds it all get the lock, one
/// after another, once the owner lets go. Catches a release that never wakes
/// a waiter (lost wakeup).
#[test]
fn every_waiting_thread_gets_the_lock_in_turn() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let waiters = rng.random_range(3..=8);
        let lock = Arc::new(RLock::new(Cell::new(0usize)));
        let guard = lock.lock();
        let started = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        for _ in 0..waiters {
            let (lock, started, served) = (Arc::clone(&lock), started.clone(), served.clone());
            thread::spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                let guard = lock.lock();
                guard.set(guard.get() + 1);
                thread::sleep(Duration::from_millis(2));
                served.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert!(eventually(PATIENCE, || started.load(Ordering::SeqCst) == waiters));
        thread::sleep(Duration::from_millis(30));
        assert_eq!(
            served.load(Ordering::SeqCst),
            0,
            "waiters got in while it was held"
        );
        drop(guard);
        assert!(
            eventually(PATIENCE, || served.load(Ordering::SeqCst) == waiters),
            "only {} of {waiters} waiting threads got the lock after it was released",
            served.load(Ordering::SeqCst)
        );
        assert_eq!(lock.lock().get(), waiters);
    });
}

/// A few hundred random `deposit`, `withdraw`, `transfer` and `balance` calls
/// (some with missing accounts or too little money) give exactly the results
/// and balances of a simple model.
#[test]
fn ledger_operations_match_a_model() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(1..=6);
        let mut model: Vec<u64> = (0..n).map(|_| rng.random_range(0..=100)).collect();
        let ledger = Ledger::new(&model);
        let missing = |i: usize| LedgerError::NoSuchAccount(i);
        for step in 0..400 {
            let i = rng.random_range(0..n + 2);
            let j = rng.random_range(0..n + 2);
            let amount = rng.random_range(0..=60);
            match rng.random_range(0..4) {
                0 => {
                    let expected = if i >= n {
                        Err(missing(i))
                    } else {
                        model[i] += amount;
                        Ok(())
                    };
                    assert_eq!(
                        ledger.deposit(i, amount),
                        expected,
                        "step {step}: deposit({i}, {amount})"
                    );
                }
                1 => {
                    let expected = if i >= n {
                        Err(missing(i))
                    } else if model[i] < amount {
                        Err(LedgerError::InsufficientFunds {
                            available: model[i],
                            requested: amount,
                        })
                    } else {
                        model[i] -= amount;
                        Ok(())
                    };
                    assert_eq!(
                        ledger.withdraw(i, amount),
                        expected,
                        "step {step}: withdraw({i}, {amount})"
                    );
                }
                2 => {
                    let expected = if i >= n {
                        Err(missing(i))
                    } else if j >= n {
                        Err(missing(j))
                    } else if model[i] < amount {
                        Err(LedgerError::InsufficientFunds {
                            available: model[i],
                            requested: amount,
                        })
                    } else {
                        model[i] -= amount;
                        model[j] += amount;
                        Ok(())
                    };
                    assert_eq!(
                        ledger.transfer(i, j, amount),
                        expected,
                        "step {step}: transfer({i}, {j}, {amount})"
                    );
                }
                _ => assert_eq!(
                    ledger.balance(i),
                    model.get(i).copied(),
                    "step {step}: balance({i})"
                ),
            }
        }
        for (i, &b) in model.iter().enumerate() {
            assert_eq!(ledger.balance(i), Some(b), "account {i} at the end");
        }
        assert_eq!(ledger.total(), model.iter().sum::<u64>());
    });
}

/// A transfer to or from a missing account is refused with
/// `NoSuchAccount(from)` first, then `NoSuchAccount(to)`, and takes no money
/// out of the source. Catches a transfer that withdraws before it knows the
/// deposit can happen.
#[test]
fn ledger_transfer_to_a_missing_account_takes_no_money() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(1..=5);
        let start: Vec<u64> = (0..n).map(|_| rng.random_range(10..=100)).collect();
        let ledger = Ledger::new(&start);
        for _ in 0..10 {
            let from = rng.random_range(0..n);
            let gone = n + rng.random_range(0..=5);
            let other_gone = gone + rng.random_range(1..=5);
            let amount = rng.random_range(1..=start[from]);
            use LedgerError::NoSuchAccount;
            assert_eq!(
                ledger.transfer(from, gone, amount),
                Err(NoSuchAccount(gone))
            );
            assert_eq!(
                ledger.transfer(gone, from, amount),
                Err(NoSuchAccount(gone))
            );
            assert_eq!(
                ledger.transfer(other_gone, gone, amount),
                Err(NoSuchAccount(other_gone))
            );
            for (i, &b) in start.iter().enumerate() {
                assert_eq!(
                    ledger.balance(i),
                    Some(b),
                    "account {i} after refused transfers of {amount} from {from} to {gone}"
                );
            }
        }
        assert_eq!(ledger.total(), start.iter().sum::<u64>());
    });
}

/// A thread calls `total()` over and over while others transfer: every
/// snapshot equals the starting total. Catches a transfer that calls
/// `withdraw` and `deposit` without holding the lock across both.
#[test]
fn ledger_total_is_consistent_while_transfers_run() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(3..=8);
        let start: Vec<u64> = (0..n).map(|_| rng.random_range(50..=300)).collect();
        let expected: u64 = start.iter().sum();
        let ledger = Arc::new(Ledger::new(&start));
        let threads = rng.random_range(6..=8);
        let running = Arc::new(AtomicUsize::new(threads));
        let seeds = seeds(&mut rng, threads);
        let shared = Arc::clone(&ledger);
        run_threads(
            threads + SNAPSHOT_THREADS,
            "transfers and snapshots",
            move |t| {
                let ledger = &*shared;
                if t < threads {
                    let _running = Running(Arc::clone(&running));
                    let mut rng = StdRng::seed_from_u64(seeds[t]);
                    let start = Instant::now();
                    while busy(start) {
                        let from = rng.random_range(0..n);
                        let to = rng.random_range(0..n);
                        let _ = ledger.transfer(from, to, rng.random_range(1..=80));
                    }
                } else {
                    let mut taken = 0;
                    while running.load(Ordering::SeqCst) > 0 || taken < 10 {
                        let total = ledger.total();
                        assert_eq!(
                            total, expected,
                            "total() returned {total} while transfers ran; the ledger holds \
                         {expected} (snapshot {taken})"
                        );
                        taken += 1;
                    }
                }
            },
        );
        assert_eq!(ledger.total(), expected);
    });
}

/// Many threads deposit, withdraw and transfer at random (amounts close to
/// the balances, so many are refused). Every refusal is an honest
/// `InsufficientFunds`, and each account ends with exactly its start plus the
/// net effect of the calls that succeeded. Catches lost updates and
/// check-then-act across lock sections.
#[test]
fn ledger_concurrent_operations_conserve_every_balance() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(2..=5);
        let start: Vec<u64> = (0..n).map(|_| rng.random_range(0..=100)).collect();
        let threads = rng.random_range(4..=8);
        let ledger = Arc::new(Ledger::new(&start));
        let seeds = seeds(&mut rng, threads);
        let shared = Arc::clone(&ledger);
        let nets = run_threads(threads, "deposits, withdrawals and transfers", move |t| {
            let ledger = &*shared;
            let mut rng = StdRng::seed_from_u64(seeds[t]);
            let mut net = vec![0i64; n];
            let start = Instant::now();
            while busy(start) {
                let i = rng.random_range(0..n);
                let j = rng.random_range(0..n);
                let amount = rng.random_range(1..=40);
                let (result, call) = match rng.random_range(0..5) {
                    0 => (
                        ledger.deposit(i, amount).map(|()| net[i] += amount as i64),
                        "deposit",
                    ),
                    1 => (
                        ledger.withdraw(i, amount).map(|()| net[i] -= amount as i64),
                        "withdraw",
                    ),
                    _ => (
                        ledger.transfer(i, j, amount).map(|()| {
                            net[i] -= amount as i64;
                            net[j] += amount as i64;
                        }),
                        "transfer",
                    ),
                };
                match result {
                    Ok(()) => {}
                    Err(LedgerError::InsufficientFunds {
                        available,
                        requested,
                    }) => {
                        assert_eq!(requested, amount, "{call}: InsufficientFunds.requested");
                        assert!(
                            available < requested,
                            "{call} of {amount} from account {i} was refused with {available} \
                             available"
                        );
                    }
                    Err(other) => panic!("{call} failed with {other:?}"),
                }
            }
            net
        });
        for i in 0..n {
            let net: i64 = nets.iter().map(|net| net[i]).sum();
            assert_eq!(
                ledger.balance(i).map(|b| b as i64),
                Some(start[i] as i64 + net),
                "account {i} started with {} and successful calls changed it by {net:+}",
                start[i]
            );
        }
    });
}

// ---------------------------------------------------------------------------
// Added for issue 13: a release that arrives between the waiter's check of the
// owner and its wait.

/// Rounds of the hand-over test.
const HAND_OVERS: usize = 600;
/// Longest pause between waking the waiter and releasing, in microseconds.
const MAX_RELEASE_DELAY_US: u64 = 300;
/// No acquisition for this long after the release means the waiter is stuck
/// (a correct hand-over takes microseconds, even on a loaded machine).
const NO_PROGRESS: Duration = Duration::from_secs(3);

/// Over and over, the test thread owns the lock, wakes a second thread that
/// calls `lock()`, and releases after a random pause of up to 300 µs, so the
/// release lands at every point of that thread's way into its wait. Catches a
/// `lock` that checks the owner, unlocks, and locks again to wait without
/// re-checking: the release in between is lost and the waiter blocks for good.
#[test]
fn a_release_while_another_thread_enters_lock_is_never_lost() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let lock = Arc::new(RLock::new(()));
        let (start, started) = mpsc::channel::<()>();
        let (got, acquired) = mpsc::channel::<()>();
        // Detached: when the release is lost it blocks for good, and the
        // test must still end.
        let waiter = Arc::clone(&lock);
        thread::spawn(move || {
            for () in started {
                drop(waiter.lock());
                if got.send(()).is_err() {
                    return;
                }
            }
        });
        for round in 0..HAND_OVERS {
            let held = lock.lock();
            start.send(()).expect("the waiting thread is alive");
            let pause = Duration::from_micros(rng.random_range(0..=MAX_RELEASE_DELAY_US));
            let until = Instant::now() + pause;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            drop(held);
            assert!(
                acquired.recv_timeout(harness::scaled(NO_PROGRESS)).is_ok(),
                "round {round} of {HAND_OVERS}: a thread in lock() never got the lock after \
                 the owner released it, and nobody holds it. The release came between lock()'s \
                 check of the owner and its wait, and was lost: check and wait under one lock, \
                 without unlocking in between"
            );
        }
    });
}
