//! `check NN`: build the exercise against the stand-in, then run each visible
//! test in a process of its own (as the grader does), so that a verdict of
//! the stand-in, which ends its process, costs only its own test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

use crate::Error;
use crate::outcome::{Outcome, TestResult, run_one};
use crate::scratch;
use crate::state::{LastRun, RunResult, State, src_hash};
use crate::workspace::{Course, Exercise};

/// A test process still running after this long is stopped and reported as
/// timed out (the visible tests each finish in well under 2 s).
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(10);

/// What one `check` found.
#[derive(Debug)]
pub struct Report {
    /// The seed of the stand-in's schedule noise.
    pub seed: u64,
    /// The build's verdict and the tests' results.
    pub verdict: Verdict,
}

/// Whether the exercise built, and what its tests did.
#[derive(Debug)]
pub enum Verdict {
    /// The compiler's errors, paths as the student sees them.
    DoesNotCompile(String),
    /// One result per visible test, in name order.
    Ran(Vec<TestResult>),
}

impl Report {
    /// The result kept in the state file.
    pub fn result(&self) -> RunResult {
        match &self.verdict {
            Verdict::DoesNotCompile(_) => RunResult::DoesNotCompile,
            Verdict::Ran(tests) if tests.iter().all(|t| t.outcome == Outcome::Passed) => {
                RunResult::Passing
            }
            Verdict::Ran(_) => RunResult::Failing,
        }
    }

    /// The tests that did not pass.
    pub fn failures(&self) -> Vec<&TestResult> {
        match &self.verdict {
            Verdict::Ran(tests) => tests
                .iter()
                .filter(|t| t.outcome != Outcome::Passed)
                .collect(),
            Verdict::DoesNotCompile(_) => Vec::new(),
        }
    }
}

/// Builds and runs `exercise`'s visible tests under the stand-in with `seed`,
/// and records the result in the state file.
pub fn check(course: &Course, exercise: &Exercise, seed: u64) -> Result<Report, Error> {
    let hash = src_hash(&exercise.src())?;
    let dir = scratch::prepare(course, exercise)?;
    let verdict = match build(course, exercise, &dir)? {
        Err(errors) => Verdict::DoesNotCompile(errors),
        Ok(binaries) => Verdict::Ran(run_all(&binaries, &dir, exercise, seed)?),
    };
    let report = Report { seed, verdict };
    let mut state = State::load(course);
    let (failed, total) = match &report.verdict {
        Verdict::Ran(tests) => (report.failures().len(), tests.len()),
        Verdict::DoesNotCompile(_) => (0, 0),
    };
    state.entry(exercise).last = Some(LastRun {
        src_hash: hash,
        result: report.result(),
        failed,
        total,
    });
    state.current = Some(exercise.topic.clone());
    state.save(course)?;
    Ok(report)
}

/// One line of `cargo --message-format json`, the fields used here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    test: bool,
}

/// Compiles the scratch crate's tests. `Ok(Err(..))`: it does not compile.
fn build(
    course: &Course,
    exercise: &Exercise,
    dir: &Path,
) -> Result<Result<Vec<PathBuf>, String>, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "test",
            "--no-run",
            "--quiet",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(course.scratch_target())
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        let errors = String::from_utf8_lossy(&output.stderr);
        return Ok(Err(as_student_sees(&errors, exercise)));
    }
    let binaries = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Message>(line).ok())
        .filter(|m| m.reason == "compiler-artifact" && m.profile.as_ref().is_some_and(|p| p.test))
        .filter_map(|m| m.executable)
        .collect();
    Ok(Ok(binaries))
}

/// Rewrites the scratch crate's paths (`src/lib.rs:3:5`) as the student's
/// (`exercises/04-semaphore/src/lib.rs:3:5`).
pub fn as_student_sees(text: &str, exercise: &Exercise) -> String {
    let base = format!("exercises/{}/", exercise.topic);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut line = line.to_string();
        for part in ["src/", "tests/"] {
            for lead in [" ", "(", "--> "] {
                line = line.replace(&format!("{lead}{part}"), &format!("{lead}{base}{part}"));
            }
            if line.starts_with(part) {
                line.insert_str(0, &base);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Runs every test of `binaries`, each in its own process, a few at a time.
fn run_all(
    binaries: &[PathBuf],
    dir: &Path,
    exercise: &Exercise,
    seed: u64,
) -> Result<Vec<TestResult>, Error> {
    let mut queue = Vec::new();
    for binary in binaries {
        for name in list_tests(binary)? {
            queue.push((binary.clone(), name));
        }
    }
    queue.sort_by(|a, b| a.1.cmp(&b.1));
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = Mutex::new(0_usize);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(queue.len()) {
            scope.spawn(|| {
                loop {
                    let index = {
                        let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
                        *next += 1;
                        *next - 1
                    };
                    let Some((binary, name)) = queue.get(index) else {
                        break;
                    };
                    let result = run_one(binary, name, dir, exercise, seed);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(result);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(results)
}

/// The names of the tests in a test binary.
fn list_tests(binary: &Path) -> Result<Vec<String>, Error> {
    let output = Command::new(binary)
        .args(["--list", "--format", "terse"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("cannot run {}: {e}", binary.display())))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}
