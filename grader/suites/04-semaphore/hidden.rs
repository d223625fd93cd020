//! Hidden suite for exercise 04: `Semaphore`, `BoundedSemaphore` and
//! `run_limited`, judged through the public API only.
//!
//! Semaphore tests run against both kinds through the small [`Sem`] trait
//! below, so a bug in either one loses the points.

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use exercise_04::{BoundedSemaphore, OverRelease, Permit, Semaphore, run_limited};
use harness::{Cost, LIMIT, Meter, check, eventually, measure, start_together};
use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// How long a blocked call is watched for busy-waiting.
const BLOCKED: Duration = Duration::from_millis(300);
/// Threads blocked at once in a busy-wait check.
const SLEEPERS: usize = 4;
/// The most CPU time [`SLEEPERS`] threads blocked for 300 ms may use between
/// them (correct code uses under 1 ms; yielding spinners on a busy machine,
/// over 60 ms).
const SLEEPERS_CPU: Duration = Duration::from_millis(20);
/// Slack allowed after a timeout before a late return counts as a bug.
const LATE: Duration = Duration::from_secs(2);

/// The operations both semaphores share, so each test runs on both.
trait Sem: Send + Sync + Sized + 'static {
    const KIND: &'static str;
    fn with_permits(permits: usize) -> Self;
    fn take(&self) -> Permit<'_>;
    fn try_take(&self) -> Option<Permit<'_>>;
    fn take_within(&self, timeout: Duration) -> Option<Permit<'_>>;
    /// `release()`, where the caller knows the semaphore is not full.
    fn give(&self);
    fn free(&self) -> usize;
}

impl Sem for Semaphore {
    const KIND: &'static str = "Semaphore";
    fn with_permits(permits: usize) -> Self {
        Semaphore::new(permits)
    }
    fn take(&self) -> Permit<'_> {
        self.acquire()
    }
    fn try_take(&self) -> Option<Permit<'_>> {
        self.try_acquire()
    }
    fn take_within(&self, timeout: Duration) -> Option<Permit<'_>> {
        self.acquire_timeout(timeout)
    }
    fn give(&self) {
        self.release();
    }
    fn free(&self) -> usize {
        self.available()
    }
}

impl Sem for BoundedSemaphore {
    const KIND: &'static str = "BoundedSemaphore";
    fn with_permits(permits: usize) -> Self {
        BoundedSemaphore::new(permits)
    }
    fn take(&self) -> Permit<'_> {
        self.acquire()
    }
    fn try_take(&self) -> Option<Permit<'_>> {
        self.try_acquire()
    }
    fn take_within(&self, timeout: Duration) -> Option<Permit<'_>> {
        self.acquire_timeout(timeout)
    }
    fn give(&self) {
        assert_eq!(
            self.release(),
            Ok(()),
            "BoundedSemaphore::release refused a permit although the semaphore was not full"
        );
    }
    fn free(&self) -> usize {
        self.available()
    }
}

/// A generator for one worker thread, seeded from the test's generator so the
/// whole run replays from the printed seed.
fn child_rng(rng: &mut StdRng) -> StdRng {
    StdRng::seed_from_u64(rng.random())
}

fn exactly_k_of_n<S: Sem>(rng: &mut StdRng) {
    let k = rng.random_range(1..=4);
    let n = k + rng.random_range(1..=4);
    let rounds = 300;
    let sem = S::with_permits(k);
    // The n threads and this one meet before and after every round.
    let start = Barrier::new(n + 1);
    let tried = Barrier::new(n + 1);
    let go = AtomicUsize::new(0);
    let won = AtomicUsize::new(0);
    let panicked = AtomicBool::new(false);
    let mut wrong = None;
    thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {
                for round in 1..=rounds {
                    start.wait();
                    start_together(&go, round);
                    // A panic must not strand the others at the barrier.
                    let permit = match panic::catch_unwind(AssertUnwindSafe(|| sem.try_take())) {
                        Ok(permit) => permit,
                        Err(_) => {
                            panicked.store(true, Ordering::SeqCst);
                            None
                        }
                    };
                    if permit.is_some() {
                        won.fetch_add(1, Ordering::SeqCst);
                    }
                    // Hold the permit until everyone has tried.
                    tried.wait();
                    drop(permit);
                }
            });
        }
        for round in 1..=rounds {
            start.wait();
            go.store(round, Ordering::SeqCst);
            tried.wait();
            let won = won.swap(0, Ordering::SeqCst);
            if won != k && wrong.is_none() {
                wrong = Some((round, won));
            }
        }
    });
    assert!(
        !panicked.load(Ordering::SeqCst),
        "{}: try_acquire panicked when {n} threads called it at once on {k} permits",
        S::KIND
    );
    if let Some((round, won)) = wrong {
        panic!(
            "{}: {n} threads called try_acquire at once on {k} permits; exactly {k} must \
             succeed, but in round {round} {won} did",
            S::KIND
        );
    }
    assert_eq!(sem.free(), k, "{}: all permits were given back", S::KIND);
}

