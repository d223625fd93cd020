//! The registration Cargo still needs, generated: for each exercise, the
//! grader's dev-dependency on its solution under the exercise's name
//! (`exercise_NN = { package = "solution-NN", ... }`) and the `[[test]]`
//! targets that run its hidden suite and visible tests against it.
//!
//! They make up the end of `grader/Cargo.toml`, after [`MARKER`]. `grader
//! sync` rewrites that part from the exercise folders; `grader verify` and
//! the grader's own tests fail, naming that command, when it is stale (as
//! rustlings' `cargo dev check` does for its list of exercises).

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use crate::Error;
use crate::course::{Course, Exercise};

/// The line after which `grader/Cargo.toml` is generated.
pub const MARKER: &str = "# ---- Written by `cargo run -p grader -- sync` from the exercise folders; do not edit below. ----";

/// The command that regenerates the registration.
pub const FIX: &str = "cargo run -p grader -- sync";

/// `grader/Cargo.toml`.
pub fn manifest_path(course: &Course) -> PathBuf {
    course.root.join("grader/Cargo.toml")
}

/// The generated part, marker line included.
pub fn generated(course: &Course) -> String {
    let mut text = format!("{MARKER}\n");
    for exercise in &course.exercises {
        text.push_str(&registration(course, exercise));
    }
    text
}

/// One exercise's dev-dependency and test targets.
fn registration(course: &Course, exercise: &Exercise) -> String {
    let (nn, topic) = (&exercise.number, &exercise.topic);
    let mut text = String::new();
    if exercise.solution_src(course).is_dir() {
        let _ = write!(
            text,
            "\n[dev-dependencies.exercise_{nn}]\npackage = \"solution-{nn}\"\npath = \"../solutions/{topic}\"\n"
        );
    }
    let _ = write!(
        text,
        "\n[[test]]\nname = \"hidden-{nn}\"\npath = \"suites/{topic}/hidden.rs\"\n"
    );
    if exercise.dir.join("tests/visible.rs").is_file() {
        let _ = write!(
            text,
            "\n[[test]]\nname = \"visible-{nn}\"\npath = \"../exercises/{topic}/tests/visible.rs\"\n"
        );
    }
    text
}

/// The manifest's text split at the marker: what precedes it, and the
/// generated part (empty when the marker is missing).
fn split(manifest: &str) -> (&str, &str) {
    match manifest.find(MARKER) {
        Some(at) => manifest.split_at(at),
        None => (manifest, ""),
    }
}

/// `Err` naming the fix when `grader/Cargo.toml`'s generated part is not
/// what [`sync`] would write.
pub fn check(course: &Course) -> Result<(), String> {
    let path = manifest_path(course);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if split(&text).1 == generated(course) {
        Ok(())
    } else {
        Err(format!(
            "{}: the exercises' registration (the part after its `# ---- Written by` line) \
             is stale; run `{FIX}`",
            path.display()
        ))
    }
}

/// Rewrites the generated part of `grader/Cargo.toml`; returns whether it
/// changed.
pub fn sync(course: &Course) -> Result<bool, Error> {
    let path = manifest_path(course);
    let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let (kept, old) = split(&text);
    let new = generated(course);
    if old == new {
        return Ok(false);
    }
    let mut kept = kept.trim_end().to_string();
    kept.push_str("\n\n");
    fs::write(&path, kept + &new).map_err(|e| Error::io(&path, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grader_manifest_registers_every_exercise() {
        let course = Course::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .expect("the course loads");
        if let Err(problem) = check(&course) {
            panic!("{problem}");
        }
        let text = generated(&course);
        for exercise in &course.exercises {
            let hidden = format!("path = \"suites/{}/hidden.rs\"", exercise.topic);
            assert!(text.contains(&hidden), "{text}");
        }
    }
}
