//! Hidden suite for exercise 01 (the thread lifecycle).
//!
//! Beyond the visible tests: names and ids seen from inside the threads,
//! rendezvous probes that only pass if threads really run at the same time,
//! completion orders forced to differ from input order, `state()` observed
//! between the end of the closure and `join`, panics in every place a thread
//! can panic, and a tracker stressed by concurrent spawns.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use exercise_01::{LifecycleError, State, Tracker, Worker, run_in_thread, spawn_named};
use harness::{LIMIT, Meter, Rendezvous, check, eventually};
use parking_lot::{Condvar, Mutex};
use rand::RngExt;
use rand::seq::SliceRandom;

/// Watchdog limit per test. A correct run takes well under a second.
/// How long a rendezvous waits for its other parties before giving up.
const MEET: Duration = Duration::from_secs(4);
/// How long a thread the test holds back waits before going on by itself
/// (only a bug makes it wait that long; the bound keeps such a run short).
const HOLD: Duration = Duration::from_secs(8);
/// How long "eventually" facts may take on a loaded machine.
const SOON: Duration = Duration::from_secs(4);

/// Waits (polling) until `flag` is set or `deadline` passes; returns whether it was set.
fn wait_for(flag: &AtomicBool, deadline: Instant) -> bool {
    eventually(deadline.saturating_duration_since(Instant::now()), || {
        flag.load(Ordering::SeqCst)
    })
}

/// `count` random thread names, all different.
fn random_names(rng: &mut impl rand::Rng, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("t{i}-{}", rng.random_range(0..100_000u32)))
        .collect()
}

/// A switch the test flips to let blocked threads finish.
#[derive(Clone)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn new() -> Gate {
        Gate(Arc::new((Mutex::new(false), Condvar::new())))
    }

    fn open(&self) {
        *self.0.0.lock() = true;
        self.0.1.notify_all();
    }

    /// Waits until the gate opens (or `HOLD` passes, so a bug cannot hang us).
    fn pass(&self) {
        let deadline = Instant::now() + harness::scaled(HOLD);
        let mut open = self.0.0.lock();
        while !*open {
            if self.0.1.wait_until(&mut open, deadline).timed_out() {
                return;
            }
        }
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

// ---------------------------------------------------------------- run_in_thread

/// `run_in_thread` runs the closure on a new thread (not the caller's), lets
/// it borrow the caller's data, and returns its value. Catches running the
/// closure on the calling thread.
#[test]
fn run_in_thread_returns_the_value_computed_on_a_new_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let caller = thread::current().id();
        for _ in 0..5 {
            let data: Vec<u64> = (0..rng.random_range(1..300))
                .map(|_| rng.random_range(0..1_000_000))
                .collect();
            let (sum, id) = run_in_thread(|| (data.iter().sum::<u64>(), thread::current().id()))
                .expect("the closure does not panic");
            assert_eq!(sum, data.iter().sum::<u64>(), "wrong value returned");
            assert_ne!(id, caller, "the closure ran on the calling thread");
        }
    });
}

/// A panic becomes `Err(message)`, for a literal message (`&'static str`
/// payload) and for a formatted one (`String` payload), and a non-string
/// payload is still an `Err`. Catches reading only one payload type.
#[test]
fn run_in_thread_reports_literal_and_formatted_panic_messages() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let code = rng.random_range(0..1_000_000u32);
        let formatted: Result<u8, String> = run_in_thread(move || panic!("request {code} failed"));
        assert_eq!(formatted, Err(format!("request {code} failed")));

        let literal: Result<u8, String> = run_in_thread(|| panic!("the literal message"));
        assert_eq!(literal, Err("the literal message".to_string()));

        let other: Result<u8, String> = run_in_thread(|| std::panic::panic_any(42_i32));
        assert!(
            other.is_err(),
            "a non-string panic payload must still be an Err"
        );

        // The caller is unharmed and can go on using threads.
        assert_eq!(run_in_thread(|| code), Ok(code));
    });
}

// ------------------------------------------------------------------ spawn_named

