//! Runs the `daemon-demo` binary as a separate process, the only way to see
//! what happens when `main` returns while a daemon thread is still running.

use assert_cmd::Command;
use predicates::prelude::*;
use std::time::Duration;

/// The demo must print every worker's line, then `main done`, and exit with
/// status 0 well before the time limit, although its daemon never ends.
#[test]
fn demo_waits_for_its_workers_then_exits_leaving_the_daemon() {
    let assert = Command::cargo_bin("daemon-demo")
        .expect("the daemon-demo binary is built")
        .timeout(Duration::from_secs(5))
        .assert()
        .success()
        .stdout(predicate::str::contains("Running in background..."))
        .stdout(predicate::str::contains("worker 1 done"))
        .stdout(predicate::str::contains("worker 2 done"))
        .stdout(predicate::str::contains("worker 3 done"))
        .stdout(predicate::str::contains("main done"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let main_done = stdout.find("main done").unwrap();
    for n in 1..=3 {
        let worker_done = stdout.find(&format!("worker {n} done")).unwrap();
        assert!(
            worker_done < main_done,
            "`worker {n} done` must come before `main done`: main must wait for its workers.\n{stdout}"
        );
    }
}
