//! The class-level figures `report.html` shows, computed from the result
//! model: distributions of points, each hidden test's failure rate, the kinds
//! of verdicts per exercise and the anomalies per student.

use crate::model::{ExerciseResult, ExerciseStatus, GradingRun, Outcome, TestResult, Watchdog};

/// Bars in a histogram of points (fewer when the maximum is smaller).
const HISTOGRAM_BARS: u32 = 10;

/// How many students fall in each range of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// One bar per range, lowest points first.
    pub bars: Vec<Bar>,
}

/// One bar of a [`Histogram`]: the students with `low..=high` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The lowest points in the range.
    pub low: u32,
    /// The highest points in the range.
    pub high: u32,
    /// How many students scored in it.
    pub students: usize,
}

impl Histogram {
    /// The distribution of `scores` over `0..=max`.
    pub fn of(scores: &[u32], max: u32) -> Histogram {
        let bars = HISTOGRAM_BARS.min(max + 1).max(1);
        let width = (max + 1).div_ceil(bars);
        let bars = (0..bars)
            .map(|i| (i * width, ((i + 1) * width).min(max + 1) - 1))
            .filter(|(low, high)| low <= high)
            .map(|(low, high)| Bar {
                low,
                high,
                students: scores.iter().filter(|&&s| s >= low && s <= high).count(),
            })
            .collect();
        Histogram { bars }
    }

    /// The tallest bar's count.
    pub fn tallest(&self) -> usize {
        self.bars.iter().map(|b| b.students).max().unwrap_or(0)
    }
}

/// Points of the class in one column (the total, or one exercise).
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// What the column is: `total` or the exercise folder's name.
    pub label: String,
    /// The points available.
    pub max: u32,
    /// The median of the students' points.
    pub median: f64,
    /// How the students' points spread.
    pub histogram: Histogram,
}

impl Distribution {
    fn of(label: &str, scores: &[u32], max: u32) -> Distribution {
        Distribution {
            label: label.to_string(),
            max,
            median: median(scores),
            histogram: Histogram::of(scores, max),
        }
    }
}

/// The median of `values` (0 for none).
pub fn median(values: &[u32]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => f64::from(sorted[n / 2]),
        n => (f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0,
    }
}

/// What kind of thing went wrong, as the class report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// The chaos stand-in saw two locks taken in opposite orders.
    LockOrderCycle,
    /// Threads waited for each other's locks (reported by the chaos stand-in).
    Deadlock,
    /// A waiter on a condition variable was never notified.
    LostWakeup,
    /// A blocked thread burned CPU time instead of sleeping.
    BusyWait,
    /// Another timeout: a watchdog ended the test.
    Timeout,
    /// The test kept making progress but far slower than a correct solution.
    TooSlow,
    /// An assertion failed or the code panicked.
    FailedAssertion,
    /// The code reached a `todo!()` left from the stub.
    NotImplemented,
    /// The process died of a signal.
    Crash,
    /// The process exited before the test finished.
    ExitedEarly,
    /// The test printed too much and was stopped.
    OutputFlood,
    /// The test went over a resource limit of the sandbox.
    OverLimit,
    /// The test was not run.
    NotRun,
    /// The exercise did not compile.
    CompileError,
    /// The grader refused the exercise's files.
    Rejected,
    /// The grader or the machine failed the test: no verdict.
    NotGraded,
}

