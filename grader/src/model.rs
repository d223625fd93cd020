//! The result model: what grading found, before it is rendered.
//!
//! Every report (the table, `gradebook.csv`, Gradescope's `results.json`,
//! `junit.xml`, `feedback.md`, `--format json`) is a view of these types, and
//! `merge` reads them back from the `run.json` that `grade --out` writes.

use serde::{Deserialize, Serialize};

/// One invocation of `grade` (or a merge of several shards).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradingRun {
    /// The seed every randomized hidden test used (`INTERLEAVE_SEED`).
    pub seed: u64,
    /// The per-test wall-clock limit, in seconds.
    pub timeout_secs: f64,
    /// Which slice of the class this run graded, as `K/N`, if sharded.
    pub shard: Option<String>,
    /// The sandbox's protections that were on.
    #[serde(default)]
    pub protections: Vec<crate::sandbox::Protection>,
    /// One entry per graded submission, in student order.
    pub submissions: Vec<SubmissionResult>,
    /// The version of the grader that graded (empty in runs written before
    /// it was recorded).
    #[serde(default)]
    pub grader_version: String,
    /// When grading started, as an RFC 3339 date in UTC (empty if unknown).
    #[serde(default)]
    pub started_at: String,
    /// Wall-clock seconds the whole run took (summed over shards by `merge`).
    #[serde(default)]
    pub elapsed_secs: f64,
}

/// Everything about one student's submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionResult {
    /// The student id: the submission folder's name.
    pub student: String,
    /// Where the submission was read from.
    pub source: String,
    /// The seed its randomized tests used.
    pub seed: u64,
    /// Points earned over all graded exercises.
    pub score: u32,
    /// Points available over all graded exercises.
    pub max_score: u32,
    /// Wall-clock time spent on this submission, in seconds.
    pub elapsed_secs: f64,
    /// How that time split between the stages.
    pub timings: Timings,
    /// The sandbox's protections its tests and compiles ran under.
    #[serde(default)]
    pub protections: Vec<crate::sandbox::Protection>,
    /// One entry per graded exercise, in course order.
    pub exercises: Vec<ExerciseResult>,
    /// A fault of the grader or the machine that kept this submission from
    /// being graded, found outside its tests (its reports could not be
    /// written, say). See [`SubmissionResult::fault`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_graded: Option<Fault>,
}

impl SubmissionResult {
    /// Why this submission is not graded, if it is not: a fault of the
    /// grader or the machine, in the submission as a whole or in any of its
    /// tests. Its points then are no grade, every report says "not graded"
    /// instead, and `grade --resume` grades it again.
    pub fn fault(&self) -> Option<&Fault> {
        self.not_graded.as_ref().or_else(|| {
            self.exercises
                .iter()
                .flat_map(|e| &e.tests)
                .find_map(|t| match &t.outcome {
                    Outcome::NotGraded { fault } => Some(fault),
                    _ => None,
                })
        })
    }
}

/// A failure of the grader or of the machine, never of the submission: the
/// submission it hits is not graded (no score), never marked down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// The sandbox could not start a test process (its own setup failed
    /// before any code of the submission ran).
    SandboxStart {
        /// What failed, as the jail said.
        detail: String,
    },
    /// A program the grader built for the submission is missing or unreadable.
    BinaryUnreadable {
        /// The program.
        path: String,
        /// What reading it said.
        detail: String,
    },
    /// The grader could not prepare or build the submission (not an error
    /// in the submission's code: that is a compile error).
    Build {
        /// What went wrong.
        detail: String,
    },
    /// A process of the test was killed from outside its sandbox, e.g. by
    /// the machine's out-of-memory killer while the test was under its own
    /// memory limit.
    KilledFromOutside {
        /// Who killed it, as far as the grader can tell.
        detail: String,
    },
    /// The submission's reports could not be written.
    ReportsUnwritable {
        /// Where they were to go.
        dir: String,
        /// What writing said.
        detail: String,
    },
    /// The shard of a batch run that was to grade this submission wrote no
    /// results for it (its task died, was cancelled or never started);
    /// `merge --class` finds it. Grading that shard again with `--resume`
    /// completes it (`submit.sh K` on Slurm).
    ShardMissing {
        /// The shard, 1-based.
        shard: usize,
        /// How many shards the class was split into.
        of: usize,
        /// The shard's `--out` folder.
        dir: String,
        /// The batch task that ran the shard, as it wrote in its folder
        /// (`task.txt`), if one started.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<String>,
    },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::SandboxStart { detail } => {
                write!(f, "the sandbox could not start a test ({detail})")
            }
            Fault::BinaryUnreadable { path, detail } => {
                write!(f, "the grader's build of {path} cannot be read ({detail})")
            }
            Fault::Build { detail } => {
                write!(f, "the grader could not prepare or build it ({detail})")
            }
            Fault::KilledFromOutside { detail } => {
                write!(f, "a test was killed from outside its sandbox ({detail})")
            }
            Fault::ReportsUnwritable { dir, detail } => {
                write!(f, "its reports could not be written to {dir} ({detail})")
            }
            Fault::ShardMissing {
                shard,
                of,
                dir,
                task,
            } => {
                write!(f, "shard {shard}/{of} ")?;
                match task {
                    Some(task) => write!(f, "(Slurm task {task}) ")?,
                    None => write!(f, "(no task started) ")?,
                }
                write!(f, "wrote no results for it to {dir}")
            }
        }
    }
}

