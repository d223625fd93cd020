//! Stage 5: render the result model for people and platforms.
//!
//! - [`submission_table`]: the table `grade` prints per submission;
//! - [`class_table`]: the summary after a class;
//! - [`gradebook_csv`]: `gradebook.csv`, one row per student;
//! - [`gradescope_json`]: `results.json` in Gradescope's autograder format;
//! - [`junit_xml`]: `junit.xml` for CI systems;
//! - [`feedback_markdown`]: `feedback.md`, what failed and why, for the student;
//! - [`classroom::github_outputs`]: the runner results GitHub Classroom's
//!   grading reporter reads;
//! - [`html::report_html`]: `report.html`, the instructor's view of the class
//!   (figures from [`summary`]).

pub mod classroom;
pub mod html;
pub mod summary;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::Error;
use crate::model::{
    ExerciseResult, ExerciseStatus, GradingRun, Outcome, SubmissionResult, TestResult, Visibility,
};

/// Gradescope's visibility for the hidden suite's tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GradescopeVisibility {
    /// Shown to the student at once.
    Visible,
    /// Shown once grades are published (the default: the scores count then).
    #[default]
    AfterPublished,
    /// Shown after the due date.
    AfterDueDate,
    /// Never shown to the student.
    Hidden,
}

impl GradescopeVisibility {
    fn as_str(self) -> &'static str {
        match self {
            GradescopeVisibility::Visible => "visible",
            GradescopeVisibility::AfterPublished => "after_published",
            GradescopeVisibility::AfterDueDate => "after_due_date",
            GradescopeVisibility::Hidden => "hidden",
        }
    }
}

/// What every report says instead of a score for a submission the grader
/// could not grade.
pub fn not_graded_sentence(fault: &crate::model::Fault) -> String {
    format!(
        "Not graded: {fault}. This is a fault of the grader or the machine, not of the \
         submission, so no score was given; `grader grade --resume --out DIR` grades it again."
    )
}

/// The table `grade` prints for one submission.
pub fn submission_table(submission: &SubmissionResult) -> String {
    if let Some(fault) = submission.fault() {
        return format!(
            "{} ({}): NOT GRADED
  {}
",
            submission.student,
            submission.source,
            not_graded_sentence(fault)
        );
    }
    let mut rows = vec![[
        "exercise".to_string(),
        "hidden tests".to_string(),
        "points".to_string(),
        "visible tests".to_string(),
        "verdict".to_string(),
    ]];
    for exercise in &submission.exercises {
        let hidden_total = exercise.hidden().count();
        let hidden_passed = exercise.hidden().filter(|t| t.passed()).count();
        let visible_total = exercise.visible().count();
        let visible_passed = exercise.visible().filter(|t| t.passed()).count();
        let graded = exercise.status == ExerciseStatus::Graded;
        rows.push([
            exercise.exercise.clone(),
            if graded {
                format!("{hidden_passed}/{hidden_total}")
            } else {
                format!("-/{hidden_total}")
            },
            format!("{}/{}", exercise.score, exercise.max_score),
            if graded {
                format!("{visible_passed}/{visible_total}")
            } else {
                "-".to_string()
            },
            exercise.verdict(),
        ]);
    }
    rows.push([
        "total".to_string(),
        String::new(),
        format!("{}/{}", submission.score, submission.max_score),
        String::new(),
        String::new(),
    ]);
    let mut text = format!(
        "{} ({}): {}/{} points, seed {}, {:.1} s\n",
        submission.student,
        submission.source,
        submission.score,
        submission.max_score,
        submission.seed,
        submission.elapsed_secs
    );
    text.push_str(&render_rows(&rows));
    text
}

/// The summary table after grading several submissions: one row per
/// student, one column per exercise.
pub fn class_table(run: &GradingRun) -> String {
    let columns = exercise_columns(run);
    let mut header = vec!["student".to_string()];
    header.extend(
        columns
            .iter()
            .map(|(topic, _)| topic[..2.min(topic.len())].to_string()),
    );
    header.push("total".to_string());
    let mut rows = vec![header];
    for submission in &run.submissions {
        if submission.fault().is_some() {
            let mut row = vec![submission.student.clone()];
            row.extend(columns.iter().map(|_| String::new()));
            row.push("NOT GRADED".to_string());
            rows.push(row);
            continue;
        }
        let mut row = student_row(submission, &columns, short_cell);
        row.push(format!("{}/{}", submission.score, submission.max_score));
        rows.push(row);
    }
    let mut text = render_rows(&rows);
    text.push_str(
        "(cells: points; T timed out, C does not compile, - not submitted, R refused; NOT \
         GRADED: a fault of the grader, graded again by --resume)\n",
    );
    text
}

