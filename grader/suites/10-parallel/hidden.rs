//! Hidden suite for exercise 10 (CPU-bound work in parallel).
//!
//! Beyond the visible tests: random inputs checked against plain sequential
//! code, the thread ids seen by `f` (how many threads, how many items each),
//! rendezvous probes that only pass if all the threads run at the same time,
//! completion orders forced to differ from input order, and a slow item that
//! only dynamic chunking can work around. No test measures speed: a correct
//! submission passes on any machine, however loaded.

use std::collections::{HashMap, HashSet};
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::Duration;

use exercise_10::{count_primes, parallel_map, parallel_sum, pool_map};
use harness::{LIMIT, Meter, Rendezvous, check, eventually};
use parking_lot::Mutex;
use rand::RngExt;

/// Watchdog limit per test. A correct run takes well under a second.
/// How long a probe waits for other threads before declaring them absent.
const MEET: Duration = Duration::from_secs(4);

/// Makes the first call of `f` on each thread wait until `need` different
/// threads have called it. Later calls on a thread pass straight through.
struct FirstCallsMeet {
    seen: Mutex<HashSet<ThreadId>>,
    meeting: Rendezvous,
    missed: AtomicUsize,
    meter: Meter,
}

impl FirstCallsMeet {
    fn new(need: usize) -> FirstCallsMeet {
        FirstCallsMeet {
            seen: Mutex::new(HashSet::new()),
            meeting: Rendezvous::new(need),
            missed: AtomicUsize::new(0),
            meter: Meter::new(),
        }
    }

    fn call(&self) {
        let _inside = self.meter.enter();
        let first = self.seen.lock().insert(thread::current().id());
        if first && !self.meeting.arrive(MEET) {
            self.missed.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn threads(&self) -> usize {
        self.seen.lock().len()
    }
}

/// Records which thread handled each index.
struct ThreadLog(Mutex<Vec<(ThreadId, usize)>>);

impl ThreadLog {
    fn new() -> ThreadLog {
        ThreadLog(Mutex::new(Vec::new()))
    }

    fn record(&self, index: usize) {
        self.0.lock().push((thread::current().id(), index));
    }

    /// How many items each thread handled.
    fn per_thread(&self) -> HashMap<ThreadId, usize> {
        let mut counts = HashMap::new();
        for (id, _) in self.0.lock().iter() {
            *counts.entry(*id).or_insert(0) += 1;
        }
        counts
    }
}

/// `pi[n]` = the number of primes `<= n`, by the sieve of Eratosthenes.
fn prime_counts(limit: usize) -> Vec<u64> {
    let mut composite = vec![false; limit + 1];
    let mut counts = vec![0; limit + 1];
    let mut found = 0;
    for n in 0..=limit {
        if n >= 2 && !composite[n] {
            found += 1;
            let mut multiple = n * n;
            while multiple <= limit {
                composite[multiple] = true;
                multiple += n;
            }
        }
        counts[n] = found;
    }
    counts
}

// ----------------------------------------------------------------- parallel_sum

/// `parallel_sum` equals a plain sum for random slices and thread counts,
/// including more threads than values and an empty slice. Catches dropping
/// the remainder when the length does not divide evenly.
#[test]
fn parallel_sum_matches_a_plain_sum_on_random_inputs() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for round in 0..40 {
            let len = if round < 4 {
                round
            } else {
                rng.random_range(0..3000)
            };
            let values: Vec<u64> = (0..len).map(|_| rng.random_range(0..1 << 40)).collect();
            let threads = rng.random_range(1..=9);
            assert_eq!(
                parallel_sum(&values, threads),
                values.iter().sum::<u64>(),
                "sum of {len} values on {threads} threads"
            );
        }
    });
}

// ----------------------------------------------------------------- parallel_map

