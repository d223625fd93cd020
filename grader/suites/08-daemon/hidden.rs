//! Hidden suite for exercise 08: daemon threads, shutdown at exit, `Ticker`.
//!
//! Probes: thread names seen inside the closures, counters of finished
//! threads, the panic messages `shutdown` returns, `active()` while threads
//! are held at a gate, and the ticker thread's own CPU time (read from inside
//! `tick`, which runs on that thread) to tell sleeping from spinning.

use exercise_08::{Runtime, Ticker, run_main};
use harness::{LIMIT, Meter, Stamp, check, eventually, measure};
use parking_lot::{Condvar, Mutex};
use rand::RngExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// A one-shot gate threads wait at until the test opens it. Never blocks
/// longer than 5 s (or the limit given), so a failing test still ends.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        self.wait_at_most(harness::scaled(Duration::from_secs(5)));
    }

    fn wait_at_most(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut open = self.open.lock();
        while !*open {
            if self.opened.wait_until(&mut open, deadline).timed_out() {
                return;
            }
        }
    }

    fn open(&self) {
        *self.open.lock() = true;
        self.opened.notify_all();
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Every thread, daemon or not, runs under the OS name it was spawned with.
/// Catches threads started with `thread::spawn` instead of a named
/// `thread::Builder`.
#[test]
fn threads_run_under_the_names_they_were_spawned_with() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let runtime = Runtime::new();
        let n = rng.random_range(6..14);
        let (tx, rx) = mpsc::channel();
        let mut expected = Vec::new();
        for i in 0..n {
            let name = format!("t{i}-{}", rng.random_range(0..1_000_000u32));
            expected.push(Some(name.clone()));
            let tx = tx.clone();
            let body = move || {
                let _ = tx.send((i, thread::current().name().map(String::from)));
            };
            if rng.random_bool(0.5) {
                runtime.spawn_daemon(name, body);
            } else {
                runtime.spawn(name, body);
            }
        }
        let mut seen = vec![None; n];
        for _ in 0..n {
            let (i, name) = rx
                .recv_timeout(Duration::from_secs(5))
                .expect("every spawned thread runs its closure");
            seen[i] = name;
        }
        runtime.shutdown();
        assert_eq!(seen, expected, "names seen by thread::current().name()");
    });
}

/// `shutdown` returns only after every non-daemon thread has finished, even
/// when it is called right after the spawns (one thread, many times over;
/// then many threads). Catches a count of running threads that is raised
/// inside the new thread (too late) instead of in `spawn`, and handles that
/// are dropped instead of joined.
#[test]
fn shutdown_waits_for_every_non_daemon_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for round in 0..40 {
            let runtime = Runtime::new();
            let finished = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&finished);
            runtime.spawn(format!("single-{round}"), move || {
                thread::sleep(ms(2));
                counter.fetch_add(1, Ordering::SeqCst);
            });
            runtime.shutdown();
            assert_eq!(
                finished.load(Ordering::SeqCst),
                1,
                "shutdown called right after spawn returned before the thread finished"
            );
        }
        for _ in 0..5 {
            let runtime = Runtime::new();
            let n = rng.random_range(10..30);
            let finished = Arc::new(AtomicUsize::new(0));
            for i in 0..n {
                let finished = Arc::clone(&finished);
                let pause = ms(rng.random_range(0..30));
                runtime.spawn(format!("worker-{i}"), move || {
                    thread::sleep(pause);
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            runtime.shutdown();
            assert_eq!(
                finished.load(Ordering::SeqCst),
                n,
                "shutdown returned while non-daemon threads were still running"
            );
        }
    });
}

