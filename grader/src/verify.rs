//! The course author's check: the course is honest.
//!
//! - every solution scores full marks on its hidden and visible tests;
//! - every stub compiles against its hidden suite and scores zero on it;
//! - every mutant (`grader/mutants/NN-topic/<bug>/src/lib.rs`, first line
//!   `// BUG: ...`) compiles and loses points;
//! - each exercise has at least [`MIN_MUTANTS`] mutants;
//! - each points table lists exactly the hidden suite's tests.
//!
//! The solutions, the stubs and the mutants are graded exactly as students
//! are: as synthetic submissions through [`crate::grade::grade_all`].

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use crate::Error;
use crate::course::{Course, Exercise};
use crate::grade::{GradeOptions, grade_all};
use crate::model::{ExerciseResult, ExerciseStatus, Outcome, SubmissionResult, Visibility};
use crate::prepare::{Scope, Submission};

/// Fewest mutants an exercise may have.
pub const MIN_MUTANTS: usize = 3;

/// What `verify` found for one exercise.
#[derive(Debug, Clone)]
pub struct ExerciseCheck {
    /// The exercise folder's name.
    pub topic: String,
    /// Hidden tests the suite has (as the solution's build lists them).
    pub hidden_tests: usize,
    /// Points available.
    pub max_score: u32,
    /// The solution's points.
    pub solution_score: u32,
    /// Visible tests the solution passed, and their number.
    pub solution_visible: (usize, usize),
    /// The stub's points.
    pub stub_score: u32,
    /// Each mutant: its name, its `// BUG:` line, the test that caught it.
    pub mutants: Vec<MutantCheck>,
    /// Every violation, in words.
    pub problems: Vec<String>,
}

/// One mutant's result.
#[derive(Debug, Clone)]
pub struct MutantCheck {
    /// The mutant's folder name.
    pub name: String,
    /// Its first line, the bug it has.
    pub bug: String,
    /// The first hidden test that failed on it, and how.
    pub caught_by: Option<(String, String)>,
}

impl ExerciseCheck {
    /// Whether the exercise passed every check.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The line `verify` prints for the exercise, then one line per problem.
    pub fn render(&self) -> String {
        let caught = self
            .mutants
            .iter()
            .filter(|m| m.caught_by.is_some())
            .count();
        let mut text = format!(
            "{} {:<14} {} hidden tests, {} points; solution {}/{} (visible {}/{}); stub {}/{}; mutants caught {}/{}",
            if self.ok() { "ok  " } else { "FAIL" },
            self.topic,
            self.hidden_tests,
            self.max_score,
            self.solution_score,
            self.max_score,
            self.solution_visible.0,
            self.solution_visible.1,
            self.stub_score,
            self.max_score,
            caught,
            self.mutants.len(),
        );
        for mutant in &self.mutants {
            let verdict = match &mutant.caught_by {
                Some((test, how)) => format!("caught by {test} ({how})"),
                None => "NOT CAUGHT".to_string(),
            };
            text.push_str(&format!("\n       mutant {:<32} {verdict}", mutant.name));
        }
        for problem in &self.problems {
            text.push_str(&format!("\n       problem: {problem}"));
        }
        text
    }
}

/// How many more times a mutant that kept full marks is graded (with a new
/// seed each time) before verify reports it as not caught.
pub const RETRIES: usize = 2;

