//! Visible tests for exercise 10: the basic behaviour of each function.
//! The hidden tests go further (random inputs, probes that only pass if the
//! threads really run at the same time, uneven work that must be balanced).

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::Duration;

use exercise_10::{count_primes, parallel_map, parallel_sum, pool_map};
use parking_lot::Mutex;

#[path = "../../within.rs"]
mod within;
use within::{eventually, within};

#[test]
fn parallel_sum_adds_every_value() {
    within(Duration::from_secs(2), || {
        let values: Vec<u64> = (1..=1000).collect();
        assert_eq!(parallel_sum(&values, 4), 500_500);
        assert_eq!(
            parallel_sum(&values, 7),
            500_500,
            "1000 does not split evenly over 7"
        );
        assert_eq!(parallel_sum(&[5, 6], 8), 11, "more threads than values");
        assert_eq!(parallel_sum(&[], 3), 0);
    });
}

#[test]
fn parallel_map_keeps_the_input_order() {
    within(Duration::from_secs(2), || {
        let words = ["one", "three", "five", "seven", "eleven"];
        let lengths = parallel_map(&words, 2, |w| w.len());
        assert_eq!(lengths, vec![3, 5, 4, 5, 6]);
    });
}

#[test]
fn parallel_map_uses_the_requested_number_of_threads() {
    within(Duration::from_secs(2), || {
        let seen = Mutex::new(HashSet::new());
        let items: Vec<u32> = (0..10).collect();
        parallel_map(&items, 3, |_| {
            seen.lock().insert(thread::current().id());
        });
        assert_eq!(seen.lock().len(), 3, "10 items over 3 threads");
    });
}

#[test]
fn pool_map_keeps_the_input_order() {
    within(Duration::from_secs(2), || {
        let items: Vec<u64> = (0..20).collect();
        let squares = pool_map(&items, 3, 4, |&x| x * x);
        assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
    });
}

#[test]
fn count_primes_counts_up_to_and_including_the_limit() {
    within(Duration::from_secs(2), || {
        assert_eq!(count_primes(0, 2), 0);
        assert_eq!(count_primes(1, 2), 0);
        assert_eq!(count_primes(2, 2), 1);
        assert_eq!(count_primes(10, 3), 4); // 2, 3, 5, 7
        assert_eq!(count_primes(100, 4), 25);
        assert_eq!(count_primes(7919, 3), 1000, "7919 is the 1000th prime");
    });
}

#[test]
fn zero_threads_is_refused_with_a_panic() {
    within(Duration::from_secs(2), || {
        let items = [1_u64, 2, 3];
        // One thread is fine...
        assert_eq!(parallel_sum(&items, 1), 6);
        assert_eq!(parallel_map(&items, 1, |x| x + 1), vec![2, 3, 4]);
        assert_eq!(pool_map(&items, 1, 1, |x| x + 1), vec![2, 3, 4]);
        assert_eq!(count_primes(10, 1), 4);
        // ...zero threads is a bug in the caller.
        assert!(catch_unwind(|| parallel_sum(&items, 0)).is_err());
        assert!(catch_unwind(|| parallel_map(&items, 0, |x| x + 1)).is_err());
        assert!(catch_unwind(|| pool_map(&items, 0, 1, |x| x + 1)).is_err());
        assert!(catch_unwind(AssertUnwindSafe(|| count_primes(10, 0))).is_err());
    });
}

// Probes of the lesson's classic bugs (its "Pitfalls" section): light
// versions of what the hidden tests check in depth.

#[test]
fn parallel_sum_keeps_the_leftover_values() {
    let values: Vec<u64> = (1..=10).collect();
    assert_eq!(
        within(Duration::from_secs(2), move || parallel_sum(&values, 3)),
        55
    );
}

#[test]
fn parallel_map_gives_nine_items_to_exactly_four_threads() {
    let threads = within(Duration::from_secs(2), || {
        let seen = Mutex::new(HashSet::new());
        let items: Vec<u32> = (0..9).collect();
        parallel_map(&items, 4, |_| {
            seen.lock().insert(thread::current().id());
        });
        seen.into_inner().len()
    });
    assert_eq!(
        threads, 4,
        "9 items on 4 threads must use all 4 (parts of 3, 2, 2, 2)"
    );
}

#[test]
fn parallel_map_runs_its_threads_at_the_same_time_and_keeps_input_order() {
    let results = within(Duration::from_secs(3), || {
        // One item per thread; each waits for all four to start, and the
        // first one finishes last.
        let all_started = std::sync::Barrier::new(4);
        let items = [0_u64, 1, 2, 3];
        parallel_map(&items, 4, |&i| {
            all_started.wait();
            thread::sleep(Duration::from_millis(40 * (3 - i)));
            i * 100
        })
    });
    assert_eq!(results, vec![0, 100, 200, 300]);
}

#[test]
fn pool_map_hands_out_whole_chunks() {
    let owners = within(Duration::from_secs(3), || {
        let owner = Mutex::new(vec![None; 7]);
        let items: Vec<usize> = (0..7).collect();
        pool_map(&items, 2, 3, |&i| {
            owner.lock()[i] = Some(thread::current().id());
            thread::sleep(Duration::from_millis(5));
        });
        owner.into_inner()
    });
    for chunk in owners.chunks(3) {
        assert!(
            chunk.iter().all(|t| *t == chunk[0]),
            "the items of one chunk of 3 were handled by different threads"
        );
    }
}

#[test]
fn pool_map_lets_free_threads_take_the_chunks_after_a_slow_one() {
    let with_slow = within(Duration::from_secs(5), || {
        let owner = Mutex::new(vec![None; 6]);
        let others_done = std::sync::atomic::AtomicUsize::new(0);
        let items: Vec<usize> = (0..6).collect();
        pool_map(&items, 2, 1, |&i| {
            owner.lock()[i] = Some(thread::current().id());
            if i == 0 {
                // Slow until the five others are done (or 3 s passed).
                eventually(Duration::from_secs(3), || {
                    others_done.load(std::sync::atomic::Ordering::SeqCst) >= 5
                });
            } else {
                thread::sleep(Duration::from_millis(5));
                others_done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let owner = owner.into_inner();
        (1..6).filter(|&i| owner[i] == owner[0]).collect::<Vec<_>>()
    });
    assert!(
        with_slow.is_empty(),
        "the thread busy with the slow first item also handled items {with_slow:?}: chunks must be claimed as threads get free"
    );
}