impl FailureKind {
    /// The words the report uses for it.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::LockOrderCycle => "lock-order cycle",
            FailureKind::Deadlock => "deadlock",
            FailureKind::LostWakeup => "lost wakeup",
            FailureKind::BusyWait => "busy-wait",
            FailureKind::Timeout => "timeout",
            FailureKind::TooSlow => "too slow",
            FailureKind::FailedAssertion => "failed assertion",
            FailureKind::NotImplemented => "not implemented (todo!)",
            FailureKind::Crash => "crash",
            FailureKind::ExitedEarly => "exited early",
            FailureKind::OutputFlood => "output flood",
            FailureKind::OverLimit => "over a limit",
            FailureKind::NotRun => "not run",
            FailureKind::CompileError => "compile error",
            FailureKind::Rejected => "rejected",
            FailureKind::NotGraded => "not graded (a fault of the grader)",
        }
    }

    /// The kind of a failed test, read from its verdict and from the
    /// reports of the chaos stand-in and the suites in its output.
    pub fn of_test(test: &TestResult) -> Option<FailureKind> {
        let text = match &test.outcome {
            Outcome::Passed => return None,
            Outcome::Failed { message } => format!("{message}\n{}", test.output),
            _ => test.output.clone(),
        };
        // The chaos stand-in's reports (the harness watchdog's own message
        // names these bugs too, as mere possibilities).
        if text.contains("possible deadlock (locks taken in opposite orders)") {
            return Some(FailureKind::LockOrderCycle);
        }
        if text.contains("deadlock:") {
            return Some(FailureKind::Deadlock);
        }
        if text.contains("is a lost wakeup") {
            return Some(FailureKind::LostWakeup);
        }
        Some(match &test.outcome {
            Outcome::Passed => return None,
            // The panic message, not the output: a suite prints CPU figures
            // before it asserts on them.
            Outcome::Failed { message } if message.contains("not yet implemented") => {
                FailureKind::NotImplemented
            }
            Outcome::Failed { message } if message.contains("of CPU") => FailureKind::BusyWait,
            Outcome::Failed { .. } => FailureKind::FailedAssertion,
            Outcome::TimedOut { .. } => FailureKind::Timeout,
            Outcome::TooSlow { .. } => FailureKind::TooSlow,
            Outcome::OverCpu { .. } => FailureKind::BusyWait,
            Outcome::Crashed { .. } => FailureKind::Crash,
            Outcome::ExitedEarly => FailureKind::ExitedEarly,
            Outcome::OutputFlood { .. } => FailureKind::OutputFlood,
            Outcome::OverLimit { .. } => FailureKind::OverLimit,
            Outcome::NotRun { .. } => FailureKind::NotRun,
            Outcome::NotGraded { .. } => FailureKind::NotGraded,
        })
    }

    /// The kinds one student's exercise shows (each once).
    pub fn of_exercise(exercise: &ExerciseResult) -> Vec<FailureKind> {
        let mut kinds: Vec<FailureKind> = match &exercise.status {
            ExerciseStatus::NotSubmitted => Vec::new(),
            ExerciseStatus::Rejected { .. } => vec![FailureKind::Rejected],
            ExerciseStatus::CompileError { .. } => vec![FailureKind::CompileError],
            ExerciseStatus::Graded => exercise.hidden().filter_map(FailureKind::of_test).collect(),
        };
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// How often one hidden test failed over the class.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFailures {
    /// The exercise folder's name.
    pub exercise: String,
    /// The test function's name.
    pub test: String,
    /// Its points.
    pub points: u32,
    /// Students whose exercise ran this test.
    pub graded: usize,
    /// Of them, those who failed it.
    pub failed: usize,
    /// The course author's hint: the bug a failure points to.
    pub hint: Option<String>,
    /// The kinds of the failures, most frequent first.
    pub kinds: Vec<(FailureKind, usize)>,
}

impl TestFailures {
    /// The fraction of graded students who failed it.
    pub fn rate(&self) -> f64 {
        if self.graded == 0 {
            0.0
        } else {
            self.failed as f64 / self.graded as f64
        }
    }
}

/// Per exercise, how many students showed each kind of failure.
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseKinds {
    /// The exercise folder's name.
    pub exercise: String,
    /// Students who submitted it.
    pub submitted: usize,
    /// Students who got full marks.
    pub full_marks: usize,
    /// Each kind with its number of students, most frequent first.
    pub kinds: Vec<(FailureKind, usize)>,
}

/// Something about a student that needs an instructor's look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Anomaly {
    /// No exercise of theirs reached the test stage.
    Ungraded,
    /// The grader refused some of their files.
    Rejected,
    /// A test of theirs ran into a limit (the grader's timeout or time cap,
    /// the output cap, a resource limit of the sandbox).
    OverLimit,
}

impl Anomaly {
    /// The mark the report shows.
    pub fn label(self) -> &'static str {
        match self {
            Anomaly::Ungraded => "ungraded",
            Anomaly::Rejected => "rejected",
            Anomaly::OverLimit => "over a limit",
        }
    }
}