/// Task `i` runs exactly once, on its own thread named `names[i]`, never on
/// the caller's thread. Catches threads left unnamed and names paired with
/// the wrong index.
#[test]
fn spawn_named_runs_task_i_once_on_a_thread_named_names_i() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let caller = thread::current().id();
        for _ in 0..4 {
            let count = rng.random_range(1..=12);
            let names = random_names(&mut rng, count);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let calls = AtomicUsize::new(0);
            let seen = spawn_named(&refs, |i| {
                calls.fetch_add(1, Ordering::SeqCst);
                let me = thread::current();
                (i, me.name().map(str::to_string), me.id())
            });
            assert_eq!(
                calls.load(Ordering::SeqCst),
                count,
                "task must run once per name"
            );
            assert_eq!(seen.len(), count);
            let mut ids = HashSet::new();
            for (position, (i, name, id)) in seen.into_iter().enumerate() {
                assert_eq!(
                    i, position,
                    "result {position} did not come from task({position})"
                );
                assert_eq!(
                    name.as_deref(),
                    Some(refs[i]),
                    "task({i}) ran on a thread with the wrong name"
                );
                assert_ne!(id, caller, "task({i}) ran on the calling thread");
                assert!(ids.insert(id), "two tasks ran on the same thread");
            }
        }
        let none: Vec<u8> = spawn_named(&[], |_| unreachable!("no names, no tasks"));
        assert!(none.is_empty());
    });
}

/// All the threads are running at the same time: every task waits at a
/// rendezvous for all the others. Catches joining each thread right after
/// starting it (which runs the tasks one after another).
#[test]
fn spawn_named_starts_every_thread_before_joining_any() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let count = rng.random_range(2..=8);
        let names = random_names(&mut rng, count);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let meeting = Rendezvous::new(count);
        let meter = Meter::new();
        let met = spawn_named(&refs, |_| {
            let _inside = meter.enter();
            meeting.arrive(MEET)
        });
        assert!(
            met.iter().all(|&m| m),
            "the {count} tasks never ran at the same time (peak {} at once)",
            meter.max()
        );
        assert_eq!(meter.max(), count);
    });
}

/// Results come back in input order even when the threads finish in reverse
/// order (task `i` waits until task `i + 1` has finished). Catches collecting
/// results in the order threads finish.
#[test]
fn spawn_named_keeps_input_order_when_the_last_task_finishes_first() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let count = rng.random_range(3..=8);
        let names = random_names(&mut rng, count);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let values: Vec<u64> = (0..count).map(|_| rng.random_range(0..u64::MAX)).collect();
        let finished: Vec<AtomicBool> = (0..count).map(|_| AtomicBool::new(false)).collect();
        // One deadline for all the waits, so a buggy run ends in MEET, not count * MEET.
        let deadline = Instant::now() + harness::scaled(MEET);
        let results = spawn_named(&refs, |i| {
            if i + 1 < count {
                wait_for(&finished[i + 1], deadline);
            }
            finished[i].store(true, Ordering::SeqCst);
            values[i]
        });
        assert_eq!(results, values, "results must be in input order");
    });
}

/// A panicking task makes `spawn_named` panic, and only after the other
/// tasks have finished.
#[test]
fn spawn_named_panics_when_a_task_panics_after_the_others_finish() {
    check(LIMIT, || {
        let finished = AtomicUsize::new(0);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            spawn_named(&["ok-0", "bad", "ok-2", "ok-3"], |i| {
                if i == 1 {
                    panic!("task 1 failed on purpose");
                }
                thread::sleep(Duration::from_millis(30));
                finished.fetch_add(1, Ordering::SeqCst);
            })
        }));
        assert!(
            outcome.is_err(),
            "spawn_named must panic when a task panics"
        );
        assert_eq!(
            finished.load(Ordering::SeqCst),
            3,
            "the other tasks must have finished"
        );
    });
}

// ----------------------------------------------------------------------- Worker

/// `start` returns at once: the closure is still running when it returns,
/// on a new thread named after the worker. Catches running the closure on the
/// caller (Python's `run()` instead of `start()`) and waiting for it in `start`.
#[test]
fn worker_start_returns_while_the_closure_runs_on_its_named_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let name = format!("worker-{}", rng.random_range(0..1_000_000u32));
        let caller = thread::current().id();
        let (go, wait_for_go) = mpsc::channel::<()>();
        let returned = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&returned);
        let mut worker = Worker::new(name.clone(), move || {
            // A bounded wait: a `start` that blocks still comes back.
            let _ = wait_for_go.recv_timeout(harness::scaled(HOLD));
            flag.store(true, Ordering::SeqCst);
            let me = thread::current();
            (me.name().map(str::to_string), me.id())
        });
        assert_eq!(worker.name(), name);
        worker.start().expect("first start");
        assert!(
            !returned.load(Ordering::SeqCst),
            "start() waited for the closure to finish"
        );
        assert_eq!(worker.state(), State::Running);
        go.send(()).expect("the closure is waiting");
        let (seen_name, id) = worker.join().expect("no panic");
        assert_eq!(
            seen_name.as_deref(),
            Some(name.as_str()),
            "the thread must carry the worker's name"
        );
        assert_ne!(id, caller, "the closure ran on the calling thread");
    });
}

