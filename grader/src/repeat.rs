//! `verify --repeat N`: how reliably the hidden suites judge, measured.
//!
//! A single `verify` shows that every mutant *can* be caught. This measures
//! how often a single grading run does it, and how often a correct
//! solution is wrongly marked down. The solutions and the mutants are
//! built once, exactly as `verify` builds them; then each exercise's hidden
//! suite runs `N` times against each of them, run `i` with seed `seed + i`:
//!
//! - a solution run counts as *lost* when it scores less than full marks
//!   (the goal is none in every run);
//! - a mutant run counts as *caught* when it loses points (the goal is at
//!   least [`MIN_CATCH_RATE`] of runs). As in `verify`, a mutant's run stops
//!   at its first failing test.
//!
//! The solutions' runs also time each hidden suite on its own: the wall
//! time of one run, the summed time of its test processes (they run
//! `--jobs` at a time) and its slowest test.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::Error;
use crate::build::BuildOutput;
use crate::course::Course;
use crate::grade::{GradeOptions, compile, run_submission};
use crate::model::{ExerciseResult, ExerciseStatus, Outcome};
use crate::prepare::{PreparedSubmission, Scope, Slot};
use crate::synthetic::{self, Subject, Synthetic};

/// The fraction of runs in which every mutant must lose points.
pub const MIN_CATCH_RATE: f64 = 0.99;

/// Which of the course's own sources `verify --repeat` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Subjects {
    /// The solutions and every mutant.
    #[default]
    All,
    /// Only the solutions and the `std` references (no mutant is built).
    Solutions,
    /// Only the `std` references (`grader/suites/NN-topic/references/`):
    /// neither the solutions nor the mutants are built.
    References,
    /// Only the mutants (the solutions are not run).
    Mutants,
}

impl Subjects {
    /// What is measured, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Subjects::All => "its solution, its std references and each mutant",
            Subjects::Solutions => "its solution and its std references",
            Subjects::References => "its std references",
            Subjects::Mutants => "each mutant",
        }
    }
}

/// What was measured for one solution or one mutant of one exercise.
#[derive(Debug, Clone, Serialize)]
pub struct Tally {
    /// The exercise folder's name.
    pub exercise: String,
    /// The solution or a mutant (written as `solution` or the mutant's name).
    pub subject: Subject,
    /// Runs made.
    pub runs: usize,
    /// Solution: runs without full marks. Mutant: runs that lost points.
    pub lost: usize,
    /// For each failing test, in how many runs it failed (a mutant's run
    /// stops at its first failure, so that one counts).
    pub failed_tests: BTreeMap<String, usize>,
    /// The seeds of the runs that went the wrong way (a solution losing
    /// points, a mutant keeping full marks), the first ten.
    pub wrong_seeds: Vec<u64>,
    /// One line on the first wrong run: the test and its verdict.
    pub first_wrong: Option<String>,
    /// Wall seconds of each run.
    pub wall_secs: Vec<f64>,
    /// Summed seconds of each run's test processes.
    pub work_secs: Vec<f64>,
    /// The slowest test of each run, and its seconds.
    pub slowest: Vec<(String, f64)>,
}

impl Tally {
    /// A row with no runs yet.
    pub fn new(exercise: &str, subject: Subject) -> Tally {
        Tally {
            exercise: exercise.to_string(),
            subject,
            runs: 0,
            lost: 0,
            failed_tests: BTreeMap::new(),
            wrong_seeds: Vec::new(),
            first_wrong: None,
            wall_secs: Vec::new(),
            work_secs: Vec::new(),
            slowest: Vec::new(),
        }
    }

    /// Whether this is the row of a correct subject (the solution or a
    /// reference variant), which must never lose points.
    pub fn is_solution(&self) -> bool {
        matches!(self.subject, Subject::Solution | Subject::Reference(_))
    }

    /// Runs that went the wrong way.
    pub fn wrong(&self) -> usize {
        if self.is_solution() {
            self.lost
        } else {
            self.runs - self.lost
        }
    }

