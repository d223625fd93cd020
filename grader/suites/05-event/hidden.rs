//! Hidden suite for exercise 05: `Event` with CPython's semantics, judged
//! through the public API only.
//!
//! "A waiter that returned" is the only thing observed. Whether a thread is
//! already blocked inside `wait` cannot be seen through the API, so the tests
//! that need it use a counter bumped just before the call, then wait until the
//! kernel reports every waiter thread asleep (Linux `/proc`; where that is not
//! readable, a longer pause instead), then pause a little more.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar as StdCondvar, Mutex as StdMutex};
use std::thread;
use std::time::{Duration, Instant};

use exercise_05::Event;
use harness::{Cost, LIMIT, check, eventually, measure, start_together};
use rand::RngExt;

/// Watchdog limit for one test; a correct run takes well under a second.
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
/// How long woken waiters get to return.
const WAKE: Duration = Duration::from_secs(2);

/// Where the kernel reports a thread's state, for the calling thread.
fn my_stat_path() -> Option<String> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    Some(format!("/proc/{}/stat", link.display()))
}

/// Whether the thread whose stat file is `path` is asleep in the kernel.
fn is_asleep(path: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return false;
    };
    // "tid (name) S ...": the state follows the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .is_some_and(|state| state == 'S')
}

/// Threads that are about to call a blocking method, tracked until they are
/// (very probably) blocked in it.
#[derive(Default)]
struct Waiters {
    started: AtomicUsize,
    returned: AtomicUsize,
    stats: StdMutex<Vec<Option<String>>>,
}

impl Waiters {
    /// Called by a waiter thread just before it calls the blocking method.
    fn about_to_block(&self) {
        self.stats.lock().unwrap().push(my_stat_path());
        self.started.fetch_add(1, Ordering::SeqCst);
    }

    fn done(&self) {
        self.returned.fetch_add(1, Ordering::SeqCst);
    }

    fn returned(&self) -> usize {
        self.returned.load(Ordering::SeqCst)
    }

    /// Waits until `count` threads have called `about_to_block` and are
    /// asleep, then a little longer. Panics if they never get there.
    fn all_blocked(&self, count: usize) {
        assert!(
            eventually(Duration::from_secs(3), || self
                .started
                .load(Ordering::SeqCst)
                >= count),
            "the waiter threads did not start"
        );
        let stats = self.stats.lock().unwrap().clone();
        // All asleep at once means all are inside their wait (nobody runs to
        // hold the event's lock meanwhile). A waiter that never sleeps (one
        // that spins) is caught elsewhere; here it only costs a longer pause.
        // Both pauses stretch with the load: a waiter preempted between
        // `about_to_block` and its wait must still get there before `set`.
        let asleep = stats.iter().all(Option::is_some)
            && eventually(Duration::from_secs(3), || {
                stats.iter().flatten().all(|path| is_asleep(path))
            });
        thread::sleep(harness::scaled(Duration::from_millis(if asleep {
            30
        } else {
            150
        })));
        assert_eq!(
            self.returned(),
            0,
            "a waiter returned before the event was set"
        );
    }
}

/// Rounds of the set-then-clear tests. A waiting-`while !flag` or
/// return-the-flag bug escapes a round when every woken waiter happens to
/// retake the lock before `clear()` does (the stand-in's pause after `set()`
/// allows it); with three rounds of 4-10 waiters that happened in 2 runs of
/// 100, so each round has more waiters and there are more rounds.
const ROUNDS: usize = 8;

/// `set()` then `clear()` at once wakes every thread that was waiting: the
/// CPython semantics. Catches waiting `while !flag` (the woken waiters see the
/// flag lowered again and go back to sleep); the fix is to notice that a `set`
/// happened, not only that the flag is raised now.
#[test]
fn set_wakes_every_waiter_even_if_cleared_at_once() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for round in 0..ROUNDS {
            let count = rng.random_range(8..=16);
            let event = Arc::new(Event::new());
            let waiters = Arc::new(Waiters::default());
            for _ in 0..count {
                let (event, waiters) = (event.clone(), waiters.clone());
                thread::spawn(move || {
                    waiters.about_to_block();
                    event.wait();
                    waiters.done();
                });
            }
            waiters.all_blocked(count);
            event.set();
            event.clear();
            let all_woke = eventually(WAKE, || waiters.returned() == count);
            let woke = waiters.returned();
            // Free any stuck waiter so no thread is left behind.
            event.set();
            assert!(
                all_woke,
                "round {round}: set() then clear() woke only {woke} of {count} waiting threads; \
                 set() must wake every thread waiting at that moment"
            );
        }
    });
}

