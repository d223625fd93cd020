//! The course author's check: the course is honest.
//!
//! - every solution scores full marks on its hidden and visible tests;
//! - every stub compiles against its hidden suite and scores zero on it;
//! - every mutant (`grader/suites/NN-topic/mutants/<bug>.patch`, first line
//!   `BUG: ...`) applies to its solution, compiles and loses points;
//! - each exercise has at least [`MIN_MUTANTS`] mutants;
//! - each points table lists exactly the hidden suite's tests;
//! - every reference variant (`grader/suites/NN-topic/references/<name>.patch`,
//!   another correct solution, e.g. on `std` primitives) scores full marks.
//!
//! The solutions, the stubs and the mutants are graded exactly as students
//! are: as synthetic submissions ([`crate::synthetic`]) through
//! [`crate::grade::grade_all`]. Each result is found again by its typed
//! [`Subject`], never by a submission's name.

use crate::Error;
use crate::course::{Course, Exercise};
use crate::grade::{GradeOptions, grade_all};
use crate::model::{ExerciseResult, ExerciseStatus, Outcome, SubmissionResult, Visibility};
use crate::mutant::Mutant;
use crate::prepare::{Scope, Submission};
use crate::synthetic::{self, Subject, Synthetic};

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
    /// Reference variants that scored full marks, and their number.
    pub references: (usize, usize),
    /// Each mutant: its name, its `// BUG:` line, the test that caught it.
    pub mutants: Vec<MutantCheck>,
    /// Every violation, in words.
    pub problems: Vec<String>,
}

