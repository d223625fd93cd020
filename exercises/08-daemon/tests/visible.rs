//! Visible tests for exercise 08: the basic behaviour of `Runtime`,
//! `run_main` and `Ticker`. The hidden tests go further (nested spawns,
//! panics, busy-waiting, stress).

use exercise_08::{Runtime, Ticker, run_main};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

#[path = "../../within.rs"]
mod within;
use within::{eventually, slack, within};

#[test]
fn spawned_threads_carry_their_names() {
    let names = within(Duration::from_secs(2), || {
        let runtime = Runtime::new();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        runtime.spawn("worker-1", move || {
            tx.send(thread::current().name().map(String::from)).unwrap();
        });
        runtime.spawn_daemon("heartbeat", move || {
            tx2.send(thread::current().name().map(String::from))
                .unwrap();
        });
        runtime.shutdown();
        let mut names: Vec<_> = rx.iter().take(2).collect();
        names.sort();
        names
    });
    assert_eq!(
        names,
        vec![Some("heartbeat".to_string()), Some("worker-1".to_string())]
    );
}

#[test]
fn shutdown_waits_for_non_daemon_threads() {
    let finished = within(Duration::from_secs(2), || {
        let runtime = Runtime::new();
        let finished = Arc::new(AtomicUsize::new(0));
        for i in 0..3 {
            let finished = Arc::clone(&finished);
            runtime.spawn(format!("worker-{i}"), move || {
                thread::sleep(Duration::from_millis(50 * (i + 1)));
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        runtime.shutdown();
        finished.load(Ordering::SeqCst)
    });
    assert_eq!(
        finished, 3,
        "shutdown returned before every worker finished"
    );
}

#[test]
fn shutdown_does_not_wait_for_a_daemon() {
    let elapsed = within(Duration::from_secs(2), || {
        let runtime = Runtime::new();
        let (_keep_alive, never) = mpsc::channel::<()>();
        runtime.spawn_daemon("sleeper", move || {
            // Blocks for 5 s unless the test ends first.
            let _ = never.recv_timeout(Duration::from_secs(5));
        });
        let start = Instant::now();
        runtime.shutdown();
        start.elapsed()
    });
    assert!(
        elapsed < Duration::from_secs(1).mul_f64(slack()),
        "shutdown waited {elapsed:?} for a daemon"
    );
}

#[test]
fn shutdown_returns_the_panic_messages() {
    let panics = within(Duration::from_secs(2), || {
        let runtime = Runtime::new();
        runtime.spawn("ok", || {});
        runtime.spawn("broken", || panic!("disk full"));
        runtime.shutdown()
    });
    assert_eq!(panics, vec!["disk full".to_string()]);
}

#[test]
fn active_counts_running_threads() {
    within(Duration::from_secs(2), || {
        let runtime = Runtime::new();
        assert_eq!(runtime.active(), 0);
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(parking_lot::Mutex::new(gate));
        for i in 0..2 {
            let gate = Arc::clone(&gate);
            runtime.spawn(format!("worker-{i}"), move || {
                let _ = gate.lock().recv();
            });
        }
        assert_eq!(
            runtime.active(),
            2,
            "two threads are blocked, so two are active"
        );
        drop(release);
        eventually(Duration::from_secs(1), || runtime.active() == 0);
        assert_eq!(runtime.active(), 0, "both threads have finished");
        runtime.shutdown();
    });
}

#[test]
fn run_main_waits_for_the_workers_spawned_by_main() {
    let (finished, panics) = within(Duration::from_secs(2), || {
        let finished = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&finished);
        let panics = run_main(move |runtime| {
            let counter = Arc::clone(&counter);
            runtime.spawn("worker", move || {
                thread::sleep(Duration::from_millis(100));
                counter.fetch_add(1, Ordering::SeqCst);
            });
        });
        (finished.load(Ordering::SeqCst), panics)
    });
    assert_eq!(finished, 1, "run_main returned before the worker finished");
    assert!(panics.is_empty());
}

#[test]
fn ticker_ticks_until_stopped() {
    let (at_stop, later) = within(Duration::from_secs(2), || {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = Ticker::start(Duration::from_millis(20), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        eventually(Duration::from_secs(1), || ticks.load(Ordering::SeqCst) >= 3);
        ticker.stop();
        let at_stop = ticks.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(100));
        (at_stop, ticks.load(Ordering::SeqCst))
    });
    assert!(
        at_stop >= 3,
        "only {at_stop} ticks in a second at a 20 ms interval"
    );
    assert_eq!(at_stop, later, "tick was called after stop returned");
}

#[test]
fn ticker_stop_is_prompt_in_the_middle_of_a_long_interval() {
    let (elapsed, ticks) = within(Duration::from_secs(3), || {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = Ticker::start(Duration::from_secs(10), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        ticker.stop();
        (start.elapsed(), ticks.load(Ordering::SeqCst))
    });
    assert!(
        elapsed < Duration::from_secs(2).mul_f64(slack()),
        "stop took {elapsed:?}"
    );
    assert_eq!(ticks, 0, "no tick is due in the first 10 s");
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
fn a_thread_counts_as_soon_as_spawn_returns() {
    within(Duration::from_secs(3), || {
        for _ in 0..20 {
            let runtime = Runtime::new();
            let done = Arc::new(AtomicUsize::new(0));
            let flag = Arc::clone(&done);
            runtime.spawn("late", move || {
                thread::sleep(Duration::from_millis(20));
                flag.fetch_add(1, Ordering::SeqCst);
            });
            // Called at once: the new thread may not have run yet.
            runtime.shutdown();
            assert_eq!(
                done.load(Ordering::SeqCst),
                1,
                "shutdown returned before the thread ended"
            );
        }
    });
}

#[test]
fn a_panicking_thread_stops_counting_and_the_others_are_still_waited_for() {
    let (panics, finished, active) = within(Duration::from_secs(3), || {
        let runtime = Runtime::new();
        let finished = Arc::new(AtomicUsize::new(0));
        runtime.spawn("first", || panic!("first failed"));
        runtime.spawn("second", || panic!("second failed"));
        let counter = Arc::clone(&finished);
        let (release, gate) = mpsc::channel::<()>();
        runtime.spawn("held", move || {
            let _ = gate.recv();
            thread::sleep(Duration::from_millis(50));
            counter.fetch_add(1, Ordering::SeqCst);
        });
        eventually(Duration::from_secs(2), || runtime.active() <= 1);
        let active = runtime.active();
        drop(release);
        let mut panics = runtime.shutdown();
        panics.sort();
        (panics, finished.load(Ordering::SeqCst), active)
    });
    assert_eq!(
        active, 1,
        "threads that panicked must no longer count as active"
    );
    assert_eq!(
        panics,
        vec!["first failed".to_string(), "second failed".to_string()]
    );
    assert_eq!(
        finished, 1,
        "shutdown must wait for the other threads after a panic"
    );
}

#[test]
fn shutdown_waits_for_threads_started_while_it_waits() {
    let finished = within(Duration::from_secs(3), || {
        let runtime = Runtime::new();
        let finished = Arc::new(AtomicUsize::new(0));
        let (inner, counter) = (runtime.clone(), Arc::clone(&finished));
        runtime.spawn("parent", move || {
            thread::sleep(Duration::from_millis(50));
            inner.spawn("child", move || {
                thread::sleep(Duration::from_millis(50));
                counter.fetch_add(1, Ordering::SeqCst);
            });
        });
        runtime.shutdown();
        finished.load(Ordering::SeqCst)
    });
    assert_eq!(
        finished, 1,
        "shutdown returned before a thread started during it ended"
    );
}

#[test]
fn a_waiting_shutdown_uses_no_cpu() {
    let used = within(Duration::from_secs(3), || {
        let runtime = Runtime::new();
        runtime.spawn("sleeper", || thread::sleep(Duration::from_millis(300)));
        let before = thread_cpu_time();
        runtime.shutdown();
        thread_cpu_time()
            .zip(before)
            .map(|(after, before)| after - before)
    });
    if let Some(used) = used {
        assert!(
            used.is_asleep(),
            "shutdown waiting 300 ms spent {used:?}: it must sleep, not poll"
        );
    }
}

#[test]
fn the_ticker_sleeps_between_ticks_and_starts_after_one_interval() {
    let (first_after, gaps) = within(Duration::from_secs(3), || {
        let start = Instant::now();
        let (sender, ticks) = mpsc::channel();
        let ticker = Ticker::start(Duration::from_millis(150), move || {
            let _ = sender.send((start.elapsed(), thread_cpu_time()));
        });
        let seen: Vec<_> = (0..3).map(|_| ticks.recv().unwrap()).collect();
        ticker.stop();
        let gaps: Vec<Option<Effort>> = seen
            .windows(2)
            .map(|w| w[1].1.zip(w[0].1).map(|(after, before)| after - before))
            .collect();
        (seen[0].0, gaps)
    });
    assert!(
        first_after >= Duration::from_millis(140),
        "the first tick came {first_after:?} after start, before one interval"
    );
    for used in gaps.into_iter().flatten() {
        assert!(
            used.is_asleep(),
            "the ticker spent {used:?} between two ticks 150 ms apart: it must sleep, not poll"
        );
    }
}

#[test]
fn stop_waits_for_a_running_tick_and_no_tick_follows() {
    let (in_tick_when_stopped, later) = within(Duration::from_secs(3), || {
        let inside = Arc::new(AtomicUsize::new(0));
        let ticks = Arc::new(AtomicUsize::new(0));
        let (started, tick_started) = mpsc::channel();
        let (i, t) = (Arc::clone(&inside), Arc::clone(&ticks));
        let ticker = Ticker::start(Duration::from_millis(10), move || {
            i.fetch_add(1, Ordering::SeqCst);
            let _ = started.send(());
            thread::sleep(Duration::from_millis(100));
            t.fetch_add(1, Ordering::SeqCst);
            i.fetch_sub(1, Ordering::SeqCst);
        });
        tick_started.recv().unwrap();
        ticker.stop();
        let in_tick = inside.load(Ordering::SeqCst);
        let at_stop = ticks.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(150));
        (in_tick, ticks.load(Ordering::SeqCst) - at_stop)
    });
    assert_eq!(
        in_tick_when_stopped, 0,
        "stop returned while a tick was still running"
    );
    assert_eq!(later, 0, "tick was called after stop returned");
}

#[test]
fn a_stop_right_after_start_is_never_lost() {
    within(Duration::from_secs(8), || {
        for _ in 0..200 {
            let ticker = Ticker::start(Duration::from_secs(30), || {});
            let start = Instant::now();
            ticker.stop();
            assert!(
                start.elapsed() < Duration::from_secs(2).mul_f64(slack()),
                "stop took {:?}: the ticker missed it and slept on",
                start.elapsed()
            );
        }
    });
}
