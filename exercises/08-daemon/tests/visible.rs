//! Visible tests for exercise 08: the basic behaviour of `Runtime`,
//! `run_main` and `Ticker`. The hidden tests go further (nested spawns,
//! panics, busy-waiting, stress).

use exercise_08::{Runtime, Ticker, run_main};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `f` on its own thread and returns its result, failing the test if it
/// takes longer than `limit` (a hang in the code under test) or panics.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(f());
    });
    match result.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("still running after {limit:?}: something waits that should not")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the code under test panicked (its message is printed above)")
        }
    }
}

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
        elapsed < Duration::from_secs(1),
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
        let deadline = Instant::now() + Duration::from_secs(1);
        while runtime.active() != 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
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
        let deadline = Instant::now() + Duration::from_secs(1);
        while ticks.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
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
    assert!(elapsed < Duration::from_secs(2), "stop took {elapsed:?}");
    assert_eq!(ticks, 0, "no tick is due in the first 10 s");
}
