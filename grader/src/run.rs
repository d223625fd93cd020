//! Stage 3: run every test in its own process.
//!
//! Each test runs as `<test-binary> --exact <name> --test-threads=1
//! --nocapture` in its own sandbox ([`crate::sandbox::jail`]), with stdin
//! closed, a minimal environment, captured output (a head and a tail are
//! kept, the rest is counted) and a wall-clock limit after which the whole
//! group is killed.
//!
//! A hidden test passes only if its jail exits with status 0, which it does
//! only when the test process exited with 0 **and** proved with its one-time
//! secret that the test body returned (`harness::proof`). Printing `test
//! result: ok`, calling `process::exit(0)` or writing any file from student
//! code cannot produce that proof.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::model::{Fault, Limit, Outcome, Visibility, Watchdog};
use crate::sandbox::jail::{JailExit, SETUP_PREFIX};
use crate::sandbox::{Limits, TestSandbox};

/// Bytes kept from the start and from the end of each output stream.
pub const KEEP_BYTES: usize = 32 * 1024;
/// A test that prints more than this is stopped ("output flood").
pub const FLOOD_BYTES: u64 = 16 * 1024 * 1024;
/// Longest output excerpt kept in a test's result.
pub const MAX_EXCERPT_CHARS: usize = 2000;

/// Settings shared by every test of a grading run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Wall-clock limit per test process.
    pub timeout: Duration,
    /// `INTERLEAVE_SEED` for every test.
    pub seed: u64,
    /// The sandbox every test process starts in.
    pub sandbox: Arc<TestSandbox>,
    /// How busy the machine is ([`machine_slack`]), passed to the tests as
    /// `INTERLEAVE_SLACK`: their wall-clock deadlines stretch by it.
    pub slack: f64,
    /// How long the tests took that passed earlier in this run.
    pub durations: Arc<Durations>,
    /// The `jobs` process permits, shared by every submission whose tests
    /// run at once.
    pub pool: Arc<JobPool>,
    /// This submission's place in the run: the pool serves lower ranks first.
    pub rank: u64,
}

/// Permits for test processes, shared by the submissions of a grading run
/// whose tests run at the same time: together they never start more than
/// the run's `jobs` processes. The earliest submission is served first, so
/// a later one only takes the permits the earlier leaves idle (its last
/// tests sleeping out a deadlock, say).
#[derive(Debug)]
pub struct JobPool {
    /// The permits it was made with: the run's test processes at once.
    size: usize,
    /// Permits not held (never above the count the pool was made with),
    /// and how many threads of each rank wait for one.
    state: Mutex<PoolState>,
    /// Signalled when a permit comes back, and when the first rank leaves
    /// the queue while a permit is free (the next rank may take it).
    returned: Condvar,
}

#[derive(Debug)]
struct PoolState {
    free: usize,
    waiting: BTreeMap<u64, usize>,
}

impl JobPool {
    /// A pool of `jobs` permits (at least one).
    pub fn new(jobs: usize) -> JobPool {
        JobPool {
            size: jobs.max(1),
            state: Mutex::new(PoolState {
                free: jobs.max(1),
                waiting: BTreeMap::new(),
            }),
            returned: Condvar::new(),
        }
    }

    /// The permits it was made with.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Waits for a permit, behind every waiter of a lower `rank`; it goes
    /// back when the guard drops.
    fn take(&self, rank: u64) -> JobPermit<'_> {
        let mut state = self.state.lock().expect("job pool");
        *state.waiting.entry(rank).or_default() += 1;
        while state.free == 0 || state.waiting.keys().next() != Some(&rank) {
            state = self.returned.wait(state).expect("job pool");
        }
        state.free -= 1;
        let mine = state.waiting.get_mut(&rank).expect("registered above");
        *mine -= 1;
        if *mine == 0 {
            state.waiting.remove(&rank);
            // The next rank is first now, and may take what is still free.
            if state.free > 0 {
                self.returned.notify_all();
            }
        }
        JobPermit(self)
    }
}

/// One test process's permit from a [`JobPool`].
struct JobPermit<'a>(&'a JobPool);

impl Drop for JobPermit<'_> {
    fn drop(&mut self) {
        self.0.state.lock().expect("job pool").free += 1;
        self.0.returned.notify_all();
    }
}

/// The wall-clock time of each test that passed earlier in a grading run,
/// by exercise and name. [`run_tests`] starts the longest first: a slow test
/// started last would leave the other processes idle while it finishes.
#[derive(Debug, Default)]
pub struct Durations(Mutex<HashMap<(String, String), Duration>>);