/// The anomalies of one student's results.
pub fn anomalies(exercises: &[ExerciseResult]) -> Vec<Anomaly> {
    let mut found = Vec::new();
    if !exercises.iter().any(|e| e.status == ExerciseStatus::Graded) {
        found.push(Anomaly::Ungraded);
    }
    if exercises
        .iter()
        .any(|e| matches!(e.status, ExerciseStatus::Rejected { .. }))
    {
        found.push(Anomaly::Rejected);
    }
    let over_limit = |t: &TestResult| {
        matches!(
            t.outcome,
            Outcome::OutputFlood { .. }
                | Outcome::OverLimit { .. }
                | Outcome::TooSlow { .. }
                | Outcome::OverCpu { .. }
                | Outcome::TimedOut {
                    watchdog: Watchdog::Grader
                }
        )
    };
    if exercises.iter().any(|e| e.tests.iter().any(over_limit)) {
        found.push(Anomaly::OverLimit);
    }
    found
}

/// Everything the class report shows about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSummary {
    /// Students in the run.
    pub students: usize,
    /// Students with at least one exercise graded.
    pub graded: usize,
    /// The total points.
    pub total: Distribution,
    /// One per exercise, in course order.
    pub exercises: Vec<Distribution>,
    /// Every hidden test that appears, highest failure rate first.
    pub failures: Vec<TestFailures>,
    /// Per exercise, the kinds of failure.
    pub kinds: Vec<ExerciseKinds>,
}

impl ClassSummary {
    /// The figures of `run`, over its graded submissions: one the grader
    /// could not grade ([`SubmissionResult::fault`](crate::model::SubmissionResult::fault))
    /// has no points to count.
    pub fn of(run: &GradingRun) -> ClassSummary {
        let students = run.submissions.len();
        let run = &GradingRun {
            submissions: run
                .submissions
                .iter()
                .filter(|s| s.fault().is_none())
                .cloned()
                .collect(),
            ..run.clone()
        };
        let columns = super::exercise_columns(run);
        let totals: Vec<u32> = run.submissions.iter().map(|s| s.score).collect();
        let max_total = run.submissions.iter().map(|s| s.max_score).max();
        let exercises = columns
            .iter()
            .map(|(topic, max)| Distribution::of(topic, &exercise_scores(run, topic), *max))
            .collect();
        ClassSummary {
            students,
            graded: run
                .submissions
                .iter()
                .filter(|s| !anomalies(&s.exercises).contains(&Anomaly::Ungraded))
                .count(),
            total: Distribution::of("total", &totals, max_total.unwrap_or(0)),
            exercises,
            failures: test_failures(run),
            kinds: columns
                .iter()
                .map(|(topic, _)| exercise_kinds(run, topic))
                .collect(),
        }
    }
}

/// Each student's points in exercise `topic` (0 where they lack it).
fn exercise_scores(run: &GradingRun, topic: &str) -> Vec<u32> {
    run.submissions
        .iter()
        .map(|s| {
            s.exercises
                .iter()
                .find(|e| e.exercise == topic)
                .map_or(0, |e| e.score)
        })
        .collect()
}