/// A student's id, then one cell per exercise column (empty where the
/// submission has no result for it).
fn student_row(
    submission: &SubmissionResult,
    columns: &[(String, u32)],
    cell: impl Fn(&ExerciseResult) -> String,
) -> Vec<String> {
    let mut row = vec![submission.student.clone()];
    for (topic, _) in columns {
        let found = submission.exercises.iter().find(|e| &e.exercise == topic);
        row.push(found.map(&cell).unwrap_or_default());
    }
    row
}

fn short_cell(exercise: &ExerciseResult) -> String {
    let flag = match &exercise.status {
        ExerciseStatus::NotSubmitted => return "-".to_string(),
        ExerciseStatus::Rejected { .. } => return "R".to_string(),
        ExerciseStatus::CompileError { .. } => return "C".to_string(),
        ExerciseStatus::Graded => {
            if exercise
                .hidden()
                .any(|t| matches!(t.outcome, Outcome::TimedOut { .. }))
            {
                " T"
            } else {
                ""
            }
        }
    };
    format!("{}{flag}", exercise.score)
}

fn render_rows<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.as_ref().iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<width$}", width = widths[i]))
            .collect();
        text.push_str("  ");
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// The exercises that appear in a run, in course order, with their maximum.
fn exercise_columns(run: &GradingRun) -> Vec<(String, u32)> {
    let mut columns: Vec<(String, u32)> = Vec::new();
    for submission in &run.submissions {
        for exercise in &submission.exercises {
            match columns.iter_mut().find(|(t, _)| *t == exercise.exercise) {
                Some((_, max)) => *max = (*max).max(exercise.max_score),
                None => columns.push((exercise.exercise.clone(), exercise.max_score)),
            }
        }
    }
    columns.sort();
    columns
}

/// `gradebook.csv`: a header, then one row per student with the points per
/// exercise, the total, and the maximum total.
pub fn gradebook_csv(run: &GradingRun) -> Result<String, Error> {
    let columns = exercise_columns(run);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["student".to_string()];
    header.extend(columns.iter().map(|(topic, _)| topic.clone()));
    header.push("total".to_string());
    header.push("max_total".to_string());
    writer.write_record(&header).map_err(csv_error)?;
    for submission in &run.submissions {
        if let Some(fault) = submission.fault() {
            let mut row = vec![submission.student.clone()];
            row.extend(columns.iter().map(|_| String::new()));
            row.push(format!("not graded: {fault}"));
            row.push(submission.max_score.to_string());
            writer.write_record(&row).map_err(csv_error)?;
            continue;
        }
        let mut row = student_row(submission, &columns, |e| e.score.to_string());
        row.push(submission.score.to_string());
        row.push(submission.max_score.to_string());
        writer.write_record(&row).map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::new(format!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::new(format!("csv: {e}")))
}

fn csv_error(e: csv::Error) -> Error {
    Error::new(format!("csv: {e}"))
}

/// `results.json` in Gradescope's autograder format.
pub fn gradescope_json(
    submission: &SubmissionResult,
    hidden: GradescopeVisibility,
) -> serde_json::Value {
    if let Some(fault) = submission.fault() {
        // No score and no tests: Gradescope then shows the run as failed,
        // for the instructor to run again, rather than a grade.
        return json!({
            "output": feedback_markdown(submission, None),
            "output_format": "md",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "extra_data": {
                "student": submission.student,
                "seed": submission.seed,
                "grader": "interleave",
                "grader_version": env!("CARGO_PKG_VERSION"),
                "not_graded": fault,
            },
        });
    }
    let mut tests = Vec::new();
    for exercise in &submission.exercises {
        let number: u32 = exercise.number.parse().unwrap_or(0);
        for (index, test) in exercise.tests.iter().enumerate() {
            let (visibility, kind) = match test.visibility {
                Visibility::Hidden => (hidden.as_str(), "hidden"),
                Visibility::Visible => ("visible", "visible"),
            };
            let name = match test.visibility {
                Visibility::Hidden => format!("{}: {}", exercise.exercise, test.name),
                Visibility::Visible => format!("{} (visible): {}", exercise.exercise, test.name),
            };
            let mut output = test_text(exercise, test, index == 0);
            if output.is_empty() {
                output = "Passed.".to_string();
            }
            tests.push(json!({
                "name": name,
                "number": format!("{number}.{}", index + 1),
                "score": test.score,
                "max_score": test.max_score,
                "status": if test.passed() { "passed" } else { "failed" },
                "output": output,
                "output_format": "md",
                "visibility": visibility,
                "tags": [exercise.exercise.clone(), kind.to_string()],
            }));
        }
    }
    json!({
        "score": submission.score,
        "max_score": submission.max_score,
        "execution_time": submission.elapsed_secs.ceil() as u64,
        "output": feedback_markdown(submission, None),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "student": submission.student,
            "seed": submission.seed,
            "grader": "interleave",
            "grader_version": env!("CARGO_PKG_VERSION"),
        },
        "tests": tests,
    })
}