/// Exactly k of n overlapping `try_acquire` calls succeed on k permits.
/// Catches a check-then-act split (the check and the decrement in two lock
/// sections) and a `try_acquire` that ignores the count.
#[test]
fn exactly_k_of_n_concurrent_try_acquires_succeed() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        exactly_k_of_n::<Semaphore>(&mut rng);
        exactly_k_of_n::<BoundedSemaphore>(&mut rng);
    });
}

fn never_more_inside_than_permits<S: Sem>(rng: &mut StdRng) {
    let permits = rng.random_range(2..=4);
    let threads = 12;
    let rounds = 120;
    let sem = S::with_permits(permits);
    let meter = Meter::new();
    thread::scope(|s| {
        for _ in 0..threads {
            let mut rng = child_rng(rng);
            let (sem, meter) = (&sem, &meter);
            s.spawn(move || {
                for _ in 0..rounds {
                    let permit = match rng.random_range(0..3) {
                        0 => Some(sem.take()),
                        1 => sem.try_take(),
                        _ => sem.take_within(Duration::from_millis(rng.random_range(1..20))),
                    };
                    if let Some(permit) = permit {
                        let inside = meter.enter();
                        if rng.random_bool(0.5) {
                            thread::yield_now();
                        } else {
                            thread::sleep(Duration::from_micros(rng.random_range(10..200)));
                        }
                        drop(inside);
                        drop(permit);
                    }
                }
            });
        }
    });
    assert!(
        meter.max() <= permits,
        "{}: {} threads held a permit at once with only {permits} permits",
        S::KIND,
        meter.max()
    );
    assert!(
        meter.total() > 0,
        "{}: no thread ever got a permit",
        S::KIND
    );
    assert_eq!(
        sem.free(),
        permits,
        "{}: every permit was given back, so all {permits} should be free",
        S::KIND
    );
}

/// Under many threads mixing `acquire`, `try_acquire` and `acquire_timeout`,
/// never more threads hold a permit than there are permits, and no permit is
/// lost or created. Catches a wait guarded by `if` instead of `while`, split
/// check and decrement, and lost or doubled give-backs.
#[test]
fn permits_bound_the_threads_inside_under_stress() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        never_more_inside_than_permits::<Semaphore>(&mut rng);
        never_more_inside_than_permits::<BoundedSemaphore>(&mut rng);
    });
}

/// How long each tight-loop contention test hammers a semaphore.
const HAMMER: Duration = Duration::from_millis(250);

fn hammer_try_acquire<S: Sem>(rng: &mut StdRng) {
    let permits = rng.random_range(1..=3);
    let sem = S::with_permits(permits);
    let meter = Meter::new();
    let stop = Instant::now() + HAMMER;
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while Instant::now() < stop {
                    for _ in 0..100 {
                        if let Some(permit) = sem.try_take() {
                            let inside = meter.enter();
                            drop(inside);
                            drop(permit);
                        }
                    }
                }
            });
        }
    });
    assert!(
        meter.max() <= permits,
        "{}: {} threads held a permit at once with only {permits} permits",
        S::KIND,
        meter.max()
    );
    assert_eq!(
        sem.free(),
        permits,
        "{}: every permit was given back",
        S::KIND
    );
}

/// Threads calling `try_acquire` in a tight loop never hold more permits than
/// exist. Catches the check and the decrement split over two lock sections.
#[test]
fn try_acquire_under_heavy_contention_never_hands_out_too_many() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        hammer_try_acquire::<Semaphore>(&mut rng);
        hammer_try_acquire::<BoundedSemaphore>(&mut rng);
    });
}

