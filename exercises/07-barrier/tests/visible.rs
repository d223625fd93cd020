//! Visible tests for exercise 07: the basic behaviour of `Barrier`.
//! The hidden tests go further (many generations with random party counts,
//! abort and reset while parties wait, timeouts, busy-waiting).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use exercise_07::{Barrier, BrokenBarrier};

#[path = "../../within.rs"]
mod within;
use within::{eventually, within};

/// Starts `parties` threads that each call `wait` once; returns their results.
fn wait_all(barrier: &Arc<Barrier>, parties: usize) -> Vec<Result<usize, BrokenBarrier>> {
    let handles: Vec<_> = (0..parties)
        .map(|_| {
            let barrier = Arc::clone(barrier);
            thread::spawn(move || barrier.wait())
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn every_party_gets_a_distinct_index() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(4));
        assert_eq!(barrier.parties(), 4);
        let mut indices: Vec<usize> = wait_all(&barrier, 4)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        indices.sort_unstable();
        assert_eq!(indices, vec![0, 1, 2, 3]);
    });
}

#[test]
fn wait_blocks_until_the_last_party_arrives() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(2));
        let first = {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || barrier.wait())
        };
        // Give the first party time to arrive and block.
        eventually(Duration::from_secs(1), || barrier.n_waiting() >= 1);
        assert_eq!(barrier.n_waiting(), 1, "one party is blocked in wait");
        assert!(
            !first.is_finished(),
            "wait returned before everyone arrived"
        );
        let mine = barrier.wait().unwrap();
        let theirs = first.join().unwrap().unwrap();
        assert_ne!(mine, theirs);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn the_barrier_can_be_used_again_and_again() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(3));
        for _ in 0..5 {
            assert!(wait_all(&barrier, 3).iter().all(Result::is_ok));
        }
    });
}

#[test]
fn the_action_runs_once_per_generation() {
    within(Duration::from_secs(2), || {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let barrier = Arc::new(Barrier::with_action(3, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        wait_all(&barrier, 3);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        wait_all(&barrier, 3);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn abort_breaks_the_barrier_until_reset() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(2));
        let waiter = {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || barrier.wait())
        };
        thread::sleep(Duration::from_millis(50));
        barrier.abort();
        assert_eq!(waiter.join().unwrap(), Err(BrokenBarrier));
        assert!(barrier.is_broken());
        assert_eq!(barrier.wait(), Err(BrokenBarrier));
        barrier.reset();
        assert!(!barrier.is_broken());
        assert!(wait_all(&barrier, 2).iter().all(Result::is_ok));
    });
}

#[test]
fn wait_timeout_breaks_the_barrier_when_it_expires() {
    within(Duration::from_secs(2), || {
        let barrier = Barrier::new(2);
        let start = Instant::now();
        assert_eq!(
            barrier.wait_timeout(Duration::from_millis(100)),
            Err(BrokenBarrier)
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(barrier.is_broken());
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
fn abort_and_reset_wake_every_waiting_party() {
    within(Duration::from_secs(3), || {
        let barrier = Barrier::new(3);
        for breaker in [Barrier::abort, Barrier::reset] {
            thread::scope(|scope| {
                let waiting: Vec<_> = (0..2).map(|_| scope.spawn(|| barrier.wait())).collect();
                // Both parties must be in wait() before the barrier breaks
                // (one that came after a reset would wait for a new round).
                eventually(Duration::from_secs(2), || barrier.n_waiting() >= 2);
                breaker(&barrier);
                for party in waiting {
                    assert_eq!(party.join().unwrap(), Err(BrokenBarrier));
                }
            });
            barrier.reset();
        }
    });
}

#[test]
fn a_timeout_breaks_the_barrier_for_every_waiting_party() {
    within(Duration::from_secs(3), || {
        let barrier = Barrier::new(3);
        thread::scope(|scope| {
            let patient = scope.spawn(|| barrier.wait());
            thread::sleep(Duration::from_millis(50));
            assert_eq!(
                barrier.wait_timeout(Duration::from_millis(100)),
                Err(BrokenBarrier)
            );
            assert_eq!(
                patient.join().unwrap(),
                Err(BrokenBarrier),
                "the party that did not time out must be woken with the barrier broken"
            );
        });
    });
}

#[test]
fn the_action_finishes_before_any_party_leaves() {
    within(Duration::from_secs(3), || {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let barrier = Barrier::with_action(3, move || {
            thread::sleep(Duration::from_millis(50));
            flag.store(true, Ordering::SeqCst);
        });
        thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    barrier.wait().unwrap();
                    assert!(
                        done.load(Ordering::SeqCst),
                        "a party left before the action ended"
                    );
                });
            }
        });
    });
}

#[test]
fn a_panicking_action_breaks_the_barrier_for_the_others() {
    within(Duration::from_secs(3), || {
        let barrier = Barrier::with_action(2, || panic!("the action fails on purpose"));
        thread::scope(|scope| {
            let parties: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| barrier.wait()))
                    })
                })
                .collect();
            let results: Vec<_> = parties.into_iter().map(|p| p.join().unwrap()).collect();
            let panicked = results.iter().filter(|r| r.is_err()).count();
            assert_eq!(
                panicked, 1,
                "the panic goes on in the thread that ran the action"
            );
            assert!(
                results.iter().any(|r| matches!(r, Ok(Err(BrokenBarrier)))),
                "the other party must get Err(BrokenBarrier)"
            );
        });
        assert!(barrier.is_broken());
    });
}

#[test]
fn a_waiting_party_uses_no_cpu() {
    within(Duration::from_secs(5), || {
        let barrier = Barrier::new(2);
        thread::scope(|scope| {
            let party = scope.spawn(|| {
                let before = thread_cpu_time();
                barrier.wait().unwrap();
                thread_cpu_time()
                    .zip(before)
                    .map(|(after, before)| after - before)
            });
            thread::sleep(Duration::from_millis(300));
            barrier.wait().unwrap();
            if let Some(used) = party.join().unwrap() {
                assert!(
                    used.is_asleep(),
                    "a party waiting 300 ms spent {used:?}: it must sleep, not poll"
                );
            }
        });
    });
}

#[test]
fn fast_generations_never_mix() {
    // Parties go round and round: a fast party back in wait() before the
    // slow ones left must not count in the generation still emptying.
    within(Duration::from_secs(8), || {
        let barrier = Barrier::new(3);
        let rounds = 500;
        let indices = std::sync::Mutex::new(vec![Vec::new(); 3]);
        thread::scope(|scope| {
            for party in 0..3 {
                let (barrier, indices) = (&barrier, &indices);
                scope.spawn(move || {
                    for _ in 0..rounds {
                        let index = barrier.wait().unwrap();
                        indices.lock().unwrap()[party].push(index);
                    }
                });
            }
        });
        let indices = indices.into_inner().unwrap();
        for round in 0..rounds {
            let mut seen: Vec<usize> = indices.iter().map(|party| party[round]).collect();
            seen.sort_unstable();
            assert_eq!(
                seen,
                vec![0, 1, 2],
                "round {round} handed out indices {seen:?}"
            );
        }
    });
}
