//! A class described rather than copied: a small TOML file names the
//! students and what each submits per exercise, and the grader expands it
//! into submissions made of the course's own code (see `examples/class.toml`).
//!
//! ```toml
//! [students.cleo-racy]
//! all = "solution"                                    # every exercise not listed below
//! 02 = { mutant = "counter-read-modify-write-split" }  # the solution with that patch applied
//! 04 = { broken = "pub fn oops() -> u8 { \"x\" }" }    # the solution with this code appended
//! 05 = "stub"                                          # or "nothing"
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::course::{Course, Exercise};
use crate::prepare::{Scope, Source, Submission};
use crate::synthetic::{self, Subject};

/// The file: students by id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    students: BTreeMap<String, BTreeMap<String, Submits>>,
}

/// What a student submits for one exercise.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
enum Submits {
    /// The course's solution.
    Solution,
    /// The course's stub, unchanged.
    Stub,
    /// No folder for the exercise.
    Nothing,
    /// The solution with the named mutant's patch applied.
    Mutant(String),
    /// The solution with this code appended (to break it on purpose).
    Broken(String),
}

/// The key that applies to every exercise a student does not list.
const ALL: &str = "all";

/// The submissions `path` describes, one per student, in id order.
pub fn expand(course: &Course, path: &Path) -> Result<Vec<Submission>, Error> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let class: ClassFile =
        toml::from_str(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    class
        .students
        .iter()
        .map(|(student, plan)| {
            let mut submission = student_submission(course, student, plan)
                .map_err(|e| Error::new(format!("{}: {student}: {e}", path.display())))?;
            submission.source = path.to_path_buf();
            Ok(submission)
        })
        .collect()
}

/// One student's submission: for each exercise, its own entry or `all`.
fn student_submission(
    course: &Course,
    student: &str,
    plan: &BTreeMap<String, Submits>,
) -> Result<Submission, Error> {
    for key in plan.keys() {
        if key != ALL && course.exercise(key).is_none() {
            return Err(Error::new(format!("no exercise {key:?} in this course")));
        }
    }
    let mut picks = Vec::new();
    let mut broken = BTreeMap::new();
    for exercise in &course.exercises {
        let entry = plan
            .iter()
            .find(|(key, _)| {
                course
                    .exercise(key)
                    .is_some_and(|e| e.number == exercise.number)
            })
            .or_else(|| plan.get_key_value(ALL))
            .map(|(_, submits)| submits.clone())
            .unwrap_or(Submits::Nothing);
        match entry {
            Submits::Nothing => {}
            Submits::Solution => picks.push((exercise, Subject::Solution)),
            Submits::Stub => picks.push((exercise, Subject::Stub)),
            Submits::Mutant(name) => picks.push((exercise, Subject::Mutant(name))),
            Submits::Broken(code) => {
                broken.insert(
                    exercise.number.clone(),
                    broken_source(course, exercise, &code)?,
                );
            }
        }
    }
    let mut submission = synthetic::submission(course, student, Scope::Full, &picks)?.submission;
    submission.exercises.extend(broken);
    Ok(submission)
}

/// The solution of `exercise` with `code` appended.
fn broken_source(course: &Course, exercise: &Exercise, code: &str) -> Result<Source, Error> {
    let solution = Source::Dir(exercise.solution_src(course));
    synthetic::appended(&solution, &format!("\n{}\n", code.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> Course {
        Course::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap()
    }

    #[test]
    fn the_sample_class_expands_into_its_six_students() {
        let course = course();
        let class = expand(&course, &course.root.join("examples/class.toml")).unwrap();
        let students: Vec<&str> = class.iter().map(|s| s.student.as_str()).collect();
        assert_eq!(
            students,
            [
                "ada-complete",
                "ben-partial",
                "cleo-racy",
                "dev-deadlock",
                "eli-no-compile",
                "fay-empty"
            ]
        );
        let all = course.exercises.len();
        let count = |i: usize| class[i].exercises.len();
        assert_eq!((count(0), count(1), count(5)), (all, 5, 0));
        let solution = Source::Dir(course.exercises[1].solution_src(&course));
        assert_eq!(class[0].exercises["02"], solution);
        // cleo's 02 is the solution with a patch applied.
        assert!(matches!(&class[2].exercises["02"], Source::Files(_)));
        assert_ne!(class[2].exercises["02"], solution);
        let lib = |source: &Source| match source {
            Source::Files(files) => String::from_utf8(files[Path::new("lib.rs")].clone()).unwrap(),
            Source::Dir(_) => panic!("expected files made in memory"),
        };
        assert!(lib(&class[4].exercises["04"]).contains("let half: usize = \"workers / 2\";"));
    }

    #[test]
    fn an_unknown_exercise_or_mutant_is_refused_with_its_student() {
        let course = course();
        let dir = tempfile::tempdir().unwrap();
        for (text, expected) in [
            ("[students.zed]\n42 = \"solution\"\n", "no exercise \"42\""),
            (
                "[students.zed]\n02 = { mutant = \"no-such-bug\" }\n",
                "has no mutant named no-such-bug",
            ),
        ] {
            let path = dir.path().join("class.toml");
            fs::write(&path, text).unwrap();
            let error = expand(&course, &path).unwrap_err().to_string();
            assert!(error.contains("zed") && error.contains(expected), "{error}");
        }
    }
}
