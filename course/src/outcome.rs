//! One visible test in a process of its own, and what became of it, in the
//! grader's words: the stand-in's own report for a lock-order cycle or a
//! deadlock, `timed out (possible deadlock or lost wakeup)` for a hang.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use crate::check::{TEST_TIME_LIMIT, as_student_sees};
use crate::workspace::Exercise;

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to the end.
    Passed,
    /// An assertion failed or the code panicked.
    Failed {
        /// The panic message and where it was raised.
        message: String,
    },
    /// The stand-in found a lock-order cycle or a deadlock and ended the test.
    Chaos {
        /// Its report, as it wrote it.
        report: String,
    },
    /// Still running at the time limit, and stopped.
    TimedOut,
    /// Killed by a signal.
    Crashed {
        /// The signal's number.
        signal: i32,
    },
}

impl Outcome {
    /// A short verdict, in the grader's words.
    pub fn verdict(&self) -> String {
        match self {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed { .. } => "failed".to_string(),
            Outcome::Chaos { report } => report
                .split_once(':')
                .map_or(report.as_str(), |(head, _)| head)
                .to_string(),
            Outcome::TimedOut => "timed out (possible deadlock or lost wakeup)".to_string(),
            Outcome::Crashed { signal } => format!("crashed (signal {signal})"),
        }
    }
}

/// One test's result.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The stand-in's reports on blocked threads, when it printed any (they
    /// come before a timeout and say who waits for what).
    pub blocked: Option<String>,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs test `name` of `binary` alone, under the stand-in with `seed`.
pub fn run_one(
    binary: &Path,
    name: &str,
    dir: &Path,
    exercise: &Exercise,
    seed: u64,
) -> TestResult {
    let start = Instant::now();
    let spawned = Command::new(binary)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .current_dir(dir)
        .env(chaos::SEED_VAR, seed.to_string())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let (status, stderr) = match spawned {
        Err(e) => {
            return TestResult {
                name: name.to_string(),
                outcome: Outcome::Failed {
                    message: format!("cannot start the test: {e}"),
                },
                blocked: None,
                elapsed: start.elapsed(),
            };
        }
        Ok(child) => wait(child),
    };
    let stderr = as_student_sees(&stderr, exercise);
    TestResult {
        name: name.to_string(),
        outcome: classify(status, &stderr),
        blocked: blocked_report(&stderr),
        elapsed: start.elapsed(),
    }
}

/// Waits for the test (killing it at the time limit) and collects its stderr.
fn wait(mut child: Child) -> (Option<std::process::ExitStatus>, String) {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let drain_out = std::thread::spawn(move || {
        let mut sink = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut sink);
        }
    });
    let drain_err = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    let status = match child.wait_timeout(TEST_TIME_LIMIT) {
        Ok(Some(status)) => Some(status),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    let _ = drain_out.join();
    (status, drain_err.join().unwrap_or_default())
}

fn classify(status: Option<std::process::ExitStatus>, stderr: &str) -> Outcome {
    let Some(status) = status else {
        return Outcome::TimedOut;
    };
    match status.code() {
        Some(0) => Outcome::Passed,
        Some(code) if code == chaos::LOCK_ORDER_EXIT_CODE || code == chaos::DEADLOCK_EXIT_CODE => {
            Outcome::Chaos {
                report: chaos_verdict(stderr)
                    .unwrap_or_else(|| format!("the test process exited with code {code}")),
            }
        }
        Some(101) => Outcome::Failed {
            message: panic_message(stderr).unwrap_or_else(|| "the test failed".to_string()),
        },
        Some(code) => Outcome::Failed {
            message: format!("the test process exited with code {code}"),
        },
        None => {
            use std::os::unix::process::ExitStatusExt;
            Outcome::Crashed {
                signal: status.signal().unwrap_or(0),
            }
        }
    }
}

/// The stand-in's final verdict: the last paragraph that starts with its
/// prefix, without the prefix (seed line included).
fn chaos_verdict(stderr: &str) -> Option<String> {
    let start = stderr.rfind(chaos::VERDICT_PREFIX)? + chaos::VERDICT_PREFIX.len();
    let paragraph = stderr[start..].split("\n\n").next().unwrap_or_default();
    Some(paragraph.trim().to_string())
}

/// The stand-in's report on threads blocked for long (printed while the test
/// still runs, before its watchdog or the time limit ends it).
fn blocked_report(stderr: &str) -> Option<String> {
    let start = stderr.find(chaos::VERDICT_PREFIX)?;
    let paragraph = stderr[start..].split("\n\n").next().unwrap_or_default();
    let text = paragraph[chaos::VERDICT_PREFIX.len()..].trim();
    text.contains("waits").then(|| text.to_string())
}

/// The first panic message and its location, e.g. `assertion failed: ...
/// (at tests/visible.rs:40:5)`.
fn panic_message(stderr: &str) -> Option<String> {
    let mut lines = stderr.lines().skip_while(|l| !is_panic_line(l));
    let first = lines.next()?;
    let location = first
        .split(" panicked at ")
        .nth(1)
        .unwrap_or("")
        .trim_end_matches(':');
    let message: Vec<&str> = lines
        .take_while(|l| !l.starts_with("note: run with `RUST_BACKTRACE") && !is_panic_line(l))
        .take(20)
        .collect();
    let text = message.join("\n").trim().to_string();
    if text.is_empty() {
        return Some(format!("panicked at {location}"));
    }
    Some(format!("{text}\n(at {location})"))
}

fn is_panic_line(line: &str) -> bool {
    line.starts_with("thread '") && line.contains(" panicked at ")
}