/// `wait_timeout` returns `true` when a `set` woke it, even if `clear` lowered
/// the flag again before it ran. Catches returning the flag's value at the
/// end, and waiting `while !flag`.
#[test]
fn wait_timeout_reports_true_when_woken_by_set_then_clear() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let timeout = Duration::from_secs(4);
        for round in 0..ROUNDS {
            let count = rng.random_range(8..=16);
            let event = Arc::new(Event::new());
            let waiters = Arc::new(Waiters::default());
            let saw_true = Arc::new(AtomicUsize::new(0));
            for _ in 0..count {
                let (event, waiters, saw_true) = (event.clone(), waiters.clone(), saw_true.clone());
                thread::spawn(move || {
                    waiters.about_to_block();
                    if event.wait_timeout(timeout) {
                        saw_true.fetch_add(1, Ordering::SeqCst);
                    }
                    waiters.done();
                });
            }
            waiters.all_blocked(count);
            let set_at = Instant::now();
            event.set();
            event.clear();
            let woke = eventually(WAKE, || waiters.returned() == count);
            let woken = waiters.returned();
            // Free any stuck waiter so no thread is left behind.
            event.set();
            assert!(
                woke,
                "round {round}: set() then clear() woke only {woken} of {count} threads in \
                 wait_timeout({timeout:?}) within {:?}",
                set_at.elapsed()
            );
            let saw_true = saw_true.load(Ordering::SeqCst);
            assert_eq!(
                saw_true,
                count,
                "round {round}: {} of {count} wait_timeout calls woken by set() returned false; \
                 a wait woken by set() returns true even if clear() came right after",
                count - saw_true
            );
        }
    });
}

/// `set()` wakes every waiting thread, whether in `wait` or `wait_timeout`.
/// Catches `notify_one` where every waiter must wake.
#[test]
fn set_wakes_every_waiting_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let count = rng.random_range(8..=16);
        let event = Arc::new(Event::new());
        let waiters = Arc::new(Waiters::default());
        let saw_false = Arc::new(AtomicBool::new(false));
        for i in 0..count {
            let (event, waiters, saw_false) = (event.clone(), waiters.clone(), saw_false.clone());
            thread::spawn(move || {
                waiters.about_to_block();
                if i % 2 == 0 {
                    event.wait();
                } else if !event.wait_timeout(Duration::from_secs(5)) {
                    saw_false.store(true, Ordering::SeqCst);
                }
                waiters.done();
            });
        }
        // Whether or not they are all asleep yet, all must return.
        assert!(eventually(Duration::from_secs(3), || waiters
            .started
            .load(Ordering::SeqCst)
            == count));
        thread::sleep(Duration::from_millis(20));
        event.set();
        assert!(
            eventually(WAKE, || waiters.returned() == count),
            "set() woke only {} of {count} waiting threads",
            waiters.returned()
        );
        assert!(
            !saw_false.load(Ordering::SeqCst),
            "a wait_timeout(5 s) woken by set() returned false"
        );
        assert!(
            event.is_set(),
            "the flag stays raised after waking the waiters"
        );
    });
}

/// `wait` and `wait_timeout` on an event that is already set return at once
/// (`true` for `wait_timeout`), however many threads call them. Catches
/// waiting for the next `set` instead of checking the flag first.
#[test]
fn wait_on_an_already_set_event_returns_at_once() {
    check(LIMIT, || {
        let event = Event::new();
        event.set();
        let start = Instant::now();
        thread::scope(|s| {
            for i in 0..8 {
                let event = &event;
                s.spawn(move || {
                    for _ in 0..50 {
                        if i % 2 == 0 {
                            event.wait();
                        } else {
                            assert!(
                                event.wait_timeout(harness::scaled(Duration::from_secs(3))),
                                "wait_timeout on a set event returned false"
                            );
                        }
                    }
                });
            }
        });
        assert!(
            start.elapsed() < harness::scaled(Duration::from_secs(2)),
            "waits on a set event took {:?} instead of returning at once",
            start.elapsed()
        );
        assert!(event.is_set());
    });
}

