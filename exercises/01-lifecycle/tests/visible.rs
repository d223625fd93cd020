//! Visible tests for exercise 01: the basic behaviour of each item.
//! The hidden tests go further (many threads, panics, timing of `state()`).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use exercise_01::{LifecycleError, State, Tracker, Worker, run_in_thread, spawn_named};

#[path = "../../within.rs"]
mod within;
use within::{eventually, within};

#[test]
fn run_in_thread_returns_the_closure_value_from_another_thread() {
    within(Duration::from_secs(2), || {
        let caller = thread::current().id();
        let words = String::from("a bb ccc");
        // The closure borrows `words`: run_in_thread waits, so no 'static needed.
        let result = run_in_thread(|| {
            (
                words.split_whitespace().map(str::len).sum::<usize>(),
                thread::current().id(),
            )
        });
        let (total, id) = result.expect("the closure did not panic");
        assert_eq!(total, 6);
        assert_ne!(id, caller, "the closure must run on a new thread");
    });
}

#[test]
fn run_in_thread_turns_a_panic_into_its_message() {
    within(Duration::from_secs(2), || {
        let result: Result<u8, String> = run_in_thread(|| panic!("disk {} is full", 7));
        assert_eq!(result, Err("disk 7 is full".to_string()));
    });
}

#[test]
fn spawn_named_names_each_thread_and_keeps_input_order() {
    within(Duration::from_secs(2), || {
        let names = ["alpha", "beta", "gamma"];
        let seen = spawn_named(&names, |i| {
            (i, thread::current().name().map(str::to_string))
        });
        assert_eq!(
            seen,
            vec![
                (0, Some("alpha".to_string())),
                (1, Some("beta".to_string())),
                (2, Some("gamma".to_string())),
            ]
        );
    });
}

#[test]
fn worker_goes_from_created_to_running_to_finished() {
    within(Duration::from_secs(2), || {
        let (go, wait_for_go) = mpsc::channel::<()>();
        let mut worker = Worker::new("w1", move || {
            wait_for_go.recv().expect("the test sends go");
            thread::current().name().map(str::to_string)
        });
        assert_eq!(worker.name(), "w1");
        assert_eq!(worker.state(), State::Created);
        assert!(!worker.is_alive());

        worker.start().expect("first start");
        assert_eq!(worker.state(), State::Running);
        assert!(worker.is_alive());

        go.send(()).unwrap();
        assert!(
            eventually(Duration::from_secs(2), || worker.state() == State::Finished),
            "never became Finished"
        );
        assert!(!worker.is_alive());
        assert_eq!(worker.join(), Ok(Some("w1".to_string())));
    });
}

#[test]
fn worker_rejects_a_second_start_and_a_join_before_start() {
    within(Duration::from_secs(2), || {
        let mut worker = Worker::new("twice", || 5);
        worker.start().expect("first start");
        assert_eq!(worker.start(), Err(LifecycleError::AlreadyStarted));
        assert_eq!(worker.join(), Ok(5));

        let never: Worker<i32> = Worker::new("never", || 1);
        assert_eq!(never.join(), Err(LifecycleError::NotStarted));
    });
}

#[test]
fn tracker_counts_and_names_a_running_thread() {
    within(Duration::from_secs(2), || {
        let tracker = Tracker::new();
        assert_eq!(tracker.active(), 0);
        let (go, wait_for_go) = mpsc::channel::<()>();
        let handle = tracker.spawn("downloader", move || wait_for_go.recv().is_ok());
        assert_eq!(tracker.active(), 1);
        assert_eq!(tracker.names(), vec!["downloader".to_string()]);
        go.send(()).unwrap();
        assert!(handle.join().expect("no panic"));
        assert_eq!(tracker.active(), 0, "a joined thread is no longer active");
        assert!(tracker.names().is_empty());
    });
}

// Probes of the lesson's classic bugs (its "Pitfalls" section): light,
// deterministic versions of what the hidden tests check in depth.

#[test]
fn run_in_thread_reads_a_message_formatted_at_run_time() {
    within(Duration::from_secs(2), || {
        // A message built at run time is a `String` payload, not a `&str`.
        let disk = std::hint::black_box(3);
        let result: Result<(), String> = run_in_thread(move || panic!("disk {disk} failed"));
        assert_eq!(result, Err("disk 3 failed".to_string()));
    });
}

#[test]
fn spawn_named_runs_every_task_at_the_same_time() {
    // Each task waits until all three have started: tasks run one after
    // another (spawn, join, spawn, ...) never get there.
    within(Duration::from_secs(2), || {
        let all_started = std::sync::Barrier::new(3);
        let results = spawn_named(&["a", "b", "c"], |i| {
            all_started.wait();
            i * 10
        });
        assert_eq!(results, vec![0, 10, 20]);
    });
}

#[test]
fn spawn_named_keeps_input_order_when_the_first_task_finishes_last() {
    within(Duration::from_secs(2), || {
        let results = spawn_named(&["slow", "fast", "faster"], |i| {
            thread::sleep(Duration::from_millis([150, 40, 0][i]));
            i
        });
        assert_eq!(results, vec![0, 1, 2], "results must be in input order");
    });
}

#[test]
fn tracker_keeps_a_live_thread_whose_namesake_finished() {
    within(Duration::from_secs(2), || {
        let tracker = Tracker::new();
        let (go, wait_for_go) = mpsc::channel::<()>();
        let long = tracker.spawn("job", move || wait_for_go.recv().is_ok());
        let short = tracker.spawn("job", || ());
        short.join().expect("no panic");
        assert_eq!(
            tracker.active(),
            1,
            "the other thread named `job` still runs"
        );
        assert_eq!(tracker.names(), vec!["job".to_string()]);
        go.send(()).unwrap();
        assert!(long.join().expect("no panic"));
    });
}

#[test]
fn tracker_stops_counting_a_thread_that_panicked() {
    within(Duration::from_secs(2), || {
        let tracker = Tracker::new();
        let handle = tracker.spawn("doomed", || -> () {
            panic!("this thread fails on purpose")
        });
        assert!(handle.join().is_err(), "the thread panicked");
        assert_eq!(tracker.active(), 0, "a thread that panicked has finished");
        assert!(tracker.names().is_empty());
    });
}

#[test]
fn tracker_counts_a_thread_before_it_has_run() {
    // Asked right after spawn returns, many times: a thread that registers
    // itself when it starts running is often not counted yet.
    within(Duration::from_secs(3), || {
        let tracker = Tracker::new();
        for round in 0..100 {
            let (go, wait_for_go) = mpsc::channel::<()>();
            let handle = tracker.spawn("fresh", move || wait_for_go.recv().is_ok());
            let active = tracker.active();
            go.send(()).unwrap();
            assert!(handle.join().expect("no panic"));
            assert_eq!(
                active, 1,
                "round {round}: the thread was not counted when spawn returned"
            );
        }
    });
}
