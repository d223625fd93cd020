//! The platforms an instructor grades on, end to end: GitHub Classroom's
//! grading reporter (its arithmetic, reimplemented from its source) and the
//! Gradescope bundle's `run_autograder` in a folder laid out as
//! `/autograder`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use base64::Engine as _;
use common::*;
use serde_json::Value;

/// The small exercise these tests grade.
const NN: &str = "05";

/// A submission with partial credit in exercise 05: the solution with
/// `is_set` answering the opposite, which fails the hidden tests that read it
/// and passes the others, on every run.
fn partial_submission(root: &Path) {
    let solution = course()
        .join("solutions")
        .join(topic(NN))
        .join("src/lib.rs");
    let source = fs::read_to_string(&solution).unwrap();
    let correct = "self.state.lock().set\n";
    assert_eq!(
        source.matches(correct).count(),
        1,
        "solution 05's is_set changed; update this test's bug"
    );
    write_exercise(
        root,
        NN,
        &source.replace(correct, "!self.state.lock().set\n"),
    );
}

/// The reporter's points for the decoded runner results: (console total,
/// recorded points, recorded maximum). The console scores each runner as
/// (tests with status "pass" / all tests) * max_score, in doubles; the
/// recorded points are every test's score summed over the runners whose
/// max_score is not 0, out of the sum of those max_scores.
fn reporter_arithmetic(runners: &[Value]) -> (f64, u64, u64) {
    let mut console = 0.0;
    let (mut points, mut max) = (0, 0);
    for results in runners {
        let tests = results["tests"].as_array().unwrap();
        let passed = tests.iter().filter(|t| t["status"] == "pass").count();
        let max_score = results["max_score"].as_u64().unwrap_or(0);
        console += (passed as f64 / tests.len() as f64) * max_score as f64;
        if max_score == 0 {
            continue;
        }
        max += max_score;
        points += tests
            .iter()
            .map(|t| t["score"].as_u64().unwrap())
            .sum::<u64>();
    }
    (console, points, max)
}

#[test]
fn classroom_records_the_graders_points_for_partial_credit() {
    let dir = tempfile::tempdir().unwrap();
    let student = dir.path().join("student");
    partial_submission(&student);
    let out = dir.path().join("grades");
    let output = grader()
        .arg("grade")
        .arg(&student)
        .args([
            "--exercise",
            NN,
            "--seed",
            "11",
            "--format",
            "classroom",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .clone();
    let run: Value =
        serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let submission = &run["submissions"][0];
    let (score, max) = (
        submission["score"].as_u64().unwrap(),
        submission["max_score"].as_u64().unwrap(),
    );
    assert!(
        0 < score && score < max,
        "not partial credit: {score}/{max}"
    );

    // The reporter reads `<RUNNER>_RESULTS` for each runner: the step's
    // outputs `passed` and `failed`, base64 JSON.
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut runners = Vec::new();
    for (line, name) in stdout.lines().zip(["passed", "failed"]) {
        let encoded = line.strip_prefix(&format!("{name}=")).expect(line);
        let json = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let results: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(results["version"], 1);
        runners.push(results);
    }
    assert_eq!(runners.len(), 2, "{stdout}");
    let (console, points, recorded_max) = reporter_arithmetic(&runners);
    println!("grader {score}/{max}; reporter console {console}, recorded {points}/{recorded_max}");
    assert_eq!(console, score as f64);
    assert_eq!((points, recorded_max), (score, max));
    // A failed test fails the job, as with Classroom's own graders.
    assert_eq!(runners[0]["status"], "pass");
    assert_eq!(runners[1]["status"], "fail");
    let failed_names: Vec<&str> = runners[1]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(failed_names.iter().all(|n| n.starts_with(&topic(NN))));
}

#[test]
fn the_classroom_workflow_feeds_both_runners_to_the_reporter() {
    let output = grader()
        .args(["classroom-workflow", "--course-repo", "acme/threads"])
        .assert()
        .success()
        .get_output()
        .clone();
    let yaml = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "repository: acme/threads",
        "--format classroom >> \"$GITHUB_OUTPUT\"",
        "PASSED_RESULTS: \"${{ steps.grade.outputs.passed }}\"",
        "FAILED_RESULTS: \"${{ steps.grade.outputs.failed }}\"",
        "runners: passed,failed",
        "classroom-resources/autograding-grading-reporter@v1",
        "$GITHUB_STEP_SUMMARY",
    ] {
        assert!(
            yaml.contains(needle),
            "classroom.yml lacks {needle}:\n{yaml}"
        );
    }
}

/// A folder laid out as Gradescope's `/autograder`, with the bundle
/// unpacked in `source/` and an empty `results/`.
fn autograder_root(dir: &Path) {
    grader()
        .arg("gradescope")
        .arg(dir.join("source"))
        .assert()
        .success();
    fs::create_dir_all(dir.join("results")).unwrap();
    let metadata = serde_json::json!({
        "id": 123456,
        "created_at": "2026-12-01T21:00:00.000000-08:00",
        "assignment": { "id": 42, "title": "Interleave", "total_points": 16.0 },
        "users": [{ "email": "ada@example.edu", "id": 7, "name": "Ada" }],
        "submission_method": "upload",
    });
    fs::write(
        dir.join("submission_metadata.json"),
        serde_json::to_string_pretty(&metadata).unwrap(),
    )
    .unwrap();
}

/// Runs the bundle's `run_autograder` in `root` with `grader_bin`.
fn run_autograder(root: &Path, grader_bin: &Path) -> std::process::Output {
    Command::new(root.join("source/run_autograder"))
        .env("AUTOGRADER_ROOT", root)
        .env("GRADER_BIN", grader_bin)
        .current_dir(root)
        .output()
        .unwrap()
}

fn results_json(root: &Path) -> Value {
    let text = fs::read_to_string(root.join("results/results.json")).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("results.json is not JSON ({e}): {text}"))
}

