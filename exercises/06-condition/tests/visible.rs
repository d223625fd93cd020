//! Visible tests for exercise 06: the basic behaviour of `BoundedQueue`.
//! The hidden tests go further (many threads, stolen wakeups, busy-waiting).

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use exercise_06::{BoundedQueue, Closed, PopTimeoutError, TryPushError};

#[path = "../../within.rs"]
mod within;
use within::within;

#[test]
fn items_come_out_in_the_order_they_went_in() {
    within(Duration::from_secs(2), || {
        let queue = BoundedQueue::new(3);
        assert_eq!(queue.capacity(), 3);
        assert!(queue.is_empty());
        for item in [10, 20, 30] {
            queue.push(item).unwrap();
        }
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.pop(), Some(10));
        assert_eq!(queue.try_pop(), Some(20));
        assert_eq!(queue.pop(), Some(30));
        assert_eq!(queue.len(), 0);
    });
}

#[test]
fn try_push_and_try_pop_never_block() {
    within(Duration::from_secs(2), || {
        let queue = BoundedQueue::new(1);
        assert_eq!(queue.try_pop(), None);
        assert_eq!(queue.try_push('a'), Ok(()));
        assert_eq!(queue.try_push('b'), Err(TryPushError::Full('b')));
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.try_pop(), Some('a'));
    });
}

#[test]
fn pop_waits_for_an_item_from_another_thread() {
    within(Duration::from_secs(2), || {
        let queue = Arc::new(BoundedQueue::new(2));
        let consumer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.pop())
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!consumer.is_finished(), "pop returned on an empty queue");
        queue.push("hello").unwrap();
        assert_eq!(consumer.join().unwrap(), Some("hello"));
    });
}

#[test]
fn push_waits_while_the_queue_is_full() {
    within(Duration::from_secs(2), || {
        let queue = Arc::new(BoundedQueue::new(1));
        queue.push(1).unwrap();
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.push(2))
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!producer.is_finished(), "push returned on a full queue");
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.pop(), Some(1));
        assert_eq!(producer.join().unwrap(), Ok(()));
        assert_eq!(queue.pop(), Some(2));
    });
}

#[test]
fn a_closed_queue_is_drained_then_pop_returns_none() {
    within(Duration::from_secs(2), || {
        let queue = BoundedQueue::new(4);
        queue.push(1).unwrap();
        queue.push(2).unwrap();
        assert!(!queue.is_closed());
        queue.close();
        assert!(queue.is_closed());
        assert_eq!(queue.push(3), Err(Closed(3)));
        assert_eq!(queue.pop(), Some(1));
        assert_eq!(queue.pop(), Some(2));
        assert_eq!(queue.pop(), None);
    });
}

#[test]
fn close_wakes_a_blocked_consumer() {
    within(Duration::from_secs(2), || {
        let queue = Arc::new(BoundedQueue::<u64>::new(1));
        let consumer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.pop())
        };
        thread::sleep(Duration::from_millis(50));
        queue.close();
        assert_eq!(consumer.join().unwrap(), None);
    });
}

#[test]
fn pop_timeout_gives_up_after_the_timeout() {
    within(Duration::from_secs(2), || {
        let queue = BoundedQueue::<u64>::new(1);
        let start = Instant::now();
        assert_eq!(
            queue.pop_timeout(Duration::from_millis(100)),
            Err(PopTimeoutError::Timeout)
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
        queue.push(7).unwrap();
        assert_eq!(queue.pop_timeout(Duration::from_millis(100)), Ok(7));
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
fn close_wakes_every_blocked_consumer() {
    within(Duration::from_secs(3), || {
        let queue: BoundedQueue<u32> = BoundedQueue::new(2);
        thread::scope(|scope| {
            let consumers: Vec<_> = (0..3).map(|_| scope.spawn(|| queue.pop())).collect();
            let timed = scope.spawn(|| queue.pop_timeout(Duration::from_secs(10)));
            thread::sleep(Duration::from_millis(100));
            queue.close();
            for consumer in consumers {
                assert_eq!(consumer.join().unwrap(), None);
            }
            assert_eq!(timed.join().unwrap(), Err(PopTimeoutError::Closed));
        });
    });
}

#[test]
fn a_pop_wakes_a_producer_blocked_on_a_full_queue() {
    within(Duration::from_secs(3), || {
        let queue = BoundedQueue::new(1);
        queue.push(1).unwrap();
        thread::scope(|scope| {
            let producer = scope.spawn(|| queue.push(2));
            thread::sleep(Duration::from_millis(100));
            assert_eq!(queue.pop(), Some(1));
            producer.join().unwrap().unwrap();
            assert_eq!(queue.pop(), Some(2));
        });
    });
}

#[test]
fn closing_keeps_the_items_already_queued() {
    within(Duration::from_secs(3), || {
        let queue = BoundedQueue::new(3);
        queue.push('a').unwrap();
        queue.push('b').unwrap();
        queue.close();
        assert_eq!(queue.pop(), Some('a'));
        assert_eq!(queue.pop_timeout(Duration::from_secs(1)), Ok('b'));
        assert_eq!(queue.pop(), None);
    });
}

#[test]
fn a_consumer_waiting_on_an_empty_queue_uses_no_cpu() {
    within(Duration::from_secs(5), || {
        let queue = BoundedQueue::new(1);
        thread::scope(|scope| {
            let consumer = scope.spawn(|| {
                let before = thread_cpu_time();
                assert_eq!(queue.pop(), Some(9));
                thread_cpu_time()
                    .zip(before)
                    .map(|(after, before)| after - before)
            });
            thread::sleep(Duration::from_millis(300));
            queue.push(9).unwrap();
            if let Some(used) = consumer.join().unwrap() {
                assert!(
                    used.is_asleep(),
                    "a consumer waiting 300 ms spent {used:?}: it must sleep, not poll"
                );
            }
        });
    });
}

#[test]
fn many_producers_and_consumers_through_a_one_slot_queue() {
    // Producers and consumers keep waking each other through one slot: a
    // woken thread that does not re-check, or a wakeup that reaches the
    // wrong kind of thread, loses or duplicates items, or hangs.
    within(Duration::from_secs(8), || {
        let queue = BoundedQueue::new(1);
        let seen = std::sync::Mutex::new(Vec::new());
        thread::scope(|scope| {
            let producers: Vec<_> = (0..2_u32)
                .map(|p| {
                    let queue = &queue;
                    scope.spawn(move || {
                        for i in 0..1_000 {
                            queue.push(p * 10_000 + i).unwrap();
                            assert!(queue.len() <= 1, "the queue went past its capacity");
                        }
                    })
                })
                .collect();
            for _ in 0..2 {
                scope.spawn(|| {
                    while let Some(item) = queue.pop() {
                        seen.lock().unwrap().push(item);
                    }
                    assert!(
                        queue.is_closed(),
                        "pop returned None before the queue was closed"
                    );
                });
            }
            for producer in producers {
                producer.join().unwrap();
            }
            queue.close();
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        let expected: Vec<u32> = (0..2_u32)
            .flat_map(|p| (0..1_000).map(move |i| p * 10_000 + i))
            .collect();
        assert!(
            seen == expected,
            "{} items came out of 2000 pushed",
            seen.len()
        );
    });
}