/// `parallel_map` returns `f(item)` for every item, in input order, calling
/// `f` exactly once per item, for random lengths and thread counts.
#[test]
fn parallel_map_calls_f_once_per_item_and_keeps_input_order() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for round in 0..25 {
            let len = if round < 3 {
                round
            } else {
                rng.random_range(0..400)
            };
            let threads = rng.random_range(1..=9);
            let salt = rng.random_range(0..u64::MAX);
            let items: Vec<usize> = (0..len).collect();
            let calls: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
            let results = parallel_map(&items, threads, |&i| {
                calls[i].fetch_add(1, Ordering::SeqCst);
                (i as u64).wrapping_mul(salt) ^ salt
            });
            let expected: Vec<u64> = items
                .iter()
                .map(|&i| (i as u64).wrapping_mul(salt) ^ salt)
                .collect();
            assert_eq!(
                results, expected,
                "{len} items on {threads} threads: wrong results or order"
            );
            for (i, count) in calls.iter().enumerate() {
                assert_eq!(
                    count.load(Ordering::SeqCst),
                    1,
                    "f called wrongly often for item {i}"
                );
            }
        }
    });
}

/// With `n >= threads` items, `f` runs on exactly `threads` distinct threads,
/// each handling `⌊n / threads⌋` or `⌈n / threads⌉` items. Catches chunks of
/// `⌈n / threads⌉` items (9 items on 4 threads then use only 3 threads).
#[test]
fn parallel_map_splits_the_items_evenly_over_exactly_the_requested_threads() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..25 {
            let threads = rng.random_range(1..=8);
            let len = rng.random_range(threads..=threads * 8);
            let items: Vec<usize> = (0..len).collect();
            let log = ThreadLog::new();
            parallel_map(&items, threads, |&i| log.record(i));
            let per_thread = log.per_thread();
            assert_eq!(
                per_thread.len(),
                threads,
                "{len} items on {threads} threads ran on {} threads",
                per_thread.len()
            );
            let (low, high) = (len / threads, len.div_ceil(threads));
            for count in per_thread.values() {
                assert!(
                    (low..=high).contains(count),
                    "{len} items on {threads} threads: one thread got {count} items, not {low} or {high}"
                );
            }
        }
    });
}

/// With fewer items than threads, every item gets its own thread.
#[test]
fn parallel_map_gives_each_item_its_own_thread_when_items_are_fewer_than_threads() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..10 {
            let threads = rng.random_range(2..=9);
            let len = rng.random_range(1..threads);
            let items: Vec<usize> = (0..len).collect();
            let log = ThreadLog::new();
            let results = parallel_map(&items, threads, |&i| {
                log.record(i);
                i * 2
            });
            assert_eq!(results, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            assert_eq!(
                log.per_thread().len(),
                len,
                "{len} items on {threads} threads"
            );
        }
    });
}

/// All the threads run at the same time: the first call of `f` on each thread
/// waits until every thread has made its first call. Catches starting and
/// joining the threads one after another.
#[test]
fn parallel_map_runs_all_its_threads_at_the_same_time() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let threads = rng.random_range(2..=6);
        let len = rng.random_range(threads..=threads * 5);
        let items: Vec<usize> = (0..len).collect();
        let probe = FirstCallsMeet::new(threads);
        let results = parallel_map(&items, threads, |&i| {
            probe.call();
            i + 1
        });
        assert_eq!(results, items.iter().map(|i| i + 1).collect::<Vec<_>>());
        assert_eq!(
            probe.missed.load(Ordering::SeqCst),
            0,
            "the {threads} threads never all ran at the same time (peak {} at once)",
            probe.meter.max()
        );
        assert_eq!(probe.threads(), threads);
        assert!(probe.meter.max() >= threads);
    });
}

