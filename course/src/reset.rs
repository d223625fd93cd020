//! `reset NN`: the stub back as shipped, after a confirmation.

use std::io::{BufRead, Write};

use anstream::{print, println};

use crate::render::{BAD, DIM, GOOD, next};
use crate::workspace::{Course, Exercise, shipped_stub, sync_tree};
use crate::{Error, Exit};

/// Restores `exercise`'s `src/`, asking first unless `yes`.
pub fn reset(course: &Course, exercise: &Exercise, yes: bool) -> Result<Exit, Error> {
    let stub = shipped_stub(course, exercise)?;
    if !yes && !confirm(exercise)? {
        println!("{DIM}nothing changed{DIM:#}");
        return Ok(Exit::Ok);
    }
    sync_tree(&exercise.src(), &stub)?;
    println!(
        "{GOOD}{} is back as shipped{GOOD:#} ({} file(s))",
        exercise.shown_src(),
        stub.len()
    );
    next(&format!(
        "read exercises/{}/README.md and start again; `cargo course check {}` when ready",
        exercise.topic, exercise.number
    ));
    Ok(Exit::Ok)
}

fn confirm(exercise: &Exercise) -> Result<bool, Error> {
    print!(
        "{BAD}Put {} back as shipped?{BAD:#} Everything you wrote there is lost. Type `yes` to confirm: ",
        exercise.shown_src()
    );
    let _ = anstream::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::new(format!("reading the answer: {e}")))?;
    Ok(matches!(answer.trim(), "yes" | "y"))
}
