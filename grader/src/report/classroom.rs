//! GitHub Classroom: the runner results that
//! `classroom-resources/autograding-grading-reporter` reads, and the
//! workflow that feeds them to it.
//!
//! What the reporter computes (its `src/`, read at commit 43c2d9f of
//! September 2025), per runner `R` given in its `runners` input:
//!
//! - it decodes the environment variable `R_RESULTS` (upper case) from
//!   base64 into `{ "max_score", "status", "tests": [{ "name", "status",
//!   "score", ... }] }`;
//! - its console table scores the runner as (tests with status `pass` /
//!   all tests) × `max_score`, and sums that over the runners;
//! - the points Classroom records (the "Autograding report" notice) are the
//!   sum of every test's `score` over the runners whose `max_score` is not
//!   0, out of the sum of their `max_score`;
//! - the job fails when a runner's `status` is `fail` (or `error`).
//!
//! A fraction of tests times a maximum is exact only for some maxima in
//! floating point (15/22 × 22 is 14.999999999999998), and cannot weigh tests
//! differently. So the grader splits a submission's hidden tests into two
//! runners: [`PASSED`], every passed test, whose maximum is the points
//! earned (fraction 1), and [`FAILED`], every failed test, whose maximum is
//! the points missed (fraction 0). Both sums give the grader's points
//! exactly, partial credit included, out of the grader's maximum.

use base64::Engine as _;
use serde::Serialize;

use crate::Error;
use crate::model::{ExerciseStatus, SubmissionResult, TestResult};

/// The runner holding the passed hidden tests.
pub const PASSED: &str = "passed";
/// The runner holding the failed hidden tests.
pub const FAILED: &str = "failed";

/// One runner's result, as `autograding-command-grader` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerResult {
    /// The format's version (1).
    pub version: u32,
    /// `pass` when no test in it failed, else `fail`.
    pub status: RunnerStatus,
    /// The points the runner stands for.
    pub max_score: u32,
    /// Its tests.
    pub tests: Vec<RunnerTest>,
}

/// A test's or a runner's status, in the reporter's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunnerStatus {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
}

/// One test in a runner's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerTest {
    /// `NN-topic: test_name (P points)`.
    pub name: String,
    /// Passed or failed.
    pub status: RunnerStatus,
    /// Points earned.
    pub score: u32,
    /// Why it failed (the verdict), or empty.
    pub message: String,
    /// Never shown (the reporter prints it when set).
    pub test_code: String,
    /// No file to point at.
    pub filename: String,
    /// 0: the reporter prints no line number.
    pub line_no: u32,
    /// Milliseconds the test ran.
    pub duration: u64,
}

/// The two runner results of `submission`: [`PASSED`] first, then [`FAILED`].
pub fn runner_results(submission: &SubmissionResult) -> [RunnerResult; 2] {
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for exercise in &submission.exercises {
        for test in exercise.hidden() {
            let entry = runner_test(&exercise.exercise, &exercise.status, test);
            if test.passed() {
                passed.push(entry);
            } else {
                failed.push(entry);
            }
        }
    }
    let missed = submission.max_score - submission.score;
    [
        runner(
            submission.score,
            passed,
            ("no hidden test passed", RunnerStatus::Fail),
        ),
        runner(
            missed,
            failed,
            ("no hidden test failed", RunnerStatus::Pass),
        ),
    ]
}

/// A runner of `tests` worth `max_score`. The reporter divides by the
/// number of tests, so an empty runner gets one entry, `empty`: its name
/// and its status (worth 0 points either way).
fn runner(max_score: u32, mut tests: Vec<RunnerTest>, empty: (&str, RunnerStatus)) -> RunnerResult {
    if tests.is_empty() {
        tests.push(RunnerTest {
            name: empty.0.to_string(),
            status: empty.1,
            score: 0,
            message: String::new(),
            test_code: String::new(),
            filename: String::new(),
            line_no: 0,
            duration: 0,
        });
    }
    let status = if tests.iter().all(|t| t.status == RunnerStatus::Pass) {
        RunnerStatus::Pass
    } else {
        RunnerStatus::Fail
    };
    RunnerResult {
        version: 1,
        status,
        max_score,
        tests,
    }
}

fn runner_test(topic: &str, status: &ExerciseStatus, test: &TestResult) -> RunnerTest {
    let points = if test.max_score == 1 {
        "1 point".to_string()
    } else {
        format!("{} points", test.max_score)
    };
    let message = match status {
        ExerciseStatus::Graded if test.passed() => String::new(),
        ExerciseStatus::Graded => test.outcome.verdict(),
        ExerciseStatus::NotSubmitted => "not submitted".to_string(),
        ExerciseStatus::CompileError { .. } => "does not compile".to_string(),
        ExerciseStatus::Rejected { .. } => "files refused".to_string(),
    };
    RunnerTest {
        name: format!("{topic}: {} ({points})", test.name),
        status: if test.passed() {
            RunnerStatus::Pass
        } else {
            RunnerStatus::Fail
        },
        score: test.score,
        message,
        test_code: String::new(),
        filename: String::new(),
        line_no: 0,
        duration: (test.duration_secs * 1000.0).round() as u64,
    }
}

