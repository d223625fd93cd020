//! The grading pipeline: prepare → build → run → score, per submission.
//!
//! Submissions flow through three scratch slots: while one submission's
//! tests run, the next ones are prepared and compiled in the others (one
//! may wait, compiled, for its turn), so the compiler and the tests overlap.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::Error;
use crate::build::{self, BuildOutput, Built};
use crate::build_cache::BuildCache;
use crate::course::{Course, Exercise};
use crate::model::{
    ExerciseResult, ExerciseStatus, Outcome, SubmissionResult, Timings, Visibility,
};
use crate::prepare::{
    self, LockBackend, Prepared, PreparedExercise, PreparedSubmission, Scope, Slot, Submission,
};
use crate::run::{self, RunSettings, TestJob, TestRun};
use crate::sandbox::SandboxOptions;
use crate::score;

/// How to grade.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// Exercise numbers to grade (all when empty).
    pub exercises: Vec<String>,
    /// Test processes running at once.
    pub jobs: usize,
    /// `INTERLEAVE_SEED` for every randomized test.
    pub seed: u64,
    /// Wall-clock limit per test process.
    pub timeout: Duration,
    /// Which `parking_lot` student code links.
    pub backend: LockBackend,
    /// Compile the next submission while the current one's tests run.
    pub overlap: bool,
    /// The sandbox around tests and compiles.
    pub sandbox: SandboxOptions,
    /// Take crates whose exact bytes were built before from the build cache
    /// ([`crate::build_cache`]).
    pub cache: bool,
}

impl GradeOptions {
    /// Defaults: every exercise, [`default_jobs`] test processes, a fresh seed,
    /// [`DEFAULT_TIMEOUT_SECS`] per test, the default [`LockBackend`] (the
    /// chaos stand-in, as the command line grades), overlapping stages.
    pub fn new(seed: u64) -> GradeOptions {
        GradeOptions {
            exercises: Vec::new(),
            jobs: default_jobs(),
            seed,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            backend: LockBackend::default(),
            overlap: true,
            sandbox: SandboxOptions::default(),
            cache: true,
        }
    }

    /// The settings of the test stage with `seed`: its jobs, timeout and sandbox.
    pub fn run_settings(&self, seed: u64) -> Result<RunSettings, Error> {
        let slack = run::machine_slack(self.jobs);
        let settings = RunSettings {
            timeout: self.timeout.mul_f64(slack),
            seed,
            sandbox: self.sandbox.test_sandbox(self.jobs)?,
            slack,
            durations: Default::default(),
            pool: Arc::new(run::JobPool::new(self.jobs)),
            rank: 0,
        };
        // A sandbox that cannot run a known-good test grades no one.
        crate::preflight::check(&settings)?;
        Ok(settings)
    }
}

/// The default per-test wall-clock limit, in seconds: a little above the
/// suites' own watchdogs (`harness::check`, 10 s), which fire first and say
/// more; this one is the backstop (and the only limit for visible tests).
pub const DEFAULT_TIMEOUT_SECS: u64 = 12;

/// Test processes per CPU by default. Most tests spend their time asleep
/// (a blocked call watched for 300 ms, a timeout waited out): measured on 2
/// CPUs, the solutions' 263 tests take 7.4 s of wall time at three
/// processes per CPU and 5.5 s at six, using 6.1 s of CPU. Deadlines
/// stretch by the processes per CPU that compete ([`run::machine_slack`],
/// at most [`run::CONTENDING_PER_CPU`]) or the measured load, so the tests
/// that do compete for the CPUs keep their verdicts.
pub const JOBS_PER_CPU: usize = 6;

/// [`JOBS_PER_CPU`] test processes per CPU.
pub fn default_jobs() -> usize {
    thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        * JOBS_PER_CPU
}

/// A fresh seed for a grading run.
pub fn fresh_seed() -> u64 {
    // Keep seeds short enough to type.
    harness::rand::random::<u64>() % 1_000_000_000
}

struct Compiled {
    index: usize,
    prepared: PreparedSubmission,
    built: BuildOutput,
    slot: Slot,
    prepare_secs: f64,
}