/// What a report says about one test: the verdict explained, the hint, the
/// excerpt of its output (and, on the first test of an exercise that did
/// not build, the reason).
fn test_text(exercise: &ExerciseResult, test: &TestResult, first: bool) -> String {
    if test.passed() {
        return String::new();
    }
    let mut text = explain(test);
    if let Some(hint) = test.relevant_hint() {
        let _ = write!(text, "\n\nHint: {hint}");
    }
    if !test.output.is_empty() {
        let _ = write!(text, "\n\n```\n{}\n```", test.output);
    }
    if first {
        match &exercise.status {
            ExerciseStatus::CompileError { message } => {
                let _ = write!(text, "\n\nThe compiler said:\n\n```\n{message}\n```");
            }
            ExerciseStatus::Rejected { reason } => {
                let _ = write!(text, "\n\nThe files were refused: {reason}");
            }
            _ => {}
        }
    }
    text
}

/// The verdict explained; a failure's message is left out when the output
/// excerpt shown with it already holds it.
fn explain(test: &TestResult) -> String {
    match &test.outcome {
        Outcome::Failed { message }
            if message
                .lines()
                .next()
                .is_some_and(|first| test.output.contains(first)) =>
        {
            "The test failed:".to_string()
        }
        outcome => outcome.explanation(),
    }
}

/// `junit.xml`: one test suite per exercise, one test case per test.
pub fn junit_xml(submission: &SubmissionResult) -> Result<String, Error> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new(format!("interleave-{}", submission.student));
    report.set_time(Duration::from_secs_f64(submission.elapsed_secs));
    if let Some(fault) = submission.fault() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(format!("not graded: {fault}"));
        status.set_type("not_graded");
        status.set_description(not_graded_sentence(fault));
        let mut suite = TestSuite::new("not graded");
        suite.add_test_case(TestCase::new("grading", status));
        report.add_test_suite(suite);
        return report
            .to_string()
            .map_err(|e| Error::new(format!("junit: {e}")));
    }
    for exercise in &submission.exercises {
        let mut suite = TestSuite::new(exercise.exercise.clone());
        suite.add_property(("points", exercise.score.to_string().as_str()));
        suite.add_property(("max_points", exercise.max_score.to_string().as_str()));
        suite.add_property(("verdict", exercise.verdict().as_str()));
        for (index, test) in exercise.tests.iter().enumerate() {
            let status = match &test.outcome {
                Outcome::Passed => TestCaseStatus::success(),
                Outcome::NotRun { reason } => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(format!("not run: {reason}"));
                    status.set_type("not_run");
                    status.set_description(test_text(exercise, test, index == 0));
                    status
                }
                outcome => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(outcome.verdict());
                    status.set_type(outcome_kind(outcome));
                    status.set_description(test_text(exercise, test, index == 0));
                    status
                }
            };
            let mut case = TestCase::new(test.name.clone(), status);
            let visibility = match test.visibility {
                Visibility::Hidden => "hidden",
                Visibility::Visible => "visible",
            };
            case.set_classname(format!("exercise_{}.{visibility}", exercise.number));
            case.set_time(Duration::from_secs_f64(test.duration_secs));
            case.add_property(("points", test.score.to_string().as_str()));
            case.add_property(("max_points", test.max_score.to_string().as_str()));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .map_err(|e| Error::new(format!("junit: {e}")))
}

