//! The visible tests' time limit (`exercises/within.rs`) tells a call that
//! is stuck from one that the machine runs slowly.

#[path = "../../exercises/within.rs"]
mod within;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use within::{eventually, within};

/// These tests measure the whole process: one at a time.
static ALONE: Mutex<()> = Mutex::new(());

const LIMIT: Duration = Duration::from_millis(300);

/// The message `within` failed with, and how long it took.
fn failure(body: impl FnOnce() + Send + 'static) -> (String, Duration) {
    let started = Instant::now();
    let panic = catch_unwind(AssertUnwindSafe(|| within(LIMIT, body)))
        .expect_err("the call should have failed its limit");
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    (message, started.elapsed())
}

/// Runs `body` while more spinning threads than CPUs compete with it, so
/// that every thread of this process waits for a CPU most of the time.
fn crowded<T>(body: impl FnOnce() -> T) -> T {
    let stop = AtomicBool::new(false);
    let cpus = thread::available_parallelism().map_or(2, |n| n.get());
    /// Stops the spinners however `body` ends (a failed limit panics).
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    thread::scope(|scope| {
        for _ in 0..cpus * 3 {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        let _stop = Stop(&stop);
        body()
    })
}

/// Spins for `wall` of wall-clock time.
fn spin_for(wall: Duration) {
    let started = Instant::now();
    while started.elapsed() < wall {
        std::hint::spin_loop();
    }
}

#[test]
fn a_call_that_sleeps_for_good_fails_as_blocked_soon_after_its_limit() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let (message, took) = failure(thread::park);
    assert!(
        message.contains("stopped using the CPU") && message.contains("blocked"),
        "{message}"
    );
    assert!(took >= LIMIT, "failed after {took:?}, before its limit");
    assert!(
        took < LIMIT * 8,
        "took {took:?} to call a sleeping call stuck"
    );
}

#[test]
fn a_call_slowed_by_waiting_for_a_cpu_is_not_failed_at_its_wall_clock_limit() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    // Four times the limit in wall time, past the extension a running call
    // gets (three times), but most of it spent waiting for a CPU.
    let took = crowded(|| {
        let started = Instant::now();
        within(LIMIT, || spin_for(LIMIT * 4));
        started.elapsed()
    });
    assert!(took >= LIMIT * 4, "the call returned early: {took:?}");
}

#[test]
fn a_call_that_spins_without_end_fails_as_running_not_as_blocked() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let spinner = std::sync::Arc::clone(&stop);
    let (message, took) = failure(move || {
        while !spinner.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
    });
    stop.store(true, Ordering::Relaxed);
    assert!(!message.contains("blocked"), "{message}");
    assert!(
        message.contains("still running") || message.contains("busy"),
        "{message}"
    );
    assert!(took >= LIMIT * 3, "a running call failed after {took:?}");
}

#[test]
fn eventually_waits_out_a_crowded_machine_and_gives_up_on_a_condition_never_met() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let became_true = crowded(|| {
        let started = Instant::now();
        eventually(LIMIT, || started.elapsed() >= LIMIT * 4)
    });
    assert!(
        became_true,
        "a condition met after 4 limits of crowded wall time"
    );
    let started = Instant::now();
    assert!(!eventually(LIMIT, || false), "a condition never met held");
    let took = started.elapsed();
    assert!((LIMIT..LIMIT * 8).contains(&took), "gave up after {took:?}");
}
