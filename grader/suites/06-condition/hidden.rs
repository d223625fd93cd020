//! Hidden suite for exercise 06: `BoundedQueue`, a producer/consumer queue on
//! a condition variable.
//!
//! Beyond the visible tests it checks: many producers and consumers at once
//! (every item exactly once, per-producer order, `len()` never above the
//! capacity), wakeups stolen by another thread (the `if`-instead-of-`while`
//! bug), blocking without busy-waiting, `close` waking every blocked thread,
//! and the exact timing of `pop_timeout`.

use std::panic;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use exercise_06::{BoundedQueue, Closed, PopTimeoutError, TryPushError};
use rand::RngExt;

/// Watchdog limit of every test; a correct run takes well under a second.
use harness::{Cost, LIMIT, join_all_within, join_within};

/// How long a thread that should finish soon may take on a busy machine.
const PROMPTLY: Duration = Duration::from_secs(4);

/// Most CPU time a thread blocked for 300 ms may use. A thread asleep on a
/// condition variable uses well under 1 ms (measured: 0.03–0.3 ms, also
/// under the chaos stand-in); a spinning one uses its whole share of a core,
/// measured at 38 ms and more on a 2-core machine with a load average of 17.
const BUSY_CPU: Duration = Duration::from_millis(10);
/// Threads blocked at once in a busy-wait check.
const SLEEPERS: usize = 4;
/// The most CPU time [`SLEEPERS`] threads blocked for 300 ms may use between
/// them (correct code uses under 1 ms; yielding spinners on a busy machine,
/// over 60 ms).
const SLEEPERS_CPU: Duration = Duration::from_millis(20);

/// Many producers and consumers share a small queue. Every item pushed must
/// be popped exactly once, each consumer must see each producer's items in
/// order, no consumer may get `None` before `close`, and `len()` must never
/// be seen above the capacity. Catches `if` instead of `while` around a wait,
/// one condition variable woken with `notify_one` (a hang), and lost items.
#[test]
fn every_item_is_popped_exactly_once_with_many_producers_and_consumers() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let producers = rng.random_range(3..=6usize);
        let consumers = rng.random_range(2..=5usize);
        let capacity = rng.random_range(1..=4usize);
        let plans: Vec<Vec<(usize, usize, u64)>> = (0..producers)
            .map(|p| {
                let count = rng.random_range(150..300usize);
                (0..count)
                    .map(|seq| (p, seq, rng.random::<u64>()))
                    .collect()
            })
            .collect();
        println!("{producers} producers, {consumers} consumers, capacity {capacity}");

        let queue = Arc::new(BoundedQueue::new(capacity));
        let closing = Arc::new(AtomicBool::new(false));
        let most_seen = Arc::new(AtomicUsize::new(0));

        let consumer_handles: Vec<_> = (0..consumers)
            .map(|_| {
                let (queue, closing, most_seen) = (
                    Arc::clone(&queue),
                    Arc::clone(&closing),
                    Arc::clone(&most_seen),
                );
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Some(item) = queue.pop() {
                        most_seen.fetch_max(queue.len(), Ordering::SeqCst);
                        got.push(item);
                    }
                    // `None` is only allowed after the main thread began closing.
                    (got, closing.load(Ordering::SeqCst))
                })
            })
            .collect();
        let producer_handles: Vec<_> = plans
            .iter()
            .cloned()
            .map(|plan| {
                let (queue, most_seen) = (Arc::clone(&queue), Arc::clone(&most_seen));
                thread::spawn(move || {
                    for item in plan {
                        queue
                            .push(item)
                            .expect("push on an open queue must succeed");
                        most_seen.fetch_max(queue.len(), Ordering::SeqCst);
                    }
                })
            })
            .collect();

        join_all_within(
            producer_handles,
            PROMPTLY,
            "producers never finished pushing (a lost wakeup: a waiting thread was never notified?)",
        );
        closing.store(true, Ordering::SeqCst);
        queue.close();
        let results = join_all_within(
            consumer_handles,
            PROMPTLY,
            "consumers never finished after close (a lost wakeup, or close does not wake everyone?)",
        );

        let mut popped = Vec::new();
        for (consumer, (got, closed_before_none)) in results.into_iter().enumerate() {
            assert!(
                closed_before_none,
                "consumer {consumer} got None from pop() before the queue was closed: \
                 pop returned after a wakeup although the queue was empty"
            );
            let mut next_seq = vec![0usize; producers];
            for &(p, seq, _) in &got {
                assert!(
                    seq >= next_seq[p],
                    "consumer {consumer} got item {seq} of producer {p} after a later one: \
                     the queue is not first-in, first-out"
                );
                next_seq[p] = seq + 1;
            }
            popped.extend(got);
        }
        let most = most_seen.load(Ordering::SeqCst);
        assert!(
            most <= capacity,
            "len() was {most} with capacity {capacity}: a push went beyond the capacity"
        );
        let mut pushed: Vec<_> = plans.into_iter().flatten().collect();
        pushed.sort_unstable();
        popped.sort_unstable();
        assert_eq!(
            popped.len(),
            pushed.len(),
            "items pushed and items popped differ in number (lost or duplicated items)"
        );
        assert!(
            popped == pushed,
            "the items popped are not exactly the items pushed"
        );
    });
}

