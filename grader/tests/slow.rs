//! Slow is not stuck: a submission that keeps computing gets more time and
//! then a "too slow" verdict that names no deadlock; one whose threads all
//! sleep is stopped at the limit as "timed out".

mod common;

use common::*;

const NN: &str = "05";

fn with_new(body: &str) -> String {
    let hook = "todo!(\"Event::new: an event whose flag starts lowered\")";
    let stub = patched_stub(NN, "", "");
    assert!(stub.contains(hook), "the 05 stub's Event::new changed");
    stub.replace(hook, &format!("{{ {body}; {hook} }}"))
}

#[test]
fn a_spinning_submission_is_too_slow_and_a_sleeping_one_timed_out() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let spin = "let started = std::time::Instant::now(); \
                while started.elapsed() < std::time::Duration::from_secs(600) { \
                std::hint::spin_loop(); }";
    let sleep = "std::thread::sleep(std::time::Duration::from_secs(600))";
    write_exercise(&class.path().join("sleeper"), NN, &with_new(sleep));
    write_exercise(&class.path().join("spinner"), NN, &with_new(spin));
    let output = grader()
        .arg("grade")
        .arg(class.path())
        .args([
            "--exercise",
            NN,
            "--timeout",
            "1",
            "--format",
            "json",
            "--out",
        ])
        .arg(out.path())
        // Limits as on an idle machine, so the test stays short.
        .env("INTERLEAVE_SLACK", "1")
        .assert()
        .success()
        .get_output()
        .clone();
    let run = parse_run(&output.stdout);
    for (index, expected) in [(0, "timed_out"), (1, "too_slow")] {
        let result = exercise(&run, index, NN);
        for test in result["tests"].as_array().unwrap() {
            assert_eq!(test["outcome"]["kind"], expected, "{test}");
        }
    }
    let feedback = std::fs::read_to_string(out.path().join("spinner/feedback.md")).unwrap();
    assert!(feedback.contains("too slow: used"), "{feedback}");
    for word in ["deadlock", "lost wakeup"] {
        assert!(
            !feedback.contains(word),
            "a slow test's feedback says {word}:\n{feedback}"
        );
    }
}