/// Wall-clock seconds per stage of one submission.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    /// Copying sources into the scratch crates.
    pub prepare_secs: f64,
    /// `cargo build` of the scratch workspace (compiling and linking).
    pub build_secs: f64,
    /// Running the test processes.
    pub run_secs: f64,
}

/// One exercise of one submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExerciseResult {
    /// The exercise folder's name, e.g. `05-event`.
    pub exercise: String,
    /// Its two-digit number, e.g. `05`.
    pub number: String,
    /// Whether it could be graded at all.
    pub status: ExerciseStatus,
    /// Points earned (hidden tests only).
    pub score: u32,
    /// Points available (hidden tests only).
    pub max_score: u32,
    /// Hidden tests first, then visible ones, each in the order the test
    /// binary lists them.
    pub tests: Vec<TestResult>,
    /// Remarks for the student that are not about one test (for example,
    /// which build of `parking_lot` was used).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Whether an exercise reached the test stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExerciseStatus {
    /// It compiled and its tests ran.
    Graded,
    /// The submission has no source for it.
    NotSubmitted,
    /// The grader refused the files (a symbolic link, an oversized file, a
    /// file read from outside `src/`).
    Rejected {
        /// Why, in words a student understands.
        reason: String,
    },
    /// It did not compile against the tests.
    CompileError {
        /// The compiler's errors, trimmed.
        message: String,
    },
}

/// Which suite a test belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// The grader's hidden suite: these tests carry the points.
    Hidden,
    /// The tests a student has in `exercises/NN-topic/tests/` (0 points).
    Visible,
}

/// One test of one exercise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    /// The test function's name, e.g. `set_wakes_every_waiter`.
    pub name: String,
    /// Hidden (scored) or visible (reported only).
    pub visibility: Visibility,
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// What happened.
    pub outcome: Outcome,
    /// The course author's hint for a student who failed it.
    pub hint: Option<String>,
    /// The relevant part of the test's output (the panic message, the
    /// watchdog's message), trimmed.
    pub output: String,
    /// Wall-clock seconds the test process ran.
    pub duration_secs: f64,
    /// CPU seconds the test process (and what it started) used.
    #[serde(default)]
    pub cpu_secs: f64,
}

impl TestResult {
    /// Whether the test passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The course author's hint, when it speaks to this outcome: a test that
    /// was too slow or went over a limit is not about the bug class its hint
    /// describes (a deadlock, say), so it gets none.
    pub fn relevant_hint(&self) -> Option<&str> {
        match self.outcome {
            Outcome::TooSlow { .. } | Outcome::OverCpu { .. } | Outcome::OverLimit { .. } => None,
            _ => self.hint.as_deref(),
        }
    }
}

/// Which watchdog ended a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Watchdog {
    /// The test's own watchdog (`harness::check`) fired and reported.
    Harness,
    /// The grader's per-test wall-clock limit (`--timeout`) killed it.
    Grader,
}