/// Several producers feed one consumer: it must receive every producer's
/// items complete and in the order that producer pushed them. Catches a
/// queue that pops from the wrong end (last in, first out) or drops items.
#[test]
fn a_single_consumer_sees_each_producers_items_in_order() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let producers = rng.random_range(2..=5usize);
        let capacity = rng.random_range(1..=5usize);
        let counts: Vec<usize> = (0..producers).map(|_| rng.random_range(60..150)).collect();
        let queue = Arc::new(BoundedQueue::new(capacity));
        let handles: Vec<_> = counts
            .iter()
            .enumerate()
            .map(|(p, &count)| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || {
                    for seq in 0..count {
                        queue
                            .push((p, seq))
                            .expect("push on an open queue must succeed");
                    }
                })
            })
            .collect();
        let consumer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Some(item) = queue.pop() {
                    got.push(item);
                }
                got
            })
        };
        join_all_within(handles, PROMPTLY, "producers never finished pushing");
        queue.close();
        let got = join_within(consumer, PROMPTLY, "the consumer never saw the queue close");
        for (p, &count) in counts.iter().enumerate() {
            let seqs: Vec<usize> = got.iter().filter(|i| i.0 == p).map(|i| i.1).collect();
            let expected: Vec<usize> = (0..count).collect();
            assert!(
                seqs == expected,
                "producer {p} pushed items 0..{count} in order, but the consumer got them as \
                 {:?}... (must be first-in, first-out and complete)",
                &seqs[..seqs.len().min(12)]
            );
        }
    });
}

/// Two consumers block in `pop()` on an empty queue; the main thread
/// pushes an item and at once takes it back with `try_pop()`, so the
/// consumer woken for that item finds the queue empty again. It must go
/// back to waiting: a `pop` that returns `None` (or anything) on an open,
/// empty queue is the `if`-instead-of-`while` bug.
#[test]
fn a_consumer_woken_for_an_item_someone_else_took_waits_again() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let rounds = rng.random_range(120..180u64);
        let queue = Arc::new(BoundedQueue::new(1));
        let closing = Arc::new(AtomicBool::new(false));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, closing) = (Arc::clone(&queue), Arc::clone(&closing));
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Some(item) = queue.pop() {
                        got.push(item);
                    }
                    (got, closing.load(Ordering::SeqCst))
                })
            })
            .collect();
        let mut taken_back = Vec::new();
        for round in 0..rounds {
            // Give the consumers time to block in pop() again.
            thread::sleep(Duration::from_millis(1));
            queue
                .push(round)
                .expect("push on an open queue must succeed");
            // Steal the item before the woken consumer gets the lock back.
            if let Some(item) = queue.try_pop() {
                taken_back.push(item);
            }
        }
        closing.store(true, Ordering::SeqCst);
        queue.close();
        let results = join_all_within(consumers, PROMPTLY, "consumers never returned after close");
        let mut all = taken_back;
        for (consumer, (got, closed_before_none)) in results.into_iter().enumerate() {
            assert!(
                closed_before_none,
                "consumer {consumer} got None from pop() on an open queue after its item was \
                 taken by another thread: re-check the condition after every wakeup"
            );
            all.extend(got);
        }
        all.sort_unstable();
        assert_eq!(
            all,
            (0..rounds).collect::<Vec<_>>(),
            "items lost or duplicated"
        );
    });
}