/// `state()` is `Created` before start (nothing runs yet), `Running` while
/// the closure runs, and becomes `Finished` as soon as it returns, before
/// anyone joins; `is_alive` agrees. Catches a state that only tracks
/// "started", and a worker that starts in `new`.
#[test]
fn worker_state_becomes_finished_when_the_closure_returns_before_join() {
    check(LIMIT, || {
        let ran = Arc::new(AtomicBool::new(false));
        let ran_in_closure = Arc::clone(&ran);
        let (go, wait_for_go) = mpsc::channel::<()>();
        let mut worker = Worker::new("stateful", move || {
            ran_in_closure.store(true, Ordering::SeqCst);
            wait_for_go.recv_timeout(harness::scaled(HOLD)).is_ok()
        });
        thread::sleep(Duration::from_millis(30));
        assert_eq!(worker.state(), State::Created);
        assert!(!worker.is_alive());
        assert!(
            !ran.load(Ordering::SeqCst),
            "the closure ran before start()"
        );

        worker.start().expect("first start");
        assert!(
            eventually(SOON, || ran.load(Ordering::SeqCst)),
            "the closure never ran"
        );
        thread::sleep(Duration::from_millis(20));
        assert_eq!(
            worker.state(),
            State::Running,
            "blocked closure: still running"
        );
        assert!(worker.is_alive());

        go.send(()).expect("the closure is waiting");
        assert!(
            eventually(SOON, || worker.state() == State::Finished),
            "state() never became Finished after the closure returned (still {:?})",
            worker.state()
        );
        assert!(!worker.is_alive(), "a finished worker is not alive");
        assert_eq!(worker.join(), Ok(true));
    });
}

/// A closure that panics still ends as `Finished` (not stuck in `Running`),
/// and `join` reports `Panicked` with its message.
#[test]
fn worker_that_panics_is_finished_and_join_reports_the_message() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let code = rng.random_range(0..1_000_000u32);
        let (go, wait_for_go) = mpsc::channel::<()>();
        let mut worker: Worker<u8> = Worker::new("doomed", move || {
            let _ = wait_for_go.recv_timeout(harness::scaled(HOLD));
            panic!("worker error {code}");
        });
        worker.start().expect("first start");
        assert!(worker.is_alive());
        go.send(()).expect("the closure is waiting");
        assert!(
            eventually(SOON, || worker.state() == State::Finished),
            "a worker whose closure panicked must become Finished"
        );
        assert!(!worker.is_alive());
        assert_eq!(
            worker.join(),
            Err(LifecycleError::Panicked(format!("worker error {code}")))
        );
    });
}

/// A second `start` fails with `AlreadyStarted`, both while running and after
/// finishing, and changes nothing: the closure ran once and its value is
/// still returned by `join`.
#[test]
fn worker_can_be_started_only_once_while_running_or_after_finishing() {
    check(LIMIT, || {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let (go, wait_for_go) = mpsc::channel::<()>();
        let mut worker = Worker::new("once", move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = wait_for_go.recv_timeout(harness::scaled(HOLD));
            "done"
        });
        worker.start().expect("first start");
        assert_eq!(worker.start(), Err(LifecycleError::AlreadyStarted));
        assert_eq!(worker.state(), State::Running);
        go.send(()).expect("the closure is waiting");
        assert!(eventually(SOON, || worker.state() == State::Finished));
        assert_eq!(worker.start(), Err(LifecycleError::AlreadyStarted));
        assert_eq!(worker.state(), State::Finished);
        assert_eq!(worker.join(), Ok("done"));
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the closure must run exactly once"
        );
    });
}

/// Joining a worker that was never started is `NotStarted`, and its closure
/// never runs.
#[test]
fn worker_joined_before_start_is_not_started_and_never_runs() {
    check(LIMIT, || {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let worker = Worker::new("idle", move || flag.store(true, Ordering::SeqCst));
        assert_eq!(worker.join(), Err(LifecycleError::NotStarted));
        thread::sleep(Duration::from_millis(30));
        assert!(
            !ran.load(Ordering::SeqCst),
            "a worker never started must not run"
        );
    });
}

// ---------------------------------------------------------------------- Tracker