/// Non-daemon threads that spawn more non-daemon threads (a chain, and a
/// tree) while `shutdown` is already waiting: it must wait for all of them.
/// Catches a `shutdown` that takes one snapshot of the threads and joins only
/// those.
#[test]
fn shutdown_waits_for_threads_spawned_while_it_waits() {
    fn chain(runtime: Runtime, depth: usize, pause: Duration, finished: Arc<AtomicUsize>) {
        let spawner = runtime.clone();
        runtime.spawn(format!("chain-{depth}"), move || {
            thread::sleep(pause);
            if depth > 1 {
                chain(spawner, depth - 1, pause, Arc::clone(&finished));
            }
            finished.fetch_add(1, Ordering::SeqCst);
        });
    }

    check(LIMIT, || {
        let mut rng = harness::rng();
        let runtime = Runtime::new();
        let finished = Arc::new(AtomicUsize::new(0));
        let depth = rng.random_range(4..8);
        chain(
            runtime.clone(),
            depth,
            ms(rng.random_range(10..25)),
            Arc::clone(&finished),
        );
        // A tree: 3 children, each spawning 3 grandchildren after a pause.
        let spawner = runtime.clone();
        let tree_finished = Arc::clone(&finished);
        runtime.spawn("root", move || {
            for c in 0..3 {
                let spawner2 = spawner.clone();
                let finished = Arc::clone(&tree_finished);
                spawner.spawn(format!("child-{c}"), move || {
                    thread::sleep(ms(20));
                    for g in 0..3 {
                        let finished = Arc::clone(&finished);
                        spawner2.spawn(format!("grandchild-{c}-{g}"), move || {
                            thread::sleep(ms(20));
                            finished.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            tree_finished.fetch_add(1, Ordering::SeqCst);
        });
        let expected = depth + 1 + 3 + 9;
        runtime.shutdown();
        assert_eq!(
            finished.load(Ordering::SeqCst),
            expected,
            "shutdown returned before the threads spawned by other threads finished"
        );
    });
}

/// `shutdown` ignores daemons: with daemons blocked for 4 s and one short
/// non-daemon worker, it returns within 2 s. Catches a `shutdown` that joins
/// daemon threads too.
#[test]
fn shutdown_does_not_wait_for_daemons() {
    check(LIMIT, || {
        let runtime = Runtime::new();
        let gate = Arc::new(Gate::default());
        for i in 0..3 {
            let gate = Arc::clone(&gate);
            runtime.spawn_daemon(format!("daemon-{i}"), move || {
                gate.wait_at_most(harness::scaled(Duration::from_secs(4)))
            });
        }
        let finished = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&finished);
        runtime.spawn("worker", move || {
            thread::sleep(ms(50));
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let start = Instant::now();
        runtime.shutdown();
        let waited = start.elapsed();
        gate.open();
        assert_eq!(finished.load(Ordering::SeqCst), 1, "the worker finished");
        assert!(
            waited < harness::scaled(Duration::from_secs(2)),
            "shutdown waited {waited:?}: it must not wait for daemon threads"
        );
    });
}

/// `shutdown` does not spin while it waits: blocked for 400 ms on a sleeping
/// worker, it uses almost no CPU time and is rarely even runnable
/// (`Cost::busy_waited`, which also holds on a loaded machine).
#[test]
fn shutdown_sleeps_while_it_waits() {
    check(LIMIT, || {
        let runtime = Runtime::new();
        runtime.spawn("slow", || thread::sleep(ms(400)));
        let (panics, cost) = measure(|| runtime.shutdown());
        assert!(panics.is_empty());
        assert!(
            cost.wall >= ms(350),
            "shutdown returned after {:?}, before the worker ended",
            cost.wall
        );
        assert!(
            !cost.busy_waited(ms(20)),
            "shutdown cost {cost} while it waited (busy-waiting?)"
        );
    });
}

/// `shutdown` returns the message of every non-daemon thread that panicked
/// (`panic!` with a literal or with a format string, directly spawned or
/// nested), and the other threads still finish. Catches `join().unwrap()`
/// (the first panic escapes `shutdown`) and panics that are dropped.
#[test]
fn shutdown_returns_the_message_of_every_panicking_thread() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let runtime = Runtime::new();
        let token = rng.random_range(0..1_000_000u32);
        let n = rng.random_range(8..16);
        let finished = Arc::new(AtomicUsize::new(0));
        let mut expected = vec!["literal failure".to_string()];
        let mut survivors = 0;
        runtime.spawn("literal", || panic!("literal failure"));
        for i in 0..n {
            let pause = ms(rng.random_range(0..30));
            let finished = Arc::clone(&finished);
            if rng.random_bool(0.4) {
                expected.push(format!("failure {i} ({token})"));
                runtime.spawn(format!("worker-{i}"), move || {
                    thread::sleep(pause);
                    panic!("failure {i} ({token})");
                });
            } else {
                survivors += 1;
                runtime.spawn(format!("worker-{i}"), move || {
                    thread::sleep(pause);
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
        }
        expected.push(format!("nested failure ({token})"));
        let spawner = runtime.clone();
        runtime.spawn("parent", move || {
            thread::sleep(ms(20));
            spawner.spawn("nested", move || panic!("nested failure ({token})"));
        });
        let mut panics = runtime.shutdown();
        panics.sort();
        expected.sort();
        assert_eq!(panics, expected, "panic messages returned by shutdown");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            survivors,
            "threads that did not panic must still be waited for"
        );
    });
}

/// A panicking daemon is not reported: `shutdown` returns only the panics of
/// non-daemon threads.
#[test]
fn daemon_panics_are_not_reported_by_shutdown() {
    check(LIMIT, || {
        let runtime = Runtime::new();
        runtime.spawn_daemon("daemon", || panic!("daemon failure"));
        runtime.spawn("worker", || thread::sleep(ms(300)));
        let panics = runtime.shutdown();
        assert!(
            panics.is_empty(),
            "shutdown reported {panics:?}; daemon panics are not reported"
        );
    });
}

/// `active()` counts every live thread of both kinds, including nested ones,
/// from the moment `spawn` returns, and falls back to 0 once they end.
/// Catches counting only non-daemons, counting late (inside the new thread)
/// and never counting down.
#[test]
fn active_counts_every_live_thread_of_both_kinds() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let runtime = Runtime::new();
        assert_eq!(runtime.active(), 0, "a new runtime has no threads");
        let gate = Arc::new(Gate::default());
        let daemons = rng.random_range(1..5);
        let workers = rng.random_range(1..5);
        for i in 0..daemons {
            let gate = Arc::clone(&gate);
            runtime.spawn_daemon(format!("daemon-{i}"), move || gate.wait());
        }
        for i in 0..workers {
            let gate = Arc::clone(&gate);
            runtime.spawn(format!("worker-{i}"), move || gate.wait());
            assert_eq!(
                runtime.active(),
                daemons + i + 1,
                "active() right after spawn returned"
            );
        }
        let children = rng.random_range(1..4);
        let spawner = runtime.clone();
        let parent_gate = Arc::clone(&gate);
        runtime.spawn("parent", move || {
            for c in 0..children {
                let gate = Arc::clone(&parent_gate);
                spawner.spawn(format!("child-{c}"), move || gate.wait());
            }
            parent_gate.wait();
        });
        let all = daemons + workers + 1 + children;
        let reached = eventually(Duration::from_secs(3), || runtime.active() == all);
        assert!(
            reached,
            "active() is {} with {all} threads blocked at a gate",
            runtime.active()
        );
        gate.open();
        let drained = eventually(Duration::from_secs(3), || runtime.active() == 0);
        assert!(
            drained,
            "active() is still {} after every thread ended",
            runtime.active()
        );
        runtime.shutdown();
    });
}

/// A thread that panics stops being active like one that returns. Catches a
/// count decremented after the closure returns (a panic skips it) instead of
/// in a drop guard.
#[test]
fn active_counts_down_when_a_thread_panics() {
    check(LIMIT, || {
        let runtime = Runtime::new();
        for i in 0..3 {
            runtime.spawn(format!("worker-{i}"), move || panic!("worker {i} failed"));
            runtime.spawn_daemon(format!("daemon-{i}"), move || panic!("daemon {i} failed"));
        }
        let drained = eventually(Duration::from_secs(3), || runtime.active() == 0);
        assert!(
            drained,
            "active() is still {} after all six threads panicked",
            runtime.active()
        );
        assert_eq!(runtime.shutdown().len(), 3, "three non-daemon panics");
    });
}

/// `run_main` runs `main` on the calling thread, waits for every non-daemon
/// thread (nested ones too) but not for daemons, and returns the panics.
#[test]
fn run_main_runs_main_here_and_waits_like_interpreter_exit() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let caller = thread::current().id();
        let finished = Arc::new(AtomicUsize::new(0));
        let (release, blocked) = mpsc::channel::<()>();
        let n = rng.random_range(3..8);
        let counter = Arc::clone(&finished);
        let start = Instant::now();
        let panics = run_main(move |runtime| {
            assert_eq!(
                thread::current().id(),
                caller,
                "main runs on the calling thread"
            );
            runtime.spawn_daemon("daemon", move || {
                let _ = blocked.recv_timeout(harness::scaled(Duration::from_secs(4)));
            });
            for i in 0..n {
                let counter = Arc::clone(&counter);
                let spawner = runtime.clone();
                runtime.spawn(format!("worker-{i}"), move || {
                    thread::sleep(ms(30));
                    let counter2 = Arc::clone(&counter);
                    spawner.spawn(format!("helper-{i}"), move || {
                        thread::sleep(ms(30));
                        counter2.fetch_add(1, Ordering::SeqCst);
                    });
                    counter.fetch_add(1, Ordering::SeqCst);
                });
            }
            runtime.spawn("broken", || panic!("worker broke"));
        });
        let waited = start.elapsed();
        drop(release);
        assert_eq!(
            finished.load(Ordering::SeqCst),
            2 * n,
            "run_main returned before every non-daemon thread finished"
        );
        assert_eq!(panics, vec!["worker broke".to_string()]);
        assert!(
            waited < harness::scaled(Duration::from_secs(2)),
            "run_main waited {waited:?} for a daemon"
        );
    });
}

