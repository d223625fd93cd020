//! What the student reads. Colour goes through `anstream`, which drops it
//! when the output is not a terminal, under `NO_COLOR`, or on a dumb one.

use anstream::{eprintln, println};
use anstyle::{AnsiColor, Style};

use crate::check::{Report, Verdict};
use crate::outcome::{Outcome, TestResult};
use crate::workspace::{Course, Exercise};

/// Passing.
pub const GOOD: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)))
    .bold();
/// Failing.
pub const BAD: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
    .bold();
/// A command to type, the next step.
pub const NEXT: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
/// Headings.
pub const HEAD: Style = Style::new().bold();
/// Secondary text.
pub const DIM: Style = Style::new().dimmed();

/// How many failures `check` explains in full (the rest are listed).
const SHOWN_IN_FULL: usize = 3;

/// An error of the tool itself.
pub fn error(message: &str) {
    eprintln!("{BAD}error:{BAD:#} {message}");
}

/// The full report of `check`.
pub fn report(course: &Course, exercise: &Exercise, report: &Report) {
    println!(
        "{HEAD}check {}{HEAD:#} {DIM}(visible tests under the course's schedule-perturbing locks, seed {}){DIM:#}",
        exercise.topic, report.seed
    );
    match &report.verdict {
        Verdict::DoesNotCompile(errors) => {
            println!("{BAD}does not compile{BAD:#}\n");
            println!("{}", errors.trim_end());
            println!();
            next(&format!(
                "fix the first error above in {}, then `cargo course check {}` again",
                exercise.shown_src(),
                exercise.number
            ));
        }
        Verdict::Ran(tests) => {
            for test in tests {
                test_line(test);
            }
            let failures = report.failures();
            println!();
            if failures.is_empty() {
                passed(course, exercise, tests.len());
                return;
            }
            println!(
                "{BAD}{} of {} visible tests failed{BAD:#}\n",
                failures.len(),
                tests.len()
            );
            explain(&failures);
            replay_and_next(exercise, report.seed);
        }
    }
}

/// The short report of `watch`: only what failed and why.
pub fn short(course: &Course, exercise: &Exercise, report: &Report) {
    match &report.verdict {
        Verdict::DoesNotCompile(errors) => {
            println!("{BAD}{} does not compile{BAD:#}", exercise.topic);
            let first: Vec<&str> = errors.lines().take(12).collect();
            println!("{}", first.join("\n"));
            next(&format!("fix the first error in {}", exercise.shown_src()));
        }
        Verdict::Ran(tests) => {
            let failures = report.failures();
            if failures.is_empty() {
                passed(course, exercise, tests.len());
                return;
            }
            println!(
                "{BAD}{} of {} visible tests failed{BAD:#} {DIM}(seed {}){DIM:#}\n",
                failures.len(),
                tests.len(),
                report.seed
            );
            if let Some(first) = failures.first() {
                detail(first);
            }
            for other in failures.iter().skip(1) {
                println!(
                    "  also {BAD}{}{BAD:#}: {}",
                    other.name,
                    other.outcome.verdict()
                );
            }
            next(&format!(
                "save a fix to recheck; stuck? `cargo course hint {}`",
                exercise.number
            ));
        }
    }
}

/// Explains the first few failures in full; a failure with the same report
/// as one explained (the same lock cycle seen by several tests) is named.
fn explain(failures: &[&TestResult]) {
    let mut explained: Vec<(String, &str, Vec<&str>)> = Vec::new();
    let mut rest = 0;
    for failure in failures {
        let key = same_report_key(failure);
        if let Some((_, _, names)) = explained.iter_mut().find(|(k, _, _)| *k == key) {
            names.push(&failure.name);
        } else if explained.len() < SHOWN_IN_FULL {
            detail(failure);
            explained.push((key, &failure.name, Vec::new()));
        } else {
            rest += 1;
        }
    }
    for (_, first, names) in explained.iter().filter(|(_, _, names)| !names.is_empty()) {
        println!(
            "{DIM}the same report as {first} came from:{DIM:#} {}\n",
            names.join(", ")
        );
    }
    if rest > 0 {
        println!("{DIM}and {rest} more failing, listed above; fix these first{DIM:#}\n");
    }
}