impl Durations {
    /// How long `job` took when it last passed, if it did.
    fn of(&self, job: &TestJob) -> Option<Duration> {
        let key = (job.exercise.clone(), job.name.clone());
        self.0.lock().expect("durations").get(&key).copied()
    }

    /// Notes how long `run` took, if it passed.
    fn note(&self, run: &TestRun) {
        if run.outcome == Outcome::Passed {
            let key = (run.job.exercise.clone(), run.job.name.clone());
            self.0.lock().expect("durations").insert(key, run.duration);
        }
    }

    /// `jobs`, numbered in their order, the longest known first; those never
    /// seen pass before them (they may be long), in their order.
    fn longest_first(&self, jobs: Vec<TestJob>) -> VecDeque<(usize, TestJob)> {
        let mut numbered: Vec<(usize, TestJob)> = jobs.into_iter().enumerate().collect();
        numbered.sort_by_cached_key(|(_, job)| {
            std::cmp::Reverse(self.of(job).unwrap_or(Duration::MAX))
        });
        numbered.into()
    }
}

/// Test processes per CPU that compete for it, at most: most tests sleep
/// most of their time (the solutions' 263 tests use 6.1 s of CPU in 37.8 s
/// of wall time), so processes started beyond this many per CPU add
/// sleepers, not load; the measured load counts whatever they do add.
pub const CONTENDING_PER_CPU: f64 = 3.0;

/// How much a wall-clock deadline should stretch on this machine now: the
/// 1-minute load per CPU, or the test processes per CPU that `jobs` will
/// add (counted up to [`CONTENDING_PER_CPU`]), whichever is larger; at least
/// 1, at most 8. `INTERLEAVE_SLACK` in the grader's environment sets it
/// instead.
pub fn machine_slack(jobs: usize) -> f64 {
    if let Some(fixed) = std::env::var(harness::SLACK_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return fixed.clamp(1.0, 8.0);
    }
    let cpus = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    let added = (jobs as f64 / cpus).min(CONTENDING_PER_CPU);
    (load / cpus).max(added).clamp(1.0, 8.0)
}

/// One test to run.
#[derive(Debug, Clone)]
pub struct TestJob {
    /// Which exercise it belongs to (its number).
    pub exercise: String,
    /// The test binary.
    pub binary: PathBuf,
    /// The test's name, as reports show it.
    pub name: String,
    /// The test's full name in its binary, which selects it (`hidden::x`
    /// in the merged binary of [`crate::build::Layout::Merged`], else the
    /// name).
    pub exact: String,
    /// Hidden (scored) or visible.
    pub visibility: Visibility,
    /// The working directory (the scratch crate, as `cargo test` would use).
    pub dir: PathBuf,
    /// Extra environment (`CARGO_BIN_EXE_<name>` for the crate's binaries).
    pub env: Vec<(String, OsString)>,
    /// Files and folders the test may execute besides its binary (the
    /// crate's own programs).
    pub exec: Vec<PathBuf>,
    /// Skip this test once another test of its exercise has failed.
    pub until_caught: bool,
    /// The CPU time after which the test is stopped as busy-waiting or far
    /// too slow ([`crate::budget`]), if its suite measured one.
    pub cpu_cap: Option<Duration>,
}

/// What running one test found.
#[derive(Debug, Clone)]
pub struct TestRun {
    /// The job.
    pub job: TestJob,
    /// The verdict.
    pub outcome: Outcome,
    /// The relevant part of its output.
    pub output: String,
    /// Wall-clock time of the process.
    pub duration: Duration,
    /// CPU time of the process and everything it started.
    pub cpu: Duration,
}

/// Why a test binary's tests could not be listed.
#[derive(Debug, Clone)]
pub enum ListFailure {
    /// The grader's or the machine's failure: the submission is not graded.
    Fault(Fault),
    /// The binary itself failed to list its tests.
    Failed(String),
}