/// The verdict on one test process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// It ran to the end and every assertion held.
    Passed,
    /// An assertion failed or the code panicked.
    Failed {
        /// The panic message, or how the process ended.
        message: String,
    },
    /// It did not finish in time.
    TimedOut {
        /// Which watchdog ended it.
        watchdog: Watchdog,
    },
    /// The process was killed by a signal (abort, stack overflow, ...).
    Crashed {
        /// The signal number.
        signal: i32,
    },
    /// The process exited successfully before the test body finished, e.g.
    /// because the code under test called `std::process::exit(0)`.
    ExitedEarly,
    /// The process printed far more than any test should and was stopped.
    OutputFlood {
        /// How many bytes it had printed when it was stopped.
        bytes: u64,
    },
    /// The test was still making progress (running, or waiting for a CPU)
    /// at the hard cap of its time: slow, not stuck.
    TooSlow {
        /// CPU seconds it had used.
        cpu_secs: f64,
        /// Wall-clock seconds it had run.
        wall_secs: f64,
    },
    /// The test, still running, had used many times the CPU time that the
    /// course's solution needs for it ([`crate::budget`]): busy-waiting, or
    /// far too slow. Stopped there rather than at its wall-clock limit.
    OverCpu {
        /// CPU seconds it had used.
        cpu_secs: f64,
        /// Its CPU cap, in seconds.
        cap_secs: f64,
        /// Wall-clock seconds it had run.
        wall_secs: f64,
    },
    /// The test went over one of the sandbox's resource limits.
    OverLimit {
        /// Which one.
        limit: Limit,
    },
    /// The test was not run.
    NotRun {
        /// Why not.
        reason: String,
    },
    /// The grader or the machine failed this test ([`Fault`]): no verdict
    /// on the submission, which is not graded.
    NotGraded {
        /// What failed.
        fault: Fault,
    },
}

/// A resource limit of the test sandbox, with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Limit {
    /// Memory (address space) per process.
    Memory {
        /// The limit in bytes.
        bytes: u64,
    },
    /// Threads plus processes at once.
    Tasks {
        /// The limit.
        count: u64,
    },
    /// Size of a written file (and of the private tmp).
    FileSize {
        /// The limit in bytes.
        bytes: u64,
    },
    /// Open file descriptors per process.
    OpenFiles {
        /// The limit.
        count: u64,
    },
    /// CPU time per process.
    CpuTime {
        /// The limit in seconds.
        secs: u64,
    },
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words = |bytes: u64| {
            if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
                format!("{} GiB", bytes >> 30)
            } else {
                format!("{} MiB", bytes >> 20)
            }
        };
        match self {
            Limit::Memory { bytes } => write!(f, "used more than {} of memory", words(*bytes)),
            Limit::Tasks { count } => write!(f, "started more than {count} threads and processes"),
            Limit::FileSize { bytes } => write!(f, "wrote more than {} to files", words(*bytes)),
            Limit::OpenFiles { count } => write!(f, "opened more than {count} files at once"),
            Limit::CpuTime { secs } => write!(f, "used more than {secs} s of CPU time"),
        }
    }
}

impl Outcome {
    /// A short verdict for tables, e.g. `timed out (possible deadlock or lost wakeup)`.
    pub fn verdict(&self) -> String {
        match self {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed { .. } => "failed".to_string(),
            Outcome::TimedOut { .. } => "timed out (possible deadlock or lost wakeup)".to_string(),
            Outcome::Crashed { signal } => format!("crashed ({})", signal_name(*signal)),
            Outcome::ExitedEarly => "exited before the test finished".to_string(),
            Outcome::OutputFlood { bytes } => {
                format!("output flood ({} MiB printed)", bytes / (1024 * 1024))
            }
            Outcome::TooSlow {
                cpu_secs,
                wall_secs,
            } => format!("too slow: used {cpu_secs:.1} s of CPU in {wall_secs:.1} s"),
            Outcome::OverCpu {
                cpu_secs,
                wall_secs,
                ..
            } => format!(
                "busy-waiting or far too slow: used {cpu_secs:.1} s of CPU in {wall_secs:.1} s"
            ),
            Outcome::OverLimit { limit } => format!("over a limit: {limit}"),
            Outcome::NotRun { reason } => format!("not run: {reason}"),
            Outcome::NotGraded { fault } => format!("not graded: {fault}"),
        }
    }

