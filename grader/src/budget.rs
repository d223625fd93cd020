//! CPU budgets: how much CPU time the course's solution needs for each test.
//!
//! A submission that spins where it should block keeps "making progress" in
//! the eyes of the wall-clock limits, so those give it four times their
//! limit before calling it too slow (measured: 434 s for one exercise of
//! eight spinning threads). But it gives itself away sooner: it burns CPU
//! time a correct solution never needs. So each test has a budget, the most
//! CPU time the solution used for it over several gradings (`grader budget`,
//! which writes `grader/suites/NN-topic/cpu.toml`, beside the points), and a
//! test that has used [`cap`] of it is stopped there, still running, with
//! the verdict "busy-waiting or far too slow" ([`Outcome::OverCpu`]).
//!
//! The cap is generous ([`FACTOR`] times the budget, at least [`FLOOR`]): CPU
//! time hardly grows on a busy machine or on half a CPU (time spent waiting
//! for a CPU is not CPU time), and a correct solution less efficient than
//! the course's still fits. `verify` checks that every test has a budget and
//! that the solution stays within half its cap.
//!
//! [`Outcome::OverCpu`]: crate::model::Outcome::OverCpu

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::course::Course;
use crate::grade::{GradeOptions, grade_all};
use crate::model::{ExerciseResult, Visibility};
use crate::prepare::Scope;
use crate::synthetic::{self, Subject};

/// The budget file in `grader/suites/NN-topic/`.
pub const BUDGET_FILE: &str = "cpu.toml";
/// How many times its budget a test may use.
pub const FACTOR: u32 = 20;
/// The least CPU time any test may use.
pub const FLOOR: Duration = Duration::from_secs(3);

/// The CPU time a test may use before it is stopped, for a budget of
/// `budget_ms` milliseconds.
pub fn cap(budget_ms: u64) -> Duration {
    (Duration::from_millis(budget_ms) * FACTOR).max(FLOOR)
}

/// `grader/suites/NN-topic/cpu.toml`: per test, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// The hidden suite's tests.
    #[serde(default)]
    pub hidden: BTreeMap<String, u64>,
    /// The visible tests.
    #[serde(default)]
    pub visible: BTreeMap<String, u64>,
}

impl Budgets {
    /// Reads a budget file; no file means no budgets (no test is capped).
    pub fn read(path: &Path) -> Result<Budgets, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Budgets::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        toml::from_str(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
    }

    /// The CPU cap of one test, if it has a budget.
    pub fn cap(&self, name: &str, visibility: Visibility) -> Option<Duration> {
        self.table(visibility).get(name).map(|&ms| cap(ms))
    }

    fn table(&self, visibility: Visibility) -> &BTreeMap<String, u64> {
        match visibility {
            Visibility::Hidden => &self.hidden,
            Visibility::Visible => &self.visible,
        }
    }

    /// Raises each test's budget to what it used in `result`.
    pub fn record(&mut self, result: &ExerciseResult) {
        for test in &result.tests {
            let table = match test.visibility {
                Visibility::Hidden => &mut self.hidden,
                Visibility::Visible => &mut self.visible,
            };
            let used = (test.cpu_secs * 1000.0).ceil() as u64;
            let entry = table.entry(test.name.clone()).or_insert(0);
            *entry = (*entry).max(used);
        }
    }

    /// The file's text, with a header that says how it was measured.
    pub fn render(&self, how: &str) -> String {
        let mut text = format!(
            "# CPU time (milliseconds) the solution used for each test: the most over {how}.\n\
             # Written by `grader budget`; a test that uses {FACTOR} times its budget (at least\n\
             # {} s) is stopped as busy-waiting or far too slow.\n",
            FLOOR.as_secs()
        );
        for (heading, table) in [("hidden", &self.hidden), ("visible", &self.visible)] {
            let _ = writeln!(text, "\n[{heading}]");
            for (name, ms) in table {
                let _ = writeln!(text, "{name} = {ms}");
            }
        }
        text
    }

