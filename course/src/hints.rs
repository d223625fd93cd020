//! `hint NN`: the exercise's hints (`exercises/NN-topic/hints.toml`), one
//! more level each time it is asked.

use std::fs;

use anstream::println;
use serde::Deserialize;

use crate::render::{DIM, HEAD, NEXT, next};
use crate::state::State;
use crate::workspace::{Course, Exercise};
use crate::{Error, Exit};

/// An exercise's `hints.toml`.
#[derive(Debug, Deserialize)]
pub struct Hints {
    /// From the idea to the pitfall, in the order they are shown.
    pub hint: Vec<Hint>,
}

/// One level.
#[derive(Debug, Deserialize)]
pub struct Hint {
    /// The text, in Markdown.
    pub text: String,
}

/// Reads the hints of `exercise`.
pub fn load(exercise: &Exercise) -> Result<Hints, Error> {
    let path = exercise.dir.join("hints.toml");
    let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    toml::from_str(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Shows the hints seen so far and one more.
pub fn hint(course: &Course, exercise: &Exercise) -> Result<Exit, Error> {
    let hints = load(exercise)?;
    let mut state = State::load(course);
    let entry = state.entry(exercise);
    let total = hints.hint.len();
    let already = entry.hints_seen.min(total);
    let shown = (already + 1).min(total);
    entry.hints_seen = shown;
    state.save(course)?;

    println!(
        "{HEAD}hints for {} ({}){HEAD:#}\n",
        exercise.topic, exercise.title
    );
    for (level, hint) in hints.hint.iter().enumerate().take(shown) {
        let fresh = level + 1 == shown && already < shown;
        let (open, close) = if fresh { (NEXT, NEXT) } else { (DIM, DIM) };
        println!("{open}hint {} of {total}{close:#}", level + 1);
        for line in hint.text.trim().lines() {
            println!("  {line}");
        }
        println!();
    }
    if shown < total {
        next(&format!(
            "try it, then `cargo course check {}`; `cargo course hint {}` again for hint {} of {total}",
            exercise.number,
            exercise.number,
            shown + 1
        ));
    } else {
        next(&format!(
            "that was the last hint; the lesson's pitfalls (exercises/{}/README.md) say more, and `cargo course check {}` shows what fails",
            exercise.topic, exercise.number
        ));
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exercise_has_at_least_three_levels_of_hints() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = Course::load(&root).unwrap();
        assert_eq!(course.exercises.len(), 10);
        for exercise in &course.exercises {
            let hints = load(exercise).unwrap();
            assert!(
                hints.hint.len() >= 3,
                "{} has {} hint levels",
                exercise.topic,
                hints.hint.len()
            );
            assert!(hints.hint.iter().all(|h| !h.text.trim().is_empty()));
        }
    }
}