/// Results keep the input order even when the thread holding the first items
/// finishes last (item 0 waits until every other thread is done). Catches
/// gluing the parts together in the order the threads finish.
#[test]
fn parallel_map_keeps_input_order_when_the_first_part_finishes_last() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let threads = rng.random_range(2..=6);
        let per_thread = rng.random_range(2..=6);
        let len = threads * per_thread;
        let values: Vec<u64> = (0..len).map(|_| rng.random_range(0..u64::MAX)).collect();
        let items: Vec<usize> = (0..len).collect();
        // Items finished so far, not counting item 0.
        let others_done = AtomicUsize::new(0);
        let results = parallel_map(&items, threads, |&i| {
            if i == 0 {
                // The other threads hold `len - per_thread` items between them.
                eventually(MEET, || {
                    others_done.load(Ordering::SeqCst) >= len - per_thread
                });
            } else {
                others_done.fetch_add(1, Ordering::SeqCst);
            }
            values[i]
        });
        assert_eq!(results, values, "results must be in input order");
    });
}

// --------------------------------------------------------------------- pool_map

/// `pool_map` returns `f(item)` for every item, in input order, calling `f`
/// exactly once per item, for random lengths, thread counts and chunk sizes.
#[test]
fn pool_map_calls_f_once_per_item_and_keeps_input_order() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for round in 0..25 {
            let len = if round < 3 {
                round
            } else {
                rng.random_range(0..300)
            };
            let threads = rng.random_range(1..=8);
            let chunk = rng.random_range(1..=12);
            let salt = rng.random_range(0..u64::MAX);
            let items: Vec<usize> = (0..len).collect();
            let calls: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
            let results = pool_map(&items, threads, chunk, |&i| {
                calls[i].fetch_add(1, Ordering::SeqCst);
                (i as u64).wrapping_mul(salt) ^ salt
            });
            let expected: Vec<u64> = items
                .iter()
                .map(|&i| (i as u64).wrapping_mul(salt) ^ salt)
                .collect();
            assert_eq!(
                results, expected,
                "{len} items, {threads} threads, chunks of {chunk}: wrong results or order"
            );
            for (i, count) in calls.iter().enumerate() {
                assert_eq!(
                    count.load(Ordering::SeqCst),
                    1,
                    "f called wrongly often for item {i}"
                );
            }
        }
    });
}

/// Each chunk of `chunk_size` consecutive items is handled whole by one
/// thread, its items in order, one chunk after another. Catches handing out
/// single items or splitting chunks between threads.
#[test]
fn pool_map_hands_each_chunk_whole_to_one_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..10 {
            let threads = rng.random_range(2..=6);
            let chunk = rng.random_range(2..=6);
            let len = rng.random_range(chunk..=chunk * 20);
            let items: Vec<usize> = (0..len).collect();
            let log = ThreadLog::new();
            pool_map(&items, threads, chunk, |&i| {
                log.record(i);
                // Give the other threads a chance to interleave.
                thread::yield_now();
            });
            let mut by_thread: HashMap<ThreadId, Vec<usize>> = HashMap::new();
            for (id, i) in log.0.lock().iter() {
                by_thread.entry(*id).or_default().push(*i);
            }
            for handled in by_thread.values() {
                // Cut this thread's calls into runs of the same chunk: each run
                // must be one whole chunk, in order.
                let mut at = 0;
                while at < handled.len() {
                    let first = handled[at];
                    assert_eq!(
                        first % chunk,
                        0,
                        "chunks of {chunk}: a thread started at item {first}"
                    );
                    let end = (first + chunk).min(len);
                    let run: Vec<usize> = (first..end).collect();
                    assert_eq!(
                        handled.get(at..at + run.len()),
                        Some(run.as_slice()),
                        "chunks of {chunk}: the chunk at {first} was not handled whole by one thread"
                    );
                    at += run.len();
                }
            }
        }
    });
}

