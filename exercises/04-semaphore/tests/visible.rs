//! Visible tests for exercise 04: the basic behaviour of each item.
//! The hidden tests go further (many threads, timing, busy-waiting).

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use exercise_04::{BoundedSemaphore, OverRelease, Semaphore, run_limited};

#[path = "../../within.rs"]
mod within;
use within::within;

#[test]
fn a_new_semaphore_has_all_its_permits_free() {
    assert_eq!(Semaphore::new(3).available(), 3);
    assert_eq!(BoundedSemaphore::new(2).available(), 2);
}

#[test]
fn acquire_takes_a_permit_and_dropping_it_gives_it_back() {
    let sem = Semaphore::new(2);
    let first = sem.acquire();
    assert_eq!(sem.available(), 1);
    let second = sem.acquire();
    assert_eq!(sem.available(), 0);
    drop(first);
    assert_eq!(sem.available(), 1);
    drop(second);
    assert_eq!(sem.available(), 2);
}

#[test]
fn try_acquire_returns_none_when_no_permit_is_free() {
    let sem = Semaphore::new(1);
    let permit = sem.try_acquire();
    assert!(permit.is_some(), "the one free permit should be taken");
    assert!(sem.try_acquire().is_none(), "no permit is free any more");
    drop(permit);
    assert!(sem.try_acquire().is_some(), "the permit came back");
}

#[test]
fn acquire_timeout_gives_up_after_the_timeout() {
    let sem = Arc::new(Semaphore::new(0));
    let start = Instant::now();
    let got = within(Duration::from_secs(2), move || {
        sem.acquire_timeout(Duration::from_millis(100)).is_some()
    });
    assert!(!got, "no permit was ever free");
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "returned before the timeout"
    );
}

#[test]
fn release_adds_a_permit_even_past_the_initial_count() {
    let sem = Semaphore::new(1);
    sem.release();
    assert_eq!(sem.available(), 2);
}

#[test]
fn a_blocked_acquire_returns_after_a_release() {
    let sem = Arc::new(Semaphore::new(0));
    let (tx, rx) = mpsc::channel();
    let waiter = Arc::clone(&sem);
    thread::spawn(move || {
        let permit = waiter.acquire();
        permit.forget();
        let _ = tx.send(());
    });
    thread::sleep(Duration::from_millis(50));
    assert!(
        rx.try_recv().is_err(),
        "acquire returned with no permit free"
    );
    sem.release();
    within(Duration::from_secs(1), move || rx.recv())
        .expect("the blocked acquire's thread ended without a permit");
}

#[test]
fn forget_uses_a_permit_up() {
    let sem = Semaphore::new(2);
    sem.acquire().forget();
    assert_eq!(sem.available(), 1);
}

#[test]
fn a_bounded_semaphore_refuses_to_grow_past_its_initial_count() {
    let sem = BoundedSemaphore::new(1);
    assert_eq!(sem.release(), Err(OverRelease));
    assert_eq!(sem.available(), 1, "a refused release changes nothing");
    sem.acquire().forget();
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.available(), 1);
}

#[test]
fn run_limited_returns_the_results_in_job_order() {
    let jobs: Vec<_> = (0..6_u64)
        .map(|i| {
            move || {
                thread::sleep(Duration::from_millis(5 * (6 - i)));
                i * 10
            }
        })
        .collect();
    let results = within(Duration::from_secs(2), move || run_limited(jobs, 2));
    assert_eq!(results, vec![0, 10, 20, 30, 40, 50]);
}

// Probes of the lesson's classic bugs (its "Pitfalls" section): light
// versions of what the hidden tests check in depth.

use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Counts the threads inside a region and remembers the most at once.
#[derive(Default)]
struct Meter {
    inside: AtomicUsize,
    most: AtomicUsize,
}

impl Meter {
    fn enter(&self) {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

#[test]
fn run_limited_runs_exactly_limit_jobs_at_once() {
    within(Duration::from_secs(5), || {
        let meter = Arc::new(Meter::default());
        let jobs: Vec<_> = (0..6)
            .map(|i| {
                let meter = Arc::clone(&meter);
                move || {
                    meter.enter();
                    thread::sleep(Duration::from_millis(40));
                    meter.leave();
                    i
                }
            })
            .collect();
        assert_eq!(run_limited(jobs, 2), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(
            meter.most(),
            2,
            "with a limit of 2, two jobs must run at once and never more (is the permit kept while the job runs?)"
        );
    });
}

#[test]
fn run_limited_runs_each_job_on_a_thread_of_its_own() {
    within(Duration::from_secs(5), || {
        let caller = thread::current().id();
        let jobs: Vec<_> = (0..5).map(|_| move || thread::current().id()).collect();
        let ids = run_limited(jobs, 2);
        assert!(!ids.contains(&caller), "a job ran on the calling thread");
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 5, "jobs shared threads: {ids:?}");
    });
}

#[test]
fn a_bounded_permit_dropped_after_a_refill_adds_nothing() {
    let sem = BoundedSemaphore::new(1);
    let permit = sem.acquire();
    assert_eq!(sem.release(), Ok(()), "the count was below its bound");
    drop(permit);
    assert_eq!(
        sem.available(),
        1,
        "dropping the permit must not push the count past its initial value"
    );
}

#[test]
fn a_blocked_acquire_uses_no_cpu() {
    within(Duration::from_secs(5), || {
        let sem = Arc::new(Semaphore::new(0));
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                let before = thread_cpu_time();
                sem.acquire().forget();
                thread_cpu_time()
                    .zip(before)
                    .map(|(after, before)| after - before)
            })
        };
        thread::sleep(Duration::from_millis(300));
        sem.release();
        if let Some(used) = waiter.join().unwrap() {
            assert!(
                used.is_asleep(),
                "a thread blocked 300 ms in acquire() spent {used:?}: it must sleep, not spin"
            );
        }
    });
}

