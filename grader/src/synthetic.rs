//! Submissions made of the course's own code: its solutions, its stubs and
//! its mutants, graded exactly as students are. `verify`, `verify --repeat`,
//! `bench` and the sample class all build theirs here.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::Error;
use crate::course::{Course, Exercise};
use crate::prepare::{self, Scope, Source, Submission};

/// What a synthetic submission holds for one exercise.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// `solutions/NN-topic/src`.
    Solution,
    /// `exercises/NN-topic/src`.
    Stub,
    /// The solution with the named mutant's patch applied.
    Mutant(String),
    /// The solution with the named reference variant's patch applied (a
    /// correct solution written another way).
    Reference(String),
}

impl Subject {
    /// `solution`, `stub`, or the mutant's name.
    pub fn label(&self) -> &str {
        match self {
            Subject::Solution => "solution",
            Subject::Stub => "stub",
            Subject::Mutant(name) | Subject::Reference(name) => name,
        }
    }

    /// This subject's code for `exercise`, or why there is none (a mutant
    /// that is missing or whose patch no longer applies).
    pub fn source(&self, course: &Course, exercise: &Exercise) -> Result<Source, String> {
        match self {
            Subject::Solution => Ok(Source::Dir(exercise.solution_src(course))),
            Subject::Stub => Ok(Source::Dir(exercise.stub_src())),
            Subject::Mutant(name) => {
                let mutant = exercise
                    .mutants(course)
                    .into_iter()
                    .find(|m| &m.name == name)
                    .ok_or_else(|| format!("{} has no mutant named {name}", exercise.topic))?;
                exercise.mutant_source(course, &mutant)
            }
            Subject::Reference(name) => {
                let reference = exercise
                    .references(course)
                    .into_iter()
                    .find(|r| &r.name == name)
                    .ok_or_else(|| format!("{} has no reference named {name}", exercise.topic))?;
                exercise.mutant_source(course, &reference)
            }
        }
    }
}

/// Written as its label (`verify --repeat --json` rows).
impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// A synthetic submission, and the subject it holds for each exercise.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// What is graded.
    pub submission: Submission,
    /// By exercise number.
    pub subjects: BTreeMap<String, Subject>,
}

/// One submission named `student` holding `picks`, one subject per exercise.
pub fn submission(
    course: &Course,
    student: &str,
    scope: Scope,
    picks: &[(&Exercise, Subject)],
) -> Result<Synthetic, Error> {
    let mut exercises = BTreeMap::new();
    let mut subjects = BTreeMap::new();
    for (exercise, subject) in picks {
        let source = subject.source(course, exercise).map_err(Error::new)?;
        exercises.insert(exercise.number.clone(), source);
        subjects.insert(exercise.number.clone(), subject.clone());
    }
    Ok(Synthetic {
        submission: Submission {
            student: student.to_string(),
            source: course.root.clone(),
            exercises,
            scope,
            exercise_folder: false,
        },
        subjects,
    })
}

/// The same subject for every exercise in `exercises`.
pub fn every<'a>(exercises: &[&'a Exercise], subject: Subject) -> Vec<(&'a Exercise, Subject)> {
    exercises.iter().map(|e| (*e, subject.clone())).collect()
}

/// `source` with `text` appended to its `lib.rs`, in memory.
pub fn appended(source: &Source, text: &str) -> Result<Source, Error> {
    let mut files = prepare::collect_sources(source)
        .map_err(Error::new)?
        .ok_or_else(|| Error::new("a course source without src/lib.rs"))?;
    if let Some(lib) = files.get_mut(Path::new("lib.rs")) {
        lib.extend_from_slice(text.as_bytes());
    }
    Ok(Source::Files(files))
}

/// Mutants grouped so that each exercise's mutants can be graded side by
/// side: group `k` holds the `k`-th of `mutants` of every exercise that has
/// that many.
pub fn rounds<'a>(mutants: &[(&'a Exercise, Vec<String>)]) -> Vec<Vec<(&'a Exercise, Subject)>> {
    let count = mutants.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    (0..count)
        .map(|k| {
            mutants
                .iter()
                .filter_map(|(exercise, names)| {
                    names
                        .get(k)
                        .map(|name| (*exercise, Subject::Mutant(name.clone())))
                })
                .collect()
        })
        .collect()
}

/// The mutant groups of [`rounds`] as submissions `mutants-1`, `mutants-2`,
/// ..., each graded until its first failing test.
pub fn mutant_submissions(
    course: &Course,
    mutants: &[(&Exercise, Vec<String>)],
    suffix: &str,
) -> Result<Vec<Synthetic>, Error> {
    rounds(mutants)
        .iter()
        .enumerate()
        .map(|(k, picks)| {
            let name = format!("mutants-{}{suffix}", k + 1);
            submission(course, &name, Scope::UntilCaught, picks)
        })
        .collect()
}

/// The reference variants as submissions: the `k`-th of every exercise that
/// has one forms the `k`-th, graded in `scope`.
pub fn reference_submissions(
    course: &Course,
    exercises: &[&Exercise],
    scope: Scope,
) -> Result<Vec<Synthetic>, Error> {
    let references: Vec<(&Exercise, Vec<crate::mutant::Mutant>)> = exercises
        .iter()
        .map(|e| (*e, e.references(course)))
        .collect();
    let rounds = references.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    (0..rounds)
        .map(|k| {
            let picks: Vec<(&Exercise, Subject)> = references
                .iter()
                .filter_map(|(e, r)| Some((*e, Subject::Reference(r.get(k)?.name.clone()))))
                .collect();
            submission(course, &format!("references-{}", k + 1), scope, &picks)
        })
        .collect()
}
