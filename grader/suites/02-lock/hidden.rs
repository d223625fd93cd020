//! Hidden suite for exercise 02: `Counter`, `count_in_parallel` and `Bank`.
//!
//! Beyond the visible tests: many threads and random inputs (seeded, replay
//! with `INTERLEAVE_SEED`), lost updates, a monotonic reader, a CPU-time probe
//! that the counting happens on worker threads, conservation of every balance
//! under concurrent transfers, snapshots taken while transfers run, races for
//! the last funds, and opposite transfers that must not deadlock.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use exercise_02::{Bank, Counter, TransferError, count_in_parallel};
use harness::{LIMIT, check};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// How long each stress test keeps its threads busy. Stress is measured in
/// time, not in operations, so that the threads really overlap on a busy
/// machine and a slow implementation still finishes quickly.
const STRESS: Duration = Duration::from_millis(250);
/// Threads that call `total()` over and over while transfers run.
const SNAPSHOT_THREADS: usize = 3;

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
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Held by a detached worker thread; reports on `done` when dropped whether
/// the worker finished (`true`) or panicked (`false`).
struct Report(mpsc::Sender<bool>);

impl Drop for Report {
    fn drop(&mut self) {
        let _ = self.0.send(!thread::panicking());
    }
}

/// `Counter` is `Send + Sync`, and concurrent `increment`/`add` calls from
/// many threads lose nothing. Catches a read-modify-write split over two lock
/// sections (`let v = get(); set(v + 1)`).
#[test]
fn counter_loses_no_update_from_many_threads() {
    check(LIMIT, || {
        assert_send_sync::<Counter>();
        let mut rng = harness::rng();
        let threads = rng.random_range(4..=8);
        let counter = Counter::new();
        let gate = Barrier::new(threads);
        let expected: u64 = thread::scope(|scope| {
            let workers: Vec<_> = seeds(&mut rng, threads)
                .into_iter()
                .map(|seed| {
                    let (counter, gate) = (&counter, &gate);
                    scope.spawn(move || {
                        let mut rng = StdRng::seed_from_u64(seed);
                        let mut added = 0;
                        gate.wait();
                        let start = Instant::now();
                        while busy(start) {
                            if rng.random_bool(0.5) {
                                counter.increment();
                                added += 1;
                            } else {
                                let n = rng.random_range(0..=9);
                                counter.add(n);
                                added += n;
                            }
                        }
                        added
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        let held = counter.get();
        assert!(
            held >= expected,
            "lost update: {} of the {expected} units that {threads} threads added are missing \
             (the counter holds {held}): is a read-modify-write split over two lock sections?",
            expected - held
        );
        assert_eq!(
            held, expected,
            "the counter holds more than the threads added"
        );
    });
}

/// A thread reading `get()` while others increment never sees the value go
/// down. A lost update (read, unlock, then write back an old value plus one)
/// makes the counter step backwards.
#[test]
fn counter_never_goes_backwards_while_others_increment() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let writers = rng.random_range(3..=6);
        let per_writer: u64 = rng.random_range(4000..=8000);
        let counter = Counter::new();
        let running = AtomicUsize::new(writers);
        thread::scope(|scope| {
            for _ in 0..writers {
                scope.spawn(|| {
                    let _running = Running(&running);
                    for _ in 0..per_writer {
                        counter.increment();
                    }
                });
            }
            let mut last = 0;
            while running.load(Ordering::SeqCst) > 0 {
                let now = counter.get();
                assert!(
                    now >= last,
                    "get() returned {now} after it had returned {last}: an update was lost \
                     (an old value was written back)"
                );
                last = now;
            }
        });
        assert_eq!(counter.get(), writers as u64 * per_writer);
    });
}

/// `count_in_parallel` returns `threads * per_thread` for random sizes, for
/// zero threads and zero increments. Catches join handles dropped before the
/// workers finish, and lost updates.
#[test]
fn count_in_parallel_returns_threads_times_per_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let mut cases = vec![
            (0, rng.random_range(1..=1000)),
            (rng.random_range(1..=8), 0),
        ];
        cases.push((1, rng.random_range(1..=10_000)));
        for _ in 0..4 {
            cases.push((rng.random_range(2..=8), rng.random_range(1..=5_000)));
        }
        cases.push((rng.random_range(3..=4), rng.random_range(20_000..=30_000)));
        for (threads, per_thread) in cases {
            assert_eq!(
                count_in_parallel(threads, per_thread),
                threads as u64 * per_thread,
                "count_in_parallel({threads}, {per_thread})"
            );
        }
    });
}

