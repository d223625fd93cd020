//! A grading run that dies mid-class loses at most the submission in
//! flight: every student graded before keeps their reports, and `--resume`
//! grades only the rest.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::*;

const NN: &str = "05";

#[test]
fn a_killed_class_run_keeps_its_reports_and_resumes_where_it_stopped() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let solution = fs::read_to_string(
        course()
            .join("solutions")
            .join(topic(NN))
            .join("src/lib.rs"),
    )
    .unwrap();
    let stub = fs::read_to_string(exercise_dir(NN).join("src/lib.rs")).unwrap();
    for (student, lib) in [
        ("a", &solution),
        ("b", &stub),
        ("c", &solution),
        ("d", &stub),
    ] {
        write_exercise(&class.path().join(student), NN, lib);
    }
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(course())
        .args([
            "grade",
            "--exercise",
            NN,
            "--seed",
            "3",
            "--no-overlap",
            "--out",
        ])
        .arg(out.path())
        .arg(class.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill the grader as soon as the first student's reports are written.
    let started = Instant::now();
    while !out.path().join("a/submission.json").is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "student a never graded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    for file in ["results.json", "feedback.md", "junit.xml"] {
        assert!(
            out.path().join("a").join(file).is_file(),
            "a/{file} missing"
        );
    }
    assert!(
        !out.path().join("d/submission.json").is_file(),
        "the run finished before the kill"
    );
    let a_before = fs::read(out.path().join("a/results.json")).unwrap();

    let resumed = grader()
        .args([
            "grade",
            "--exercise",
            NN,
            "--seed",
            "3",
            "--resume",
            "--out",
        ])
        .arg(out.path())
        .arg(class.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let log = String::from_utf8_lossy(&resumed.stderr);
    assert!(log.contains("already graded"), "{log}");
    // a was not graded again; everyone is in the gradebook with the right score.
    assert_eq!(
        fs::read(out.path().join("a/results.json")).unwrap(),
        a_before
    );
    let gradebook = fs::read_to_string(out.path().join("gradebook.csv")).unwrap();
    let rows: Vec<&str> = gradebook.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{gradebook}");
    for (row, solved) in rows.iter().zip([true, false, true, false]) {
        let fields: Vec<&str> = row.split(',').collect();
        let (score, max) = (fields[1], fields[fields.len() - 1]);
        assert_eq!(score == max, solved, "{row}");
    }
}
