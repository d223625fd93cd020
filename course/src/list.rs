//! `list`: every exercise and where it stands, from the state file (nothing
//! is built, so it answers at once), and the next one to do.

use anstream::println;

use crate::render::{BAD, DIM, GOOD, HEAD, next};
use crate::state::{RunResult, State, Status};
use crate::workspace::Course;
use crate::{Error, Exit};

/// Prints the course list.
pub fn list(course: &Course) -> Result<Exit, Error> {
    let state = State::load(course);
    let mut statuses = Vec::new();
    for exercise in &course.exercises {
        statuses.push((exercise, state.status(course, exercise)?));
    }
    let done = statuses.iter().filter(|(_, s)| s.is_done()).count();
    println!(
        "{HEAD}Interleave{HEAD:#}: {done} of {} exercises pass their visible tests\n",
        statuses.len()
    );
    for (exercise, status) in &statuses {
        println!(
            "  {}  {:<48} {}",
            exercise.number,
            truncate(&exercise.title, 48),
            describe(*status)
        );
    }
    println!();
    match statuses.iter().find(|(_, s)| !s.is_done()) {
        None => next("every exercise passes its visible tests; `cargo course check NN` reruns one"),
        Some((exercise, status)) => {
            let how = match status {
                Status::NotStarted => format!(
                    "read exercises/{}/README.md, fill in {}/lib.rs, then",
                    exercise.topic,
                    exercise.shown_src()
                ),
                _ => "run".to_string(),
            };
            next(&format!(
                "exercise {} ({}): {how} `cargo course check {}` (or `cargo course watch`)",
                exercise.number, exercise.topic, exercise.number
            ));
        }
    }
    Ok(Exit::Ok)
}

fn describe(status: Status) -> String {
    match status {
        Status::NotStarted => format!("{DIM}not started{DIM:#}"),
        Status::Unchecked => format!("{DIM}edited, not checked yet{DIM:#}"),
        Status::Checked {
            result: RunResult::Passing,
            total,
            ..
        } => format!("{GOOD}passing{GOOD:#} ({total} tests)"),
        Status::Checked {
            result: RunResult::Failing,
            failed,
            total,
        } => format!("{BAD}failing{BAD:#} ({failed} of {total} tests)"),
        Status::Checked {
            result: RunResult::DoesNotCompile,
            ..
        } => format!("{BAD}does not compile{BAD:#}"),
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let cut: String = text.chars().take(width - 1).collect();
    format!("{cut}…")
}
