//! Stage 4: turn test runs into points.
//!
//! Each hidden test is worth the points its exercise's table
//! (`grader/suites/NN-topic/points.toml`) gives it, 1 if the table does not list it;
//! a test earns them all when it passed and none otherwise. Visible tests are
//! reported with 0 points.

use crate::course::Exercise;
use crate::model::{ExerciseResult, ExerciseStatus, Outcome, TestResult, Visibility};
use crate::run::TestRun;

/// Scores one exercise whose tests ran; `runs` holds every test the hidden
/// and visible binaries listed, hidden first.
pub fn graded(exercise: &Exercise, runs: Vec<TestRun>, notes: Vec<String>) -> ExerciseResult {
    let tests = runs
        .into_iter()
        .map(|run| {
            let (max_score, hint) = match run.job.visibility {
                Visibility::Hidden => exercise.test_points(&run.job.name),
                Visibility::Visible => (0, None),
            };
            let passed = run.outcome == Outcome::Passed;
            TestResult {
                name: run.job.name,
                visibility: run.job.visibility,
                score: if passed { max_score } else { 0 },
                max_score,
                hint: if passed { None } else { hint },
                outcome: run.outcome,
                output: run.output,
                duration_secs: run.duration.as_secs_f64(),
                cpu_secs: run.cpu.as_secs_f64(),
            }
        })
        .collect();
    total(exercise, ExerciseStatus::Graded, tests, notes)
}

/// An exercise that never reached its tests: every hidden test the course
/// declares is reported as not run, with 0 points.
pub fn not_run(exercise: &Exercise, status: ExerciseStatus, reason: &str) -> ExerciseResult {
    let mut names: Vec<String> = exercise.declared_tests.clone();
    for listed in exercise.points.tests.keys() {
        if !names.contains(listed) {
            names.push(listed.clone());
        }
    }
    let tests = names
        .into_iter()
        .map(|name| {
            let (max_score, hint) = exercise.test_points(&name);
            TestResult {
                name,
                visibility: Visibility::Hidden,
                score: 0,
                max_score,
                outcome: Outcome::NotRun {
                    reason: reason.to_string(),
                },
                hint,
                output: String::new(),
                duration_secs: 0.0,
                cpu_secs: 0.0,
            }
        })
        .collect();
    total(exercise, status, tests, Vec::new())
}

fn total(
    exercise: &Exercise,
    status: ExerciseStatus,
    tests: Vec<TestResult>,
    notes: Vec<String>,
) -> ExerciseResult {
    let hidden = tests.iter().filter(|t| t.visibility == Visibility::Hidden);
    let score = hidden.clone().map(|t| t.score).sum();
    let max_score = hidden.map(|t| t.max_score).sum();
    ExerciseResult {
        exercise: exercise.topic.clone(),
        number: exercise.number.clone(),
        status,
        score,
        max_score,
        tests,
        notes,
    }
}
