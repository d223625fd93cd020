//! Visible tests for exercise 07: the basic behaviour of `Barrier`.
//! The hidden tests go further (many generations with random party counts,
//! abort and reset while parties wait, timeouts, busy-waiting).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use exercise_07::{Barrier, BrokenBarrier};

/// Runs `f` on its own thread and fails the test if it does not finish
/// within `limit` (so a barrier that blocks forever fails instead of hanging).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("still blocked after {limit:?}: did a waiting party miss its wakeup?")
        }
        // The body panicked: fail with its own message.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the body returned without sending its value"),
        },
    }
}

/// Starts `parties` threads that each call `wait` once; returns their results.
fn wait_all(barrier: &Arc<Barrier>, parties: usize) -> Vec<Result<usize, BrokenBarrier>> {
    let handles: Vec<_> = (0..parties)
        .map(|_| {
            let barrier = Arc::clone(barrier);
            thread::spawn(move || barrier.wait())
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn every_party_gets_a_distinct_index() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(4));
        assert_eq!(barrier.parties(), 4);
        let mut indices: Vec<usize> = wait_all(&barrier, 4)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        indices.sort_unstable();
        assert_eq!(indices, vec![0, 1, 2, 3]);
    });
}

#[test]
fn wait_blocks_until_the_last_party_arrives() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(2));
        let first = {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || barrier.wait())
        };
        // Give the first party time to arrive and block.
        let deadline = Instant::now() + Duration::from_secs(1);
        while barrier.n_waiting() < 1 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(barrier.n_waiting(), 1, "one party is blocked in wait");
        assert!(
            !first.is_finished(),
            "wait returned before everyone arrived"
        );
        let mine = barrier.wait().unwrap();
        let theirs = first.join().unwrap().unwrap();
        assert_ne!(mine, theirs);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn the_barrier_can_be_used_again_and_again() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(3));
        for _ in 0..5 {
            assert!(wait_all(&barrier, 3).iter().all(Result::is_ok));
        }
    });
}

#[test]
fn the_action_runs_once_per_generation() {
    within(Duration::from_secs(2), || {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let barrier = Arc::new(Barrier::with_action(3, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        wait_all(&barrier, 3);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        wait_all(&barrier, 3);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn abort_breaks_the_barrier_until_reset() {
    within(Duration::from_secs(2), || {
        let barrier = Arc::new(Barrier::new(2));
        let waiter = {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || barrier.wait())
        };
        thread::sleep(Duration::from_millis(50));
        barrier.abort();
        assert_eq!(waiter.join().unwrap(), Err(BrokenBarrier));
        assert!(barrier.is_broken());
        assert_eq!(barrier.wait(), Err(BrokenBarrier));
        barrier.reset();
        assert!(!barrier.is_broken());
        assert!(wait_all(&barrier, 2).iter().all(Result::is_ok));
    });
}

#[test]
fn wait_timeout_breaks_the_barrier_when_it_expires() {
    within(Duration::from_secs(2), || {
        let barrier = Barrier::new(2);
        let start = Instant::now();
        assert_eq!(
            barrier.wait_timeout(Duration::from_millis(100)),
            Err(BrokenBarrier)
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(barrier.is_broken());
    });
}