/// When `main` panics, `run_main` still waits for the non-daemon threads (as
/// Python does after an uncaught exception in the main module), then the
/// panic continues.
#[test]
fn run_main_waits_for_workers_even_when_main_panics() {
    check(LIMIT, || {
        let finished = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&finished);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_main(move |runtime| {
                runtime.spawn("worker", move || {
                    thread::sleep(ms(150));
                    counter.fetch_add(1, Ordering::SeqCst);
                });
                panic!("main failed");
            })
        }));
        let payload = outcome.expect_err("the panic of main must reach run_main's caller");
        assert_eq!(harness::panic_message(&*payload), "main failed");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the worker must be waited for before the panic continues"
        );
    });
}

/// `stop` in the middle of a 5 s interval returns within 2 s, without a tick
/// and without spinning. Catches a ticker that sleeps with `thread::sleep`
/// and one that ticks once more when woken by `stop`.
#[test]
fn ticker_stop_returns_promptly_in_the_middle_of_a_long_interval() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = Ticker::start(harness::scaled(Duration::from_secs(5)), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        thread::sleep(ms(rng.random_range(30..80)));
        let ((), cost) = measure(|| ticker.stop());
        assert!(
            cost.wall < harness::scaled(Duration::from_secs(2)),
            "stop took {:?}",
            cost.wall
        );
        assert!(!cost.busy_waited(ms(60)), "stop cost {cost}");
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            0,
            "no tick is due in the first 5 s"
        );
    });
}