/// `wait_timeout` returns `false` when nobody sets the event, no earlier than
/// the timeout and not much later. Catches returning at once, or ignoring the
/// timeout.
#[test]
fn wait_timeout_returns_false_no_earlier_than_the_timeout() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let event = Event::new();
        let timeouts: Vec<Duration> = (0..6)
            .map(|_| Duration::from_millis(rng.random_range(30..200)))
            .collect();
        thread::scope(|s| {
            for &timeout in &timeouts {
                let event = &event;
                s.spawn(move || {
                    let (got, Cost { wall, .. }) = measure(|| event.wait_timeout(timeout));
                    assert!(
                        !got,
                        "wait_timeout({timeout:?}) returned true; nobody set the event"
                    );
                    assert!(
                        wall >= timeout,
                        "wait_timeout({timeout:?}) gave up after only {wall:?}"
                    );
                    assert!(
                        wall <= timeout + harness::scaled(LATE),
                        "wait_timeout({timeout:?}) returned only after {wall:?}"
                    );
                });
            }
        });
        assert!(!event.is_set());
    });
}

/// `wait_timeout` returns `true` promptly when the event is set during the
/// wait. Catches a set that does not wake timed waiters.
#[test]
fn wait_timeout_returns_true_when_set_during_the_wait() {
    check(LIMIT, || {
        let event = Event::new();
        let waiters = Waiters::default();
        let (got, wall) = thread::scope(|s| {
            let waiter = s.spawn(|| {
                waiters.about_to_block();
                let (got, cost) =
                    measure(|| event.wait_timeout(harness::scaled(Duration::from_secs(5))));
                (got, cost.wall)
            });
            waiters.all_blocked(1);
            event.set();
            waiter.join().expect("the waiting thread panicked")
        });
        assert!(
            got,
            "wait_timeout returned false although the event was set during the wait"
        );
        assert!(
            wall < harness::scaled(Duration::from_secs(4)),
            "wait_timeout(5 s) took {wall:?} although the event was set early (set did not wake it)"
        );
    });
}

/// After `clear()`, `wait_timeout` blocks until its timeout and `wait` blocks
/// until the next `set()`. Catches a `clear` that does nothing, or a wait
/// that returns because of an old `set`.
#[test]
fn clear_makes_later_waits_block_until_the_next_set() {
    check(LIMIT, || {
        let event = Arc::new(Event::new());
        event.set();
        event.clear();
        assert!(!event.is_set(), "clear() must lower the flag");
        assert!(
            !event.wait_timeout(Duration::from_millis(50)),
            "wait_timeout returned true after clear(), with no set() since"
        );
        let waiters = Arc::new(Waiters::default());
        {
            let (event, waiters) = (event.clone(), waiters.clone());
            thread::spawn(move || {
                waiters.about_to_block();
                event.wait();
                waiters.done();
            });
        }
        waiters.all_blocked(1);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(
            waiters.returned(),
            0,
            "wait returned after clear(), with no set() since"
        );
        event.set();
        assert!(
            eventually(WAKE, || waiters.returned() == 1),
            "set() did not wake the waiter"
        );
    });
}

/// Threads blocked in `wait` or `wait_timeout` sleep: over 300 ms,
/// [`SLEEPERS`] of each use almost no CPU between them, and are rarely even
/// runnable (`Cost::busy_waited`). Catches spinning on the flag or a
/// `yield_now` loop, also on a loaded machine, where a yielding spinner
/// gets little CPU but is always waiting for one.
#[test]
fn blocked_wait_does_not_busy_wait() {
    check(LIMIT, || {
        let event = Event::new();
        let started = AtomicUsize::new(0);
        let (timed, waiting) = thread::scope(|s| {
            let waiting: Vec<_> = (0..SLEEPERS)
                .map(|_| {
                    s.spawn(|| {
                        started.fetch_add(1, Ordering::SeqCst);
                        measure(|| event.wait())
                    })
                })
                .collect();
            // The waiters must block for the whole 300 ms, even if they start late.
            assert!(eventually(Duration::from_secs(3), || started
                .load(Ordering::SeqCst)
                == SLEEPERS));
            let timed: Vec<_> = (0..SLEEPERS)
                .map(|_| s.spawn(|| measure(|| event.wait_timeout(BLOCKED))))
                .collect();
            let timed: Vec<_> = timed
                .into_iter()
                .map(|h| h.join().expect("a timed waiter panicked"))
                .collect();
            event.set();
            let waiting: Vec<_> = waiting
                .into_iter()
                .map(|h| h.join().expect("a waiter panicked"))
                .collect();
            (timed, waiting)
        });
        let mut cost = Cost::default();
        for (got, used) in timed {
            assert!(!got, "wait_timeout returned true before the event was set");
            cost += used;
        }
        println!("wait_timeout: {SLEEPERS} threads blocked, {cost}");
        assert!(
            !cost.busy_waited(SLEEPERS_CPU),
            "{SLEEPERS} threads blocked in wait_timeout cost between them {cost} \
             (busy-waiting?)"
        );
        let cost: Cost = waiting.into_iter().map(|((), used)| used).sum();
        println!("wait: {SLEEPERS} threads blocked, {cost}");
        assert!(
            !cost.busy_waited(SLEEPERS_CPU),
            "{SLEEPERS} threads blocked in wait cost between them {cost} (busy-waiting?)"
        );
    });
}

