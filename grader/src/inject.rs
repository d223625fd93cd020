//! Test-only fault injection: makes the grader's own parts fail on purpose,
//! so the tests can check that such a failure is reported as "not graded",
//! never as a grade.
//!
//! `INTERLEAVE_INJECT_FAULT` in the grader's environment lists the faults,
//! comma-separated: `jail-start` (every jail started after the preflight
//! fails its setup) and `out-dir` or `out-dir:STUDENT` (writing the reports,
//! of everyone or of that student, fails). Student code cannot set it: it
//! never sees, let alone changes, the grader's environment.

/// The variable that lists the faults to inject.
pub const VAR: &str = "INTERLEAVE_INJECT_FAULT";

/// A fault the grader can be made to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// The jail fails before it starts the test.
    JailStart,
}

fn listed() -> Vec<String> {
    std::env::var(VAR)
        .unwrap_or_default()
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

/// Whether `fault` is to be injected.
pub fn is(fault: Injected) -> bool {
    let name = match fault {
        Injected::JailStart => "jail-start",
    };
    listed().iter().any(|f| f == name)
}

/// Whether writing `student`'s reports is to fail.
pub fn out_dir_fails(student: &str) -> bool {
    listed()
        .iter()
        .any(|f| f == "out-dir" || f.strip_prefix("out-dir:") == Some(student))
}