/// While one item is very slow (it waits until every other chunk is done),
/// the other threads take all the remaining chunks, and the results still
/// come back in input order. Catches a static split, where the chunks queued
/// behind the slow item on its thread can never run.
#[test]
fn pool_map_lets_free_threads_take_the_work_behind_a_slow_item() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let threads = rng.random_range(2..=4);
        let chunk = rng.random_range(1..=4);
        let chunks = rng.random_range(threads * 3..=threads * 6);
        let len = chunks * chunk;
        let values: Vec<u64> = (0..len).map(|_| rng.random_range(0..u64::MAX)).collect();
        let items: Vec<usize> = (0..len).collect();
        // Items outside the first chunk finished so far.
        let others_done = AtomicUsize::new(0);
        let waited = Mutex::new(false);
        let results = pool_map(&items, threads, chunk, |&i| {
            if i == 0 {
                let all_done =
                    eventually(MEET, || others_done.load(Ordering::SeqCst) == len - chunk);
                *waited.lock() = all_done;
            } else if i >= chunk {
                others_done.fetch_add(1, Ordering::SeqCst);
            }
            values[i]
        });
        assert!(
            *waited.lock(),
            "with {threads} threads and {chunks} chunks of {chunk}, only {} of the {} items outside the \
             slow item's chunk were done while it ran: the free threads did not take the remaining chunks",
            others_done.load(Ordering::SeqCst).min(len - chunk),
            len - chunk
        );
        assert_eq!(results, values, "results must be in input order");
    });
}

/// All the workers run at the same time: `min(threads, chunks)` of them, each
/// of whose first call waits for the others. Catches running the workers one
/// after another, and starting fewer or more workers than that.
#[test]
fn pool_map_runs_all_its_threads_at_the_same_time() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for fewer_chunks in [false, true] {
            let threads = rng.random_range(2..=6);
            let chunk = rng.random_range(1..=3);
            let chunks = if fewer_chunks {
                rng.random_range(1..threads)
            } else {
                rng.random_range(threads..=threads * 3)
            };
            let len = chunks * chunk;
            let workers = threads.min(chunks);
            let items: Vec<usize> = (0..len).collect();
            let probe = FirstCallsMeet::new(workers);
            let results = pool_map(&items, threads, chunk, |&i| {
                probe.call();
                i * 3
            });
            assert_eq!(results, items.iter().map(|i| i * 3).collect::<Vec<_>>());
            assert_eq!(
                probe.missed.load(Ordering::SeqCst),
                0,
                "{threads} threads, {chunks} chunks: the {workers} workers never all ran at the same time"
            );
            assert_eq!(
                probe.threads(),
                workers,
                "{threads} threads, {chunks} chunks"
            );
        }
    });
}

// ----------------------------------------------------------------- count_primes

/// `count_primes` agrees with a sieve for random limits and thread counts.
#[test]
fn count_primes_matches_a_sieve_for_random_limits() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let top = 120_000;
        let pi = prime_counts(top);
        for _ in 0..8 {
            let limit = rng.random_range(0..=top);
            let threads = rng.random_range(1..=8);
            assert_eq!(
                count_primes(limit as u64, threads),
                pi[limit],
                "primes <= {limit} on {threads} threads"
            );
        }
    });
}

/// A prime limit counts itself ("primes <= limit"), and the smallest limits
/// are right. Catches counting primes `< limit`.
#[test]
fn count_primes_counts_a_prime_limit_itself() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let top = 50_000;
        let pi = prime_counts(top);
        for (limit, expected) in [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2)] {
            assert_eq!(count_primes(limit, 3), expected, "primes <= {limit}");
        }
        let mut checked = 0;
        while checked < 4 {
            let p = rng.random_range(3..=top);
            if pi[p] == pi[p - 1] {
                continue; // not a prime
            }
            let threads = rng.random_range(1..=6);
            assert_eq!(
                count_primes(p as u64, threads),
                pi[p],
                "primes <= {p} (a prime)"
            );
            checked += 1;
        }
    });
}

// ------------------------------------------------------------------------ input