/// Two producers block in `push()` on a full queue of capacity 1; the main
/// thread pops an item and at once refills the slot with `try_push()`, so the
/// producer woken for that slot finds the queue full again. It must go back
/// to waiting: a push that goes ahead makes `len()` exceed the capacity (the
/// `if`-instead-of-`while` bug on the producer side).
#[test]
fn a_producer_woken_for_a_slot_someone_else_took_waits_again() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let rounds = rng.random_range(120..180u64);
        const MAIN: u64 = 1 << 40;
        let queue = Arc::new(BoundedQueue::new(1));
        let most_seen = Arc::new(AtomicUsize::new(0));
        queue.push(MAIN + rounds).unwrap();
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let (queue, most_seen) = (Arc::clone(&queue), Arc::clone(&most_seen));
                thread::spawn(move || {
                    let mut pushed = Vec::new();
                    for seq in 0.. {
                        let item = (p << 20) + seq;
                        match queue.push(item) {
                            Ok(()) => {
                                most_seen.fetch_max(queue.len(), Ordering::SeqCst);
                                pushed.push(item);
                            }
                            Err(Closed(back)) => {
                                assert_eq!(back, item, "push must give back the item it refused");
                                break;
                            }
                        }
                    }
                    pushed
                })
            })
            .collect();
        let mut pushed = vec![MAIN + rounds];
        let mut popped = Vec::new();
        for round in 0..rounds {
            // Give the producers time to block in push() again.
            thread::sleep(Duration::from_millis(1));
            most_seen.fetch_max(queue.len(), Ordering::SeqCst);
            if let Some(item) = queue.try_pop() {
                popped.push(item);
            }
            // Take the freed slot before the woken producer gets the lock back.
            if queue.try_push(MAIN + round).is_ok() {
                pushed.push(MAIN + round);
            }
        }
        most_seen.fetch_max(queue.len(), Ordering::SeqCst);
        queue.close();
        for got in join_all_within(producers, PROMPTLY, "producers never returned after close") {
            pushed.extend(got);
        }
        while let Some(item) = queue.pop() {
            popped.push(item);
        }
        let most = most_seen.load(Ordering::SeqCst);
        assert!(
            most <= 1,
            "len() was {most} on a queue of capacity 1: a producer woken for a slot that another \
             thread took pushed anyway; re-check the condition after every wakeup"
        );
        pushed.sort_unstable();
        popped.sort_unstable();
        assert_eq!(popped, pushed, "items lost or duplicated");
    });
}