/// Grades `submissions` in order. `on_done` sees each result as soon as it
/// is ready (for progress bars and streaming tables); the results are also
/// returned, in the same order.
pub fn grade_all(
    course: &Course,
    submissions: &[Submission],
    options: &GradeOptions,
    mut on_done: impl FnMut(&SubmissionResult),
) -> Result<Vec<SubmissionResult>, Error> {
    let exercises = course.select(&options.exercises)?;
    let grading_dir = course.grading_dir();
    // Overlapping, the slots of the submissions under test, one holding
    // the next compiled and waiting, and one being compiled into: the
    // compiler never waits for the tests, so the CPUs stay busy while tests
    // sleep.
    let overlap = options.overlap && submissions.len() > 1;
    let testers = if overlap { TESTED_AT_ONCE } else { 1 };
    let slot_count = if overlap { testers + 2 } else { 1 };
    let (free_tx, free_rx) = mpsc::channel::<Slot>();
    for _ in 0..slot_count {
        free_tx
            .send(Slot::acquire(&grading_dir)?)
            .expect("slot channel open");
    }
    let settings = options.run_settings(options.seed)?;
    let protections = options.sandbox.active()?;
    let mut results: Vec<Option<SubmissionResult>> = vec![None; submissions.len()];
    let (compiled_tx, compiled_rx) = mpsc::sync_channel::<Result<Compiled, (usize, Error)>>(1);
    let compiled_rx = Mutex::new(compiled_rx);
    thread::scope(|scope| -> Result<(), Error> {
        let (done_tx, done_rx) = mpsc::channel::<(usize, SubmissionResult)>();
        let exercises = &exercises;
        let slots_back = free_tx.clone();
        scope.spawn(move || {
            for (index, submission) in submissions.iter().enumerate() {
                let Ok(slot) = free_rx.recv() else { return };
                let compiled = match compile(course, exercises, submission, &slot, options) {
                    Ok((prepared, built, prepare_secs)) => Ok(Compiled {
                        index,
                        prepared,
                        built,
                        slot,
                        prepare_secs,
                    }),
                    Err(error) => {
                        let _ = slots_back.send(slot);
                        Err((index, error))
                    }
                };
                if compiled_tx.send(compiled).is_err() {
                    return;
                }
            }
        });
        for _ in 0..testers {
            let (compiled_rx, done_tx, free_tx) = (&compiled_rx, done_tx.clone(), free_tx.clone());
            let settings = &settings;
            scope.spawn(move || {
                loop {
                    let next = compiled_rx.lock().expect("compiled queue").recv();
                    let Ok(compiled) = next else { return };
                    let (index, result) =
                        test_compiled(submissions, exercises, compiled, settings, &free_tx);
                    if done_tx.send((index, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        for _ in submissions {
            let (index, result) = done_rx
                .recv()
                .map_err(|_| Error::new("the test stage stopped unexpectedly"))?;
            let mut result = SubmissionResult {
                protections: protections.clone(),
                ..result
            };
            // Before any report sees it: the submission's own text made
            // inert and bounded.
            crate::sanitize::submission(&mut result);
            on_done(&result);
            results[index] = Some(result);
        }
        Ok(())
    })?;
    Ok(results
        .into_iter()
        .map(|r| r.expect("every submission was graded"))
        .collect())
}

/// Submissions whose tests may run at once when the stages overlap. They
/// share the run's test processes ([`run::JobPool`]), the earlier first: the
/// later one fills the processes the earlier leaves idle as its last tests
/// finish (or sleep out a deadlock).
pub const TESTED_AT_ONCE: usize = 2;

/// Tests and scores what the build stage sent (or says why it could not
/// build), and gives its slot back; returns the submission's index with its
/// result.
fn test_compiled(
    submissions: &[Submission],
    exercises: &[&Exercise],
    compiled: Result<Compiled, (usize, Error)>,
    settings: &RunSettings,
    free_slots: &mpsc::Sender<Slot>,
) -> (usize, SubmissionResult) {
    match compiled {
        Ok(compiled) => {
            let submission = &submissions[compiled.index];
            let settings = RunSettings {
                rank: compiled.index as u64,
                ..settings.clone()
            };
            let result = test_and_score(submission, &compiled, &settings);
            let _ = free_slots.send(compiled.slot);
            (compiled.index, result)
        }
        // One submission the grader could not handle does not stop the
        // class: it gets a result that says why.
        Err((index, error)) => (
            index,
            unbuildable(&submissions[index], exercises, settings.seed, &error),
        ),
    }
}

/// Runs the tests of one compiled submission and puts its result together.
fn test_and_score(
    submission: &Submission,
    compiled: &Compiled,
    settings: &RunSettings,
) -> SubmissionResult {
    let run_started = Instant::now();
    let exercise_results = run_submission(&compiled.prepared, &compiled.built, settings);
    let run_secs = run_started.elapsed().as_secs_f64();
    SubmissionResult {
        student: submission.student.clone(),
        source: submission.source.display().to_string(),
        seed: settings.seed,
        score: exercise_results.iter().map(|e| e.score).sum(),
        max_score: exercise_results.iter().map(|e| e.max_score).sum(),
        // Work time, not counting the wait for the previous submission's
        // tests when the stages overlap.
        elapsed_secs: compiled.prepare_secs + compiled.built.secs + run_secs,
        timings: Timings {
            prepare_secs: compiled.prepare_secs,
            build_secs: compiled.built.secs,
            run_secs,
        },
        protections: Vec::new(),
        exercises: exercise_results,
        not_graded: None,
    }
}

/// The result of a submission the grader could not prepare or build: every
/// exercise ungraded, with the reason.
fn unbuildable(
    submission: &Submission,
    exercises: &[&Exercise],
    seed: u64,
    error: &Error,
) -> SubmissionResult {
    let message = format!("error: the grader could not prepare or build this submission: {error}");
    let results: Vec<crate::model::ExerciseResult> = exercises
        .iter()
        .map(|exercise| {
            score::not_run(
                exercise,
                ExerciseStatus::CompileError {
                    message: message.clone(),
                },
                "not built",
            )
        })
        .collect();
    SubmissionResult {
        student: submission.student.clone(),
        source: submission.source.display().to_string(),
        seed,
        score: 0,
        max_score: results.iter().map(|e| e.max_score).sum(),
        elapsed_secs: 0.0,
        timings: Timings::default(),
        protections: Vec::new(),
        exercises: results,
        // The grader's own failure, not the student's.
        not_graded: Some(crate::model::Fault::Build {
            detail: error.to_string(),
        }),
    }
}

/// Prepares and builds one submission in `slot`; also returns the seconds
/// preparing took.
///
/// Under the chaos stand-in, an exercise that does not compile is built once
/// more against the real `parking_lot`: code that uses a part of
/// `parking_lot` the stand-in lacks is still graded, with a note saying so.
pub fn compile(
    course: &Course,
    exercises: &[&Exercise],
    submission: &Submission,
    slot: &Slot,
    options: &GradeOptions,
) -> Result<(PreparedSubmission, BuildOutput, f64), Error> {
    let backend = options.backend;
    let started = Instant::now();
    let grading_dir = course.grading_dir();
    let prepared = prepare::prepare(course, exercises, submission, slot, backend)?;
    let prepare_secs = started.elapsed().as_secs_f64();
    let cache = match options.cache {
        true => Some(BuildCache::open(&grading_dir, course)?),
        false => None,
    };
    let mut built = build::build(&prepared, &grading_dir, &options.sandbox, cache.as_ref())?;
    let failed: Vec<String> = built
        .exercises
        .iter()
        .filter(|(_, b)| matches!(b, Built::Failed(_)))
        .map(|(number, _)| number.clone())
        .collect();
    if backend == LockBackend::Chaos && !failed.is_empty() {
        prepare::use_real_parking_lot(course, &prepared, &failed)?;
        build::rebuild_with_real_parking_lot(
            &prepared,
            &grading_dir,
            &options.sandbox,
            &failed,
            &mut built,
        )?;
    }
    Ok((prepared, built, prepare_secs))
}

/// Runs the tests of one compiled submission and scores every exercise.
pub fn run_submission(
    prepared: &PreparedSubmission,
    built: &BuildOutput,
    settings: &RunSettings,
) -> Vec<ExerciseResult> {
    // First decide, per exercise, whether it has tests to run.
    let plans: Vec<Plan> = prepared
        .exercises
        .iter()
        .map(|entry| plan(entry, built, settings, prepared.scope))
        .collect();
    // Then run every test of the submission in one pool.
    let all_jobs: Vec<TestJob> = plans
        .iter()
        .flat_map(|p| match p {
            Plan::Run(_, jobs, _) => jobs.clone(),
            Plan::Done(_) => Vec::new(),
        })
        .collect();
    let mut runs: BTreeMap<String, Vec<TestRun>> = BTreeMap::new();
    for run in run::run_tests(all_jobs, settings) {
        runs.entry(run.job.exercise.clone()).or_default().push(run);
    }
    plans
        .into_iter()
        .zip(&prepared.exercises)
        .map(|(plan, entry)| match plan {
            Plan::Done(result) => result,
            Plan::Run(exercise, _, mut extra) => {
                let mut done = runs.remove(&exercise.number).unwrap_or_default();
                done.append(&mut extra);
                // Hidden tests first, then visible ones.
                done.sort_by_key(|r| r.job.visibility == Visibility::Visible);
                let mut notes = match &entry.state {
                    Prepared::Ready { notes, .. } => notes.clone(),
                    _ => Vec::new(),
                };
                if let Some(Built::Ok(binaries)) = built.exercises.get(&exercise.number) {
                    notes.extend(binaries.note.iter().cloned());
                }
                score::graded(exercise, done, notes)
            }
        })
        .collect()
}

/// What happens to one exercise of a compiled submission.
enum Plan<'a> {
    /// Nothing to run: its result is known.
    Done(ExerciseResult),
    /// These test processes to run, and the results of tests that cannot.
    Run(&'a Exercise, Vec<TestJob>, Vec<TestRun>),
}

/// Decides whether an exercise has tests to run, from how it was prepared
/// and built.
fn plan<'a>(
    entry: &'a PreparedExercise,
    built: &BuildOutput,
    settings: &RunSettings,
    scope: Scope,
) -> Plan<'a> {
    let exercise = &entry.exercise;
    let not_run = |status, verdict| Plan::Done(score::not_run(exercise, status, verdict));
    let compile_error = |message: &str| {
        let message = message.to_string();
        not_run(ExerciseStatus::CompileError { message }, "did not compile")
    };
    match &entry.state {
        Prepared::NotSubmitted => not_run(ExerciseStatus::NotSubmitted, "not submitted"),
        Prepared::Rejected(reason) => not_run(
            ExerciseStatus::Rejected {
                reason: reason.clone(),
            },
            "the submitted files were refused",
        ),
        Prepared::Ready { .. } => match built.exercises.get(&exercise.number) {
            None => compile_error("the build produced nothing for this exercise"),
            Some(Built::Failed(message)) => compile_error(message),
            Some(Built::Ok(binaries)) => {
                let until_caught = scope == Scope::UntilCaught;
                let (jobs, not_run) = plan_jobs(exercise, binaries, settings, until_caught);
                Plan::Run(exercise, jobs, not_run)
            }
        },
    }
}

/// The test processes to start for one built exercise, and the results of
/// tests that cannot run (a visible test target that did not compile).
fn plan_jobs(
    exercise: &Exercise,
    binaries: &build::Binaries,
    settings: &RunSettings,
    until_caught: bool,
) -> (Vec<TestJob>, Vec<TestRun>) {
    let env: Vec<(String, std::ffi::OsString)> = binaries
        .bins
        .iter()
        .map(|(name, path)| {
            (
                format!("CARGO_BIN_EXE_{name}"),
                path.clone().into_os_string(),
            )
        })
        .collect();
    let mut jobs = Vec::new();
    let mut not_run = Vec::new();
    let job = |binary: &PathBuf, name: String, visibility| TestJob {
        exercise: exercise.number.clone(),
        binary: binary.clone(),
        cpu_cap: exercise.budgets.cap(&name, visibility),
        exact: name.clone(),
        name,
        visibility,
        dir: binaries.crate_dir.clone(),
        env: env.clone(),
        exec: binaries.bins.values().cloned().collect(),
        until_caught,
    };
    let mut targets = vec![(binaries.hidden.clone(), Visibility::Hidden)];
    targets.extend(
        binaries
            .visible
            .values()
            .map(|b| (b.clone(), Visibility::Visible)),
    );
    for (binary, visibility) in targets {
        match run::list_tests(&binary, settings) {
            Ok(names) if binaries.merged => {
                for exact in names {
                    let Some((module, name)) = exact.split_once("::") else {
                        continue;
                    };
                    let visibility = if module == prepare::HIDDEN_TARGET {
                        Visibility::Hidden
                    } else {
                        Visibility::Visible
                    };
                    jobs.push(TestJob {
                        exact: exact.clone(),
                        ..job(&binary, name.to_string(), visibility)
                    });
                }
            }
            Ok(names) => {
                for name in names {
                    jobs.push(job(&binary, name, visibility));
                }
            }
            Err(run::ListFailure::Failed(message)) => {
                let listing = job(&binary, "(listing the tests)".to_string(), visibility);
                not_run.push(not_built(listing, message, ""));
            }
            Err(run::ListFailure::Fault(fault)) => {
                let listing = job(&binary, "(listing the tests)".to_string(), visibility);
                not_run.push(TestRun {
                    outcome: Outcome::NotGraded { fault },
                    ..not_built(listing, String::new(), "")
                });
            }
        }
    }
    not_run.extend(binaries.visible_failed.iter().map(|(target, message)| {
        let name = format!("{target} (visible tests)");
        let reason = "these visible tests did not compile".to_string();
        not_built(
            job(&PathBuf::new(), name, Visibility::Visible),
            reason,
            message,
        )
    }));
    (jobs, not_run)
}

/// The result of a test that could not run, and why.
fn not_built(job: TestJob, reason: String, output: &str) -> TestRun {
    TestRun {
        job,
        outcome: Outcome::NotRun { reason },
        output: output.to_string(),
        duration: Duration::ZERO,
        cpu: Duration::ZERO,
    }
}