/// The calling thread of `count_in_parallel` only spawns and joins: the
/// counting happens on the worker threads, so the caller uses almost no CPU.
/// Catches a loop on the calling thread that never starts any thread.
#[test]
fn count_in_parallel_counts_on_worker_threads_not_the_caller() {
    check(LIMIT, || {
        let (threads, per_thread) = (4, 100_000);
        // CPU time alone: the caller's spawning is real work, so on a busy
        // machine it may wait for a CPU for much of a short run.
        let (count, cost) = harness::measure(|| count_in_parallel(threads, per_thread));
        let (cpu, wall) = (cost.cpu, cost.wall);
        println!("count_in_parallel({threads}, {per_thread}): caller {cost}");
        assert_eq!(count, threads as u64 * per_thread);
        assert!(
            cpu < Duration::from_millis(5),
            "the calling thread used {cpu:?} of CPU in {wall:?}: it seems to do the counting \
             itself instead of waiting for {threads} worker threads"
        );
    });
}

/// `balance` and `total` report random starting balances; `balance` of any
/// index past the last account (even `usize::MAX`) is `None`; an empty bank
/// totals 0. `Bank` is `Send + Sync`.
#[test]
fn bank_reports_random_balances_and_total() {
    check(LIMIT, || {
        assert_send_sync::<Bank>();
        let mut rng = harness::rng();
        let empty = Bank::new(&[]);
        assert_eq!((empty.balance(0), empty.total()), (None, 0));
        for _ in 0..10 {
            let n = rng.random_range(1..=12);
            let balances: Vec<u64> = (0..n).map(|_| rng.random_range(0..=1_000_000)).collect();
            let bank = Bank::new(&balances);
            for (i, &b) in balances.iter().enumerate() {
                assert_eq!(bank.balance(i), Some(b), "balance({i}) of {balances:?}");
            }
            for i in [n, n + rng.random_range(1..=100), usize::MAX] {
                assert_eq!(bank.balance(i), None, "balance({i}) of {n} accounts");
            }
            assert_eq!(bank.total(), balances.iter().sum::<u64>(), "{balances:?}");
        }
    });
}

/// `transfer` reports `NoSuchAccount(from)`, then `NoSuchAccount(to)`, then
/// `SameAccount`, then `InsufficientFunds { available, requested }`, and a
/// refused transfer changes nothing; transfers of 0 and of the whole balance
/// succeed.
#[test]
fn transfer_checks_errors_in_the_documented_order() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(2..=6);
        let balances: Vec<u64> = (0..n).map(|_| rng.random_range(1..=500)).collect();
        let bank = Bank::new(&balances);
        let out = n + rng.random_range(0..=10);
        let a = rng.random_range(0..n);
        let b = (a + rng.random_range(1..n)) % n;
        let unchanged = |what: &str| {
            for (i, &balance) in balances.iter().enumerate() {
                assert_eq!(bank.balance(i), Some(balance), "after {what}");
            }
        };
        use TransferError::*;
        let cases = [
            ((out, out + 1, 1), NoSuchAccount(out)),
            ((out, a, 1), NoSuchAccount(out)),
            ((a, out, 1), NoSuchAccount(out)),
            ((out, out, 1), NoSuchAccount(out)),
            ((a, out, u64::MAX), NoSuchAccount(out)),
            ((a, a, 1), SameAccount),
            ((a, a, u64::MAX), SameAccount),
            (
                (a, b, balances[a] + 1),
                InsufficientFunds {
                    available: balances[a],
                    requested: balances[a] + 1,
                },
            ),
            (
                (a, b, u64::MAX),
                InsufficientFunds {
                    available: balances[a],
                    requested: u64::MAX,
                },
            ),
        ];
        for ((from, to, amount), error) in cases {
            let what = format!("transfer({from}, {to}, {amount}) on {balances:?}");
            assert_eq!(bank.transfer(from, to, amount), Err(error), "{what}");
            unchanged(&what);
        }
        assert_eq!(bank.transfer(a, b, 0), Ok(()), "a transfer of 0");
        unchanged("a transfer of 0");
        assert_eq!(
            bank.transfer(a, b, balances[a]),
            Ok(()),
            "the whole balance"
        );
        assert_eq!(bank.balance(a), Some(0));
        assert_eq!(bank.balance(b), Some(balances[a] + balances[b]));
        assert_eq!(bank.total(), balances.iter().sum::<u64>());
    });
}