/// Producers and consumers wait at the same time on a queue of capacity 1:
/// two consumers block on the empty queue and one thread pushes two items in
/// a row (its second push blocks until a consumer makes room), then the
/// mirror image (two producers block on the full queue, one thread pops
/// twice). Every thread must finish. Catches one condition variable shared
/// by both kinds of waiter and woken with `notify_one`: the wakeup meant
/// for the blocked pusher goes to the other consumer, and both sleep forever.
/// A round shows the bug only when the actor's second call takes the lock
/// before the woken waiter does: under the `std` twins about one round in
/// eight, going by 32 rounds letting 2 runs in 130 through; hence 64 rounds.
#[test]
fn each_change_wakes_a_waiter_that_can_proceed() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        for round in 0..64u64 {
            let queue = Arc::new(BoundedQueue::new(1));
            let (waiters, actor): (Vec<JoinHandle<Option<u64>>>, JoinHandle<Vec<u64>>);
            let base = rng.random_range(0..1000u64) * 10;
            if round % 2 == 0 {
                waiters = (0..2)
                    .map(|_| {
                        let queue = Arc::clone(&queue);
                        thread::spawn(move || queue.pop())
                    })
                    .collect();
                // Time for both to block (longer on a busy machine, where
                // threads start late and the round would test nothing).
                thread::sleep(harness::scaled(Duration::from_millis(5)));
                let queue = Arc::clone(&queue);
                actor = thread::spawn(move || {
                    queue.push(base).unwrap();
                    queue.push(base + 1).unwrap();
                    Vec::new()
                });
            } else {
                queue.push(base + 2).unwrap();
                waiters = (0..2)
                    .map(|i| {
                        let queue = Arc::clone(&queue);
                        thread::spawn(move || queue.push(base + i).err().map(Closed::into_inner))
                    })
                    .collect();
                // Time for both to block (longer on a busy machine, where
                // threads start late and the round would test nothing).
                thread::sleep(harness::scaled(Duration::from_millis(5)));
                let queue = Arc::clone(&queue);
                actor = thread::spawn(move || {
                    let first = queue.pop().unwrap();
                    let second = queue.pop().unwrap();
                    vec![first, second]
                });
            }
            let what = "a thread blocked while the queue could serve it: a change woke a waiter \
                        of the wrong kind (producer or consumer) and the right one slept on";
            let popped_by_actor = join_within(actor, PROMPTLY, what);
            let results = join_all_within(waiters, PROMPTLY, what);
            let mut seen: Vec<u64> = popped_by_actor;
            if round % 2 == 0 {
                seen.extend(results.into_iter().map(|r| r.expect("a consumer got None")));
                seen.sort_unstable();
                assert_eq!(seen, vec![base, base + 1], "round {round}: items lost");
            } else {
                assert!(results.iter().all(Option::is_none), "a push was refused");
                seen.extend(queue.try_pop());
                seen.sort_unstable();
                // The actor popped two of the three items; the third is
                // still queued and was read back above.
                assert_eq!(
                    seen,
                    vec![base, base + 1, base + 2],
                    "round {round}: items lost"
                );
            }
        }
    });
}

/// A full queue makes `try_push` fail with the item given back and makes
/// `push` block; one `pop` must release the blocked pusher, whose item then
/// comes out last. Catches a `pop` that never wakes a waiting pusher and a
/// capacity that is off by one.
#[test]
fn push_blocks_while_full_and_one_pop_releases_it() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let capacity = rng.random_range(1..=5usize);
        let items: Vec<u64> = (0..capacity).map(|_| rng.random_range(0..1000)).collect();
        let extra = rng.random_range(1000..2000u64);
        let queue = Arc::new(BoundedQueue::new(capacity));
        for &item in &items {
            queue
                .try_push(item)
                .expect("try_push below the capacity must succeed");
        }
        assert_eq!(queue.len(), capacity);
        assert_eq!(queue.try_push(extra), Err(TryPushError::Full(extra)));
        let pusher = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.push(extra))
        };
        thread::sleep(Duration::from_millis(100));
        assert!(
            !pusher.is_finished(),
            "push returned although the queue was full"
        );
        assert_eq!(queue.len(), capacity, "a push went beyond the capacity");
        assert_eq!(queue.pop(), Some(items[0]));
        let pushed = join_within(
            pusher,
            PROMPTLY,
            "a pusher blocked on a full queue was not released by a pop (does pop wake pushers?)",
        );
        assert_eq!(pushed, Ok(()));
        let mut rest = Vec::new();
        while let Some(item) = queue.try_pop() {
            rest.push(item);
        }
        let mut expected = items[1..].to_vec();
        expected.push(extra);
        assert_eq!(rest, expected, "items out of order after the blocked push");
    });
}