/// Threads racing `BoundedSemaphore::release` against `try_acquire` in a tight
/// loop never see more permits free than the initial count, and every success
/// is counted. Catches the bound checked in one lock section and the permit
/// added in another.
#[test]
fn racing_bounded_releases_never_pass_the_initial_count() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let permits = rng.random_range(1..=2);
        let sem = BoundedSemaphore::new(permits);
        let stop = Instant::now() + HAMMER;
        let released = AtomicUsize::new(0);
        let taken = AtomicUsize::new(0);
        let most_seen = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                let mut rng = child_rng(&mut rng);
                let (sem, released, taken, most_seen) = (&sem, &released, &taken, &most_seen);
                s.spawn(move || {
                    while Instant::now() < stop {
                        for _ in 0..100 {
                            if rng.random_bool(0.5) {
                                if sem.release().is_ok() {
                                    released.fetch_add(1, Ordering::SeqCst);
                                }
                            } else if let Some(permit) = sem.try_acquire() {
                                permit.forget();
                                taken.fetch_add(1, Ordering::SeqCst);
                            }
                            most_seen.fetch_max(sem.available(), Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        let most_seen = most_seen.load(Ordering::SeqCst);
        assert!(
            most_seen <= permits,
            "a BoundedSemaphore({permits}) had {most_seen} permits free"
        );
        let expected = permits + released.load(Ordering::SeqCst) - taken.load(Ordering::SeqCst);
        assert_eq!(
            sem.available(),
            expected,
            "{permits} initial permits + successful releases - successful acquires"
        );
    });
}

/// Threads calling `release` in a tight loop are all counted. Catches a
/// read-modify-write split over two lock sections (lost increments).
#[test]
fn concurrent_releases_are_all_counted() {
    check(LIMIT, || {
        let sem = Semaphore::new(0);
        let stop = Instant::now() + HAMMER;
        let released = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let mut mine = 0;
                    while Instant::now() < stop {
                        for _ in 0..100 {
                            sem.release();
                        }
                        mine += 100;
                    }
                    released.fetch_add(mine, Ordering::SeqCst);
                });
            }
        });
        let total = released.load(Ordering::SeqCst);
        assert_eq!(
            sem.available(),
            total,
            "4 threads released {total} times in all; some releases were lost"
        );
    });
}

fn times_out<S: Sem>(rng: &mut StdRng) {
    // Once with no permits at all, once with every permit held.
    let empty = S::with_permits(0);
    let full = S::with_permits(2);
    let held = (full.take(), full.take());
    for sem in [&empty, &full] {
        let timeout = Duration::from_millis(rng.random_range(50..150));
        let (got, Cost { wall, .. }) = measure(|| sem.take_within(timeout).is_some());
        assert!(
            !got,
            "{}: acquire_timeout got a permit that was never free",
            S::KIND
        );
        assert!(
            wall >= timeout,
            "{}: acquire_timeout({timeout:?}) gave up after only {wall:?}",
            S::KIND
        );
        assert!(
            wall <= timeout + harness::scaled(LATE),
            "{}: acquire_timeout({timeout:?}) returned only after {wall:?}",
            S::KIND
        );
    }
    drop(held);
}

/// `acquire_timeout` returns `None` when no permit frees up, and no earlier
/// than the timeout. Catches returning at once, or waiting without a deadline.
#[test]
fn acquire_timeout_returns_none_no_earlier_than_the_timeout() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        times_out::<Semaphore>(&mut rng);
        times_out::<BoundedSemaphore>(&mut rng);
    });
}

fn timeout_gets_released_permit<S: Sem>() {
    let sem = S::with_permits(1);
    let held = sem.take();
    let waiting = AtomicBool::new(false);
    let (got, wall) = thread::scope(|s| {
        let waiter = s.spawn(|| {
            waiting.store(true, Ordering::SeqCst);
            let start = Instant::now();
            let got = sem.take_within(harness::scaled(Duration::from_secs(5)));
            let got_one = got.is_some();
            drop(got);
            (got_one, start.elapsed())
        });
        assert!(eventually(Duration::from_secs(2), || waiting.load(Ordering::SeqCst)));
        thread::sleep(Duration::from_millis(50));
        drop(held);
        waiter.join().expect("the waiting thread panicked")
    });
    assert!(
        got,
        "{}: acquire_timeout missed a permit given back during its wait",
        S::KIND
    );
    assert!(
        wall < harness::scaled(Duration::from_secs(4)),
        "{}: acquire_timeout(5 s) took {wall:?} although a permit came back after ~50 ms \
         (the give-back did not wake it)",
        S::KIND
    );
}

