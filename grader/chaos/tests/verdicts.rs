//! The stand-in's verdicts. A verdict ends the process, so each test runs its
//! scenario in a child process (this same test binary, filtered to the same
//! test, with `CHAOS_CHILD` set) and checks the child's exit code and stderr.

use std::process::{Command, Output};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use chaos::{Condvar, Mutex, ReentrantMutex};

const CHILD_VAR: &str = "CHAOS_CHILD";

/// True in the child process that runs `name`'s scenario.
fn in_child(name: &str) -> bool {
    std::env::var(CHILD_VAR).is_ok_and(|v| v == name)
}

/// Runs `name`'s scenario in a child process with extra environment.
fn run_child(name: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("test binary path"));
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, name)
        .env_remove(chaos::CHAOS_VAR)
        .env_remove(chaos::TUNE_VAR);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run the child test process")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Locks `first` then `second` on a thread named `name`, and joins it.
fn in_order(name: &str, first: &Arc<Mutex<u32>>, second: &Arc<Mutex<u32>>) {
    let (a, b) = (Arc::clone(first), Arc::clone(second));
    thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut x = a.lock();
            let mut y = b.lock();
            *x += 1;
            *y += 1;
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Two threads take two locks in opposite orders, one after the other (so
/// this run cannot deadlock): reported as a possible deadlock naming both
/// threads and both call sites.
#[test]
fn opposite_orders_are_reported_even_without_a_deadlock() {
    const NAME: &str = "opposite_orders_are_reported_even_without_a_deadlock";
    if in_child(NAME) {
        let a = Arc::new(Mutex::new(0));
        let b = Arc::new(Mutex::new(0));
        in_order("t1", &a, &b);
        in_order("t2", &b, &a);
        return;
    }
    let out = run_child(NAME, &[]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(chaos::LOCK_ORDER_EXIT_CODE),
        "{err}"
    );
    assert!(err.contains(chaos::VERDICT_PREFIX), "{err}");
    assert!(err.contains("possible deadlock"), "{err}");
    assert!(err.contains("thread `t1` takes lock A"), "{err}");
    assert!(
        err.contains("thread `t2` takes them the other way round"),
        "{err}"
    );
    assert!(
        err.contains("tests/verdicts.rs:"),
        "call sites are named: {err}"
    );
}

/// One thread alone takes two locks in both orders: no other thread can
/// hold the second lock, so this run proves nothing and is not reported
/// (the concurrent tests of a suite report such a bug).
#[test]
fn opposite_orders_in_one_thread_alone_are_not_reported() {
    const NAME: &str = "opposite_orders_in_one_thread_alone_are_not_reported";
    if in_child(NAME) {
        let a = Mutex::new(0);
        let b = Mutex::new(0);
        for _ in 0..3 {
            {
                let _x = a.lock();
                let _y = b.lock();
            }
            let _y = b.lock();
            let _x = a.lock();
        }
        return;
    }
    let out = run_child(NAME, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Many threads take random pairs of many locks, always the lower index
/// first: never reported.
#[test]
fn one_global_order_is_never_reported() {
    const NAME: &str = "one_global_order_is_never_reported";
    if in_child(NAME) {
        let locks: Arc<Vec<Mutex<u64>>> = Arc::new((0..12).map(Mutex::new).collect());
        let workers: Vec<_> = (0..4u64)
            .map(|t| {
                let locks = Arc::clone(&locks);
                thread::spawn(move || {
                    let mut seed = t * 7919 + 1;
                    for _ in 0..2000 {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        let i = (seed >> 33) as usize % 12;
                        let j = (seed >> 17) as usize % 12;
                        if i == j {
                            continue;
                        }
                        let (lo, hi) = (i.min(j), i.max(j));
                        let mut x = locks[lo].lock();
                        let mut y = locks[hi].lock();
                        *x += 1;
                        *y += 1;
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        return;
    }
    let out = run_child(NAME, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Opposite inner orders, each taken under one common outer lock: the outer
/// lock makes them safe, so nothing is reported.
#[test]
fn opposite_orders_under_a_common_outer_lock_are_not_reported() {
    const NAME: &str = "opposite_orders_under_a_common_outer_lock_are_not_reported";
    if in_child(NAME) {
        let gate = Arc::new(Mutex::new(()));
        let a = Arc::new(Mutex::new(0));
        let b = Arc::new(Mutex::new(0));
        for (name, first, second) in [("t1", &a, &b), ("t2", &b, &a)] {
            let (gate, x, y) = (Arc::clone(&gate), Arc::clone(first), Arc::clone(second));
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let _gate = gate.lock();
                    let mut x = x.lock();
                    let mut y = y.lock();
                    *x += 1;
                    *y += 1;
                })
                .unwrap()
                .join()
                .unwrap();
        }
        return;
    }
    let out = run_child(NAME, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The same, except that the second thread skips the outer lock: reported.
#[test]
fn an_order_taken_without_the_outer_lock_is_reported() {
    const NAME: &str = "an_order_taken_without_the_outer_lock_is_reported";
    if in_child(NAME) {
        let gate = Arc::new(Mutex::new(()));
        let a = Arc::new(Mutex::new(0));
        let b = Arc::new(Mutex::new(0));
        {
            let _gate = gate.lock();
            in_order("gated", &a, &b);
        }
        let _held = gate.lock();
        // The outer lock is held by this thread, not by the one below.
        in_order("ungated", &b, &a);
        return;
    }
    let out = run_child(NAME, &[]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(chaos::LOCK_ORDER_EXIT_CODE),
        "{err}"
    );
    assert!(err.contains("thread `ungated`"), "{err}");
}

/// A ReentrantMutex taken again by its owner while it holds another lock is
/// not an edge back to it.
#[test]
fn reentrant_reacquisition_by_the_owner_is_not_an_edge() {
    const NAME: &str = "reentrant_reacquisition_by_the_owner_is_not_an_edge";
    if in_child(NAME) {
        let outer = Arc::new(ReentrantMutex::new(()));
        let inner = Arc::new(Mutex::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (outer, inner) = (Arc::clone(&outer), Arc::clone(&inner));
                thread::spawn(move || {
                    for _ in 0..100 {
                        let _first = outer.lock();
                        let mut value = inner.lock();
                        let _again = outer.lock();
                        *value += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        return;
    }
    let out = run_child(NAME, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Locking a Mutex the thread already holds is a certain deadlock: reported
/// at once instead of hanging.
#[test]
fn locking_a_held_mutex_again_is_reported() {
    const NAME: &str = "locking_a_held_mutex_again_is_reported";
    if in_child(NAME) {
        let m = Mutex::new(0);
        let _first = m.lock();
        let _second = m.lock();
        unreachable!("the second lock() must not return");
    }
    let out = run_child(NAME, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(chaos::DEADLOCK_EXIT_CODE), "{err}");
    assert!(err.contains("already holds"), "{err}");
}

/// With the lock-order graph off, a real ABBA deadlock is found by the
/// monitor, which names both threads and ends the process quickly.
#[test]
fn a_real_deadlock_is_reported_by_the_monitor() {
    const NAME: &str = "a_real_deadlock_is_reported_by_the_monitor";
    if in_child(NAME) {
        let a = Arc::new(Mutex::new(0));
        let b = Arc::new(Mutex::new(0));
        let both = Arc::new(Barrier::new(2));
        let spawn = |name: &str, x: &Arc<Mutex<i32>>, y: &Arc<Mutex<i32>>| {
            let (x, y, both) = (Arc::clone(x), Arc::clone(y), Arc::clone(&both));
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let _x = x.lock();
                    both.wait();
                    let _y = y.lock();
                })
                .unwrap()
        };
        let t1 = spawn("left", &a, &b);
        let t2 = spawn("right", &b, &a);
        let _ = t1.join();
        let _ = t2.join();
        unreachable!("the two threads deadlock");
    }
    let start = Instant::now();
    let out = run_child(NAME, &[(chaos::CHAOS_VAR, "noise,monitor")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(chaos::DEADLOCK_EXIT_CODE), "{err}");
    assert!(err.contains("deadlock: these threads"), "{err}");
    assert!(
        err.contains("thread `left`") && err.contains("thread `right`"),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

/// A waiter that nobody notifies is reported (without ending the process)
/// once it has been blocked past the threshold.
#[test]
fn a_waiter_never_notified_is_reported_while_it_waits() {
    const NAME: &str = "a_waiter_never_notified_is_reported_while_it_waits";
    if in_child(NAME) {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let waiter = Arc::clone(&pair);
        thread::Builder::new()
            .name("waiter".into())
            .spawn(move || {
                let mut ready = waiter.0.lock();
                while !*ready {
                    waiter.1.wait(&mut ready);
                }
            })
            .unwrap();
        thread::sleep(Duration::from_millis(800));
        return;
    }
    let out = run_child(
        NAME,
        &[
            (chaos::CHAOS_VAR, "monitor"),
            (chaos::TUNE_VAR, "hang_ms=200"),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("thread `waiter` waits"), "{err}");
    assert!(err.contains("Condvar"), "{err}");
}

/// Condvar waits sometimes return without a notification, and a timed wait
/// that does so reports "not timed out", long before its timeout.
#[test]
fn condvar_waits_wake_spuriously() {
    const NAME: &str = "condvar_waits_wake_spuriously";
    if in_child(NAME) {
        let lock = Mutex::new(());
        let cv = Condvar::new();
        let mut guard = lock.lock();
        let start = Instant::now();
        cv.wait(&mut guard);
        let result = cv.wait_for(&mut guard, Duration::from_secs(20));
        assert!(!result.timed_out());
        assert!(start.elapsed() < Duration::from_secs(5));
        return;
    }
    let out = run_child(
        NAME,
        &[
            (chaos::CHAOS_VAR, "spurious"),
            (chaos::TUNE_VAR, "spurious=1"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `INTERLEAVE_CHAOS=off` turns every check off: opposite orders pass.
#[test]
fn off_turns_every_check_off() {
    const NAME: &str = "off_turns_every_check_off";
    if in_child(NAME) {
        let a = Arc::new(Mutex::new(0));
        let b = Arc::new(Mutex::new(0));
        in_order("t1", &a, &b);
        in_order("t2", &b, &a);
        return;
    }
    let out = run_child(NAME, &[(chaos::CHAOS_VAR, "off")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------
// The std twins get the same verdicts.

mod std_twins {
    use super::{in_child, run_child, stderr};
    use chaos::std_twin::sync::{Arc, Condvar, Mutex};
    use chaos::std_twin::thread;
    use std::time::{Duration, Instant};

    /// Two threads take two `std` mutexes in opposite orders, one after the
    /// other: reported as a possible deadlock, in the same words.
    #[test]
    fn opposite_orders_of_std_mutexes_are_reported() {
        const NAME: &str = "std_twins::opposite_orders_of_std_mutexes_are_reported";
        if in_child(NAME) {
            let a = Arc::new(Mutex::new(0));
            let b = Arc::new(Mutex::new(0));
            for (name, x, y) in [("t1", &a, &b), ("t2", &b, &a)] {
                let (x, y) = (Arc::clone(x), Arc::clone(y));
                thread::Builder::new()
                    .name(name.into())
                    .spawn(move || {
                        let _x = x.lock().unwrap();
                        let _y = y.lock().unwrap();
                    })
                    .unwrap()
                    .join()
                    .unwrap();
            }
            return;
        }
        let out = run_child(NAME, &[]);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(chaos::LOCK_ORDER_EXIT_CODE),
            "{err}"
        );
        assert!(
            err.contains("possible deadlock (locks taken in opposite orders)"),
            "{err}"
        );
        assert!(err.contains("thread `t1` takes lock A"), "{err}");
        // The locations are the callers' lines, not the twin's.
        assert!(
            err.contains("tests/verdicts.rs:") && !err.contains("std_twin/"),
            "{err}"
        );
    }

    /// A `std` waiter that nobody notifies is reported by the hang monitor.
    #[test]
    fn a_std_waiter_never_notified_is_reported() {
        const NAME: &str = "std_twins::a_std_waiter_never_notified_is_reported";
        if in_child(NAME) {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let waiter = Arc::clone(&pair);
            thread::Builder::new()
                .name("waiter".into())
                .spawn(move || {
                    let mut ready = waiter.0.lock().unwrap();
                    while !*ready {
                        ready = waiter.1.wait(ready).unwrap();
                    }
                })
                .unwrap();
            std::thread::sleep(Duration::from_millis(800));
            return;
        }
        let out = run_child(
            NAME,
            &[
                (chaos::CHAOS_VAR, "monitor"),
                (chaos::TUNE_VAR, "hang_ms=200"),
            ],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("thread `waiter` waits"), "{err}");
    }

    /// By default (`std-spurious`), a `std` Condvar wait with nobody to
    /// notify it returns anyway, as `std` allows: a lone `if` around it is
    /// caught.
    #[test]
    fn std_condvar_waits_wake_spuriously_by_default() {
        const NAME: &str = "std_twins::std_condvar_waits_wake_spuriously_by_default";
        if in_child(NAME) {
            let lock = Mutex::new(());
            let cv = Condvar::new();
            let start = Instant::now();
            let mut guard = lock.lock().unwrap();
            for _ in 0..8 {
                guard = cv.wait(guard).unwrap();
            }
            drop(guard);
            assert!(start.elapsed() < Duration::from_secs(5));
            return;
        }
        let out = run_child(NAME, &[(chaos::TUNE_VAR, "spurious=1,std_spurious_max=8")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}
