//! `watch`: checks the current exercise, then again whenever a file in its
//! `src/` changes. Passing moves on to the next exercise. Commands are read
//! from stdin, one per line: `h` hint, `l` list, `c` check, `q` quit.

use std::io::BufRead;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anstream::println;
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, new_debouncer};

use crate::render::{DIM, HEAD, next, short};
use crate::state::{RunResult, State};
use crate::workspace::{Course, Exercise};
use crate::{Error, Exit, check, fresh_seed, hints, list};

/// What wakes the watcher.
enum Event {
    /// A file under the watched folder changed.
    Changed(Vec<std::path::PathBuf>),
    /// A line typed by the student.
    Key(String),
    /// The file watcher failed.
    WatchError(String),
}

/// Watches from `start` (or where the student stopped) until `q`.
pub fn watch(course: &Course, start: Option<&str>) -> Result<Exit, Error> {
    let mut exercise = match start {
        Some(name) => course.exercise(name)?.clone(),
        None => resume(course)?,
    };
    let (tx, rx) = mpsc::channel();
    let changes = tx.clone();
    let mut debouncer = new_debouncer(
        Duration::from_millis(150),
        move |result: DebounceEventResult| {
            let event = match result {
                Ok(events) => Event::Changed(events.into_iter().map(|e| e.path).collect()),
                Err(e) => Event::WatchError(e.to_string()),
            };
            let _ = changes.send(event);
        },
    )
    .map_err(|e| Error::new(format!("cannot watch files: {e}")))?;
    let exercises = course.root.join("exercises");
    debouncer
        .watcher()
        .watch(&exercises, RecursiveMode::Recursive)
        .map_err(|e| Error::new(format!("cannot watch {}: {e}", exercises.display())))?;
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let _ = tx.send(Event::Key(line.trim().to_string()));
        }
    });
    run_check(course, &mut exercise)?;
    for event in rx {
        match event {
            Event::Changed(paths) if touches(&paths, &exercise.src()) => {
                println!(
                    "\n{HEAD}{} changed: checking {} again{HEAD:#}",
                    exercise.shown_src(),
                    exercise.number
                );
                run_check(course, &mut exercise)?;
            }
            Event::Changed(_) => {}
            Event::WatchError(message) => crate::render::error(&message),
            Event::Key(key) => match key.as_str() {
                "q" => break,
                "h" => {
                    hints::hint(course, &exercise)?;
                }
                "l" => {
                    list::list(course)?;
                }
                "c" => run_check(course, &mut exercise)?,
                "" => {}
                other => println!(
                    "{DIM}unknown command {other:?}: h hint, l list, c check, q quit{DIM:#}"
                ),
            },
        }
    }
    Ok(Exit::Ok)
}

/// The exercise `watch` worked on last, unless it passes: then the first
/// one that does not.
fn resume(course: &Course) -> Result<Exercise, Error> {
    let state = State::load(course);
    if let Some(current) = state
        .current
        .as_deref()
        .and_then(|t| course.exercise(t).ok())
        && !state.status(course, current)?.is_done()
    {
        return Ok(current.clone());
    }
    for exercise in &course.exercises {
        if !state.status(course, exercise)?.is_done() {
            return Ok(exercise.clone());
        }
    }
    course
        .exercises
        .last()
        .cloned()
        .ok_or_else(|| Error::new("the course has no exercises"))
}

/// Checks `exercise`; when it passes, moves on to the next exercise.
fn run_check(course: &Course, exercise: &mut Exercise) -> Result<(), Error> {
    println!("{DIM}checking {} ...{DIM:#}", exercise.topic);
    let report = check::check(course, exercise, fresh_seed())?;
    short(course, exercise, &report);
    if report.result() == RunResult::Passing
        && let Some(following) = course
            .exercises
            .iter()
            .skip_while(|e| e.topic != exercise.topic)
            .nth(1)
    {
        *exercise = following.clone();
        let mut state = State::load(course);
        state.current = Some(exercise.topic.clone());
        state.save(course)?;
        println!("{HEAD}now watching {}{HEAD:#}", exercise.shown_src());
    }
    next(
        "edit and save to check again; type h (hint), l (list), c (check) or q (quit), then Enter",
    );
    Ok(())
}

fn touches(paths: &[std::path::PathBuf], src: &Path) -> bool {
    let src = src.canonicalize().unwrap_or_else(|_| src.to_path_buf());
    paths.iter().any(|p| {
        let p = p.canonicalize().unwrap_or_else(|_| p.clone());
        p.starts_with(&src) && p.extension().is_some_and(|e| e == "rs")
    })
}
