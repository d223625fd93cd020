//! Interleave's grading engine.
//!
//! It runs the course's hidden suites against any source tree (a stub, a
//! solution, one student's submission, a whole class) in five stages, each
//! in its own module, passing plain data forward:
//!
//! 1. [`prepare`]: find the submissions; write each as a scratch workspace
//!    of crates named `exercise-NN` built from `src/**/*.rs` only;
//! 2. [`build`]: compile the hidden suite (and the visible tests) against
//!    each crate with one shared target directory;
//! 3. [`run`]: run every test in its own process under a wall-clock
//!    watchdog, and read passes from a record student code cannot forge;
//! 4. [`score`]: apply the points table of each exercise;
//! 5. [`report`]: render the [`model`] as a table, CSV, Gradescope JSON,
//!    JUnit XML, Markdown feedback, the HTML class report and GitHub
//!    Classroom's runner results.
//!
//! [`grade`] chains the stages; [`verify`] is the course author's check,
//! and [`repeat`] measures how reliably its verdicts hold over many runs;
//! [`export`] writes the student repository and the Gradescope bundle.

pub mod bench;
pub mod bench_class;
pub mod budget;
pub mod build;
pub mod build_cache;
pub mod class;
pub mod course;
pub mod export;
pub mod grade;
pub mod inject;
pub mod load;
pub mod merge;
pub mod model;
pub mod mutant;
pub mod preflight;
pub mod prepare;
pub mod repeat;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod sanitize;
pub mod score;
pub mod slurm;
pub mod sync;
pub mod synthetic;
pub mod twin_paths;
pub mod verify;

use std::fmt;
use std::path::Path;

/// Why the grader itself could not do its job (as opposed to a submission
/// failing its tests, which is a result, not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with a message for the person running the grader.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, error: std::io::Error) -> Error {
        Error::new(format!("{}: {error}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