/// A permit dropped during an `acquire_timeout` wait is handed to the waiter
/// at once, not at the timeout. Catches a give-back that does not wake waiters.
#[test]
fn acquire_timeout_takes_a_permit_given_back_during_the_wait() {
    check(LIMIT, || {
        timeout_gets_released_permit::<Semaphore>();
        timeout_gets_released_permit::<BoundedSemaphore>();
    });
}

/// Threads blocked in `acquire` or `acquire_timeout` sleep: over 300 ms,
/// [`SLEEPERS`] of each use almost no CPU between them, and are rarely even
/// runnable (`Cost::busy_waited`). Catches spinning on `try_acquire` or a
/// `yield_now` loop, also on a loaded machine, where a yielding spinner gets
/// little CPU but is always waiting for one.
#[test]
fn blocked_acquire_does_not_busy_wait() {
    check(LIMIT, || {
        let sem = Semaphore::new(0);
        let bounded = BoundedSemaphore::new(1);
        let held = bounded.acquire();
        let started = AtomicUsize::new(0);
        thread::scope(|s| {
            let blocked: Vec<_> = (0..SLEEPERS)
                .map(|_| {
                    s.spawn(|| {
                        started.fetch_add(1, Ordering::SeqCst);
                        measure(|| sem.acquire().forget())
                    })
                })
                .collect();
            let timed_out: Vec<_> = (0..SLEEPERS)
                .map(|_| {
                    s.spawn(|| {
                        started.fetch_add(1, Ordering::SeqCst);
                        measure(|| bounded.acquire_timeout(BLOCKED).is_some())
                    })
                })
                .collect();
            // Measure a real 300 ms block even if the threads start late.
            assert!(eventually(Duration::from_secs(3), || started
                .load(Ordering::SeqCst)
                == 2 * SLEEPERS));
            thread::sleep(BLOCKED);
            for _ in 0..SLEEPERS {
                sem.release();
            }
            let mut cost = Cost::default();
            for handle in blocked {
                let ((), used) = handle.join().expect("a blocked acquirer panicked");
                cost += used;
            }
            println!("acquire: {SLEEPERS} threads blocked, {cost}");
            assert!(
                !cost.busy_waited(SLEEPERS_CPU),
                "{SLEEPERS} threads blocked in Semaphore::acquire cost between them {cost} \
                 (busy-waiting?)"
            );
            let mut cost = Cost::default();
            for handle in timed_out {
                let (got, used) = handle.join().expect("a timed acquirer panicked");
                assert!(!got, "acquire_timeout got a permit that was held all along");
                cost += used;
            }
            println!("acquire_timeout: {SLEEPERS} threads blocked, {cost}");
            assert!(
                !cost.busy_waited(SLEEPERS_CPU),
                "{SLEEPERS} threads blocked in BoundedSemaphore::acquire_timeout cost between \
                 them {cost} (busy-waiting?)"
            );
        });
        drop(held);
    });
}

fn releases_wake_as_many<S: Sem>(rng: &mut StdRng) {
    let waiters = rng.random_range(6..=12);
    let first = rng.random_range(3..waiters);
    // Start full and use every permit up, so a bounded semaphore accepts the
    // releases below.
    let sem = Arc::new(S::with_permits(waiters));
    for _ in 0..waiters {
        sem.take().forget();
    }
    let started = Arc::new(AtomicUsize::new(0));
    let returned = Arc::new(AtomicUsize::new(0));
    // Detached threads: a waiter that is never woken must not hang the test.
    for _ in 0..waiters {
        let (sem, started, returned) = (sem.clone(), started.clone(), returned.clone());
        thread::spawn(move || {
            started.fetch_add(1, Ordering::SeqCst);
            sem.take().forget();
            returned.fetch_add(1, Ordering::SeqCst);
        });
    }
    let count = || returned.load(Ordering::SeqCst);
    assert!(eventually(Duration::from_secs(2), || started
        .load(Ordering::SeqCst)
        == waiters));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        count(),
        0,
        "{}: acquire returned with no permit free",
        S::KIND
    );
    // Release in a burst, faster than the woken threads can run.
    for _ in 0..first {
        sem.give();
    }
    let woke = eventually(Duration::from_secs(2), || count() >= first);
    assert!(
        woke,
        "{}: {first} quick releases woke only {} of {waiters} blocked acquirers \
         (a release that does not wake a waiter, e.g. one that notifies only when the \
         count was 0)",
        S::KIND,
        count()
    );
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        count(),
        first,
        "{}: {first} releases let {} blocked acquirers through",
        S::KIND,
        count()
    );
    for _ in first..waiters {
        sem.give();
    }
    assert!(
        eventually(Duration::from_secs(2), || count() == waiters),
        "{}: after {waiters} releases only {} of {waiters} acquirers returned",
        S::KIND,
        count()
    );
    assert_eq!(
        sem.free(),
        0,
        "{}: every released permit was taken",
        S::KIND
    );
}