/// Consumers blocked in `pop()` for 300 ms must use almost no CPU time:
/// [`SLEEPERS`] of them, less than [`SLEEPERS_CPU`] between them, and rarely
/// even runnable (`Cost::busy_waited`). Catches a `pop` that spins (a loop
/// around `try_pop`, a sleep-less retry, `yield_now`) instead of waiting on
/// a condition variable, also on a loaded machine, where a yielding spinner
/// gets little CPU but is always waiting for one.
#[test]
fn pop_on_an_empty_queue_blocks_without_busy_waiting() {
    harness::check(LIMIT, || {
        let queue = Arc::new(BoundedQueue::new(SLEEPERS));
        let consumers: Vec<_> = (0..SLEEPERS)
            .map(|_| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || harness::measure(|| queue.pop()))
            })
            .collect();
        thread::sleep(Duration::from_millis(300));
        assert!(
            consumers.iter().all(|c| !c.is_finished()),
            "pop returned on an empty queue"
        );
        for item in 0..SLEEPERS as u64 {
            queue.push(item).unwrap();
        }
        let mut cost = Cost::default();
        for (item, used) in
            join_all_within(consumers, PROMPTLY, "pushes did not wake every consumer")
        {
            assert!(item.is_some(), "a consumer got {item:?} from an open queue");
            cost += used;
        }
        println!("{SLEEPERS} consumers blocked, {cost}");
        assert!(
            !cost.busy_waited(SLEEPERS_CPU),
            "{SLEEPERS} blocked consumers cost between them {cost}: pop is busy-waiting \
             instead of sleeping on a condition variable"
        );
    });
}

/// Producers blocked in `push()` on a full queue for 300 ms must use almost
/// no CPU time: [`SLEEPERS`] of them, less than [`SLEEPERS_CPU`] between them,
/// and rarely even runnable. Catches a `push` that spins instead of waiting.
#[test]
fn push_on_a_full_queue_blocks_without_busy_waiting() {
    harness::check(LIMIT, || {
        let queue = Arc::new(BoundedQueue::new(1));
        queue.push(0u64).unwrap();
        let producers: Vec<_> = (1..=SLEEPERS as u64)
            .map(|item| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || harness::measure(|| queue.push(item)))
            })
            .collect();
        thread::sleep(Duration::from_millis(300));
        assert!(
            producers.iter().all(|p| !p.is_finished()),
            "push returned on a full queue"
        );
        // Each pop frees the slot one blocked producer fills.
        for _ in 0..=SLEEPERS {
            let popped = queue.pop_timeout(harness::scaled(PROMPTLY));
            assert!(
                popped.is_ok(),
                "a pop did not wake a blocked producer: {popped:?}"
            );
        }
        let mut cost = Cost::default();
        for (result, used) in
            join_all_within(producers, PROMPTLY, "pops did not wake every producer")
        {
            assert_eq!(result, Ok(()));
            cost += used;
        }
        println!("{SLEEPERS} producers blocked, {cost}");
        assert!(
            !cost.busy_waited(SLEEPERS_CPU),
            "{SLEEPERS} blocked producers cost between them {cost}: push is busy-waiting \
             instead of sleeping on a condition variable"
        );
    });
}

/// Several consumers block in `pop()` and one in `pop_timeout()` on an empty
/// queue; `close()` must wake every one of them: `pop` returns `None` and
/// `pop_timeout` returns `Err(Closed)` long before its timeout. Catches a
/// `close` that notifies only one waiter or forgets the consumers.
#[test]
fn close_wakes_every_blocked_consumer() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let count = rng.random_range(2..=6usize);
        let queue = Arc::new(BoundedQueue::<u64>::new(rng.random_range(1..=3)));
        let poppers: Vec<_> = (0..count)
            .map(|_| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.pop())
            })
            .collect();
        let timed = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.pop_timeout(Duration::from_secs(30)))
        };
        thread::sleep(Duration::from_millis(100));
        assert!(
            poppers.iter().all(|h| !h.is_finished()) && !timed.is_finished(),
            "a consumer returned from an empty, open queue"
        );
        queue.close();
        let results = join_all_within(
            poppers,
            PROMPTLY,
            "close() did not wake every consumer blocked in pop() (notify all of them)",
        );
        assert!(
            results.iter().all(Option::is_none),
            "pop on a closed, empty queue must return None"
        );
        let timed = join_within(
            timed,
            PROMPTLY,
            "close() did not wake a consumer blocked in pop_timeout()",
        );
        assert_eq!(timed, Err(PopTimeoutError::Closed));
    });
}