/// A few hundred random transfers on one thread give exactly the results and
/// balances of a simple model.
#[test]
fn sequential_random_transfers_match_a_model() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(2..=8);
        let mut model: Vec<u64> = (0..n).map(|_| rng.random_range(0..=100)).collect();
        let bank = Bank::new(&model);
        for _ in 0..300 {
            let from = rng.random_range(0..n);
            let to = rng.random_range(0..n);
            let amount = rng.random_range(0..=60);
            let expected = if from == to {
                Err(TransferError::SameAccount)
            } else if model[from] < amount {
                Err(TransferError::InsufficientFunds {
                    available: model[from],
                    requested: amount,
                })
            } else {
                model[from] -= amount;
                model[to] += amount;
                Ok(())
            };
            assert_eq!(
                bank.transfer(from, to, amount),
                expected,
                "transfer({from}, {to}, {amount})"
            );
        }
        for (i, &b) in model.iter().enumerate() {
            assert_eq!(bank.balance(i), Some(b), "account {i}");
        }
    });
}

/// Many threads make random transfers among a few accounts (amounts close to
/// the balances, so many are refused). Every refusal is an honest
/// `InsufficientFunds`, and at the end each account holds exactly its start
/// plus what successful transfers brought in minus what they took out.
/// Catches check-then-act (two withdrawals both pass the check), lost
/// updates, and money created or lost.
#[test]
fn concurrent_random_transfers_conserve_every_balance() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(2..=4);
        let start: Vec<u64> = (0..n).map(|_| rng.random_range(0..=1000)).collect();
        let threads = rng.random_range(6..=8);
        let bank = Bank::new(&start);
        let gate = Barrier::new(threads);
        let nets: Vec<Vec<i64>> = thread::scope(|scope| {
            let workers: Vec<_> = seeds(&mut rng, threads)
                .into_iter()
                .map(|seed| {
                    let (bank, gate) = (&bank, &gate);
                    scope.spawn(move || {
                        let mut rng = StdRng::seed_from_u64(seed);
                        let mut net = vec![0i64; n];
                        gate.wait();
                        let start = Instant::now();
                        while busy(start) {
                            let from = rng.random_range(0..n);
                            let to = (from + rng.random_range(1..n)) % n;
                            let amount = rng.random_range(1..=1000);
                            match bank.transfer(from, to, amount) {
                                Ok(()) => {
                                    net[from] -= amount as i64;
                                    net[to] += amount as i64;
                                }
                                Err(TransferError::InsufficientFunds {
                                    available,
                                    requested,
                                }) => {
                                    assert_eq!(requested, amount, "InsufficientFunds.requested");
                                    assert!(
                                        available < requested,
                                        "transfer({from}, {to}, {amount}) was refused with \
                                         {available} available"
                                    );
                                }
                                Err(other) => {
                                    panic!("transfer({from}, {to}, {amount}) failed with {other:?}")
                                }
                            }
                        }
                        net
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        for i in 0..n {
            let net: i64 = nets.iter().map(|net| net[i]).sum();
            let expected = start[i] as i64 + net;
            assert_eq!(
                bank.balance(i).map(|b| b as i64),
                Some(expected),
                "account {i} started with {} and successful transfers moved {net:+} in net",
                start[i]
            );
        }
        assert_eq!(bank.total(), start.iter().sum::<u64>());
    });
}

/// A thread calls `total()` over and over while others transfer: every
/// snapshot equals the starting total. Catches a total that reads the
/// accounts one lock at a time, and a transfer that takes the money out and
/// puts it in under two separate lock sections.
#[test]
fn total_is_a_consistent_snapshot_while_transfers_run() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(8..=16);
        let start: Vec<u64> = (0..n).map(|_| rng.random_range(50..=500)).collect();
        let expected: u64 = start.iter().sum();
        let bank = Bank::new(&start);
        let threads = rng.random_range(3..=4);
        let running = AtomicUsize::new(threads);
        thread::scope(|scope| {
            for seed in seeds(&mut rng, threads) {
                let (bank, running) = (&bank, &running);
                scope.spawn(move || {
                    let _running = Running(running);
                    let mut rng = StdRng::seed_from_u64(seed);
                    let start = Instant::now();
                    while busy(start) {
                        let from = rng.random_range(0..n);
                        let to = (from + rng.random_range(1..n)) % n;
                        let _ = bank.transfer(from, to, rng.random_range(1..=100));
                    }
                });
            }
            for _ in 0..SNAPSHOT_THREADS {
                scope.spawn(|| {
                    let mut taken = 0;
                    while running.load(Ordering::SeqCst) > 0 || taken < 10 {
                        let total = bank.total();
                        assert_eq!(
                            total, expected,
                            "total() returned {total} while transfers ran; the bank holds \
                             {expected} (snapshot {taken})"
                        );
                        taken += 1;
                    }
                });
            }
        });
        assert_eq!(bank.total(), expected);
    });
}