    /// What `verify` finds wrong with the budgets, given the solution's
    /// result: tests without a budget, budgets of tests that do not exist,
    /// and tests where the solution used over half its cap.
    pub fn problems(&self, solution: &ExerciseResult, file: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        let mut missing = Vec::new();
        for test in &solution.tests {
            match self.table(test.visibility).get(&test.name) {
                None => missing.push(test.name.clone()),
                Some(&ms) if Duration::from_secs_f64(test.cpu_secs) * 2 > cap(ms) => {
                    problems.push(format!(
                        "the solution used {:.2} s of CPU in {}, over half its cap ({:.1} s, \
                         from a budget of {ms} ms in {}): measure again with `grader budget`",
                        test.cpu_secs,
                        test.name,
                        cap(ms).as_secs_f64(),
                        file.display()
                    ));
                }
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            problems.push(format!(
                "{} has no CPU budget for {}: run `grader budget`",
                file.display(),
                missing.join(", ")
            ));
        }
        for visibility in [Visibility::Hidden, Visibility::Visible] {
            for name in self.table(visibility).keys() {
                let known = solution
                    .tests
                    .iter()
                    .any(|t| &t.name == name && t.visibility == visibility);
                if !known && !solution.tests.is_empty() {
                    problems.push(format!(
                        "{} lists {name}, which the {} tests do not have",
                        file.display(),
                        if visibility == Visibility::Hidden {
                            "hidden"
                        } else {
                            "visible"
                        }
                    ));
                }
            }
        }
        problems
    }
}

/// Grades the solutions and the reference variants `runs` times (seeds
/// `options.seed`, `+1`, ...) without any CPU cap, and returns, per exercise
/// folder, the most CPU time each test used.
pub fn measure(
    course: &Course,
    options: &GradeOptions,
    runs: usize,
    mut on_round: impl FnMut(usize, f64),
) -> Result<BTreeMap<String, Budgets>, Error> {
    let mut uncapped = course.clone();
    for exercise in &mut uncapped.exercises {
        exercise.budgets = Budgets::default();
    }
    let exercises = uncapped.select(&options.exercises)?;
    let mut subjects = vec![synthetic::submission(
        &uncapped,
        "solutions",
        Scope::Full,
        &synthetic::every(&exercises, Subject::Solution),
    )?];
    subjects.extend(synthetic::reference_submissions(
        &uncapped,
        &exercises,
        Scope::Full,
    )?);
    let submissions: Vec<_> = subjects.into_iter().map(|s| s.submission).collect();
    let mut found: BTreeMap<String, Budgets> = BTreeMap::new();
    for round in 0..runs {
        let mut this = options.clone();
        this.seed = options.seed.wrapping_add(round as u64);
        let started = std::time::Instant::now();
        for result in grade_all(&uncapped, &submissions, &this, |_| {})? {
            for exercise in &result.exercises {
                found
                    .entry(exercise.exercise.clone())
                    .or_default()
                    .record(exercise);
            }
        }
        on_round(round, started.elapsed().as_secs_f64());
    }
    Ok(found)
}

/// Writes each exercise's budgets to `grader/suites/NN-topic/cpu.toml`.
pub fn write(course: &Course, found: &BTreeMap<String, Budgets>, how: &str) -> Result<(), Error> {
    for exercise in &course.exercises {
        let Some(budgets) = found.get(&exercise.topic) else {
            continue;
        };
        let path = course.root.join(exercise.grader_dir()).join(BUDGET_FILE);
        std::fs::write(&path, budgets.render(how)).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_a_multiple_of_the_budget_with_a_floor() {
        assert_eq!(cap(0), FLOOR);
        assert_eq!(cap(10), FLOOR);
        assert_eq!(cap(1000), Duration::from_secs(20));
    }

    #[test]
    fn a_rendered_file_reads_back_the_same() {
        let mut budgets = Budgets::default();
        budgets.hidden.insert("a_test".into(), 12);
        budgets.visible.insert("b_test".into(), 3);
        let text = budgets.render("5 gradings");
        assert_eq!(toml::from_str::<Budgets>(&text).unwrap(), budgets);
        assert_eq!(
            budgets.cap("a_test", Visibility::Hidden),
            Some(FLOOR),
            "{text}"
        );
        assert_eq!(budgets.cap("a_test", Visibility::Visible), None);
    }
}