/// Grades the solutions, the stubs and every mutant, and checks the
/// properties above for each selected exercise.
pub fn verify(
    course: &Course,
    options: &GradeOptions,
    mut on_done: impl FnMut(&SubmissionResult),
) -> Result<Vec<ExerciseCheck>, Error> {
    let exercises = course.select(&options.exercises)?;
    let mut submissions = vec![
        synthetic("solutions", Scope::Full, course, &exercises, |e| {
            Some(e.solution_src(course))
        }),
        synthetic("stubs", Scope::HiddenOnly, course, &exercises, |e| {
            Some(e.stub_src())
        }),
    ];
    // Mutant k of every exercise goes into submission `mutants-k`.
    let mutants: BTreeMap<String, Vec<(String, PathBuf)>> = exercises
        .iter()
        .map(|e| (e.number.clone(), e.mutants(course)))
        .collect();
    let rounds = mutants.values().map(Vec::len).max().unwrap_or(0);
    for round in 0..rounds {
        submissions.push(synthetic(
            &format!("mutants-{}", round + 1),
            Scope::UntilCaught,
            course,
            &exercises,
            |e| mutants[&e.number].get(round).map(|(_, src)| src.clone()),
        ));
    }
    let mut results = grade_all(course, &submissions, options, &mut on_done)?;

    // Some bugs show up in nearly every run, not every run. A mutant that
    // escapes is graded again, up to RETRIES times with fresh seeds; it only
    // counts as not caught if it escapes every time.
    for attempt in 1..=RETRIES {
        let escaped = |round: usize, e: &Exercise| {
            let student = format!("mutants-{}", round + 1);
            let first = results.iter().find(|s| s.student == student)?;
            let result = first.exercises.iter().find(|r| r.number == e.number)?;
            let caught_later = results.iter().any(|s| {
                s.student.starts_with(&format!("{student}-retry-"))
                    && s.exercises
                        .iter()
                        .any(|r| r.number == e.number && r.score < r.max_score)
            });
            (result.status == ExerciseStatus::Graded
                && result.score == result.max_score
                && !caught_later)
                .then(|| mutants[&e.number][round].1.clone())
        };
        let retries: Vec<Submission> = (0..rounds)
            .filter(|&round| exercises.iter().any(|e| escaped(round, e).is_some()))
            .map(|round| {
                synthetic(
                    &format!("mutants-{}-retry-{attempt}", round + 1),
                    Scope::UntilCaught,
                    course,
                    &exercises,
                    |e| escaped(round, e),
                )
            })
            .collect();
        if retries.is_empty() {
            break;
        }
        let mut again = options.clone();
        again.seed = options.seed.wrapping_add(attempt as u64);
        results.extend(grade_all(course, &retries, &again, &mut on_done)?);
    }

    let find = |student: &str, exercise: &Exercise| -> Option<ExerciseResult> {
        results
            .iter()
            .find(|s| s.student == student)?
            .exercises
            .iter()
            .find(|e| e.number == exercise.number)
            .cloned()
    };
    let mut checks = Vec::new();
    for exercise in &exercises {
        let mut problems = Vec::new();
        let solution = find("solutions", exercise).expect("the solutions were graded");
        let stub = find("stubs", exercise).expect("the stubs were graded");

        check_graded("the solution", &solution, &mut problems);
        let hidden_tests = solution.hidden().count();
        if solution.status == ExerciseStatus::Graded && hidden_tests == 0 {
            problems.push("the hidden suite has no tests".to_string());
        }
        for test in solution.tests.iter().filter(|t| !t.passed()) {
            let kind = match test.visibility {
                Visibility::Hidden => "hidden",
                Visibility::Visible => "visible",
            };
            problems.push(format!(
                "the solution fails {kind} test `{}`: {}{}",
                test.name,
                test.outcome.verdict(),
                first_line(&test.output)
            ));
        }
        // The points table and the suite must agree.
        if solution.status == ExerciseStatus::Graded {
            let listed: Vec<&str> = solution.hidden().map(|t| t.name.as_str()).collect();
            for name in &listed {
                if !exercise.points.tests.contains_key(*name) {
                    problems.push(format!(
                        "hidden test `{name}` is missing from grader/suites/{}.toml (it counts 1 point, with no hint)",
                        exercise.topic
                    ));
                }
            }
            for name in exercise.points.tests.keys() {
                if !listed.contains(&name.as_str()) {
                    problems.push(format!(
                        "grader/suites/{}.toml lists `{name}`, which the hidden suite does not have",
                        exercise.topic
                    ));
                }
            }
            // When an exercise does not build, its tests are read from the
            // suite's source (`#[test] fn name`); that reading must be right.
            let mut declared: Vec<&str> =
                exercise.declared_tests.iter().map(String::as_str).collect();
            let mut sorted = listed.clone();
            declared.sort_unstable();
            sorted.sort_unstable();
            if declared != sorted {
                problems.push(format!(
                    "the suite's source declares tests {declared:?} but its binary lists {sorted:?}; \
                     write each test as a plain `#[test] fn name` (no macros, no modules)"
                ));
            }
        }

        check_graded("the stub", &stub, &mut problems);
        if stub.score > 0 {
            let free: Vec<&str> = stub
                .hidden()
                .filter(|t| t.passed())
                .map(|t| t.name.as_str())
                .collect();
            problems.push(format!(
                "the stub scores {} points (it passes {})",
                stub.score,
                free.join(", ")
            ));
        }

        let mut mutant_checks = Vec::new();
        for (round, (name, src)) in mutants[&exercise.number].iter().enumerate() {
            let result = find(&format!("mutants-{}", round + 1), exercise).expect("mutants graded");
            let bug = fs::read_to_string(src.join("lib.rs"))
                .ok()
                .and_then(|text| text.lines().next().map(str::to_string))
                .unwrap_or_default();
            if !bug.trim_start().starts_with("// BUG:") {
                problems.push(format!(
                    "mutant `{name}` does not start with a `// BUG: ...` line naming its bug"
                ));
            }
            check_graded(&format!("mutant `{name}`"), &result, &mut problems);
            // Tests after the first failure are skipped (`Scope::UntilCaught`).
            let retries = (1..=RETRIES).filter_map(|attempt| {
                find(&format!("mutants-{}-retry-{attempt}", round + 1), exercise)
            });
            let caught_by = std::iter::once(result.clone())
                .chain(retries)
                .find_map(|graded| {
                    graded
                        .hidden()
                        .find(|t| !t.passed() && !matches!(t.outcome, Outcome::NotRun { .. }))
                        .map(|t| (t.name.clone(), t.outcome.verdict()))
                });
            if result.status == ExerciseStatus::Graded && caught_by.is_none() {
                problems.push(format!(
                    "mutant `{name}` keeps full marks: no test catches it"
                ));
            }
            mutant_checks.push(MutantCheck {
                name: name.clone(),
                bug: bug.trim_start_matches("// BUG:").trim().to_string(),
                caught_by,
            });
        }
        if mutant_checks.len() < MIN_MUTANTS {
            problems.push(format!(
                "{} mutants under grader/mutants/{}; the course asks for at least {MIN_MUTANTS}",
                mutant_checks.len(),
                exercise.topic
            ));
        }
        checks.push(ExerciseCheck {
            topic: exercise.topic.clone(),
            hidden_tests,
            max_score: solution.max_score,
            solution_score: solution.score,
            solution_visible: (
                solution.visible().filter(|t| t.passed()).count(),
                solution.visible().count(),
            ),
            stub_score: stub.score,
            mutants: mutant_checks,
            problems,
        });
    }
    Ok(checks)
}

fn check_graded(what: &str, result: &ExerciseResult, problems: &mut Vec<String>) {
    match &result.status {
        ExerciseStatus::Graded => {}
        ExerciseStatus::NotSubmitted => problems.push(format!("{what} has no src/lib.rs")),
        ExerciseStatus::Rejected { reason } => {
            problems.push(format!("{what} was refused: {reason}"))
        }
        ExerciseStatus::CompileError { message } => problems.push(format!(
            "{what} does not compile against the tests:\n{}",
            indent(message, "         ")
        )),
    }
}

/// A submission made of the course's own sources: `source` picks each
/// exercise's `src/` (or none).
pub(crate) fn synthetic(
    name: &str,
    scope: Scope,
    course: &Course,
    exercises: &[&Exercise],
    source: impl Fn(&Exercise) -> Option<PathBuf>,
) -> Submission {
    Submission {
        scope,
        exercise_folder: false,
        student: name.to_string(),
        source: course.root.clone(),
        exercises: exercises
            .iter()
            .filter_map(|e| source(e).map(|src| (e.number.clone(), src)))
            .collect(),
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("seed: "))
        .map(|l| format!(" ({})", l.trim()))
        .unwrap_or_default()
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