/// Several producers block in `push()` on a full queue; `close()` must wake
/// every one of them with `Err(Closed(item))` giving its own item back, and
/// the items already queued must still come out, in order, before `None`.
/// Catches a `close` that forgets the producers or notifies only one.
#[test]
fn close_wakes_every_blocked_producer_and_gives_its_item_back() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let capacity = rng.random_range(1..=4usize);
        let count = rng.random_range(2..=6u64);
        let queue = Arc::new(BoundedQueue::new(capacity));
        let queued: Vec<u64> = (0..capacity as u64).map(|i| 100 + i).collect();
        for &item in &queued {
            queue.push(item).unwrap();
        }
        let pushers: Vec<_> = (0..count)
            .map(|i| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || (i, queue.push(1000 + i)))
            })
            .collect();
        thread::sleep(Duration::from_millis(100));
        assert!(
            pushers.iter().all(|h| !h.is_finished()),
            "a push returned on a full, open queue"
        );
        queue.close();
        let results = join_all_within(
            pushers,
            PROMPTLY,
            "close() did not wake every producer blocked in push() (notify all of them)",
        );
        for (i, result) in results {
            assert_eq!(
                result,
                Err(Closed(1000 + i)),
                "a push woken by close must fail and give its own item back"
            );
        }
        assert_eq!(queue.len(), capacity, "close must keep the queued items");
        let mut rest = Vec::new();
        while let Some(item) = queue.pop() {
            rest.push(item);
        }
        assert_eq!(
            rest, queued,
            "the queued items must still come out, in order"
        );
        assert_eq!(queue.pop(), None);
    });
}

/// `pop_timeout` on an empty queue returns `Err(Timeout)` no earlier than its
/// timeout, without spinning meanwhile; when an item arrives during the wait
/// it returns that item at once. Catches a timeout measured wrongly, a
/// busy-waiting `pop_timeout`, and one that misses the push.
#[test]
fn pop_timeout_waits_out_its_timeout_on_an_empty_queue() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let timeout = Duration::from_millis(rng.random_range(150..300));
        let queue = Arc::new(BoundedQueue::new(2));
        let (result, cost) = harness::measure(|| queue.pop_timeout(timeout));
        let wall = cost.wall;
        assert_eq!(result, Err(PopTimeoutError::Timeout));
        assert!(
            wall >= timeout,
            "pop_timeout({timeout:?}) gave up after only {wall:?}"
        );
        assert!(
            wall < timeout + harness::scaled(Duration::from_secs(2)),
            "pop_timeout({timeout:?}) took {wall:?}"
        );
        println!("blocked: {cost}");
        assert!(
            !cost.busy_waited(BUSY_CPU),
            "pop_timeout cost {cost} while it waited: it is busy-waiting"
        );

        let item = rng.random::<u64>();
        let waiter = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                let start = Instant::now();
                (queue.pop_timeout(Duration::from_secs(30)), start.elapsed())
            })
        };
        thread::sleep(Duration::from_millis(50));
        queue.push(item).unwrap();
        let (result, waited) = join_within(
            waiter,
            PROMPTLY,
            "pop_timeout(30 s) was not woken by a push",
        );
        assert_eq!(result, Ok(item));
        assert!(
            waited < harness::scaled(PROMPTLY),
            "pop_timeout took {waited:?} to see a push"
        );
    });
}

/// After `close`, `pop_timeout` returns the remaining items, then
/// `Err(Closed)` at once (not after waiting out its timeout); `try_pop`
/// returns `None`. Catches a `pop_timeout` that ignores `close` or drops
/// the remaining items.
#[test]
fn pop_timeout_reports_closed_once_closed_and_drained() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let capacity = rng.random_range(2..=6usize);
        let items: Vec<u64> = (0..rng.random_range(1..=capacity))
            .map(|_| rng.random())
            .collect();
        let queue = BoundedQueue::new(capacity);
        for &item in &items {
            queue.push(item).unwrap();
        }
        queue.close();
        // Long enough that waiting it out fails the test, short enough to stay
        // under the watchdog.
        let long = harness::scaled(Duration::from_secs(6));
        let start = Instant::now();
        for &item in &items {
            assert_eq!(
                queue.pop_timeout(long),
                Ok(item),
                "items queued before close must still be delivered, in order"
            );
        }
        assert_eq!(queue.pop_timeout(long), Err(PopTimeoutError::Closed));
        assert!(
            start.elapsed() < harness::scaled(PROMPTLY),
            "pop_timeout waited on a closed queue instead of returning Err(Closed)"
        );
        assert_eq!(queue.try_pop(), None);
        assert_eq!(queue.pop(), None);
    });
}