/// `stop` soon after `start`, hundreds of times, at random moments of the
/// ticker thread's start-up: each returns within 2 s. Catches a stop signal
/// that can be lost between the ticker's check of the flag and its wait.
#[test]
fn ticker_stop_right_after_start_is_never_lost() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..300 {
            let ticker = Ticker::start(harness::scaled(Duration::from_secs(5)), || {});
            let pause = Duration::from_micros(rng.random_range(0..300));
            let until = Instant::now() + pause;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            let start = Instant::now();
            ticker.stop();
            let took = start.elapsed();
            assert!(
                took < harness::scaled(Duration::from_secs(2)),
                "stop took {took:?}"
            );
        }
    });
}

/// The first tick comes one interval after `start`, ticks are about one
/// interval apart (never more than elapsed / interval + 1 of them), and all
/// run on one thread that is not the caller's. Catches a tick before the
/// first wait and a ticker that does not wait between ticks.
#[test]
fn ticker_ticks_once_per_interval_on_its_own_thread() {
    check(LIMIT, || {
        let interval = ms(40);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let start = Instant::now();
        let ticker = Ticker::start(interval, move || {
            record.lock().push((Instant::now(), thread::current().id()));
        });
        thread::sleep(ms(500));
        ticker.stop();
        let elapsed = start.elapsed();
        let seen = seen.lock().clone();
        let most = (elapsed.as_millis() / interval.as_millis()) as usize + 1;
        assert!(
            (3..=most).contains(&seen.len()),
            "{} ticks in {elapsed:?} at a {interval:?} interval (expected 3..={most})",
            seen.len()
        );
        let first = seen[0].0 - start;
        assert!(
            first >= interval,
            "first tick after {first:?}, before one interval"
        );
        let ticker_thread = seen[0].1;
        assert_ne!(
            ticker_thread,
            thread::current().id(),
            "tick runs on the ticker's thread"
        );
        assert!(
            seen.iter().all(|&(_, id)| id == ticker_thread),
            "every tick runs on the same thread"
        );
    });
}

/// Between ticks the ticker thread sleeps: its CPU time, read inside `tick`
/// (which runs on that thread), barely grows over 4 intervals of 100 ms, and
/// it is rarely even runnable (`Cost::busy_waited`). Catches a ticker that
/// polls the clock in a loop, also on a loaded machine.
#[test]
fn ticker_sleeps_between_ticks() {
    check(LIMIT, || {
        let stamps = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&stamps);
        let ticker = Ticker::start(ms(100), move || {
            record.lock().push(Stamp::now());
        });
        let enough = eventually(Duration::from_secs(4), || stamps.lock().len() >= 5);
        ticker.stop();
        assert!(enough, "fewer than 5 ticks in 4 s at a 100 ms interval");
        let stamps = stamps.lock().clone();
        let cost = stamps[4].cost_since(stamps[0]);
        assert!(
            !cost.busy_waited(ms(30)),
            "the ticker thread cost {cost} between ticks (busy-waiting?)"
        );
    });
}

/// `stop` waits for a tick in progress, and no tick runs after it returns.
/// Catches a `stop` that only raises the flag without joining the thread.
#[test]
fn ticker_stop_waits_for_the_running_tick_and_ends_ticking() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..5 {
            let meter = Arc::new(Meter::new());
            let inside = Arc::clone(&meter);
            let ticker = Ticker::start(ms(2), move || {
                let _in = inside.enter();
                thread::sleep(ms(15));
            });
            thread::sleep(ms(rng.random_range(20..60)));
            ticker.stop();
            assert_eq!(
                meter.now(),
                0,
                "a tick was still running after stop returned"
            );
            let at_stop = meter.total();
            thread::sleep(ms(40));
            assert_eq!(
                meter.total(),
                at_stop,
                "tick was called after stop returned"
            );
        }
    });
}