fn outcome_kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed { .. } => "failed",
        Outcome::TimedOut { .. } => "timed_out",
        Outcome::Crashed { .. } => "crashed",
        Outcome::ExitedEarly => "exited_early",
        Outcome::OutputFlood { .. } => "output_flood",
        Outcome::OverLimit { .. } => "over_limit",
        Outcome::TooSlow { .. } => "too_slow",
        Outcome::OverCpu { .. } => "over_cpu",
        Outcome::NotRun { .. } => "not_run",
        Outcome::NotGraded { .. } => "not_graded",
    }
}

/// One line that says which protections of the sandbox were on.
pub fn protections_line(protections: &[crate::sandbox::Protection]) -> String {
    use crate::sandbox::Protection;
    if protections.is_empty() {
        return "Sandbox: off (graded with --no-sandbox).".to_string();
    }
    let on: Vec<String> = protections.iter().map(|p| p.to_string()).collect();
    let missing: Vec<String> = Protection::ALL
        .iter()
        .filter(|p| !protections.contains(p))
        .map(|p| p.to_string())
        .collect();
    let mut line = format!("Sandbox: {}.", on.join(", "));
    if !missing.is_empty() {
        line.push_str(&format!(" Not available here: {}.", missing.join(", ")));
    }
    line
}

/// `feedback.md`: for the student, what failed and why, with hints and the
/// seed that replays the run. `timeout` is the per-test limit, if known.
pub fn feedback_markdown(submission: &SubmissionResult, timeout: Option<f64>) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "# Interleave feedback for {}\n", submission.student);
    if let Some(fault) = submission.fault() {
        let _ = writeln!(text, "**{}**", not_graded_sentence(fault));
        return text;
    }
    let _ = writeln!(
        text,
        "**Score: {} / {} points.** Hidden tests carry the points; the visible tests (the ones \
         in your `tests/` folders) are listed for reference.\n",
        submission.score, submission.max_score
    );
    let _ = writeln!(
        text,
        "Randomized tests used seed **{seed}**. Your instructor can replay this exact run with \
         `grader grade <your submission> --seed {seed}`.{limit}\n",
        seed = submission.seed,
        limit = timeout
            .map(|t| format!(" Each test had {t:.0} s."))
            .unwrap_or_default()
    );
    let _ = writeln!(text, "{}\n", protections_line(&submission.protections));
    let _ = writeln!(text, "| exercise | points | verdict |\n|---|---|---|");
    for exercise in &submission.exercises {
        let _ = writeln!(
            text,
            "| {} | {}/{} | {} |",
            exercise.exercise,
            exercise.score,
            exercise.max_score,
            exercise.verdict().replace('|', "\\|")
        );
    }
    for exercise in &submission.exercises {
        exercise_feedback(&mut text, exercise);
    }
    text
}

/// One exercise's section of `feedback.md`.
fn exercise_feedback(text: &mut String, exercise: &ExerciseResult) {
    let _ = writeln!(
        text,
        "\n## {}: {}/{} points\n",
        exercise.exercise, exercise.score, exercise.max_score
    );
    match &exercise.status {
        ExerciseStatus::NotSubmitted => {
            let _ = writeln!(
                text,
                "Nothing was submitted for this exercise (no `src/lib.rs` in `exercises/{}`).",
                exercise.exercise
            );
            return;
        }
        ExerciseStatus::Rejected { reason } => {
            let _ = writeln!(text, "The grader refused the files: {reason}.");
            return;
        }
        ExerciseStatus::CompileError { message } => {
            let _ = writeln!(
                text,
                "Your code did not compile against the tests, so no test ran. Run \
                 `cargo test -p exercise-{}` to see the same errors. The compiler said:\n\n\
                 ```\n{message}\n```",
                exercise.number
            );
            return;
        }
        ExerciseStatus::Graded => {}
    }
    for note in &exercise.notes {
        let _ = writeln!(text, "> {note}\n");
    }
    let failed: Vec<&TestResult> = exercise.tests.iter().filter(|t| !t.passed()).collect();
    let passed = exercise.tests.len() - failed.len();
    if failed.is_empty() {
        let _ = writeln!(text, "All {passed} tests passed.");
        return;
    }
    let _ = writeln!(
        text,
        "{passed} of {} tests passed. What failed:\n",
        exercise.tests.len()
    );
    for test in failed {
        failed_test_feedback(text, test);
    }
}