/// One mutant's result.
#[derive(Debug, Clone)]
pub struct MutantCheck {
    /// The mutant's name (its patch's file name).
    pub name: String,
    /// The bug it has, from its patch's `BUG:` line.
    pub bug: String,
    /// Why its patch does not apply to the solution, if it does not.
    pub broken: Option<String>,
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
        if self.references.1 > 0 {
            text.push_str(&format!(
                "; references {}/{}",
                self.references.0, self.references.1
            ));
        }
        for mutant in &self.mutants {
            let verdict = match (&mutant.caught_by, &mutant.broken) {
                (Some((test, how)), _) => format!("caught by {test} ({how})"),
                (None, Some(_)) => "PATCH DOES NOT APPLY".to_string(),
                (None, None) => "NOT CAUGHT".to_string(),
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

/// One exercise's result in one grading of a synthetic submission.
struct Graded {
    subject: Subject,
    /// 0 for the first grading, then the retry's number.
    attempt: usize,
    result: ExerciseResult,
}

/// A mutant as found, with what reading and applying its patch said.
struct Found {
    mutant: Mutant,
    bug: Result<String, String>,
    applies: Result<(), String>,
}

/// Grades the solutions, the stubs and every mutant, and checks the
/// properties above for each selected exercise.
pub fn verify(
    course: &Course,
    options: &GradeOptions,
    mut on_done: impl FnMut(&SubmissionResult),
) -> Result<Vec<ExerciseCheck>, Error> {
    let exercises = course.select(&options.exercises)?;
    let found: Vec<Vec<Found>> = exercises.iter().map(|e| find_mutants(course, e)).collect();
    let usable: Vec<(&Exercise, Vec<String>)> = exercises
        .iter()
        .zip(&found)
        .map(|(e, found)| (*e, applying(found)))
        .collect();
    let mut first = vec![
        synthetic::submission(
            course,
            "solutions",
            Scope::Full,
            &synthetic::every(&exercises, Subject::Solution),
        )?,
        synthetic::submission(
            course,
            "stubs",
            Scope::HiddenOnly,
            &synthetic::every(&exercises, Subject::Stub),
        )?,
    ];
    first.extend(synthetic::mutant_submissions(course, &usable, "")?);
    first.extend(synthetic::reference_submissions(
        course,
        &exercises,
        Scope::Full,
    )?);
    let mut graded = grade(course, &first, options, 0, &mut on_done)?;
    retry_escaped(course, &usable, options, &mut graded, &mut on_done)?;
    Ok(exercises
        .iter()
        .zip(&found)
        .map(|(exercise, found)| check_exercise(exercise, found, &graded))
        .collect())
}

/// The mutants of `exercise`, each with its bug line read and its patch
/// tried on the solution.
fn find_mutants(course: &Course, exercise: &Exercise) -> Vec<Found> {
    exercise
        .mutants(course)
        .into_iter()
        .map(|mutant| Found {
            bug: mutant.bug(),
            applies: exercise.mutant_source(course, &mutant).map(|_| ()),
            mutant,
        })
        .collect()
}

/// The names of the mutants whose patches apply.
fn applying(found: &[Found]) -> Vec<String> {
    found
        .iter()
        .filter(|f| f.applies.is_ok())
        .map(|f| f.mutant.name.clone())
        .collect()
}

/// Grades `synthetics` and records each exercise's result by its subject.
fn grade(
    course: &Course,
    synthetics: &[Synthetic],
    options: &GradeOptions,
    attempt: usize,
    on_done: &mut impl FnMut(&SubmissionResult),
) -> Result<Vec<Graded>, Error> {
    let submissions: Vec<Submission> = synthetics.iter().map(|s| s.submission.clone()).collect();
    let results = grade_all(course, &submissions, options, on_done)?;
    // `grade_all` returns the results in the submissions' order.
    Ok(synthetics
        .iter()
        .zip(results)
        .flat_map(|(synthetic, result)| {
            result.exercises.into_iter().filter_map(move |exercise| {
                Some(Graded {
                    subject: synthetic.subjects.get(&exercise.number)?.clone(),
                    attempt,
                    result: exercise,
                })
            })
        })
        .collect())
}

/// Some bugs show up in nearly every run, not every run. A mutant that
/// escapes is graded again, up to [`RETRIES`] times with fresh seeds; it
/// only counts as not caught if it escapes every time.
fn retry_escaped(
    course: &Course,
    usable: &[(&Exercise, Vec<String>)],
    options: &GradeOptions,
    graded: &mut Vec<Graded>,
    on_done: &mut impl FnMut(&SubmissionResult),
) -> Result<(), Error> {
    for attempt in 1..=RETRIES {
        let escaped: Vec<(&Exercise, Vec<String>)> = usable
            .iter()
            .map(|(exercise, names)| {
                let left = names
                    .iter()
                    .filter(|name| escaped(graded, exercise, name))
                    .cloned()
                    .collect();
                (*exercise, left)
            })
            .collect();
        let retries =
            synthetic::mutant_submissions(course, &escaped, &format!("-retry-{attempt}"))?;
        if retries.is_empty() {
            break;
        }
        let mut again = options.clone();
        again.seed = options.seed.wrapping_add(attempt as u64);
        let more = grade(course, &retries, &again, attempt, on_done)?;
        graded.extend(more);
    }
    Ok(())
}

/// The results of one exercise's subject, first grading first.
fn results_of<'a>(
    graded: &'a [Graded],
    exercise: &'a Exercise,
    subject: &'a Subject,
) -> impl Iterator<Item = &'a Graded> {
    graded
        .iter()
        .filter(move |g| &g.subject == subject && g.result.number == exercise.number)
}

/// Whether a mutant was graded, kept full marks and was never caught since.
fn escaped(graded: &[Graded], exercise: &Exercise, name: &str) -> bool {
    let subject = Subject::Mutant(name.to_string());
    let mut results = results_of(graded, exercise, &subject);
    let Some(first) = results.next() else {
        return false;
    };
    let result = &first.result;
    result.status == ExerciseStatus::Graded
        && result.score == result.max_score
        && results.all(|later| later.result.score == later.result.max_score)
}

/// Checks one exercise: its solution, its points table, its stub, its mutants.
fn check_exercise(exercise: &Exercise, found: &[Found], graded: &[Graded]) -> ExerciseCheck {
    let first = |subject: &Subject| {
        results_of(graded, exercise, subject)
            .find(|g| g.attempt == 0)
            .map(|g| g.result.clone())
    };
    let solution = first(&Subject::Solution).expect("the solutions were graded");
    let stub = first(&Subject::Stub).expect("the stubs were graded");
    let mut problems = Vec::new();
    check_full_marks("the solution", &solution, &mut problems);
    let references: Vec<ExerciseResult> = graded
        .iter()
        .filter(|g| {
            g.attempt == 0
                && g.result.number == exercise.number
                && matches!(g.subject, Subject::Reference(_))
        })
        .map(|g| {
            let who = format!("the reference {}", g.subject.label());
            check_full_marks(&who, &g.result, &mut problems);
            g.result.clone()
        })
        .collect();
    if solution.status == ExerciseStatus::Graded {
        check_points_table(exercise, &solution, &mut problems);
        let file = exercise.grader_dir().join(crate::budget::BUDGET_FILE);
        problems.extend(exercise.budgets.problems(&solution, &file));
    }
    check_stub(&stub, &mut problems);
    let mutants: Vec<MutantCheck> = found
        .iter()
        .map(|f| check_mutant(exercise, f, graded, &mut problems))
        .collect();
    if mutants.len() < MIN_MUTANTS {
        problems.push(format!(
            "{} mutants under grader/suites/{}/mutants; the course asks for at least {MIN_MUTANTS}",
            mutants.len(),
            exercise.topic
        ));
    }
    ExerciseCheck {
        topic: exercise.topic.clone(),
        hidden_tests: solution.hidden().count(),
        max_score: solution.max_score,
        solution_score: solution.score,
        solution_visible: (
            solution.visible().filter(|t| t.passed()).count(),
            solution.visible().count(),
        ),
        stub_score: stub.score,
        references: (
            references
                .iter()
                .filter(|r| r.score == r.max_score && r.tests.iter().all(|t| t.passed()))
                .count(),
            references.len(),
        ),
        mutants,
        problems,
    }
}

/// A correct variant (`who`: the solution or a reference) builds, has hidden
/// tests and passes every test.
fn check_full_marks(who: &str, solution: &ExerciseResult, problems: &mut Vec<String>) {
    check_graded(who, solution, problems);
    if solution.status == ExerciseStatus::Graded && solution.hidden().count() == 0 {
        problems.push("the hidden suite has no tests".to_string());
    }
    for test in solution.tests.iter().filter(|t| !t.passed()) {
        let kind = match test.visibility {
            Visibility::Hidden => "hidden",
            Visibility::Visible => "visible",
        };
        problems.push(format!(
            "{who} fails {kind} test `{}`: {}{}",
            test.name,
            test.outcome.verdict(),
            first_line(&test.output)
        ));
    }
}

/// The points table lists exactly the suite's tests, and the suite's source
/// declares them as the binary lists them.
fn check_points_table(exercise: &Exercise, solution: &ExerciseResult, problems: &mut Vec<String>) {
    let points = exercise.points_path();
    let listed: Vec<&str> = solution.hidden().map(|t| t.name.as_str()).collect();
    for name in &listed {
        if !exercise.points.tests.contains_key(*name) {
            problems.push(format!(
                "hidden test `{name}` is missing from {} (it counts 1 point, with no hint)",
                points.display()
            ));
        }
    }
    for name in exercise.points.tests.keys() {
        if !listed.contains(&name.as_str()) {
            problems.push(format!(
                "{} lists `{name}`, which the hidden suite does not have",
                points.display()
            ));
        }
    }
    // When an exercise does not build, its tests are read from the suite's
    // source (`#[test] fn name`); that reading must be right.
    let mut declared: Vec<&str> = exercise.declared_tests.iter().map(String::as_str).collect();
    let mut sorted = listed;
    declared.sort_unstable();
    sorted.sort_unstable();
    if declared != sorted {
        problems.push(format!(
            "the suite's source declares tests {declared:?} but its binary lists {sorted:?}; \
             write each test as a plain `#[test] fn name` (no macros, no modules)"
        ));
    }
}

/// The stub builds and earns nothing.
fn check_stub(stub: &ExerciseResult, problems: &mut Vec<String>) {
    check_graded("the stub", stub, problems);
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
}

/// A mutant names its bug, applies, builds and loses points in one of its
/// gradings.
fn check_mutant(
    exercise: &Exercise,
    found: &Found,
    graded: &[Graded],
    problems: &mut Vec<String>,
) -> MutantCheck {
    let name = &found.mutant.name;
    if let Err(problem) = &found.bug {
        problems.push(problem.clone());
    }
    if let Err(problem) = &found.applies {
        problems.push(format!("mutant `{name}`: {problem}"));
    }
    let subject = Subject::Mutant(name.clone());
    let mut results = results_of(graded, exercise, &subject).peekable();
    if let Some(first) = results.peek() {
        check_graded(&format!("mutant `{name}`"), &first.result, problems);
    }
    let graded_once = results
        .peek()
        .is_some_and(|g| g.result.status == ExerciseStatus::Graded);
    // Tests after the first failure are skipped (`Scope::UntilCaught`).
    let caught_by = results.find_map(|g| {
        g.result
            .hidden()
            .find(|t| !t.passed() && !matches!(t.outcome, Outcome::NotRun { .. }))
            .map(|t| (t.name.clone(), t.outcome.verdict()))
    });
    if graded_once && caught_by.is_none() {
        problems.push(format!(
            "mutant `{name}` keeps full marks: no test catches it"
        ));
    }
    MutantCheck {
        name: name.clone(),
        bug: found.bug.clone().unwrap_or_default(),
        broken: found.applies.clone().err(),
        caught_by,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutant_whose_patch_does_not_apply_is_a_problem_that_names_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = Course::load(&root).expect("the course loads");
        let exercise = &course.exercises[0];
        let patch = exercise.grader_dir().join("mutants/drifted.patch");
        let found = Found {
            mutant: Mutant {
                name: "drifted".to_string(),
                patch: patch.clone(),
            },
            bug: Ok("a bug".to_string()),
            applies: Err(format!("{} no longer applies", patch.display())),
        };
        let mut problems = Vec::new();
        let check = check_mutant(exercise, &found, &[], &mut problems);
        assert!(check.broken.is_some() && check.caught_by.is_none());
        assert!(
            problems
                .iter()
                .any(|p| p.contains("drifted.patch no longer applies")),
            "{problems:?}"
        );
        let line = ExerciseCheck {
            topic: exercise.topic.clone(),
            hidden_tests: 1,
            max_score: 1,
            solution_score: 1,
            solution_visible: (0, 0),
            stub_score: 0,
            references: (0, 0),
            mutants: vec![check],
            problems,
        }
        .render();
        assert!(
            line.starts_with("FAIL") && line.contains("PATCH DOES NOT APPLY"),
            "{line}"
        );
    }
}