    /// A sentence that explains the verdict to a student.
    pub fn explanation(&self) -> String {
        match self {
            Outcome::Passed => "The test passed.".to_string(),
            Outcome::Failed { message } => format!("The test failed: {message}"),
            Outcome::TimedOut {
                watchdog: Watchdog::Harness,
            } => "The test's watchdog fired: the code was still running long after a correct \
                  solution finishes. The likely cause is a deadlock (a lock never released, two \
                  locks taken in opposite orders) or a lost wakeup (a waiter that is never \
                  notified)."
                .to_string(),
            Outcome::TimedOut {
                watchdog: Watchdog::Grader,
            } => "The grader stopped the test after its time limit: the code was still running \
                  long after a correct solution finishes. The likely cause is a deadlock (a lock \
                  never released, two locks taken in opposite orders), a lost wakeup (a waiter \
                  that is never notified) or an endless loop."
                .to_string(),
            Outcome::Crashed { signal } => format!(
                "The test process was killed by {}. Common causes: unbounded recursion (stack \
                 overflow), a panic while already panicking, or running out of memory.",
                signal_name(*signal)
            ),
            Outcome::ExitedEarly => "The test process exited before the test finished. Does \
                 your code call std::process::exit? Library code must return, or panic, \
                 instead."
                .to_string(),
            Outcome::OutputFlood { bytes } => format!(
                "The test printed {bytes} bytes and was stopped. Remove the printing from \
                 loops in your code."
            ),
            Outcome::TooSlow {
                cpu_secs,
                wall_secs,
            } => format!(
                "The test was still running, and still making progress, when it was stopped \
                 after {wall_secs:.1} s (it had used {cpu_secs:.1} s of CPU), several times \
                 longer than a correct solution takes even on a busy machine. Look for work \
                 that grows too fast, or a loop that spins instead of blocking."
            ),
            Outcome::OverCpu {
                cpu_secs,
                cap_secs,
                wall_secs,
            } => format!(
                "The test was stopped after {wall_secs:.1} s, still running: it had used \
                 {cpu_secs:.1} s of CPU, over its cap of {cap_secs:.1} s, many times what a \
                 correct solution needs for it. Look for a loop that spins (polling a flag, \
                 `try_lock` or `yield_now` in a loop) where a thread should block on a \
                 condition variable, or for work that grows far too fast."
            ),
            Outcome::OverLimit { limit } => format!(
                "The test {limit}, a limit of the grader's sandbox that a correct solution \
                 stays far below. Look for threads or processes started in a loop, \
                 allocations that grow without bound, or a loop that never ends."
            ),
            Outcome::NotRun { reason } => format!("The test was not run: {reason}."),
            Outcome::NotGraded { fault } => format!(
                "The grader could not run this test: {fault}. That is a fault of the grader or \
                 the machine, not of your code; the submission will be graded again."
            ),
        }
    }
}

/// A signal number with its usual name.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return format!("signal {signal}"),
    };
    format!("signal {signal}, {name}")
}

impl ExerciseResult {
    /// The hidden tests.
    pub fn hidden(&self) -> impl Iterator<Item = &TestResult> {
        self.tests
            .iter()
            .filter(|t| t.visibility == Visibility::Hidden)
    }

    /// The visible tests.
    pub fn visible(&self) -> impl Iterator<Item = &TestResult> {
        self.tests
            .iter()
            .filter(|t| t.visibility == Visibility::Visible)
    }

    /// A one-line verdict for the exercise, e.g. `2 failed, 1 timed out
    /// (possible deadlock or lost wakeup)`, or `ok` when every test passed.
    pub fn verdict(&self) -> String {
        match &self.status {
            ExerciseStatus::NotSubmitted => return "not submitted".to_string(),
            ExerciseStatus::Rejected { reason } => return format!("rejected: {reason}"),
            ExerciseStatus::CompileError { message } => {
                let first = message
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("see the compiler's message");
                return format!("does not compile: {first}");
            }
            ExerciseStatus::Graded => {}
        }
        // Count verdicts over hidden tests, keeping the first-seen order.
        let mut counts: Vec<(String, usize)> = Vec::new();
        for test in self.hidden().filter(|t| !t.passed()) {
            let verdict = test.outcome.verdict();
            match counts.iter_mut().find(|(v, _)| *v == verdict) {
                Some((_, n)) => *n += 1,
                None => counts.push((verdict, 1)),
            }
        }
        if counts.is_empty() {
            if self.hidden().next().is_none() {
                return "no hidden tests".to_string();
            }
            return "ok".to_string();
        }
        counts
            .iter()
            .map(|(verdict, n)| format!("{n} {verdict}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
