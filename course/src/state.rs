//! The student's progress, kept in `.course-state.toml` at the course root:
//! the last result of each exercise's checks (keyed by a hash of its `src/`,
//! so `list` answers without building anything), the hints seen, and the
//! exercise `watch` works on.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::workspace::{Course, Exercise, Files, read_tree, shipped_stub};

/// The whole state file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// The exercise `watch` works on (its topic), once chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Per exercise topic.
    #[serde(default)]
    pub exercises: BTreeMap<String, ExerciseState>,
}

/// What is known of one exercise.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ExerciseState {
    /// The last checks' result, for the `src/` whose hash is `src_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<LastRun>,
    /// How many hint levels the student has seen.
    #[serde(default)]
    pub hints_seen: usize,
}

/// The result of the last checks of an exercise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastRun {
    /// The hash of `src/` that was checked.
    pub src_hash: String,
    /// What came out.
    pub result: RunResult,
    /// How many visible tests failed, and of how many.
    #[serde(default)]
    pub failed: usize,
    /// How many visible tests ran.
    #[serde(default)]
    pub total: usize,
}

/// The outcome of one run of an exercise's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// Every visible test passed.
    Passing,
    /// At least one visible test failed.
    Failing,
    /// The exercise did not build.
    DoesNotCompile,
}

/// Where an exercise stands, as `list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `src/` is still the stub as shipped.
    NotStarted,
    /// `src/` changed since its last check (or was never checked).
    Unchecked,
    /// The last check of this very `src/`.
    Checked {
        /// Its result.
        result: RunResult,
        /// Failed tests.
        failed: usize,
        /// Tests run.
        total: usize,
    },
}

impl Status {
    /// Whether the exercise counts as done.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            Status::Checked {
                result: RunResult::Passing,
                ..
            }
        )
    }
}

impl State {
    /// Reads the state file; a missing or unreadable one is a fresh start.
    pub fn load(course: &Course) -> State {
        fs::read_to_string(course.state_path())
            .ok()
            .and_then(|text| toml::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes the state file (through a temporary file, so a reader never
    /// sees half of it).
    pub fn save(&self, course: &Course) -> Result<(), Error> {
        let path = course.state_path();
        let text = toml::to_string(self).map_err(|e| Error::new(format!("state: {e}")))?;
        let temp = path.with_extension("toml.tmp");
        fs::write(&temp, format!("{HEADER}{text}")).map_err(|e| Error::io(&temp, e))?;
        fs::rename(&temp, &path).map_err(|e| Error::io(&path, e))
    }

    /// The entry of `exercise`, created when absent.
    pub fn entry(&mut self, exercise: &Exercise) -> &mut ExerciseState {
        self.exercises.entry(exercise.topic.clone()).or_default()
    }

    /// Where `exercise` stands.
    pub fn status(&self, course: &Course, exercise: &Exercise) -> Result<Status, Error> {
        let hash = src_hash(&exercise.src())?;
        if let Some(last) = self
            .exercises
            .get(&exercise.topic)
            .and_then(|e| e.last.as_ref())
            .filter(|last| last.src_hash == hash)
        {
            return Ok(Status::Checked {
                result: last.result,
                failed: last.failed,
                total: last.total,
            });
        }
        let stub = shipped_stub(course, exercise)
            .ok()
            .map(|files| hash_files(&files));
        Ok(if stub.as_ref() == Some(&hash) {
            Status::NotStarted
        } else {
            Status::Unchecked
        })
    }
}

const HEADER: &str =
    "# Your progress in the course, kept by `cargo course`. Delete it to start afresh.\n";

/// A hash of every file under `src` (paths and contents).
pub fn src_hash(src: &Path) -> Result<String, Error> {
    Ok(hash_files(&read_tree(src)?))
}

/// The state file only compares hashes made by the same tool build, so the
/// standard library's hasher (stable within one Rust version) is enough.
fn hash_files(files: &Files) -> String {
    let mut hasher = DefaultHasher::new();
    files.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