/// The step outputs for `$GITHUB_OUTPUT`: `passed=<base64 JSON>` and
/// `failed=<base64 JSON>`, one a line.
pub fn github_outputs(submission: &SubmissionResult) -> Result<String, Error> {
    let mut text = String::new();
    for (name, result) in [PASSED, FAILED].iter().zip(runner_results(submission)) {
        let json = serde_json::to_string(&result).map_err(|e| Error::new(format!("json: {e}")))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        text.push_str(&format!("{name}={encoded}\n"));
    }
    Ok(text)
}

/// The GitHub Classroom workflow (`.github/workflows/classroom.yml` of the
/// assignment's template repository); `course_repo` is the private
/// repository holding the course, as `owner/name`.
pub fn workflow_yaml(course_repo: &str) -> String {
    WORKFLOW.replace("{COURSE_REPO}", course_repo)
}

const WORKFLOW: &str = r#"# GitHub Classroom autograding for Interleave (written by `grader classroom-workflow`).
# The grader reports every hidden test to the grading reporter as two runners:
# `passed` (worth the points earned) and `failed` (worth the points missed), so
# the points Classroom records are the grader's, partial credit included.
name: Autograding Tests
on: [push, workflow_dispatch, repository_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/checkout@v4
        with:
          repository: {COURSE_REPO}
          path: .course
          token: ${{ secrets.COURSE_TOKEN }}
      - id: grade
        name: Grade with the hidden suites
        run: |
          cargo run --release --manifest-path .course/Cargo.toml -p grader -- \
            --course .course grade . --out .grades --format classroom >> "$GITHUB_OUTPUT"
          cat .grades/*/feedback.md >> "$GITHUB_STEP_SUMMARY"
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: grades
          path: .grades
      - uses: classroom-resources/autograding-grading-reporter@v1
        env:
          PASSED_RESULTS: "${{ steps.grade.outputs.passed }}"
          FAILED_RESULTS: "${{ steps.grade.outputs.failed }}"
        with:
          runners: passed,failed
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExerciseResult, Outcome, Timings, Visibility};

    fn submission(points: &[(u32, bool)]) -> SubmissionResult {
        let tests: Vec<TestResult> = points
            .iter()
            .enumerate()
            .map(|(i, &(max, passed))| TestResult {
                name: format!("test_{i}"),
                visibility: Visibility::Hidden,
                score: if passed { max } else { 0 },
                max_score: max,
                outcome: if passed {
                    Outcome::Passed
                } else {
                    Outcome::Failed {
                        message: "no".into(),
                    }
                },
                hint: None,
                output: String::new(),
                duration_secs: 0.5,
                cpu_secs: 0.0,
            })
            .collect();
        let score = tests.iter().map(|t| t.score).sum();
        let max_score = tests.iter().map(|t| t.max_score).sum();
        SubmissionResult {
            student: "s".into(),
            source: "s".into(),
            seed: 1,
            score,
            max_score,
            elapsed_secs: 1.0,
            timings: Timings::default(),
            protections: Vec::new(),
            exercises: vec![ExerciseResult {
                exercise: "02-lock".into(),
                number: "02".into(),
                status: ExerciseStatus::Graded,
                score,
                max_score,
                tests,
                notes: Vec::new(),
            }],
            not_graded: None,
        }
    }

    /// The reporter's console arithmetic, in the same floating point.
    fn console_points(results: &[RunnerResult]) -> f64 {
        results
            .iter()
            .map(|r| {
                let passed = r
                    .tests
                    .iter()
                    .filter(|t| t.status == RunnerStatus::Pass)
                    .count();
                (passed as f64 / r.tests.len() as f64) * f64::from(r.max_score)
            })
            .sum()
    }

    #[test]
    fn every_split_of_up_to_sixty_unit_points_is_exact() {
        // 15 of 22 is where a single runner's fraction goes wrong.
        for max in 1..=60 {
            for earned in 0..=max {
                let points: Vec<(u32, bool)> = (0..max).map(|i| (1, i < earned)).collect();
                let results = runner_results(&submission(&points));
                assert_eq!(
                    console_points(&results),
                    f64::from(earned),
                    "{earned}/{max}"
                );
                let recorded: u32 = results.iter().flat_map(|r| &r.tests).map(|t| t.score).sum();
                let max_recorded: u32 = results.iter().map(|r| r.max_score).sum();
                assert_eq!((recorded, max_recorded), (earned, max));
            }
        }
    }
}
