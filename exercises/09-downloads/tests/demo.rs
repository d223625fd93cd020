//! Runs the `downloads-demo` binary: three real downloads from a local server,
//! each answered after one second, by three workers at once.

use assert_cmd::Command;
use predicates::prelude::*;
use std::time::Duration;

/// Every download starts before any finishes (they run at the same time, as
/// in the lesson's output), and `All downloads complete!` comes last.
#[test]
fn demo_starts_every_download_before_any_finishes() {
    let assert = Command::cargo_bin("downloads-demo")
        .expect("the downloads-demo binary is built")
        .timeout(Duration::from_secs(10))
        .assert()
        .success()
        .stdout(predicate::str::contains("All downloads complete!"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("Starting download: "))
        .collect();
    let finishes: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("Finished download: "))
        .collect();
    assert_eq!(
        starts.len(),
        3,
        "three `Starting download` lines:\n{stdout}"
    );
    assert_eq!(
        finishes.len(),
        3,
        "three `Finished download` lines:\n{stdout}"
    );
    for path in ["/url1", "/url2", "/url3"] {
        assert!(
            starts.iter().any(|&i| lines[i].ends_with(path)),
            "no `Starting download` line for {path}:\n{stdout}"
        );
        assert!(
            finishes.iter().any(|&i| lines[i].ends_with(path)),
            "no `Finished download` line for {path}:\n{stdout}"
        );
    }
    assert!(
        starts.iter().max() < finishes.iter().min(),
        "a download finished before all had started: they did not run concurrently:\n{stdout}"
    );
    assert_eq!(
        lines.last(),
        Some(&"All downloads complete!"),
        "`All downloads complete!` must be the last line:\n{stdout}"
    );
}
