//! `grader bench --class N`: a realistic class, graded as an instructor
//! would, and the floor beside it.
//!
//! The class mixes what a real one hands in: six students in ten complete
//! and correct, two partial (some exercises left as the stub, some not
//! handed in), one with a deadlock or a lost wakeup in two exercises, one
//! that busy-waits or spins in three. Every file a student wrote is marked
//! with their name, so no two submissions share a compiled crate (an
//! untouched stub is the same bytes for everyone, as in a real class). It
//! prints the class's wall time, submissions per minute, the median and
//! worst time per kind, and whether any complete submission lost a point.
//!
//! The floor is plain `cargo test` of the same crates (the solutions with
//! their hidden and visible tests, recompiled) outside the grader: no
//! sandbox, one process per test binary. The ratio of a complete
//! submission's grading time to it is the figure to track.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Instant;

use crate::Error;
use crate::bench::median;
use crate::build;
use crate::course::{Course, Exercise};
use crate::grade::{GradeOptions, grade_all};
use crate::model::SubmissionResult;
use crate::prepare::{self, Scope, Slot, Submission};
use crate::synthetic::{self, Subject};

/// What kind of submission a synthetic student hands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Every exercise solved correctly.
    Complete,
    /// Some exercises solved, some left as the stub, some missing.
    Partial,
    /// Correct but for a deadlock or a lost wakeup in two exercises.
    Stuck,
    /// Correct but for busy-waiting or spinning in three exercises.
    Spinning,
}

impl Kind {
    /// The kind of the `i`-th student: 6 in 10 complete, 2 partial, 1 stuck,
    /// 1 spinning, spread through the class.
    pub fn of(i: usize) -> Kind {
        match i % 10 {
            0..=5 => Kind::Complete,
            6 | 7 => Kind::Partial,
            8 => Kind::Stuck,
            _ => Kind::Spinning,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Complete => "complete",
            Kind::Partial => "partial",
            Kind::Stuck => "deadlock/lost wakeup",
            Kind::Spinning => "busy-wait/spinning",
        }
    }
}

/// Mutants that hang (a deadlock or a lost wakeup), by exercise number.
const STUCK: &[(&str, &str)] = &[
    ("02", "transfer-locks-from-then-to"),
    ("03", "not-reentrant"),
    ("04", "permit-drop-does-not-notify"),
    ("05", "wait-checks-the-flag-then-relocks"),
    ("07", "abort-does-not-wake"),
    ("08", "ticker-lost-wakeup"),
];
/// Mutants that spin where they should block, by exercise number.
const SPINNING: &[(&str, &str)] = &[
    ("03", "spin-on-try-lock"),
    ("04", "acquire-spins"),
    ("05", "wait-spins"),
    ("06", "pop-busy-wait"),
    ("07", "spin-wait"),
    ("08", "shutdown-spins"),
    ("09", "caller-spins"),
];

/// What the `i`-th student hands in for each exercise (`None`: nothing).
fn picks(course: &Course, i: usize, kind: Kind) -> Vec<(&Exercise, Option<Subject>)> {
    let bugs: Vec<(&str, &str)> = match kind {
        Kind::Stuck => (0..2)
            .map(|k| STUCK[(i / 10 * 2 + k) % STUCK.len()])
            .collect(),
        Kind::Spinning => (0..3)
            .map(|k| SPINNING[(i / 10 * 3 + k) % SPINNING.len()])
            .collect(),
        _ => Vec::new(),
    };
    course
        .exercises
        .iter()
        .enumerate()
        .map(|(j, exercise)| {
            let bug = bugs.iter().find(|(n, _)| *n == exercise.number);
            let subject = match (kind, bug) {
                (_, Some((_, name))) => Some(Subject::Mutant(name.to_string())),
                (Kind::Partial, None) => match (i + j) % 4 {
                    0 | 1 => Some(Subject::Solution),
                    2 => Some(Subject::Stub),
                    _ => None,
                },
                _ => Some(Subject::Solution),
            };
            (exercise, subject)
        })
        .collect()
}

/// The synthetic class of `size`, each student with their kind.
pub fn class(course: &Course, size: usize) -> Result<Vec<(Submission, Kind)>, Error> {
    let mut class = Vec::new();
    for i in 0..size {
        let kind = Kind::of(i);
        let name = format!("student-{:03}", i + 1);
        let all = picks(course, i, kind);
        let handed_in: Vec<(&Exercise, Subject)> = all
            .iter()
            .filter_map(|(e, s)| Some((*e, s.clone()?)))
            .collect();
        let synthetic = synthetic::submission(course, &name, Scope::Full, &handed_in)?;
        let mut submission = synthetic.submission;
        for (number, source) in submission.exercises.iter_mut() {
            if synthetic.subjects.get(number) != Some(&Subject::Stub) {
                *source = synthetic::appended(source, &format!("\n// Submitted by {name}.\n"))?;
            }
        }
        class.push((submission, kind));
    }
    Ok(class)
}