/// A burst of r releases wakes exactly r of the threads blocked in `acquire`:
/// no fewer (lost wakeup: notifying only when the count was 0, or not at all)
/// and no more (`if` instead of `while` around the wait). Three rounds per
/// kind: a woken thread that runs between two releases of a burst can hide
/// the lost wakeup in one round.
#[test]
fn each_release_wakes_one_blocked_acquirer() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..3 {
            releases_wake_as_many::<Semaphore>(&mut rng);
            releases_wake_as_many::<BoundedSemaphore>(&mut rng);
        }
    });
}

fn permit_dropped_elsewhere_wakes<S: Sem>() {
    let sem = S::with_permits(1);
    let permit = sem.take();
    let waiting = AtomicBool::new(false);
    let (got, wall) = thread::scope(|s| {
        let waiter = s.spawn(|| {
            waiting.store(true, Ordering::SeqCst);
            let start = Instant::now();
            let got = sem
                .take_within(harness::scaled(Duration::from_secs(5)))
                .is_some();
            (got, start.elapsed())
        });
        // The permit moves to another thread, which gives it back.
        let waiting = &waiting;
        s.spawn(move || {
            assert!(eventually(Duration::from_secs(2), || waiting.load(Ordering::SeqCst)));
            thread::sleep(Duration::from_millis(50));
            drop(permit);
        });
        waiter.join().expect("the waiting thread panicked")
    });
    assert!(
        got && wall < harness::scaled(Duration::from_secs(4)),
        "{}: a permit dropped on another thread did not wake the blocked acquirer \
         (it returned {} after {wall:?})",
        S::KIND,
        if got { "a permit" } else { "None" }
    );
    assert_eq!(sem.free(), 1, "{}: the permit went back", S::KIND);
}

/// A permit sent to another thread and dropped there wakes a blocked acquirer.
/// Catches a `Drop` that adds the permit back but notifies nobody.
#[test]
fn dropping_a_permit_on_another_thread_wakes_a_blocked_acquirer() {
    check(LIMIT, || {
        permit_dropped_elsewhere_wakes::<Semaphore>();
        permit_dropped_elsewhere_wakes::<BoundedSemaphore>();
    });
}

/// `BoundedSemaphore::release` past the initial count is `Err(OverRelease)` and
/// leaves the count unchanged; below it, it is `Ok`.
#[test]
fn bounded_release_past_the_initial_count_is_refused() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(1..=8);
        let sem = BoundedSemaphore::new(n);
        for _ in 0..3 {
            assert_eq!(
                sem.release(),
                Err(OverRelease),
                "release on a full semaphore of {n}"
            );
            assert_eq!(
                sem.available(),
                n,
                "a refused release must not change the count"
            );
        }
        for _ in 0..n {
            sem.try_acquire().expect("a permit should be free").forget();
        }
        assert_eq!(sem.available(), 0);
        for i in 0..n {
            assert_eq!(
                sem.release(),
                Ok(()),
                "release {} of {n} after using all up",
                i + 1
            );
        }
        assert_eq!(sem.release(), Err(OverRelease), "release past {n}");
        assert_eq!(sem.available(), n);
    });
}

