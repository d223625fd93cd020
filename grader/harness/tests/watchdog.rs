//! The watchdog's report must survive libtest's output capture: the test
//! re-runs this binary on a child test that hangs, and reads what it printed.

use std::process::Command;
use std::time::Duration;

const CHILD_VAR: &str = "HARNESS_WATCHDOG_CHILD";

/// The hanging half of `a_hung_test_exits_124_with_a_report_on_stderr`. It only
/// hangs when that test starts it as a child process.
#[test]
fn hang_under_a_short_watchdog() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    harness::check(Duration::from_millis(200), || {
        std::thread::sleep(Duration::from_secs(30));
    });
}

#[test]
fn a_hung_test_exits_124_with_a_report_on_stderr() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hang_under_a_short_watchdog", "--test-threads=1"])
        .env(CHILD_VAR, "1")
        .output()
        .expect("run the child test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(harness::WATCHDOG_EXIT_CODE),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("WATCHDOG: test `hang_under_a_short_watchdog` made no progress"),
        "stderr: {stderr}"
    );
}

/// The spinning half of `a_slow_test_gets_more_time_then_is_stopped_as_too_slow`.
#[test]
fn spin_under_a_short_watchdog() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    harness::check(Duration::from_millis(300), || {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            std::hint::spin_loop();
        }
    });
}

#[test]
fn a_slow_test_gets_more_time_then_is_stopped_as_too_slow() {
    let started = std::time::Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "spin_under_a_short_watchdog", "--test-threads=1"])
        .env(CHILD_VAR, "1")
        .output()
        .expect("run the child test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(harness::TOO_SLOW_EXIT_CODE),
        "stderr: {stderr}"
    );
    // It ran past its limit, to the cap (4 x 300 ms).
    assert!(started.elapsed() >= Duration::from_millis(1200));
    assert!(stderr.contains("WATCHDOG: too slow"), "stderr: {stderr}");
    assert!(!stderr.contains("deadlock") && !stderr.contains("lost wakeup"));
}