/// Grades a class of `size` and prints its figures, then the floor.
pub fn bench_class(course: &Course, options: &GradeOptions, size: usize) -> Result<(), Error> {
    let class = class(course, size)?;
    let submissions: Vec<Submission> = class.iter().map(|(s, _)| s.clone()).collect();
    let mut options = options.clone();
    options.overlap = true;
    let started = Instant::now();
    let results = grade_all(course, &submissions, &options, |result| {
        eprintln!(
            "  {:>6.0} s  {} {}/{} ({:.1} s)",
            started.elapsed().as_secs_f64(),
            result.student,
            result.score,
            result.max_score,
            result.elapsed_secs
        );
    })?;
    let wall = started.elapsed().as_secs_f64();
    println!(
        "class of {size}: {wall:.0} s wall ({:.1} min), {:.1} submissions/minute, jobs {}",
        wall / 60.0,
        size as f64 * 60.0 / wall,
        options.jobs
    );
    let kinds: Vec<Kind> = class.iter().map(|(_, k)| *k).collect();
    let complete = print_kinds(&results, &kinds);
    floor(course, &options, complete)
}

/// One line per kind: count, median and worst grading time; returns the
/// complete submissions' median. Says how many complete ones lost points.
fn print_kinds(results: &[SubmissionResult], kinds: &[Kind]) -> f64 {
    let mut by_kind: BTreeMap<Kind, Vec<&SubmissionResult>> = BTreeMap::new();
    for (result, kind) in results.iter().zip(kinds) {
        by_kind.entry(*kind).or_default().push(result);
    }
    let mut complete_median = 0.0;
    for (kind, results) in &by_kind {
        let mut times: Vec<f64> = results.iter().map(|r| r.elapsed_secs).collect();
        let worst = times.iter().copied().fold(0.0, f64::max);
        let median = median(&mut times);
        let mut line = format!(
            "  {:<22} {:>3} submissions: median {median:.1} s, worst {worst:.1} s",
            kind.label(),
            results.len()
        );
        if *kind == Kind::Complete {
            complete_median = median;
            let lost = results.iter().filter(|r| r.score < r.max_score).count();
            line.push_str(&format!("; {lost} of {} lost points", results.len()));
        }
        println!("{line}");
        if *kind != Kind::Complete {
            print_slowest(results);
        }
    }
    complete_median
}

/// The three slowest tests of the slowest submission in `results`, with
/// their verdicts: where a stuck or spinning kind spends its time.
fn print_slowest(results: &[&SubmissionResult]) {
    let Some(worst) = results
        .iter()
        .max_by(|a, b| a.elapsed_secs.total_cmp(&b.elapsed_secs))
    else {
        return;
    };
    let mut tests: Vec<(&str, &crate::model::TestResult)> = worst
        .exercises
        .iter()
        .flat_map(|e| e.tests.iter().map(move |t| (e.number.as_str(), t)))
        .collect();
    tests.sort_by(|a, b| b.1.duration_secs.total_cmp(&a.1.duration_secs));
    for (number, test) in tests.iter().take(3) {
        println!(
            "      {number} {} {:.1} s ({:.1} s CPU): {}",
            test.name,
            test.duration_secs,
            test.cpu_secs,
            test.outcome.verdict()
        );
    }
}

/// Times plain `cargo test` of the solutions' crates (hidden and visible
/// tests, every crate recompiled) in a target directory of its own, and
/// prints it beside `complete`, a complete submission's median.
fn floor(course: &Course, options: &GradeOptions, complete: f64) -> Result<(), Error> {
    let exercises: Vec<&Exercise> = course.exercises.iter().collect();
    let slot = Slot::acquire(&course.grading_dir())?;
    let target = course.root.join("target").join("grading-floor");
    let mut secs = Vec::new();
    for round in 0..3 {
        let mark = format!("\n// floor round {round}\n");
        let picks = synthetic::every(&exercises, Subject::Solution);
        let mut submission =
            synthetic::submission(course, "floor", Scope::Full, &picks)?.submission;
        for source in submission.exercises.values_mut() {
            *source = synthetic::appended(source, &mark)?;
        }
        let prepared = prepare::prepare(course, &exercises, &submission, &slot, options.backend)?;
        let started = Instant::now();
        let status = build::cargo()
            .args([
                "test",
                "--offline",
                "--workspace",
                "--no-fail-fast",
                "--manifest-path",
            ])
            .arg(prepared.workspace.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_INCREMENTAL", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| Error::new(format!("cannot run cargo test: {e}")))?;
        // Round 0 builds the dependencies into the new target directory.
        if round > 0 {
            secs.push(started.elapsed().as_secs_f64());
        }
        if !status.success() {
            eprintln!("  (the floor's cargo test failed in round {round}: {status})");
        }
    }
    let floor = median(&mut secs);
    println!(
        "floor: plain `cargo test` of the same ten crates, recompiled: {floor:.1} s; a complete \
         submission graded takes {complete:.1} s, {:.2} times the floor",
        complete / floor.max(0.001)
    );
    Ok(())
}