#[test]
fn dropping_a_permit_on_another_thread_wakes_a_blocked_acquire() {
    within(Duration::from_secs(3), || {
        let sem = Semaphore::new(1);
        let held = sem.acquire();
        thread::scope(|scope| {
            let waiter = scope.spawn(|| sem.acquire().forget());
            thread::sleep(Duration::from_millis(100));
            scope.spawn(move || drop(held));
            waiter.join().unwrap();
        });
    });
}

#[test]
fn a_burst_of_releases_wakes_as_many_blocked_acquires() {
    within(Duration::from_secs(3), || {
        for _ in 0..3 {
            let sem = Semaphore::new(0);
            let done = AtomicUsize::new(0);
            thread::scope(|scope| {
                for _ in 0..3 {
                    scope.spawn(|| {
                        sem.acquire().forget();
                        done.fetch_add(1, Ordering::SeqCst);
                    });
                }
                thread::sleep(Duration::from_millis(60));
                // Three releases back to back: each must wake a waiter, not
                // only the one that found the count at zero.
                sem.release();
                sem.release();
                sem.release();
            });
            assert_eq!(done.load(Ordering::SeqCst), 3);
        }
    });
}

#[test]
fn permits_bound_the_threads_inside_under_contention() {
    within(Duration::from_secs(5), || {
        let sem = Semaphore::new(2);
        let meter = Meter::default();
        thread::scope(|scope| {
            for t in 0..4 {
                let (sem, meter) = (&sem, &meter);
                scope.spawn(move || {
                    for _ in 0..3_000 {
                        let permit = if t % 2 == 0 {
                            Some(sem.acquire())
                        } else {
                            sem.try_acquire()
                        };
                        if permit.is_some() {
                            meter.enter();
                            thread::yield_now();
                            meter.leave();
                        }
                    }
                });
            }
        });
        assert!(
            meter.most() <= 2,
            "{} threads held one of 2 permits",
            meter.most()
        );
        assert_eq!(sem.available(), 2, "permits were lost or made up");
    });
}

#[test]
fn concurrent_releases_are_all_counted() {
    within(Duration::from_secs(5), || {
        let sem = Semaphore::new(0);
        thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..100_000 {
                        sem.release();
                    }
                });
            }
        });
        assert_eq!(sem.available(), 200_000, "releases were lost");
    });
}

#[test]
fn concurrent_bounded_releases_are_all_counted() {
    within(Duration::from_secs(5), || {
        let bounded = BoundedSemaphore::new(100_000);
        for _ in 0..100_000 {
            bounded.acquire().forget();
        }
        thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..50_000 {
                        bounded.release().expect("below the bound");
                    }
                });
            }
        });
        assert_eq!(bounded.available(), 100_000, "bounded releases were lost");
    });
}

#[test]
fn racing_bounded_releases_never_pass_the_bound() {
    within(Duration::from_secs(5), || {
        for _ in 0..200 {
            let sem = BoundedSemaphore::new(2);
            sem.acquire().forget();
            let refused = AtomicUsize::new(0);
            thread::scope(|scope| {
                for _ in 0..3 {
                    scope.spawn(|| {
                        if sem.release().is_err() {
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
            });
            assert_eq!(
                sem.available(),
                2,
                "a bounded semaphore grew past its bound"
            );
            assert_eq!(refused.load(Ordering::SeqCst), 2);
        }
    });
}

#[test]
fn racing_try_acquires_never_take_more_permits_than_exist() {
    within(Duration::from_secs(5), || {
        let sem = Semaphore::new(1);
        let meter = Meter::default();
        thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..100_000 {
                        if let Some(permit) = sem.try_acquire() {
                            meter.enter();
                            meter.leave();
                            drop(permit);
                        }
                    }
                });
            }
        });
        assert!(meter.most() <= 1, "two threads held the one permit");
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn racing_take_and_give_back_keep_a_bounded_semaphore_within_its_bound() {
    within(Duration::from_secs(5), || {
        let sem = BoundedSemaphore::new(1);
        thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..100_000 {
                        if let Some(permit) = sem.try_acquire() {
                            permit.forget();
                        }
                        let _ = sem.release();
                        let now = sem.available();
                        assert!(now <= 1, "a bounded semaphore of 1 had {now} permits free");
                    }
                });
            }
        });
    });
}