/// A counter that threads bump and one thread waits on with a deadline.
#[derive(Default)]
struct Tally {
    count: StdMutex<usize>,
    changed: StdCondvar,
}

impl Tally {
    fn add(&self) {
        *self.count.lock().unwrap() += 1;
        self.changed.notify_all();
    }

    /// Waits until the count reaches `target`; false if `limit` passes first.
    fn reaches(&self, target: usize, limit: Duration) -> bool {
        let count = self.count.lock().unwrap();
        let (count, _) = self
            .changed
            .wait_timeout_while(count, limit, |count| *count < target)
            .unwrap();
        *count >= target
    }
}

/// Round after round, waiters call `wait` (or `wait_timeout`) while another
/// thread calls `set` at nearly the same instant; every waiter must return
/// every round. Catches lost wakeups: checking the flag, releasing the lock
/// and only then waiting, or notifying before the flag is raised.
#[test]
fn set_racing_with_wait_never_loses_a_waiter() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let waiters = 4;
        let rounds = 1500;
        let event = Event::new();
        let start = Barrier::new(waiters + 1);
        let go = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let returned = Tally::default();
        let saw_false = AtomicBool::new(false);
        // A third of the rounds set() right as the waiters enter wait (where a
        // lost wakeup hides), the others a little later, mostly once they are
        // asleep (where a set() that notifies too early hides).
        let delays: Vec<u32> = (0..rounds)
            .map(|_| {
                if rng.random_bool(0.3) {
                    rng.random_range(0..4)
                } else {
                    rng.random_range(1000..4000)
                }
            })
            .collect();
        let mut lost = None;
        thread::scope(|s| {
            for w in 0..waiters {
                let (event, start, go, stop, returned, saw_false) =
                    (&event, &start, &go, &stop, &returned, &saw_false);
                s.spawn(move || {
                    for round in 1..=rounds {
                        start.wait();
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        start_together(go, round);
                        if (w + round) % 2 == 0 {
                            event.wait();
                        } else if !event.wait_timeout(Duration::from_secs(5)) {
                            saw_false.store(true, Ordering::SeqCst);
                        }
                        returned.add();
                    }
                });
            }
            for round in 1..=rounds {
                event.clear();
                start.wait();
                go.store(round, Ordering::SeqCst);
                // Sweep the set across the moment the waiters enter wait.
                for _ in 0..delays[round - 1] {
                    std::hint::spin_loop();
                }
                event.set();
                if !returned.reaches(round * waiters, harness::scaled(WAKE)) {
                    lost = Some(round);
                    break;
                }
            }
            if lost.is_some() {
                // Release the stuck waiters and stop the others.
                stop.store(true, Ordering::SeqCst);
                for _ in 0..3 {
                    event.set();
                    thread::sleep(Duration::from_millis(20));
                }
                // Waiters that finished the round wait at the barrier.
                start.wait();
            }
        });
        if let Some(round) = lost {
            panic!(
                "round {round}: a thread that called wait while set() was being called never \
                 returned (lost wakeup)"
            );
        }
        assert!(
            !saw_false.load(Ordering::SeqCst),
            "a wait_timeout(5 s) returned false although set() was called"
        );
    });
}