/// A permit of a bounded semaphore never over-releases: if `release()` already
/// refilled the semaphore, dropping the permit adds nothing.
#[test]
fn dropping_a_bounded_permit_never_over_releases() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let n = rng.random_range(1..=5);
        let sem = BoundedSemaphore::new(n);
        let permits: Vec<_> = (0..n).map(|_| sem.acquire()).collect();
        for _ in 0..n {
            assert_eq!(sem.release(), Ok(()));
        }
        assert_eq!(sem.available(), n);
        drop(permits);
        assert_eq!(
            sem.available(),
            n,
            "dropping permits pushed a BoundedSemaphore of {n} past its initial count"
        );
        assert_eq!(sem.release(), Err(OverRelease));
    });
}

/// Runs `run_limited` on `jobs` jobs with `limit` and checks its concurrency:
/// the first `min(jobs, limit)` jobs to start wait (up to 3 s) until that many
/// are inside at once, which proves the limit is reached; the meter proves it
/// is never passed.
fn limited_concurrency(rng: &mut StdRng, jobs: usize, limit: usize) {
    let meter = Meter::new();
    let started = AtomicUsize::new(0);
    let gave_up = AtomicBool::new(false);
    let expected = jobs.min(limit);
    let work: Vec<_> = (0..jobs)
        .map(|i| {
            let hold = Duration::from_millis(rng.random_range(1..4));
            let (meter, started, gave_up) = (&meter, &started, &gave_up);
            move || {
                let _inside = meter.enter();
                if started.fetch_add(1, Ordering::SeqCst) < expected
                    && !gave_up.load(Ordering::SeqCst)
                {
                    // No job of the first `expected` leaves before they have
                    // all started, so once `started` reaches `expected` they
                    // are all inside at once.
                    let met = eventually(Duration::from_secs(3), || {
                        started.load(Ordering::SeqCst) >= expected || gave_up.load(Ordering::SeqCst)
                    });
                    if !met {
                        gave_up.store(true, Ordering::SeqCst);
                    }
                }
                thread::sleep(hold);
                i
            }
        })
        .collect();
    let results = run_limited(work, limit);
    assert_eq!(
        results,
        (0..jobs).collect::<Vec<_>>(),
        "results must be in job order"
    );
    assert!(
        !gave_up.load(Ordering::SeqCst),
        "run_limited({jobs} jobs, limit {limit}) never ran {expected} jobs at once \
         (most at once: {}); jobs must run in parallel up to the limit",
        meter.max()
    );
    assert!(
        meter.max() <= limit,
        "run_limited({jobs} jobs, limit {limit}) ran {} jobs at once",
        meter.max()
    );
    assert_eq!(meter.total(), jobs, "every job runs exactly once");
}

/// `run_limited` runs `min(jobs, limit)` jobs at once at its peak: with more
/// jobs than the limit it reaches the limit (proven by a rendezvous of `limit`
/// jobs) and never passes it; with fewer, it runs them all at once. Catches
/// unlimited spawning, a permit dropped at once (`let _ = sem.acquire()`), a
/// smaller limit than asked, and jobs run one after another.
#[test]
fn run_limited_runs_as_many_jobs_at_once_as_the_limit_allows() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..3 {
            let limit = rng.random_range(1..=5);
            let jobs = limit + rng.random_range(1..=10);
            limited_concurrency(&mut rng, jobs, limit);
        }
        for _ in 0..2 {
            let jobs = rng.random_range(2..=6);
            let limit = jobs + rng.random_range(0..=3);
            limited_concurrency(&mut rng, jobs, limit);
        }
    });
}

/// `run_limited` returns each job's result at the job's index, whatever order
/// the jobs finish in (random durations; the first job is the longest, so it
/// rarely finishes first). Catches results collected in completion order.
#[test]
fn run_limited_returns_results_in_job_order() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..3 {
            let jobs = rng.random_range(5..=25);
            let limit = rng.random_range(2..=jobs);
            let plan: Vec<(u64, u64)> = (0..jobs)
                .map(|i| {
                    (
                        rng.random(),
                        if i == 0 { 15 } else { rng.random_range(0..8) },
                    )
                })
                .collect();
            let work: Vec<_> = plan
                .iter()
                .map(|&(value, millis)| {
                    move || {
                        thread::sleep(Duration::from_millis(millis));
                        value
                    }
                })
                .collect();
            let expected: Vec<u64> = plan.iter().map(|&(value, _)| value).collect();
            assert_eq!(
                run_limited(work, limit),
                expected,
                "run_limited({jobs} jobs, limit {limit}) must return results in job order"
            );
        }
    });
}

