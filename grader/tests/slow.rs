//! Slow is not stuck: a submission that keeps computing gets more time and
//! then a "too slow" verdict that names no deadlock; one whose threads all
//! sleep is stopped at the limit as "timed out"; one that burns CPU without
//! end is stopped at its test's CPU cap (`cpu.toml`) as busy-waiting.

mod common;

use common::*;

const NN: &str = "05";

fn with_new(body: &str) -> String {
    let hook = "todo!(\"Event::new: an event whose flag starts lowered\")";
    let stub = patched_stub(NN, "", "");
    assert!(stub.contains(hook), "the 05 stub's Event::new changed");
    stub.replace(hook, &format!("{{ {body}; {hook} }}"))
}

/// Grades the class in `class` with `--timeout <secs>` and at most `jobs`
/// test processes at once; returns the parsed run.
fn grade(
    class: &std::path::Path,
    out: &std::path::Path,
    secs: &str,
    jobs: &str,
) -> serde_json::Value {
    let output = grader()
        .arg("grade")
        .arg(class)
        .args(["--exercise", NN, "--timeout", secs, "--jobs", jobs])
        .args(["--format", "json", "--out"])
        .arg(out)
        // Limits as on an idle machine, so the test stays short.
        .env("INTERLEAVE_SLACK", "1")
        .assert()
        .success()
        .get_output()
        .clone();
    parse_run(&output.stdout)
}

fn assert_every_test(run: &serde_json::Value, index: usize, expected: &str) {
    for test in exercise(run, index, NN)["tests"].as_array().unwrap() {
        assert_eq!(test["outcome"]["kind"], expected, "{test}");
    }
}

fn assert_feedback_says(out: &std::path::Path, student: &str, verdict: &str) {
    let feedback = std::fs::read_to_string(out.join(format!("{student}/feedback.md"))).unwrap();
    assert!(feedback.contains(verdict), "{feedback}");
    for word in ["deadlock", "lost wakeup"] {
        assert!(
            !feedback.contains(word),
            "a slow test's feedback says {word}:\n{feedback}"
        );
    }
}

#[test]
fn a_spinning_submission_is_too_slow_and_a_sleeping_one_timed_out() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // A third of one CPU: progress, but under the caps of 05's tests (3 s)
    // within four times the 1 s limit.
    let slow = "loop { let started = std::time::Instant::now(); \
                while started.elapsed() < std::time::Duration::from_millis(10) { \
                std::hint::spin_loop(); } \
                std::thread::sleep(std::time::Duration::from_millis(20)); }";
    let sleep = "std::thread::sleep(std::time::Duration::from_secs(600))";
    write_exercise(&class.path().join("sleeper"), NN, &with_new(sleep));
    write_exercise(&class.path().join("spinner"), NN, &with_new(slow));
    let run = grade(class.path(), out.path(), "1", "6");
    assert_every_test(&run, 0, "timed_out");
    assert_every_test(&run, 1, "too_slow");
    assert_feedback_says(out.path(), "spinner", "too slow: used");
}

#[test]
fn a_submission_that_burns_cpu_without_end_is_stopped_at_its_cap() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let spin = "let started = std::time::Instant::now(); \
                while started.elapsed() < std::time::Duration::from_secs(600) { \
                std::hint::spin_loop(); }";
    write_exercise(&class.path().join("hog"), NN, &with_new(spin));
    // Two at once on two CPUs (or on half of one): each reaches its 3 s cap
    // well within four times the 3 s limit.
    let run = grade(class.path(), out.path(), "3", "2");
    assert_every_test(&run, 0, "over_cpu");
    assert_feedback_says(out.path(), "hog", "busy-waiting or far too slow: used");
}
