//! Visible tests for exercise 05: the basic behaviour of `Event`.
//! The hidden tests go further (many waiters, set-then-clear, busy-waiting).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use exercise_05::Event;

#[path = "../../within.rs"]
mod within;
use within::{eventually, within};

#[test]
fn a_new_event_is_not_set() {
    assert!(!Event::new().is_set());
    assert!(!Event::default().is_set());
}

#[test]
fn set_and_clear_raise_and_lower_the_flag() {
    let event = Event::new();
    event.set();
    assert!(event.is_set());
    event.set();
    assert!(event.is_set(), "setting twice keeps the flag raised");
    event.clear();
    assert!(!event.is_set());
}

#[test]
fn wait_returns_at_once_when_the_event_is_set() {
    let event = Arc::new(Event::new());
    event.set();
    let waiter = Arc::clone(&event);
    within(Duration::from_secs(1), move || waiter.wait());
    assert!(event.wait_timeout(Duration::from_secs(5)));
}

#[test]
fn wait_timeout_returns_false_after_the_timeout() {
    let event = Arc::new(Event::new());
    let start = Instant::now();
    let waiter = Arc::clone(&event);
    let got = within(Duration::from_secs(2), move || {
        waiter.wait_timeout(Duration::from_millis(100))
    });
    assert!(!got, "nobody set the event");
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "returned before the timeout"
    );
}

#[test]
fn set_wakes_a_waiting_thread() {
    let event = Arc::new(Event::new());
    let (tx, rx) = mpsc::channel();
    let waiter = Arc::clone(&event);
    thread::spawn(move || {
        waiter.wait();
        let _ = tx.send(());
    });
    thread::sleep(Duration::from_millis(50));
    assert!(
        rx.try_recv().is_err(),
        "wait returned before the event was set"
    );
    event.set();
    within(Duration::from_secs(1), move || rx.recv())
        .expect("the waiting thread ended before the event woke it");
}

#[test]
fn set_wakes_every_waiting_thread() {
    let event = Arc::new(Event::new());
    let woken = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        let (event, woken) = (Arc::clone(&event), Arc::clone(&woken));
        thread::spawn(move || {
            event.wait();
            woken.fetch_add(1, Ordering::SeqCst);
        });
    }
    thread::sleep(Duration::from_millis(50));
    event.set();
    eventually(Duration::from_secs(1), || woken.load(Ordering::SeqCst) >= 4);
    assert_eq!(woken.load(Ordering::SeqCst), 4, "every waiter must wake");
}

#[test]
fn wait_timeout_returns_true_when_set_during_the_wait() {
    let event = Arc::new(Event::new());
    let waiter = Arc::clone(&event);
    let handle = thread::spawn(move || waiter.wait_timeout(Duration::from_secs(5)));
    thread::sleep(Duration::from_millis(50));
    event.set();
    // The wait lasts 5 s unless set() wakes it.
    let got =
        within(Duration::from_secs(1), move || handle.join()).expect("the waiting thread panicked");
    assert!(got, "the event was set during the wait");
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
fn set_then_clear_still_wakes_every_waiter() {
    within(Duration::from_secs(8), || {
        // Several rounds: in one round the waiters may happen to get the
        // lock back before clear() runs, and then every design passes.
        for _ in 0..5 {
            let event = Event::new();
            let ready = AtomicUsize::new(0);
            thread::scope(|scope| {
                let waiters: Vec<_> = (0..2)
                    .map(|_| {
                        scope.spawn(|| {
                            ready.fetch_add(1, Ordering::SeqCst);
                            event.wait();
                        })
                    })
                    .collect();
                let timed: Vec<_> = (0..2)
                    .map(|_| {
                        scope.spawn(|| {
                            ready.fetch_add(1, Ordering::SeqCst);
                            event.wait_timeout(Duration::from_secs(10))
                        })
                    })
                    .collect();
                // Every waiter is about to wait; give them time to be in it.
                eventually(Duration::from_secs(2), || ready.load(Ordering::SeqCst) >= 4);
                thread::sleep(Duration::from_millis(50));
                // As in CPython: every thread waiting when set() ran returns,
                // although the flag is lowered again at once.
                event.set();
                event.clear();
                for waiter in waiters {
                    waiter.join().unwrap();
                }
                for waiter in timed {
                    assert!(
                        waiter.join().unwrap(),
                        "wait_timeout woken by set() must return true, even after clear()"
                    );
                }
            });
        }
    });
}

#[test]
fn a_waiting_thread_uses_no_cpu() {
    within(Duration::from_secs(5), || {
        let event = Event::new();
        thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let before = thread_cpu_time();
                event.wait();
                thread_cpu_time()
                    .zip(before)
                    .map(|(after, before)| after - before)
            });
            thread::sleep(Duration::from_millis(300));
            event.set();
            if let Some(used) = waiter.join().unwrap() {
                assert!(
                    used.is_asleep(),
                    "a thread waiting 300 ms spent {used:?}: it must sleep, not poll"
                );
            }
        });
    });
}

#[test]
fn a_set_racing_with_threads_starting_to_wait_is_never_missed() {
    // Round after round, set() comes while the waiters are still on their
    // way into wait(): a flag checked before the lock is taken again to
    // wait, or a notify sent before the flag is raised, loses the wakeup.
    within(Duration::from_secs(8), || {
        for _ in 0..300 {
            let event = Event::new();
            thread::scope(|scope| {
                for _ in 0..3 {
                    scope.spawn(|| {
                        assert!(
                            event.wait_timeout(Duration::from_secs(2)),
                            "a waiter missed the set() and timed out"
                        );
                    });
                }
                event.set();
            });
        }
    });
}