/// Every job runs on a thread of its own (all thread ids distinct, none the
/// caller's). Catches a pool of `limit` reused threads, or jobs run inline.
#[test]
fn run_limited_runs_every_job_on_its_own_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let jobs = rng.random_range(8..=20);
        let limit = rng.random_range(2..=4);
        let caller = thread::current().id();
        let work: Vec<_> = (0..jobs).map(|_| || thread::current().id()).collect();
        let ids = run_limited(work, limit);
        assert_eq!(ids.len(), jobs, "one result per job");
        assert!(!ids.contains(&caller), "a job ran on the calling thread");
        let distinct: HashSet<_> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            jobs,
            "{jobs} jobs ran on only {} distinct threads; each job needs its own thread",
            distinct.len()
        );
    });
}

/// `try_acquire` never blocks, even when every permit is held by another thread.
#[test]
fn try_acquire_never_blocks() {
    check(LIMIT, || {
        let sem = Arc::new(BoundedSemaphore::new(1));
        let (tx, rx) = mpsc::channel();
        let (held_tx, held_rx) = mpsc::channel();
        let holder = sem.clone();
        // The holder keeps the permit until the test ends (detached thread).
        thread::spawn(move || {
            let _permit = holder.acquire();
            held_tx.send(()).ok();
            thread::sleep(Duration::from_secs(5));
        });
        held_rx
            .recv_timeout(Duration::from_secs(2))
            .expect("acquire on a fresh semaphore did not return");
        let other = sem.clone();
        thread::spawn(move || {
            let got = other.try_acquire().is_some();
            tx.send(got).ok();
        });
        let got = rx
            .recv_timeout(Duration::from_secs(2))
            .expect("try_acquire blocked while another thread held the only permit");
        assert!(!got, "try_acquire took a permit that another thread holds");
    });
}

// ---------------------------------------------------------------------------
// Added for issue 13: a release that arrives between the permit check and
// the wait.

/// Round trips of the hand-over test, per semaphore kind.
const HAND_OVERS: usize = 3000;
/// No round trip for this long means both threads are stuck (a correct run
/// makes thousands of round trips per second, even on a loaded machine).
const NO_PROGRESS: Duration = Duration::from_secs(3);

fn hand_over<S: Sem>() {
    // Two semaphores with no permit free, one per direction (a bounded
    // semaphore starts with its one permit used up, so `give` is accepted).
    let empty = || {
        let sem = S::with_permits(1);
        sem.take().forget();
        sem
    };
    let (ping, pong) = (Arc::new(empty()), Arc::new(empty()));
    let trips = Arc::new(AtomicUsize::new(0));
    // Detached threads: when a wakeup is lost both block for good, and the
    // test must still end.
    {
        let (ping, pong, trips) = (ping.clone(), pong.clone(), trips.clone());
        thread::spawn(move || {
            for _ in 0..HAND_OVERS {
                pong.give();
                ping.take().forget();
                trips.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    thread::spawn(move || {
        for _ in 0..HAND_OVERS {
            pong.take().forget();
            ping.give();
        }
    });
    let mut seen = 0;
    let mut since = Instant::now();
    while seen < HAND_OVERS {
        thread::sleep(Duration::from_millis(20));
        let now = trips.load(Ordering::SeqCst);
        if now != seen {
            (seen, since) = (now, Instant::now());
        }
        assert!(
            since.elapsed() < harness::scaled(NO_PROGRESS),
            "{}: two threads handing a permit back and forth over two semaphores got stuck \
             after {seen} of {HAND_OVERS} round trips: each waits in acquire for a permit the \
             other has already released. A release that comes between acquire's check for a \
             permit and its wait was lost (check and wait under one lock, without unlocking \
             in between)",
            S::KIND
        );
    }
}

/// Two threads hand one permit back and forth over two semaphores thousands
/// of times: each release lands while the other thread is on its way into
/// `acquire`. Catches an `acquire` that checks for a permit, unlocks, and
/// locks again to wait without re-checking (the release in between is lost
/// and both threads block for good).
#[test]
fn a_release_during_acquire_is_never_lost() {
    check(LIMIT, || {
        hand_over::<Semaphore>();
        hand_over::<BoundedSemaphore>();
    });
}