    /// A mutant's catch rate (the fraction of runs that lost points).
    pub fn catch_rate(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            self.lost as f64 / self.runs as f64
        }
    }

    /// Whether the row meets its goal.
    pub fn ok(&self, min_catch: f64) -> bool {
        if self.is_solution() {
            self.lost == 0
        } else {
            self.catch_rate() >= min_catch
        }
    }

    /// One line of the table `verify --repeat` prints.
    pub fn render(&self, min_catch: f64) -> String {
        let mark = if self.ok(min_catch) { "ok  " } else { "FAIL" };
        let result = if self.is_solution() {
            format!(
                "{:>5} of {:<5} runs lost points   suite wall {:.2} s median (tests {:.2} s summed, slowest {})",
                self.lost,
                self.runs,
                median(&self.wall_secs),
                median(&self.work_secs),
                self.slowest_test()
            )
        } else {
            format!(
                "{:>5} of {:<5} runs caught {:>6.1}%  mostly by {}",
                self.lost,
                self.runs,
                100.0 * self.catch_rate(),
                self.top_test()
            )
        };
        let mut line = format!(
            "{mark} {:<14} {:<42} {result}",
            self.exercise,
            self.subject.label()
        );
        if let Some(first) = &self.first_wrong {
            line.push_str(&format!(
                "\n       wrong runs' seeds {:?}; first: {first}",
                self.wrong_seeds
            ));
        }
        line
    }

    fn top_test(&self) -> String {
        self.failed_tests
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(name, n)| format!("{name} ({n})"))
            .unwrap_or_else(|| "-".to_string())
    }

    fn slowest_test(&self) -> String {
        let mut counts: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (name, secs) in &self.slowest {
            counts.entry(name).or_default().push(*secs);
        }
        counts
            .into_iter()
            .max_by_key(|(_, secs)| secs.len())
            .map(|(name, secs)| format!("{name} {:.2} s", median(&secs)))
            .unwrap_or_else(|| "-".to_string())
    }

    fn record(&mut self, seed: u64, result: &ExerciseResult, wall: f64) {
        self.runs += 1;
        self.wall_secs.push(wall);
        let hidden: Vec<_> = result.hidden().collect();
        self.work_secs
            .push(hidden.iter().map(|t| t.duration_secs).sum::<f64>());
        if let Some(slowest) = hidden
            .iter()
            .max_by(|a, b| a.duration_secs.total_cmp(&b.duration_secs))
        {
            self.slowest
                .push((slowest.name.clone(), slowest.duration_secs));
        }
        let failing: Vec<_> = hidden
            .iter()
            .filter(|t| !t.passed() && !matches!(t.outcome, Outcome::NotRun { .. }))
            .collect();
        for test in &failing {
            *self.failed_tests.entry(test.name.clone()).or_default() += 1;
        }
        // A mutant that does not build is a broken mutant, not a caught one
        // (plain `verify` reports it).
        let graded = result.status == ExerciseStatus::Graded;
        let lost = !graded || result.score < result.max_score;
        if lost && (graded || self.is_solution()) {
            self.lost += 1;
        }
        if !graded || lost == self.is_solution() {
            if self.wrong_seeds.len() < 10 {
                self.wrong_seeds.push(seed);
            }
            if self.first_wrong.is_none() {
                self.first_wrong = Some(match failing.first() {
                    Some(test) => format!(
                        "{} {}: {}",
                        test.name,
                        test.outcome.verdict(),
                        failure_message(&test.output)
                    ),
                    None if lost => result.verdict(),
                    None => "kept full marks".to_string(),
                });
            }
        }
    }
}

/// One run of a compiled exercise's hidden suite with `seed`: its result
/// and its wall seconds.
fn run_once(
    alone: &PreparedSubmission,
    built: &BuildOutput,
    options: &GradeOptions,
    seed: u64,
) -> Result<(ExerciseResult, f64), Error> {
    let settings = options.run_settings(seed)?;
    let started = Instant::now();
    let results = run_submission(alone, built, &settings);
    let wall = started.elapsed().as_secs_f64();
    let result = results
        .into_iter()
        .next()
        .ok_or_else(|| Error::new("a run returned no result"))?;
    Ok((result, wall))
}