/// Lists the tests in a test binary (`--list --format terse`), in its sandbox.
pub fn list_tests(binary: &Path, settings: &RunSettings) -> Result<Vec<String>, ListFailure> {
    let args = ["--list", "--format", "terse"].map(String::from).to_vec();
    let (command, _box) = settings
        .sandbox
        .command(binary, args, base_env(), Vec::new(), false, settings.rank)
        .map_err(ListFailure::Fault)?;
    let output = run_process(command, settings.timeout, None).map_err(|e| {
        ListFailure::Fault(Fault::SandboxStart {
            detail: format!("cannot run {}: {e}", binary.display()),
        })
    })?;
    let stderr = output.stderr.text();
    if output.status.and_then(|s| s.code()) == Some(JailExit::Setup as i32)
        && stderr.contains(SETUP_PREFIX)
    {
        return Err(ListFailure::Fault(Fault::SandboxStart {
            detail: setup_error(&stderr),
        }));
    }
    if output.timed_out || output.status.map(|s| !s.success()).unwrap_or(true) {
        return Err(ListFailure::Failed(format!(
            "listing the tests of {} failed: {}",
            binary.display(),
            stderr
        )));
    }
    Ok(output
        .stdout
        .text()
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

/// Runs `jobs` with up to the pool's `size` processes at once (fewer while
/// another submission's tests hold permits of `settings.pool`), the longest
/// first ([`Durations`]). Results come back in the order of `jobs`.
pub fn run_tests(jobs: Vec<TestJob>, settings: &RunSettings) -> Vec<TestRun> {
    let total = jobs.len();
    let queue: Mutex<VecDeque<(usize, TestJob)>> =
        Mutex::new(settings.durations.longest_first(jobs));
    let results: Mutex<Vec<Option<TestRun>>> = Mutex::new(vec![None; total]);
    let caught: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let workers = settings.pool.size().min(total.max(1));
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let permit = settings.pool.take(settings.rank);
                    let next = queue.lock().expect("queue").pop_front();
                    let Some((index, job)) = next else { break };
                    let run = if job.until_caught
                        && caught.lock().expect("caught").contains(&job.exercise)
                    {
                        TestRun {
                            job,
                            outcome: Outcome::NotRun {
                                reason: "skipped: another test of this exercise already failed"
                                    .to_string(),
                            },
                            output: String::new(),
                            duration: Duration::ZERO,
                            cpu: Duration::ZERO,
                        }
                    } else {
                        let run = run_test(job, settings);
                        settings.durations.note(&run);
                        if run.job.until_caught && run.outcome != Outcome::Passed {
                            caught
                                .lock()
                                .expect("caught")
                                .insert(run.job.exercise.clone());
                        }
                        run
                    };
                    drop(permit);
                    results.lock().expect("results")[index] = Some(run);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Runs one test process in its sandbox and judges it.
pub fn run_test(job: TestJob, settings: &RunSettings) -> TestRun {
    let args = vec![
        "--exact".to_string(),
        job.exact.clone(),
        "--test-threads=1".to_string(),
        "--nocapture".to_string(),
        "--color".to_string(),
        "never".to_string(),
    ];
    let mut env = base_env();
    env.push((harness::SEED_VAR.to_string(), settings.seed.to_string()));
    env.push((
        harness::SLACK_VAR.to_string(),
        format!("{:.2}", settings.slack),
    ));
    for (key, value) in &job.env {
        env.push((key.clone(), value.to_string_lossy().into_owned()));
    }
    let hidden = job.visibility == Visibility::Hidden;
    let prepared = settings.sandbox.command(
        &job.binary,
        args,
        env,
        job.exec.clone(),
        hidden,
        settings.rank,
    );
    let (command, boxed) = match prepared {
        Ok(prepared) => prepared,
        Err(fault) => return not_graded(job, fault),
    };
    let output = match run_process(command, settings.timeout, job.cpu_cap) {
        Ok(output) => output,
        Err(e) => {
            let detail = format!("the test process could not start ({e})");
            return not_graded(job, Fault::SandboxStart { detail });
        }
    };
    // Paths in panic messages are relative to the scratch workspace
    // (`exercise-05-s0/src/lib.rs`); the student knows them as `src/lib.rs`.
    let scratch_prefix = format!(
        "{}/",
        job.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let stderr = output.stderr.text().replace(&scratch_prefix, "");
    let stdout = output.stdout.text().replace(&scratch_prefix, "");
    let outcome = judge(&output, &stderr, &settings.sandbox.limits);
    let outcome = match (outcome, output.over_cpu, job.cpu_cap) {
        (
            Outcome::TooSlow {
                cpu_secs,
                wall_secs,
            },
            true,
            Some(cap),
        ) => Outcome::OverCpu {
            cpu_secs,
            cap_secs: cap.as_secs_f64(),
            wall_secs,
        },
        (outcome, _, _) => outcome,
    };
    // What the test's whole process tree did (its control group).
    let outcome = settings.sandbox.judge_tree(&boxed, outcome);
    let excerpt = match &outcome {
        Outcome::Passed => String::new(),
        _ => excerpt(&stdout, &stderr),
    };
    TestRun {
        job,
        outcome,
        output: excerpt,
        duration: output.duration,
        cpu: output.cpu,
    }
}

fn not_graded(job: TestJob, fault: Fault) -> TestRun {
    TestRun {
        job,
        outcome: Outcome::NotGraded { fault },
        output: String::new(),
        duration: Duration::ZERO,
        cpu: Duration::ZERO,
    }
}

fn judge(output: &ProcessOutput, stderr: &str, limits: &Limits) -> Outcome {
    if output.flooded {
        return Outcome::OutputFlood {
            bytes: output.total_bytes,
        };
    }
    if let Some(cpu_secs) = output.too_slow {
        return Outcome::TooSlow {
            cpu_secs,
            wall_secs: output.duration.as_secs_f64(),
        };
    }
    if output.timed_out {
        return Outcome::TimedOut {
            watchdog: Watchdog::Grader,
        };
    }
    let Some(status) = output.status else {
        return Outcome::NotGraded {
            fault: Fault::SandboxStart {
                detail: "the test process vanished".to_string(),
            },
        };
    };
    let Some(code) = status.code() else {
        use std::os::unix::process::ExitStatusExt;
        let signal = status.signal().unwrap_or(0);
        return match signal_limit(signal, stderr, limits) {
            Some(limit) => Outcome::OverLimit { limit },
            None => Outcome::Crashed { signal },
        };
    };
    match code {
        // The jail says 0 only for a proven pass (hidden tests) or a clean
        // exit (visible tests, which carry no points).
        0 => Outcome::Passed,
        code if code == JailExit::NoProof as i32 => Outcome::ExitedEarly,
        // Only the jail exits with this code (a test's own use of it is
        // `Reserved`), and only when no code of the submission ran.
        code if code == JailExit::Setup as i32 && stderr.contains(SETUP_PREFIX) => {
            Outcome::NotGraded {
                fault: Fault::SandboxStart {
                    detail: setup_error(stderr),
                },
            }
        }
        code if code == JailExit::Reserved as i32 => Outcome::Failed {
            message: "the test process exited with code 120, 121 or 122, which the sandbox \
                      keeps for itself"
                .to_string(),
        },
        code if code == harness::WATCHDOG_EXIT_CODE && stderr.contains("WATCHDOG:") => {
            Outcome::TimedOut {
                watchdog: Watchdog::Harness,
            }
        }
        code if code == harness::TOO_SLOW_EXIT_CODE && stderr.contains("WATCHDOG: too slow") => {
            too_slow_in(stderr).unwrap_or(Outcome::TooSlow {
                cpu_secs: 0.0,
                wall_secs: output.duration.as_secs_f64(),
            })
        }
        // The chaos stand-in found a lock-order cycle or a deadlock and said
        // so on stderr, in a paragraph a student can read.
        code if code == chaos::LOCK_ORDER_EXIT_CODE || code == chaos::DEADLOCK_EXIT_CODE => {
            Outcome::Failed {
                message: chaos_verdict(stderr)
                    .unwrap_or_else(|| format!("the test process exited with code {code}")),
            }
        }
        101 => match message_limit(stderr, limits) {
            Some(limit) => Outcome::OverLimit { limit },
            None => Outcome::Failed {
                message: panic_message(stderr).unwrap_or_else(|| "the test failed".to_string()),
            },
        },
        code => Outcome::Failed {
            message: format!("the test process exited with code {code}"),
        },
    }
}

/// The figures of the harness's "too slow: ... used X s of CPU in Y s" line.
fn too_slow_in(stderr: &str) -> Option<Outcome> {
    let line = stderr.lines().find(|l| l.contains("WATCHDOG: too slow"))?;
    let (_, rest) = line.split_once(" used ")?;
    let (cpu, rest) = rest.split_once(" s of CPU in ")?;
    let (wall, _) = rest.split_once(" s")?;
    Some(Outcome::TooSlow {
        cpu_secs: cpu.trim().parse().ok()?,
        wall_secs: wall.trim().parse().ok()?,
    })
}

fn setup_error(stderr: &str) -> String {
    let start = stderr.find(SETUP_PREFIX).unwrap_or(0) + SETUP_PREFIX.len();
    stderr[start..]
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The limit a death by `signal` means: SIGXCPU and SIGXFSZ come from the
/// CPU and file-size rlimits, an abort after a failed allocation from the
/// memory limit.
fn signal_limit(signal: i32, stderr: &str, limits: &Limits) -> Option<Limit> {
    match signal {
        libc::SIGXCPU => Some(Limit::CpuTime {
            secs: limits.cpu_secs,
        }),
        libc::SIGXFSZ => Some(Limit::FileSize {
            bytes: limits.file_bytes,
        }),
        libc::SIGABRT | libc::SIGSEGV | libc::SIGKILL => message_limit(stderr, limits),
        _ => None,
    }
}

/// The limit a failure message points at: Rust's out-of-memory abort, or a
/// system call that failed because of an rlimit (the panic of a
/// `thread::spawn` or an `unwrap()` on its error).
fn message_limit(stderr: &str, limits: &Limits) -> Option<Limit> {
    let has = |needle: &str| stderr.contains(needle);
    if has("memory allocation of") || has("Cannot allocate memory") {
        Some(Limit::Memory {
            bytes: limits.memory_bytes,
        })
    } else if has("failed to spawn thread") || has("Resource temporarily unavailable") {
        Some(Limit::Tasks {
            count: limits.tasks,
        })
    } else if has("Too many open files") {
        Some(Limit::OpenFiles {
            count: limits.open_files,
        })
    } else if has("File too large") || has("No space left on device") {
        Some(Limit::FileSize {
            bytes: limits.file_bytes,
        })
    } else {
        None
    }
}

/// The chaos stand-in's verdict in a test's stderr: the paragraph that starts
/// with [`chaos::VERDICT_PREFIX`], without the prefix.
pub fn chaos_verdict(stderr: &str) -> Option<String> {
    let start = stderr.find(chaos::VERDICT_PREFIX)? + chaos::VERDICT_PREFIX.len();
    let paragraph = stderr[start..].split("\n\n").next().unwrap_or_default();
    Some(paragraph.trim().to_string())
}

/// The first panic message in a test's stderr, e.g. `assertion failed: ...`.
pub fn panic_message(stderr: &str) -> Option<String> {
    let mut lines = stderr.lines().skip_while(|l| !is_panic_line(l));
    let first = lines.next()?;
    let mut message: Vec<&str> = Vec::new();
    // `thread 'x' panicked at src/lib.rs:3:5:` is followed by the message.
    let location = first
        .split(" panicked at ")
        .nth(1)
        .unwrap_or("")
        .trim_end_matches(':');
    for line in lines {
        if line.starts_with("note: run with `RUST_BACKTRACE")
            || line.starts_with("stack backtrace:")
            || is_panic_line(line)
        {
            break;
        }
        message.push(line);
        if message.len() >= 20 {
            break;
        }
    }
    let text = message.join("\n").trim().to_string();
    if text.is_empty() {
        return Some(format!("panicked at {location}"));
    }
    Some(format!("{text} (at {location})"))
}

/// Whether a line starts a panic report: `thread 'name' panicked at ...`
/// (recent Rust versions put the thread id between the name and `panicked`).
fn is_panic_line(line: &str) -> bool {
    line.starts_with("thread '") && line.contains(" panicked at ")
}

/// Byte offset of the first panic report's line in `text`.
fn panic_start(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if is_panic_line(line) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// The part of a failed test's output worth showing: the watchdog's report,
/// or the panic, or else the end of the output.
fn excerpt(stdout: &str, stderr: &str) -> String {
    let mut text = String::new();
    // A chaos report (lock-order cycle, what each blocked thread waits on)
    // comes before the watchdog's, and says more.
    // A note after a panic is not a report: the panic above it is shown.
    let report = stderr
        .match_indices(chaos::VERDICT_PREFIX)
        .map(|(pos, _)| pos)
        .find(|&pos| {
            !stderr[pos + chaos::VERDICT_PREFIX.len()..]
                .trim_start()
                .starts_with(chaos::PANIC_NOTE)
        })
        .or_else(|| stderr.find("WATCHDOG:"));
    if let Some(pos) = report {
        text = stderr[pos..].trim().to_string();
    } else if let Some(start) = panic_start(stderr) {
        text = stderr[start..]
            .lines()
            .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    // What the test itself printed, without libtest's own lines.
    let printed: Vec<&str> = stdout
        .lines()
        .map(|line| match line.strip_prefix("test ") {
            Some(rest) => rest
                .split_once(" ... ")
                .map(|(_, after)| after)
                .unwrap_or(line),
            None => line,
        })
        .filter(|l| {
            !l.trim().is_empty()
                && !l.starts_with("running ")
                && !l.starts_with("test result: ")
                && *l != "ok"
                && *l != "FAILED"
        })
        .collect();
    let seed_line = printed.iter().find(|l| l.starts_with("seed: "));
    if text.is_empty() {
        let out: Vec<&str> = printed.iter().copied().chain(stderr.lines()).collect();
        text = out[out.len().saturating_sub(15)..].join("\n");
    } else if let Some(seed) = seed_line {
        text = format!("{seed}\n{text}");
    }
    if text.chars().count() > MAX_EXCERPT_CHARS {
        let kept: String = text.chars().take(MAX_EXCERPT_CHARS).collect();
        text = format!("{kept}\n[... trimmed]");
    }
    text
}

/// The environment of a test process: just enough to run, nothing of the
/// grader's (no tokens, no Cargo variables). The sandbox adds `HOME` and
/// `TMPDIR` (its private tmp).
fn base_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ["PATH", "LANG", "USER"]
        .iter()
        .filter_map(|var| Some((var.to_string(), std::env::var(var).ok()?)))
        .collect();
    env.push(("RUST_BACKTRACE".to_string(), "0".to_string()));
    // Few malloc arenas, so that the memory limit (on address space) counts
    // memory rather than reserved arenas.
    env.push(("MALLOC_ARENA_MAX".to_string(), "2".to_string()));
    env
}

/// Output captured from one stream: the first and last [`KEEP_BYTES`] bytes.
#[derive(Debug, Default)]
pub struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Captured {
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = KEEP_BYTES.saturating_sub(self.head.len());
        let (to_head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(to_head);
        self.tail.extend(rest);
        while self.tail.len() > KEEP_BYTES {
            self.tail.pop_front();
        }
    }

    /// The captured text, with a marker where bytes were dropped.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        let kept = (self.head.len() + self.tail.len()) as u64;
        if self.total > kept {
            text.push_str(&format!(
                "\n[... {} bytes not kept ...]\n",
                self.total - kept
            ));
        }
        let (a, b) = self.tail.as_slices();
        let mut tail = a.to_vec();
        tail.extend_from_slice(b);
        text.push_str(&String::from_utf8_lossy(&tail));
        text
    }
}

/// What a finished (or killed) process left.
#[derive(Debug)]
pub struct ProcessOutput {
    /// How it exited (`None` if it could not be reaped).
    pub status: Option<ExitStatus>,
    /// Whether the limit killed it while it made no progress (stuck).
    pub timed_out: bool,
    /// The CPU seconds it had used when the hard cap killed it while it
    /// still made progress (slow).
    pub too_slow: Option<f64>,
    /// Whether it was stopped, still running, for going over its CPU cap
    /// (then [`too_slow`](Self::too_slow) holds the CPU time it had used).
    pub over_cpu: bool,
    /// CPU time of the process and every process below it that it waited
    /// for (from the kernel's accounting when it was reaped, else the last
    /// sample).
    pub cpu: Duration,
    /// Whether it printed more than [`FLOOD_BYTES`] and was killed.
    pub flooded: bool,
    /// Bytes printed on both streams.
    pub total_bytes: u64,
    /// Standard output.
    pub stdout: Captured,
    /// Standard error.
    pub stderr: Captured,
    /// Wall-clock time.
    pub duration: Duration,
}

/// Runs `command` in its own process group with stdin closed, capturing
/// output, and kills the whole group when the output floods or when
/// `timeout` passes with the process stuck (see [`harness::progress`]): a
/// process still making progress gets up to [`harness::progress::CAP_FACTOR`]
/// times `timeout`, then is stopped as too slow, and one that has used more
/// CPU time than `cpu_cap` is stopped at once. Any process the test left
/// behind is killed too.
pub fn run_process(
    mut command: Command,
    timeout: Duration,
    cpu_cap: Option<Duration>,
) -> std::io::Result<ProcessOutput> {
    use std::os::unix::process::CommandExt;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = command.spawn()?;
    let total = Arc::new(AtomicU64::new(0));
    let flooded = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel::<(usize, Captured)>();
    for (index, stream) in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(mut stream) = stream else { continue };
        let total = Arc::clone(&total);
        let flooded = Arc::clone(&flooded);
        let done = done_tx.clone();
        thread::spawn(move || {
            let mut captured = Captured::default();
            let mut buffer = vec![0u8; 16 * 1024];
            loop {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        captured.push(&buffer[..n]);
                        if total.fetch_add(n as u64, Ordering::Relaxed) + n as u64 > FLOOD_BYTES {
                            flooded.store(true, Ordering::Relaxed);
                        }
                    }
                }
            }
            let _ = done.send((index, captured));
        });
    }
    drop(done_tx);

    let cap = timeout * harness::progress::CAP_FACTOR;
    let mut progress = harness::progress::Progress::default();
    let mut sampled = started;
    let mut timed_out = false;
    let mut too_slow = None;
    let mut over_cpu = false;
    let mut status = None;
    loop {
        let now = Instant::now();
        if flooded.load(Ordering::Relaxed) {
            break;
        }
        if now.duration_since(sampled) >= Duration::from_millis(200) {
            harness::progress::record_tree(&mut progress, child.id());
            sampled = now;
        }
        let elapsed = now.duration_since(started);
        if elapsed >= timeout && !progress.recent() {
            timed_out = true;
            break;
        }
        let cpu_used = Duration::from_nanos(progress.cpu_ns);
        over_cpu = cpu_cap.is_some_and(|cap| cpu_used > cap);
        if elapsed >= cap || over_cpu {
            too_slow = Some(progress.cpu_ns as f64 / 1e9);
            break;
        }
        if let Some(reaped) = reap(&child, false)? {
            status = Some(reaped);
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let duration = started.elapsed();
    kill_group(&child);
    if status.is_none() {
        let _ = child.kill();
        // Reaped after the limit: a timeout, even if it exited on its own
        // just as we gave up on it.
        status = reap(&child, true)?;
    }
    // The kernel's count misses what a killed test's processes used (the
    // jail never reaped them); the last sample has that.
    let sampled_cpu = Duration::from_nanos(progress.cpu_ns);
    let (status, cpu) = match status {
        Some((status, cpu)) => (Some(status), cpu.max(sampled_cpu)),
        None => (None, sampled_cpu),
    };
    // The readers end when every process holding the pipes is gone; a
    // process that escaped the group cannot hold the grader hostage.
    let mut stdout = Captured::default();
    let mut stderr = Captured::default();
    let give_up = Instant::now() + Duration::from_secs(2);
    for _ in 0..2 {
        let left = give_up.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(left) {
            Ok((0, captured)) => stdout = captured,
            Ok((_, captured)) => stderr = captured,
            Err(_) => break,
        }
    }
    let flooded = flooded.load(Ordering::Relaxed);
    let stopped = timed_out || flooded || too_slow.is_some();
    Ok(ProcessOutput {
        status: if stopped { None } else { status },
        timed_out,
        too_slow,
        over_cpu,
        cpu,
        flooded,
        total_bytes: total.load(Ordering::Relaxed),
        stdout,
        stderr,
        duration,
    })
}

/// Reaps `child` if it has exited (waits for it when `block`): its exit
/// status and the CPU time it and the processes it waited for used.
/// `Child::wait` would drop the kernel's accounting, which `wait4` returns.
fn reap(child: &Child, block: bool) -> std::io::Result<Option<(ExitStatus, Duration)>> {
    use std::os::unix::process::ExitStatusExt;
    let mut raw = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    #[allow(unsafe_code)]
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: wait4 writes only `raw` and `usage`, both ours.
        #[allow(unsafe_code)]
        let pid = unsafe { libc::wait4(child.id() as i32, &mut raw, flags, &mut usage) };
        if pid == 0 {
            return Ok(None);
        }
        if pid > 0 {
            let time = |t: libc::timeval| {
                Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
            };
            let cpu = time(usage.ru_utime) + time(usage.ru_stime);
            return Ok(Some((ExitStatus::from_raw(raw), cpu)));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Kills every process in the child's process group (the child leads it).
fn kill_group(child: &Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str) -> TestJob {
        TestJob {
            exercise: "05".to_string(),
            binary: PathBuf::from("test-hidden"),
            name: name.to_string(),
            exact: name.to_string(),
            visibility: Visibility::Hidden,
            dir: PathBuf::new(),
            env: Vec::new(),
            exec: Vec::new(),
            until_caught: false,
            cpu_cap: None,
        }
    }

    fn passed(name: &str, millis: u64) -> TestRun {
        TestRun {
            job: job(name),
            outcome: Outcome::Passed,
            output: String::new(),
            duration: Duration::from_millis(millis),
            cpu: Duration::ZERO,
        }
    }

    /// Waits until `pool` has `count` threads of `rank` waiting; a pool
    /// that never queues them fails the test instead of hanging it.
    fn until_waiting(pool: &JobPool, rank: u64, count: usize) {
        let give_up = Instant::now() + Duration::from_secs(30);
        while pool.state.lock().unwrap().waiting.get(&rank) != Some(&count) {
            assert!(Instant::now() < give_up, "rank {rank} never queued");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// A returned permit goes to the lowest rank waiting, whoever asked
    /// first; the pool never hands out more permits than it holds.
    #[test]
    fn the_pool_serves_the_earliest_submission_first() {
        let pool = JobPool::new(1);
        let order = Mutex::new(Vec::new());
        let held = pool.take(0);
        thread::scope(|s| {
            s.spawn(|| {
                let _permit = pool.take(7);
                order.lock().unwrap().push(7);
            });
            until_waiting(&pool, 7, 1);
            s.spawn(|| {
                let _permit = pool.take(3);
                assert_eq!(pool.state.lock().unwrap().free, 0);
                order.lock().unwrap().push(3);
            });
            until_waiting(&pool, 3, 1);
            drop(held);
        });
        assert_eq!(*order.lock().unwrap(), [3, 7]);
        assert_eq!(pool.state.lock().unwrap().free, 1);
        assert!(pool.state.lock().unwrap().waiting.is_empty());
    }

    /// Tests start the longest known first, those never seen pass before
    /// them; each keeps its number, so results go back in the given order.
    #[test]
    fn tests_start_longest_known_first() {
        let durations = Durations::default();
        durations.note(&passed("short", 10));
        durations.note(&passed("long", 900));
        let mut failed = passed("failed", 5000);
        failed.outcome = Outcome::NotRun {
            reason: String::new(),
        };
        durations.note(&failed);
        let names = ["short", "new", "failed", "long"];
        let order: Vec<(usize, String)> = durations
            .longest_first(names.iter().map(|n| job(n)).collect())
            .into_iter()
            .map(|(index, job)| (index, job.name))
            .collect();
        let expected = [(1, "new"), (2, "failed"), (3, "long"), (0, "short")];
        let expected: Vec<(usize, String)> =
            expected.iter().map(|(i, n)| (*i, n.to_string())).collect();
        assert_eq!(order, expected);
    }

    /// The note the stand-in prints after a panic (spurious wakeups were
    /// injected) must not hide the panic itself, while a real report of
    /// the stand-in still comes first.
    #[test]
    fn a_note_after_a_panic_keeps_the_panic_in_the_excerpt() {
        let note = format!(
            "{} {} 2 Condvar wait(s) returned without a notification\n",
            chaos::VERDICT_PREFIX,
            chaos::PANIC_NOTE
        );
        let panic = "thread 'blocked' panicked at tests/hidden.rs:9:5:\nthey busy-wait\n";
        let shown = excerpt("", &format!("{panic}{note}"));
        assert!(shown.contains("they busy-wait"), "{shown}");
        assert!(shown.contains("spurious") || shown.contains("without a notification"));
        let report = format!("{} deadlock: thread `a` waits\n", chaos::VERDICT_PREFIX);
        let shown = excerpt("", &format!("{panic}{report}"));
        assert!(shown.starts_with(&report.trim_end()[..20]), "{shown}");
    }

    #[test]
    fn captured_output_keeps_head_and_tail() {
        let mut captured = Captured::default();
        captured.push(&vec![b'a'; KEEP_BYTES]);
        captured.push(&vec![b'b'; 3 * KEEP_BYTES]);
        captured.push(b"end");
        let text = captured.text();
        assert!(text.starts_with('a'));
        assert!(text.ends_with("bend"));
        assert!(text.contains(&format!("{} bytes not kept", 2 * KEEP_BYTES + 3)));
        assert_eq!(captured.total, 4 * KEEP_BYTES as u64 + 3);
    }

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn a_process_that_runs_too_long_is_killed_at_its_limit() {
        let output = run_process(
            sh("echo started; sleep 30"),
            Duration::from_millis(300),
            None,
        )
        .unwrap();
        assert!(output.timed_out);
        assert!(output.status.is_none());
        assert!(output.duration >= Duration::from_millis(300));
        assert!(
            output.duration < Duration::from_secs(5),
            "{:?}",
            output.duration
        );
        assert_eq!(output.stdout.text(), "started\n");
    }

    #[test]
    fn a_flood_of_output_is_stopped_and_counted() {
        let output = run_process(sh("yes flood"), Duration::from_secs(60), None).unwrap();
        assert!(output.flooded);
        assert!(output.total_bytes > FLOOD_BYTES);
        assert!(output.stdout.text().len() < 3 * KEEP_BYTES);
    }

    #[test]
    fn processes_left_behind_do_not_hold_the_grader() {
        // The child exits at once but leaves a grandchild holding the pipes.
        let started = Instant::now();
        let output =
            run_process(sh("sleep 30 & echo done"), Duration::from_secs(20), None).unwrap();
        assert!(output.status.is_some_and(|s| s.success()));
        assert!(!output.timed_out);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(output.stdout.text(), "done\n");
    }

    #[test]
    fn exit_codes_and_signals_are_kept() {
        let output = run_process(sh("exit 3"), Duration::from_secs(20), None).unwrap();
        assert_eq!(output.status.and_then(|s| s.code()), Some(3));
        let output = run_process(sh("kill -SEGV $$"), Duration::from_secs(20), None).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(output.status.and_then(|s| s.signal()), Some(11));
    }

    #[test]
    fn panic_messages_are_found() {
        let stderr = "noise\nthread 'x' (1234) panicked at tests/hidden.rs:10:5:\nassertion `left == right` failed\n  left: 1\n right: 2\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(stderr).unwrap(),
            "assertion `left == right` failed\n  left: 1\n right: 2 (at tests/hidden.rs:10:5)"
        );
        assert_eq!(panic_message("all good"), None);
    }
}
