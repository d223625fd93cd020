//! `cargo course`: the students' course tool. Where you stand (`list`), one
//! more hint (`hint`), your visible tests run the way the grader runs code
//! (`check`), reruns on save (`watch`) and the stub back as shipped (`reset`).

mod check;
mod hints;
mod list;
mod outcome;
mod render;
mod reset;
mod scratch;
mod state;
mod watch;
mod workspace;

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use workspace::Course;

/// The course tool: progress, hints, and checks under the grader's locks.
#[derive(Parser)]
#[command(name = "cargo course", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Every exercise with its visible tests' last result, and the next one to do.
    List,
    /// One more hint for exercise NN (the first points at the idea, later ones at the pitfall).
    Hint {
        /// The exercise: 4, 04 or 04-semaphore.
        exercise: String,
    },
    /// Run exercise NN's visible tests under the course's schedule-perturbing locks.
    Check {
        /// The exercise: 4, 04 or 04-semaphore.
        exercise: String,
        /// Replay the schedule noise of an earlier run (its seed is printed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Check the current exercise again whenever a file in its src/ changes.
    Watch {
        /// The exercise to start with (default: where you stopped, or the next to do).
        exercise: Option<String>,
    },
    /// Put exercise NN's stub back as shipped (asks first).
    Reset {
        /// The exercise: 4, 04 or 04-semaphore.
        exercise: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// How the tool exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; every check that ran passed.
    Ok = 0,
    /// A check failed (the output says which and what next).
    ChecksFailed = 1,
    /// The tool could not do what was asked.
    Error = 2,
}

/// An error of the tool itself, in a sentence.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, error: std::io::Error) -> Error {
        Error(format!("{}: {error}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(error) => {
            render::error(&error.to_string());
            ExitCode::from(Exit::Error as u8)
        }
    }
}

fn run(command: Commands) -> Result<Exit, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::new(format!("current folder: {e}")))?;
    let course = Course::find(&cwd)?;
    match command {
        Commands::List => list::list(&course),
        Commands::Hint { exercise } => hints::hint(&course, course.exercise(&exercise)?),
        Commands::Check { exercise, seed } => {
            let exercise = course.exercise(&exercise)?;
            let seed = seed.unwrap_or_else(fresh_seed);
            let report = check::check(&course, exercise, seed)?;
            render::report(&course, exercise, &report);
            Ok(
                if report.failures().is_empty() && report.result() == state::RunResult::Passing {
                    Exit::Ok
                } else {
                    Exit::ChecksFailed
                },
            )
        }
        Commands::Watch { exercise } => watch::watch(&course, exercise.as_deref()),
        Commands::Reset { exercise, yes } => {
            reset::reset(&course, course.exercise(&exercise)?, yes)
        }
    }
}

/// A new seed for the stand-in's schedule noise (short, to type it back).
pub fn fresh_seed() -> u64 {
    u64::from(rand::random::<u32>())
}
