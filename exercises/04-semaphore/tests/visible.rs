//! Visible tests for exercise 04: the basic behaviour of each item.
//! The hidden tests go further (many threads, timing, busy-waiting).

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use exercise_04::{BoundedSemaphore, OverRelease, Semaphore, run_limited};

/// Runs `f` on its own thread and returns its result, or fails the test if it
/// takes longer than `limit` (a deadlock or a lost wakeup in the code).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        // The call panicked: report its panic, not a timeout.
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the call did not return within {limit:?} (blocked forever?)")
        }
    }
}

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
    rx.recv_timeout(Duration::from_secs(1))
        .expect("release did not wake the blocked acquire");
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