/// The middle value (0 for none).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The same synthetic submissions as `verify`'s: the solutions (hidden
/// suites only), then the mutants side by side, only those named in
/// `only_mutants` if it names any.
fn subjects(
    course: &Course,
    exercises: &[&crate::course::Exercise],
    only: Subjects,
    only_mutants: &[String],
) -> Result<Vec<Synthetic>, Error> {
    let mutants: Vec<(&crate::course::Exercise, Vec<String>)> = exercises
        .iter()
        .map(|e| {
            let mut names: Vec<String> = e.mutants(course).into_iter().map(|m| m.name).collect();
            names.retain(|name| only_mutants.is_empty() || only_mutants.contains(name));
            (*e, names)
        })
        .collect();
    for name in only_mutants {
        if !mutants.iter().any(|(_, names)| names.contains(name)) {
            return Err(Error::new(format!(
                "no mutant named {name} in the selected exercises"
            )));
        }
    }
    // Which kinds each choice builds, in one table.
    let (solutions, references, mutants_too) = match only {
        Subjects::All => (true, true, true),
        Subjects::Solutions => (true, true, false),
        Subjects::References => (false, true, false),
        Subjects::Mutants => (false, false, true),
    };
    let mut submissions = Vec::new();
    if solutions {
        submissions.push(synthetic::submission(
            course,
            "solutions",
            Scope::HiddenOnly,
            &synthetic::every(exercises, Subject::Solution),
        )?);
    }
    if references {
        submissions.extend(synthetic::reference_submissions(
            course,
            exercises,
            Scope::HiddenOnly,
        )?);
    }
    if mutants_too {
        submissions.extend(synthetic::mutant_submissions(course, &mutants, "")?);
    }
    Ok(submissions)
}

/// Builds the solutions and every mutant of the selected exercises once
/// (only the mutants named in `only_mutants`, if it names any), then runs
/// each exercise's hidden suite `runs` times against each. `on_tally` sees
/// each row when its runs are done.
pub fn repeat(
    course: &Course,
    options: &GradeOptions,
    runs: usize,
    only: Subjects,
    only_mutants: &[String],
    mut on_tally: impl FnMut(&Tally),
) -> Result<Vec<Tally>, Error> {
    let exercises = course.select(&options.exercises)?;
    let submissions = subjects(course, &exercises, only, only_mutants)?;
    let grading_dir = course.grading_dir();
    let slot = Slot::acquire(&grading_dir)?;
    let mut tallies = Vec::new();
    for Synthetic {
        submission,
        subjects,
    } in &submissions
    {
        let (prepared, built, _) = compile(course, &exercises, submission, &slot, options)?;
        for (number, subject) in subjects {
            let Some(entry) = prepared
                .exercises
                .iter()
                .find(|e| &e.exercise.number == number)
            else {
                continue;
            };
            let alone = PreparedSubmission {
                exercises: vec![entry.clone()],
                ..prepared.clone()
            };
            let mut tally = Tally::new(&entry.exercise.topic, subject.clone());
            for i in 0..runs {
                let seed = options.seed.wrapping_add(i as u64);
                let (result, wall) = run_once(&alone, &built, options, seed)?;
                tally.record(seed, &result, wall);
            }
            on_tally(&tally);
            tallies.push(tally);
        }
    }
    Ok(tallies)
}

