//! `harness::stuck` on a real process: threads waiting on a condition
//! variable nobody notifies are stuck for certain, but only once nothing
//! else could wake them (a sleeping thread beside them) and the picture has
//! held for the grace period. A program of its own (`harness = false`), so
//! that no other test's threads are in the picture.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use harness::stuck::{GRACE, Stillness, own_tid};

fn main() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let pair = Arc::clone(&pair);
            thread::spawn(move || {
                let (lock, ready) = &*pair;
                let mut done = lock.lock().unwrap();
                while !*done {
                    done = ready.wait(done).unwrap();
                }
            })
        })
        .collect();
    let sleeper = thread::spawn(|| thread::sleep(Duration::from_millis(800)));
    let mut still = Stillness::default();
    let started = Instant::now();
    let mut stuck_at = None;
    while started.elapsed() < GRACE * 4 {
        if still.sample(own_tid()) {
            stuck_at = Some(started.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    sleeper.join().unwrap();
    *pair.0.lock().unwrap() = true;
    pair.1.notify_all();
    for waiter in waiters {
        waiter.join().unwrap();
    }
    let stuck_at = stuck_at.expect("two threads waiting forever were never found stuck");
    assert!(
        stuck_at >= GRACE + Duration::from_millis(700),
        "found stuck after {stuck_at:?}, while a sleeping thread could still wake them"
    );
    // And a process whose threads sleep with a timeout is never stuck.
    let napper = thread::spawn(|| thread::sleep(GRACE * 2));
    let mut still = Stillness::default();
    let started = Instant::now();
    while started.elapsed() < GRACE + Duration::from_millis(500) {
        assert!(
            !still.sample(own_tid()),
            "a sleeping thread was called stuck"
        );
        thread::sleep(Duration::from_millis(100));
    }
    napper.join().unwrap();
    println!("stuck: ok (found after {stuck_at:?})");
}