/// A thread counts from the moment `spawn` returns (checked right after each
/// spawn) until it finishes (checked right after each join), with its name
/// listed and set on the thread. Catches registering inside the new thread
/// (late) and forgetting to deregister.
#[test]
fn tracker_counts_each_thread_from_spawn_until_it_finishes() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let tracker = Tracker::new();
        let count = rng.random_range(4..=12);
        let names = random_names(&mut rng, count);
        let mut gates = Vec::new();
        let mut handles = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let gate = Gate::new();
            let mine = gate.clone();
            handles.push(tracker.spawn(name.clone(), move || {
                mine.pass();
                thread::current().name().map(str::to_string)
            }));
            gates.push(gate);
            assert_eq!(
                tracker.active(),
                i + 1,
                "a thread must count as soon as spawn returns"
            );
        }
        assert_eq!(sorted(tracker.names()), sorted(names.clone()));

        let mut order: Vec<usize> = (0..count).collect();
        order.shuffle(&mut rng);
        let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
        let mut live: Vec<String> = names.clone();
        for (done, &i) in order.iter().enumerate() {
            gates[i].open();
            let seen = handles[i].take().unwrap().join().expect("no panic");
            assert_eq!(
                seen.as_deref(),
                Some(names[i].as_str()),
                "the thread must carry its name"
            );
            live.retain(|n| n != &names[i]);
            assert_eq!(
                tracker.active(),
                count - done - 1,
                "a joined thread must not count"
            );
            assert_eq!(sorted(tracker.names()), sorted(live.clone()));
        }
    });
}

/// A thread that panics stops counting, like one that returns. Catches
/// deregistering after `f()` returns instead of in a drop guard.
#[test]
fn tracker_forgets_a_thread_that_panicked() {
    check(LIMIT, || {
        let tracker = Tracker::new();
        let gate = Gate::new();
        let keep = [gate.clone(), gate.clone()].map(|g| tracker.spawn("steady", move || g.pass()));
        let doomed = tracker.spawn::<(), _>("doomed", || panic!("tracked thread fails"));
        assert!(doomed.join().is_err(), "the thread panicked");
        assert_eq!(tracker.active(), 2, "a panicked thread must not count");
        assert_eq!(
            tracker.names(),
            vec!["steady".to_string(), "steady".to_string()]
        );
        gate.open();
        for handle in keep {
            handle.join().expect("no panic");
        }
        assert_eq!(tracker.active(), 0);
        assert!(tracker.names().is_empty());
    });
}

/// Names may repeat: each thread has its own entry, and one finishing removes
/// only its own. Catches keying the live set by name.
#[test]
fn tracker_keeps_one_entry_per_thread_when_names_repeat() {
    check(LIMIT, || {
        let tracker = Tracker::new();
        let first = Gate::new();
        let rest = Gate::new();
        let mut handles = Vec::new();
        handles.push(tracker.spawn("dup", {
            let g = first.clone();
            move || g.pass()
        }));
        for name in ["dup", "dup", "solo"] {
            let g = rest.clone();
            handles.push(tracker.spawn(name, move || g.pass()));
        }
        assert_eq!(tracker.active(), 4);
        assert_eq!(sorted(tracker.names()), ["dup", "dup", "dup", "solo"]);
        first.open();
        handles.remove(0).join().expect("no panic");
        assert_eq!(
            tracker.active(),
            3,
            "one `dup` finished, two are still running"
        );
        assert_eq!(sorted(tracker.names()), ["dup", "dup", "solo"]);
        rest.open();
        for handle in handles {
            handle.join().expect("no panic");
        }
        assert_eq!(tracker.active(), 0);
    });
}

/// Many threads spawn through one tracker at once, a quarter of the tracked
/// threads panic: while all are blocked the count is exact, and once all are
/// joined it is zero. Catches a count and a name list updated in separate
/// critical sections, and lost updates.
#[test]
fn tracker_stays_exact_under_concurrent_spawns_and_panics() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let spawners = rng.random_range(3..=6);
        let per_spawner = rng.random_range(10..=25);
        let tracker = Tracker::new();
        let gate = Gate::new();
        let start = Rendezvous::new(spawners);
        let handles = Mutex::new(Vec::new());
        thread::scope(|scope| {
            for s in 0..spawners {
                let (tracker, gate, start, handles) = (&tracker, &gate, &start, &handles);
                scope.spawn(move || {
                    start.arrive(MEET);
                    for k in 0..per_spawner {
                        let g = gate.clone();
                        let handle = tracker.spawn(format!("s{s}"), move || {
                            g.pass();
                            if k % 4 == 0 {
                                panic!("tracked thread {k} fails");
                            }
                            k
                        });
                        handles.lock().push((k, handle));
                    }
                });
            }
        });
        let total = spawners * per_spawner;
        assert_eq!(tracker.active(), total, "every blocked thread must count");
        let names = tracker.names();
        assert_eq!(names.len(), total);
        for s in 0..spawners {
            let wanted = format!("s{s}");
            assert_eq!(names.iter().filter(|n| **n == wanted).count(), per_spawner);
        }
        gate.open();
        for (k, handle) in handles.into_inner() {
            match handle.join() {
                Ok(value) => assert_eq!(value, k),
                Err(_) => assert_eq!(k % 4, 0, "only every fourth thread panics"),
            }
        }
        assert_eq!(tracker.active(), 0, "all joined, none may still count");
        assert!(tracker.names().is_empty());
    });
}