/// What went wrong in a test's output: its first panic message (the
/// assertion's own words, with where), else the first line that is not the
/// seed.
fn failure_message(output: &str) -> String {
    crate::run::panic_message(output).unwrap_or_else(|| {
        output
            .lines()
            .find(|line| !line.starts_with("seed: "))
            .unwrap_or("")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TestResult, Visibility};

    fn tally(subject: Subject) -> Tally {
        Tally::new("05-event", subject)
    }

    fn result(status: ExerciseStatus, outcomes: &[(&str, Outcome)]) -> ExerciseResult {
        let tests: Vec<TestResult> = outcomes
            .iter()
            .map(|(name, outcome)| TestResult {
                name: name.to_string(),
                visibility: Visibility::Hidden,
                score: if *outcome == Outcome::Passed { 2 } else { 0 },
                max_score: 2,
                outcome: outcome.clone(),
                hint: None,
                output: "seed: 7\nthe waiter was never woken".to_string(),
                duration_secs: 0.5,
                cpu_secs: 0.0,
            })
            .collect();
        ExerciseResult {
            exercise: "05-event".to_string(),
            number: "05".to_string(),
            status,
            score: tests.iter().map(|t| t.score).sum(),
            max_score: 2 * tests.len() as u32,
            tests,
            notes: Vec::new(),
        }
    }

    fn failed() -> Outcome {
        Outcome::Failed {
            message: "assertion failed".to_string(),
        }
    }

    #[test]
    fn a_solution_run_that_loses_points_is_counted_with_its_seed_and_test() {
        let mut row = tally(Subject::Solution);
        let good = result(ExerciseStatus::Graded, &[("a", Outcome::Passed)]);
        let bad = result(
            ExerciseStatus::Graded,
            &[("a", Outcome::Passed), ("b", failed())],
        );
        row.record(10, &good, 1.0);
        row.record(11, &bad, 1.0);
        row.record(12, &good, 3.0);
        assert_eq!((row.runs, row.lost, row.wrong()), (3, 1, 1));
        assert_eq!(row.wrong_seeds, vec![11]);
        assert_eq!(
            row.first_wrong.as_deref(),
            Some("b failed: the waiter was never woken")
        );
        assert!(!row.ok(MIN_CATCH_RATE));
        assert_eq!(median(&row.wall_secs), 1.0);
    }

    #[test]
    fn a_mutant_is_judged_by_the_fraction_of_runs_that_caught_it() {
        let mut row = tally(Subject::Mutant("wait-spins".to_string()));
        let caught = result(ExerciseStatus::Graded, &[("a", failed())]);
        let escaped = result(ExerciseStatus::Graded, &[("a", Outcome::Passed)]);
        for seed in 0..99 {
            row.record(seed, &caught, 0.1);
        }
        assert!(row.ok(MIN_CATCH_RATE));
        row.record(99, &escaped, 0.1);
        assert_eq!(row.catch_rate(), 0.99);
        assert!(row.ok(MIN_CATCH_RATE), "99 of 100 meets a 99% goal");
        row.record(100, &escaped, 0.1);
        assert!(!row.ok(MIN_CATCH_RATE));
        assert_eq!(row.wrong_seeds, vec![99, 100]);
        assert_eq!(row.failed_tests["a"], 99);
    }

    /// What each `--only` builds, on 06 (one solution, one reference, mutants).
    #[test]
    fn only_selects_which_kinds_of_subject_are_built() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = Course::load(&root).expect("the course loads");
        let exercises = course.select(&["06".to_string()]).expect("06 exists");
        let kinds = |only| -> Vec<&'static str> {
            let built = subjects(&course, &exercises, only, &[]).expect("sources apply");
            let mut kinds: Vec<&'static str> = built
                .iter()
                .flat_map(|s| s.subjects.values())
                .map(|subject| match subject {
                    Subject::Solution => "solution",
                    Subject::Reference(_) => "reference",
                    Subject::Mutant(_) => "mutant",
                    Subject::Stub => "stub",
                })
                .collect();
            kinds.dedup();
            kinds
        };
        assert_eq!(kinds(Subjects::All), ["solution", "reference", "mutant"]);
        assert_eq!(kinds(Subjects::Solutions), ["solution", "reference"]);
        assert_eq!(kinds(Subjects::References), ["reference"]);
        assert_eq!(kinds(Subjects::Mutants), ["mutant"]);
    }

    #[test]
    fn a_mutant_that_does_not_compile_is_not_counted_as_caught() {
        let mut row = tally(Subject::Mutant("broken".to_string()));
        let status = ExerciseStatus::CompileError {
            message: "expected `;`".to_string(),
        };
        row.record(1, &result(status, &[]), 0.0);
        assert_eq!((row.runs, row.lost), (1, 0));
        assert!(!row.ok(MIN_CATCH_RATE));
        assert!(row.first_wrong.is_some());
    }

    #[test]
    fn the_first_wrong_run_quotes_the_assertion_not_the_panic_location() {
        let output = "seed: 9\nthread 'main' panicked at grader/suites/05-event/hidden.rs:88:5:\n\
                      set() must wake the waiter\nnote: run with `RUST_BACKTRACE=1`";
        assert_eq!(
            failure_message(output),
            "set() must wake the waiter (at grader/suites/05-event/hidden.rs:88:5)"
        );
        assert_eq!(failure_message("seed: 9\ntimed out"), "timed out");
        assert_eq!(failure_message(""), "");
    }
}