/// Every function refuses `threads == 0` (and `pool_map` a `chunk_size` of 0)
/// with a panic, as the lesson specifies, while one thread works.
#[test]
fn zero_threads_or_zero_chunk_size_is_refused_with_a_panic() {
    check(LIMIT, || {
        let items = [4_u64, 5, 6];
        assert_eq!(parallel_sum(&items, 1), 15);
        assert_eq!(parallel_map(&items, 1, |x| x * 2), vec![8, 10, 12]);
        assert_eq!(pool_map(&items, 1, 1, |x| x * 2), vec![8, 10, 12]);
        assert_eq!(count_primes(20, 1), 8);
        let refused = |what: &str, outcome: thread::Result<()>| {
            assert!(outcome.is_err(), "{what} must panic");
        };
        refused(
            "parallel_sum(_, 0)",
            catch_unwind(|| _ = parallel_sum(&items, 0)),
        );
        refused(
            "parallel_map(_, 0, _)",
            catch_unwind(|| _ = parallel_map(&items, 0, |x| x + 1)),
        );
        refused(
            "pool_map(_, 0, 1, _)",
            catch_unwind(|| _ = pool_map(&items, 0, 1, |x| x + 1)),
        );
        refused(
            "pool_map(_, 2, 0, _)",
            catch_unwind(|| _ = pool_map(&items, 2, 0, |x| x + 1)),
        );
        refused(
            "count_primes(_, 0)",
            catch_unwind(|| _ = count_primes(20, 0)),
        );
    });
}

/// A panic in `f` reaches the caller of `parallel_map` and `pool_map`.
#[test]
fn a_panic_in_f_reaches_the_caller() {
    check(LIMIT, || {
        let items: Vec<u32> = (0..20).collect();
        assert_eq!(parallel_map(&items, 4, |x| x + 1).len(), 20);
        assert_eq!(pool_map(&items, 4, 3, |x| x + 1).len(), 20);
        let fail_on_7 = |x: &u32| {
            assert_ne!(*x, 7, "item 7 fails on purpose");
            *x
        };
        assert!(catch_unwind(|| parallel_map(&items, 4, fail_on_7)).is_err());
        assert!(catch_unwind(|| pool_map(&items, 4, 3, fail_on_7)).is_err());
    });
}

// ---------------------------------------------------------------------------
// Added for issue 13: many small chunk claims racing.

/// Rounds of the many-small-claims tests.
const CLAIM_ROUNDS: usize = 24;

/// With chunks of one or two items and up to 8 threads, hundreds of claims
/// race for the next chunk: every item must still be handed to exactly one
/// thread. Catches a chunk counter read and advanced in two steps (an atomic
/// `load` then a `store`, or a lock taken twice), which lets two threads
/// claim the same chunk.
#[test]
fn pool_map_hands_out_each_of_many_small_chunks_exactly_once() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..CLAIM_ROUNDS {
            let len = rng.random_range(200..=500);
            let threads = rng.random_range(4..=8);
            let chunk = rng.random_range(1..=2);
            let items: Vec<usize> = (0..len).collect();
            let calls: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
            let results = pool_map(&items, threads, chunk, |&i| {
                calls[i].fetch_add(1, Ordering::SeqCst);
                i * 3
            });
            let twice: Vec<usize> = (0..len)
                .filter(|&i| calls[i].load(Ordering::SeqCst) > 1)
                .collect();
            assert!(
                twice.is_empty(),
                "pool_map({len} items, {threads} threads, chunks of {chunk}) called f more \
                 than once for {} items (first: {:?}): two threads claimed the same chunk. \
                 Claiming the next chunk must be one atomic step (e.g. fetch_add), not a read \
                 followed by a write",
                twice.len(),
                &twice[..twice.len().min(5)]
            );
            let expected: Vec<usize> = items.iter().map(|&i| i * 3).collect();
            assert_eq!(
                results, expected,
                "pool_map({len} items, {threads} threads, chunks of {chunk}): wrong results or order"
            );
        }
    });
}