/// A failure's report without what differs from run to run (thread
/// numbers, the seed line).
fn same_report_key(test: &TestResult) -> String {
    let text = match &test.outcome {
        Outcome::Chaos { report } => report.clone(),
        Outcome::Failed { message } => message.clone(),
        other => other.verdict(),
    };
    text.lines()
        .filter(|line| !line.starts_with("(schedule noise seed"))
        .flat_map(|line| line.split_whitespace())
        .filter(|word| !word.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn test_line(test: &TestResult) {
    if test.outcome == Outcome::Passed {
        println!(
            "  {GOOD}ok{GOOD:#}    {} {DIM}{:.2} s{DIM:#}",
            test.name,
            test.elapsed.as_secs_f64()
        );
    } else {
        println!(
            "  {BAD}FAIL{BAD:#}  {} {DIM}({}){DIM:#}",
            test.name,
            test.outcome.verdict()
        );
    }
}

/// Why one test failed: its message, the stand-in's report, and what it
/// said about blocked threads.
fn detail(test: &TestResult) {
    println!("{BAD}{}{BAD:#}: {}", test.name, test.outcome.verdict());
    let body = match &test.outcome {
        Outcome::Failed { message } => message.clone(),
        Outcome::Chaos { report } => report.clone(),
        Outcome::TimedOut => format!(
            "the test was still running after {} s and was stopped; a correct solution \
             finishes in well under 2 s. The likely cause is a deadlock (a lock never \
             released, two locks taken in opposite orders) or a lost wakeup (a waiter that \
             is never notified).",
            crate::check::TEST_TIME_LIMIT.as_secs()
        ),
        Outcome::Crashed { signal } => format!(
            "the test process was killed by signal {signal} (stack overflow, a panic while \
             panicking, or out of memory)"
        ),
        Outcome::Passed => String::new(),
    };
    for line in body.lines() {
        println!("    {line}");
    }
    if let Some(blocked) = &test.blocked
        && !matches!(&test.outcome, Outcome::Chaos { report } if report == blocked)
    {
        println!("    {DIM}while it ran, the course's locks reported:{DIM:#}");
        for line in blocked.lines() {
            println!("    {line}");
        }
    }
    println!();
}

fn replay_and_next(exercise: &Exercise, seed: u64) {
    println!(
        "{DIM}replay this run's schedule noise:{DIM:#} {NEXT}cargo course check {} --seed {seed}{NEXT:#}",
        exercise.number
    );
    next(&format!(
        "read the first failure above, fix {}, and run `cargo course check {}` again; stuck? `cargo course hint {}`",
        exercise.shown_src(),
        exercise.number,
        exercise.number
    ));
}

fn passed(course: &Course, exercise: &Exercise, count: usize) {
    println!(
        "{GOOD}all {count} visible tests of {} pass{GOOD:#}, under the course's schedule-perturbing locks.",
        exercise.topic
    );
    println!(
        "{DIM}The hidden tests go further: reread the pitfalls in exercises/{}/README.md.{DIM:#}",
        exercise.topic
    );
    let following = course
        .exercises
        .iter()
        .skip_while(|e| e.topic != exercise.topic)
        .nth(1);
    match following {
        Some(n) => next(&format!(
            "exercise {} ({}): read exercises/{}/README.md, then `cargo course check {}`",
            n.number, n.title, n.topic, n.number
        )),
        None => next("`cargo course list` to see what is left"),
    }
}

/// The step to take now.
pub fn next(text: &str) {
    println!("{NEXT}next:{NEXT:#} {text}");
}