/// A closed queue refuses `push` and `try_push` (reporting `Closed`, even
/// when it is also full) and gives the item back each time; closing twice is
/// harmless and `len`/`capacity`/`is_closed` stay truthful.
#[test]
fn a_closed_queue_refuses_every_push_and_gives_the_item_back() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let capacity = rng.random_range(1..=5usize);
        let queue = BoundedQueue::new(capacity);
        let first = rng.random::<u64>();
        queue.push(first).unwrap();
        queue.close();
        queue.close();
        assert!(queue.is_closed());
        let item = rng.random::<u64>();
        assert_eq!(queue.push(item), Err(Closed(item)));
        assert_eq!(queue.try_push(item), Err(TryPushError::Closed(item)));
        assert_eq!(queue.len(), 1, "a refused push must not add the item");
        assert_eq!(queue.capacity(), capacity);

        let full = BoundedQueue::new(1);
        full.push(first).unwrap();
        full.close();
        assert_eq!(
            full.try_push(item),
            Err(TryPushError::Closed(item)),
            "a queue that is closed and full reports Closed"
        );
        assert_eq!(full.pop(), Some(first));
        assert_eq!(full.pop(), None);
        assert!(full.is_empty());
    });
}

/// A long random sequence of operations on one thread must match a simple
/// model of a bounded first-in, first-out queue: `len`, `is_empty`,
/// `try_push`/`try_pop` results, and `pop_timeout` with a short timeout.
/// Catches off-by-one capacities and wrong ends.
#[test]
fn random_operations_on_one_thread_match_a_simple_model() {
    harness::check(LIMIT, || {
        use std::collections::VecDeque;
        let mut rng = harness::rng();
        // At least 2: with room for one item, either end is the same end.
        let capacity = rng.random_range(2..=8usize);
        let queue = BoundedQueue::new(capacity);
        let mut model = VecDeque::new();
        for step in 0..2000 {
            let value = rng.random::<u32>();
            match rng.random_range(0..6) {
                0 if model.len() < capacity => {
                    queue.push(value).unwrap();
                    model.push_back(value);
                }
                0 | 1 => {
                    let expected = if model.len() < capacity {
                        model.push_back(value);
                        Ok(())
                    } else {
                        Err(TryPushError::Full(value))
                    };
                    assert_eq!(queue.try_push(value), expected, "step {step}: try_push");
                }
                2 if !model.is_empty() => {
                    assert_eq!(queue.pop(), model.pop_front(), "step {step}: pop");
                }
                2 | 3 => assert_eq!(queue.try_pop(), model.pop_front(), "step {step}: try_pop"),
                4 => {
                    let expected = model.pop_front().ok_or(PopTimeoutError::Timeout);
                    assert_eq!(
                        queue.pop_timeout(Duration::from_micros(200)),
                        expected,
                        "step {step}: pop_timeout"
                    );
                }
                _ => {}
            }
            assert_eq!(queue.len(), model.len(), "step {step}: len");
            assert_eq!(queue.is_empty(), model.is_empty(), "step {step}: is_empty");
            assert_eq!(queue.capacity(), capacity);
        }
    });
}

/// `BoundedQueue::new(0)` panics (as documented): such a queue could never
/// accept an item, so every push would block forever.
#[test]
fn a_queue_of_capacity_zero_is_refused_with_a_panic() {
    harness::check(LIMIT, || {
        // A capacity of 1 is fine, so the panic below is the one for 0.
        let one = BoundedQueue::<u64>::new(1);
        assert_eq!(one.capacity(), 1);
        let result = panic::catch_unwind(|| BoundedQueue::<u64>::new(0));
        assert!(result.is_err(), "BoundedQueue::new(0) must panic");
    });
}