/// Round after round, eight threads race to spend an account's last few
/// units one at a time: exactly as many transfers succeed as the account
/// held, and it ends at 0. Catches check-then-act (checking the balance in
/// one lock section and taking the money in another).
#[test]
fn last_funds_are_never_spent_twice() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let threads = 8;
        let start = Instant::now();
        let mut round = 0;
        // Many short rounds, each a fresh race for the last units. The source
        // is the first or the last account, so that whichever order an
        // implementation locks in, some rounds leave a gap after the check.
        while round < 40 || busy(start) {
            let funds = rng.random_range(4..=16);
            let source = if round % 2 == 0 { 0 } else { 3 };
            let mut balances = [0; 4];
            balances[source] = funds;
            let bank = Bank::new(&balances);
            let gate = Barrier::new(threads);
            let succeeded: u64 = thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let (bank, gate) = (&bank, &gate);
                        scope.spawn(move || {
                            gate.wait();
                            let mut ok = 0;
                            for k in 0..funds as usize {
                                let to = (source + 1 + (t + k) % 3) % 4;
                                match bank.transfer(source, to, 1) {
                                    Ok(()) => ok += 1,
                                    Err(TransferError::InsufficientFunds {
                                        available: 0,
                                        requested: 1,
                                    }) => {}
                                    Err(other) => {
                                        panic!("transfer({source}, {to}, 1) failed: {other:?}")
                                    }
                                }
                            }
                            ok
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).sum()
            });
            assert_eq!(
                succeeded, funds,
                "round {round}: account {source} held {funds}, but {succeeded} transfers of 1 \
                 succeeded"
            );
            assert_eq!(bank.balance(source), Some(0), "round {round}");
            assert_eq!(bank.total(), funds, "round {round}");
            round += 1;
        }
    });
}

/// Many threads transfer A to B while as many transfer B to A (and a third
/// account joins a cycle): all of them finish. Catches two account locks
/// taken in the order of the transfer (from, then to), which deadlocks.
#[test]
fn opposite_transfers_never_deadlock() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(3..=6);
        let mut accounts: Vec<usize> = (0..n).collect();
        accounts.shuffle(&mut rng);
        let (a, b, c) = (accounts[0], accounts[1], accounts[2]);
        let bank = Arc::new(Bank::new(&vec![10_000; n]));
        let routes = [
            (a, b),
            (b, a),
            (a, b),
            (b, a),
            (b, c),
            (c, a),
            (a, b),
            (b, a),
        ];
        let (done, finished) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Barrier::new(routes.len()));
        for (from, to) in routes {
            let (bank, report) = (Arc::clone(&bank), Report(done.clone()));
            let (stop, gate) = (Arc::clone(&stop), Arc::clone(&gate));
            thread::spawn(move || {
                let _report = report;
                gate.wait();
                let start = Instant::now();
                let mut k = 0;
                while busy(start) && !stop.load(Ordering::Relaxed) {
                    let _ = bank.transfer(from, to, 1 + k % 3);
                    k += 1;
                }
            });
        }
        let deadline = Instant::now() + harness::scaled(Duration::from_secs(5));
        // Its deadline only fails the test: a hang is found without waiting for it.
        let _poller = harness::stuck::Poller::enter();
        for finished_so_far in 0..routes.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let outcome = finished.recv_timeout(left);
            if outcome == Ok(false) {
                stop.store(true, Ordering::Relaxed);
                panic!("a thread transferring between accounts {a}, {b} and {c} panicked");
            }
            if outcome.is_err() {
                stop.store(true, Ordering::Relaxed);
                panic!(
                    "only {finished_so_far} of {} threads transferring between accounts \
                     {a}, {b} and {c} finished within 5 s: deadlock (locks taken in opposite \
                     orders)",
                    routes.len()
                );
            }
        }
        assert_eq!(bank.total(), 10_000 * n as u64);
    });
}