/// Whether a JSON value has a type.
type TypeCheck = fn(&Value) -> bool;

/// The fields Gradescope's autograder specification gives a result, with
/// their types (those present must have them; score and tests always).
fn assert_top_level_spec(results: &Value) {
    assert!(results["score"].is_number(), "score: {results}");
    assert!(results["tests"].is_array());
    let typed: [(&str, TypeCheck); 7] = [
        ("max_score", Value::is_number),
        ("execution_time", Value::is_number),
        ("output", Value::is_string),
        ("output_format", Value::is_string),
        ("test_output_format", Value::is_string),
        ("stdout_visibility", Value::is_string),
        ("extra_data", Value::is_object),
    ];
    for (field, is_type) in typed {
        if let Some(value) = results.get(field) {
            assert!(is_type(value), "{field} has the wrong type: {value}");
        }
    }
    for format in ["output_format", "test_output_format"] {
        if let Some(value) = results.get(format) {
            assert!(
                ["text", "html", "simple_format", "md", "ansi"].contains(&value.as_str().unwrap())
            );
        }
    }
    for field in ["visibility", "stdout_visibility"] {
        if let Some(value) = results.get(field) {
            assert!(
                ["hidden", "after_due_date", "after_published", "visible"]
                    .contains(&value.as_str().unwrap())
            );
        }
    }
}

fn assert_test_spec(test: &Value) {
    assert!(test["name"].is_string(), "{test}");
    assert!(test["number"].is_string());
    assert!(test["score"].is_number());
    assert!(test["max_score"].is_number());
    assert!(["passed", "failed"].contains(&test["status"].as_str().unwrap()));
    assert!(test["output"].is_string());
    assert_eq!(test["output_format"], "md");
    assert!(
        ["hidden", "after_due_date", "after_published", "visible"]
            .contains(&test["visibility"].as_str().unwrap())
    );
    assert!(
        test["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string)
    );
}

#[test]
fn the_gradescope_bundle_grades_a_submission_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    autograder_root(root);
    partial_submission(&root.join("submission"));
    let started = Instant::now();
    let output = run_autograder(root, Path::new(env!("CARGO_BIN_EXE_grader")));
    println!(
        "run_autograder took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results = results_json(root);
    assert_top_level_spec(&results);
    assert_eq!(results["output_format"], "md");
    assert_eq!(results["test_output_format"], "md");
    assert!(
        results["output"]
            .as_str()
            .unwrap()
            .contains("# Interleave feedback")
    );

    // Exercise 05 was graded, with partial credit; the rest not submitted.
    let tests = results["tests"].as_array().unwrap();
    for test in tests {
        assert_test_spec(test);
    }
    let graded: Vec<&Value> = tests
        .iter()
        .filter(|t| t["name"].as_str().unwrap().starts_with(&topic(NN)))
        .collect();
    assert!(graded.iter().any(|t| t["status"] == "passed"));
    assert!(graded.iter().any(|t| t["status"] == "failed"));
    let sum: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
    let score = results["score"].as_f64().unwrap();
    assert_eq!(sum, score);
    assert!(0.0 < score && score < results["max_score"].as_f64().unwrap());
}

#[test]
fn the_gradescope_bundle_reports_its_own_failures_as_a_zero_score() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    autograder_root(root);
    // No submission folder.
    let output = run_autograder(root, Path::new(env!("CARGO_BIN_EXE_grader")));
    assert!(output.status.success());
    let results = results_json(root);
    assert_top_level_spec(&results);
    assert_eq!(results["score"], 0);
    assert_eq!(results["tests"].as_array().unwrap().len(), 0);
    let said = results["output"].as_str().unwrap();
    assert!(said.contains("no submission folder"), "{said}");

    // A grader that was never built.
    partial_submission(&root.join("submission"));
    let output = run_autograder(root, &root.join("source/course/target/release/grader"));
    assert!(output.status.success());
    let results = results_json(root);
    assert_top_level_spec(&results);
    assert_eq!(results["score"], 0);
    let said = results["output"].as_str().unwrap();
    assert!(said.contains("the grader is not built"), "{said}");
}