/// One failed test in `feedback.md`: its verdict, what it means, the hint
/// and its output.
fn failed_test_feedback(text: &mut String, test: &TestResult) {
    let kind = match test.visibility {
        Visibility::Hidden => format!("hidden, {}/{} points", test.score, test.max_score),
        Visibility::Visible => "visible".to_string(),
    };
    let _ = writeln!(
        text,
        "- **`{}`** ({kind}): {}",
        test.name,
        test.outcome.verdict()
    );
    let _ = writeln!(text, "\n  {}", explain(test));
    if let Some(hint) = test.relevant_hint() {
        let _ = writeln!(text, "\n  *Hint:* {hint}");
    }
    if !test.output.is_empty() {
        let _ = writeln!(text, "\n  ```");
        for line in test.output.lines() {
            let _ = writeln!(text, "  {line}");
        }
        let _ = writeln!(text, "  ```");
    }
    text.push('\n');
}

/// Writes every report of `run` into `out`: each student's, then the
/// class's (`gradebook.csv`, `run.json`, `report.html`).
pub fn write_all(
    run: &GradingRun,
    out: &Path,
    visibility: GradescopeVisibility,
) -> Result<(), Error> {
    for submission in &run.submissions {
        write_student(submission, out, visibility, run.timeout_secs)?;
    }
    write_class(run, out)
}

/// Name of the file in a student's report folder that keeps the result
/// model, from which the class reports are rebuilt (and `--resume` reads).
pub const STUDENT_MODEL: &str = "submission.json";

/// Writes one student's reports into `out/<student>/` as soon as the
/// student is graded: `results.json`, `junit.xml`, `feedback.md` and the
/// model itself. Each file is written whole or not at all.
pub fn write_student(
    submission: &SubmissionResult,
    out: &Path,
    visibility: GradescopeVisibility,
    timeout_secs: f64,
) -> Result<(), Error> {
    let dir = out.join(safe_name(&submission.student));
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    write(
        &dir.join("results.json"),
        &pretty(&gradescope_json(submission, visibility))?,
    )?;
    write(&dir.join("junit.xml"), &junit_xml(submission)?)?;
    write(
        &dir.join("feedback.md"),
        &feedback_markdown(submission, Some(timeout_secs)),
    )?;
    write(&dir.join(STUDENT_MODEL), &pretty(submission)?)
}

/// The class's reports, from the run: `gradebook.csv`, `run.json` and
/// `report.html`.
pub fn write_class(run: &GradingRun, out: &Path) -> Result<(), Error> {
    fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write(&out.join("gradebook.csv"), &gradebook_csv(run)?)?;
    let model = serde_json::to_string_pretty(run).map_err(|e| Error::new(format!("json: {e}")))?;
    write(&out.join("run.json"), &model)?;
    write(&out.join("report.html"), &html::report_html(run))
}

/// The students already graded into `out` (their [`STUDENT_MODEL`] files),
/// sorted by id.
pub fn read_students(out: &Path) -> Result<Vec<SubmissionResult>, Error> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(found);
    };
    for entry in entries.flatten() {
        let path = entry.path().join(STUDENT_MODEL);
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let submission: SubmissionResult = serde_json::from_str(&text)
            .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
        found.push(submission);
    }
    found.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(found)
}

fn pretty<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::new(format!("json: {e}")))
}

/// A student id made safe as a folder name.
pub fn safe_name(student: &str) -> String {
    let name: String = student
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.@+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        format!("_{name}")
    } else {
        name
    }
}

/// Writes `text` to a temporary file beside `path`, then renames it over
/// `path`, so a crash never leaves half a report.
fn write(path: &Path, text: &str) -> Result<(), Error> {
    let partial = path.with_extension("partial");
    fs::write(&partial, text).map_err(|e| Error::io(&partial, e))?;
    fs::rename(&partial, path).map_err(|e| Error::io(path, e))
}