/// Every hidden test's failures over the students whose exercise ran it,
/// highest rate first (then by exercise and name).
fn test_failures(run: &GradingRun) -> Vec<TestFailures> {
    let mut rows: Vec<TestFailures> = Vec::new();
    let graded = run
        .submissions
        .iter()
        .flat_map(|s| &s.exercises)
        .filter(|e| e.status == ExerciseStatus::Graded);
    for exercise in graded {
        for test in exercise.hidden() {
            let at = rows
                .iter()
                .position(|r| r.exercise == exercise.exercise && r.test == test.name);
            let row = match at {
                Some(i) => &mut rows[i],
                None => {
                    rows.push(TestFailures {
                        exercise: exercise.exercise.clone(),
                        test: test.name.clone(),
                        points: test.max_score,
                        graded: 0,
                        failed: 0,
                        hint: None,
                        kinds: Vec::new(),
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            row.graded += 1;
            if let Some(kind) = FailureKind::of_test(test) {
                row.failed += 1;
                row.hint = row.hint.take().or_else(|| test.hint.clone());
                count(&mut row.kinds, kind);
            }
        }
    }
    for row in &mut rows {
        sort_counts(&mut row.kinds);
    }
    rows.sort_by(|a, b| {
        b.rate()
            .total_cmp(&a.rate())
            .then_with(|| (&a.exercise, &a.test).cmp(&(&b.exercise, &b.test)))
    });
    rows
}

/// The kinds of failure the students showed in exercise `topic`.
fn exercise_kinds(run: &GradingRun, topic: &str) -> ExerciseKinds {
    let mut summary = ExerciseKinds {
        exercise: topic.to_string(),
        submitted: 0,
        full_marks: 0,
        kinds: Vec::new(),
    };
    let results = run
        .submissions
        .iter()
        .flat_map(|s| s.exercises.iter().find(|e| e.exercise == topic));
    for exercise in results {
        if exercise.status == ExerciseStatus::NotSubmitted {
            continue;
        }
        summary.submitted += 1;
        if exercise.status == ExerciseStatus::Graded && exercise.score == exercise.max_score {
            summary.full_marks += 1;
        }
        for kind in FailureKind::of_exercise(exercise) {
            count(&mut summary.kinds, kind);
        }
    }
    sort_counts(&mut summary.kinds);
    summary
}

fn count(counts: &mut Vec<(FailureKind, usize)>, kind: FailureKind) {
    match counts.iter_mut().find(|(k, _)| *k == kind) {
        Some((_, n)) => *n += 1,
        None => counts.push((kind, 1)),
    }
}

fn sort_counts(counts: &mut [(FailureKind, usize)]) {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_ranges_cover_zero_to_max_once() {
        let histogram = Histogram::of(&[0, 3, 27, 28, 28], 28);
        assert_eq!(histogram.bars.first().unwrap().low, 0);
        assert_eq!(histogram.bars.last().unwrap().high, 28);
        for pair in histogram.bars.windows(2) {
            assert_eq!(pair[0].high + 1, pair[1].low);
        }
        let counted: usize = histogram.bars.iter().map(|b| b.students).sum();
        assert_eq!(counted, 5);
        assert_eq!(histogram.bars.last().unwrap().students, 3);
        assert_eq!(histogram.tallest(), 3);
        // A small maximum gets one bar per point.
        assert_eq!(Histogram::of(&[1], 2).bars.len(), 3);
    }

    fn failed(name: &str, message: &str, output: &str) -> TestResult {
        TestResult {
            name: name.to_string(),
            visibility: crate::model::Visibility::Hidden,
            score: 0,
            max_score: 2,
            outcome: Outcome::Failed {
                message: message.to_string(),
            },
            hint: None,
            output: output.to_string(),
            duration_secs: 0.1,
            cpu_secs: 0.0,
        }
    }

    #[test]
    fn failure_kinds_come_from_the_chaos_and_suite_reports() {
        let kind = |t: &TestResult| FailureKind::of_test(t);
        let cycle = "possible deadlock (locks taken in opposite orders): main takes ...";
        assert_eq!(
            kind(&failed("t", cycle, "")),
            Some(FailureKind::LockOrderCycle)
        );
        let stuck = "deadlock: these threads each wait for a lock that another holds";
        assert_eq!(kind(&failed("t", "", stuck)), Some(FailureKind::Deadlock));
        let wakeup = "waits 2.0 s on a Condvar and has not been notified: ... is a lost wakeup";
        let mut timed_out = failed("t", "", wakeup);
        timed_out.outcome = Outcome::TimedOut {
            watchdog: Watchdog::Harness,
        };
        assert_eq!(kind(&timed_out), Some(FailureKind::LostWakeup));
        timed_out.output = "WATCHDOG: test `t` still running after 10s while running the test \
            body.\nThe likely cause is a deadlock (a lock never released, two locks taken in \
            opposite orders) or a lost wakeup (a waiter that is never notified)."
            .to_string();
        assert_eq!(kind(&timed_out), Some(FailureKind::Timeout));
        let spin = "threads blocked used 900ms of CPU";
        assert_eq!(kind(&failed("t", spin, "")), Some(FailureKind::BusyWait));
        // CPU figures printed before another failure are not a busy-wait.
        let todo = "not yet implemented: Event::wait";
        assert_eq!(
            kind(&failed("busy_test", todo, spin)),
            Some(FailureKind::NotImplemented)
        );
        assert_eq!(
            kind(&failed("t", "assertion failed", "")),
            Some(FailureKind::FailedAssertion)
        );
        let mut passed = failed("t", "", "");
        passed.outcome = Outcome::Passed;
        assert_eq!(kind(&passed), None);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[5, 1, 3]), 3.0);
        assert_eq!(median(&[4, 1, 3, 2]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
