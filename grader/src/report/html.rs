//! `report.html`: the instructor's view of a graded class, one self-contained
//! page (inline CSS and SVG, no scripts, fonts or network), readable on
//! screen and printable.
//!
//! The page is written with `maud` templates; the charts are SVG drawn here
//! from a few rectangles and labels. A plotting crate (plotters' SVG backend)
//! would need a font stack to place its text and brings far more than two
//! kinds of bar chart need; hand-drawn SVG keeps the file small, scales with
//! the page and prints sharp.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::safe_name;
use super::summary::{
    ClassSummary, Distribution, ExerciseKinds, FailureKind, Histogram, TestFailures, anomalies,
};
use crate::model::{ExerciseStatus, GradingRun, SubmissionResult};
use crate::sandbox::Protection;

/// The stylesheet, inline so the page needs nothing else.
const STYLE: &str = r#"
:root { --ink: #1d2330; --muted: #5b6474; --line: #d8dde6; --bar: #3f6fb5; --bad: #b5403f; --warn: #a86a00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 2rem auto; max-width: 72rem; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem; }
p.lead { color: var(--muted); margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; min-width: 10rem; }
.card b { display: block; font-size: 1.5rem; }
.card span { color: var(--muted); font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .3rem .45rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td:first-child { white-space: nowrap; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
div.hint { color: var(--muted); font-size: .86rem; margin-top: .15rem; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(13.5rem, 1fr)); gap: .4rem 1rem; margin: .8rem 0; }
figure.exercise { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .35rem .5rem; }
figure.exercise figcaption { display: flex; justify-content: space-between; gap: .4rem; white-space: nowrap; font-size: .82rem; color: var(--muted); }
figure.exercise figcaption b { color: var(--ink); font-weight: 600; margin-right: .3rem; }
code { font-size: .9em; overflow-wrap: anywhere; }
.rate { display: inline-block; height: .7rem; background: var(--bad); vertical-align: middle; margin-right: .4rem; }
.kind { display: inline-block; border: 1px solid var(--line); border-radius: 3px; padding: 0 .35rem; margin: 0 .2rem .2rem 0; font-size: .8rem; white-space: nowrap; }
td.kinds { min-width: 11rem; }
.mark { display: inline-block; background: var(--warn); color: #fff; border-radius: 3px; padding: 0 .35rem; margin-right: .2rem; font-size: .8rem; }
.full { color: #2c7a3f; font-weight: 600; }
svg.histogram rect.bar { fill: var(--bar); }
svg.histogram text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg.histogram line { stroke: var(--line); }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  tr, svg, .card, figure { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The whole page for `run`.
pub fn report_html(run: &GradingRun) -> String {
    let summary = ClassSummary::of(run);
    page(run, &summary).into_string()
}

fn page(run: &GradingRun, summary: &ClassSummary) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Interleave class report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Interleave class report" }
                p.lead {
                    (summary.students) " students, seed " (run.seed)
                    @if !run.started_at.is_empty() { ", graded " (run.started_at) }
                }
                (glance(summary))
                (wrong(summary))
                (students(run, summary))
                (run_facts(run))
            }
        }
    }
}

fn glance(summary: &ClassSummary) -> Markup {
    let total = &summary.total;
    html! {
        section #glance {
            h2 { "The class at a glance" }
            div.cards {
                div.card { b { (summary.graded) " / " (summary.students) } span { "students graded" } }
                div.card { b { (points(total.median)) " / " (total.max) } span { "median total points" } }
            }
            (histogram(&total.histogram, 640, 200, "Total points: students per range"))
            div #exercises.multiples {
                @for exercise in &summary.exercises { (exercise_figure(exercise)) }
            }
        }
    }
}

fn exercise_figure(exercise: &Distribution) -> Markup {
    html! {
        figure.exercise {
            figcaption {
                b { (exercise.label) }
                span { "median " (points(exercise.median)) " / " (exercise.max) }
            }
            (histogram(&exercise.histogram, 200, 48, &format!("{}: students per range of points", exercise.label)))
        }
    }
}

/// A bar chart of `histogram`, `width` by `height` pixels, with a bar's
/// count above it and its range below (on the larger charts).
fn histogram(histogram: &Histogram, width: u32, height: u32, title: &str) -> Markup {
    let labels = height >= 120;
    let (top, bottom) = if labels { (16.0, 22.0) } else { (2.0, 2.0) };
    let plot = f64::from(height) - top - bottom;
    let slot = f64::from(width) / histogram.bars.len().max(1) as f64;
    let tallest = histogram.tallest().max(1) as f64;
    html! {
        svg.histogram xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox=(format!("0 0 {width} {height}")) role="img" aria-label=(title) {
            title { (title) }
            line x1="0" x2=(width) y1=(top + plot) y2=(top + plot) {}
            @for (index, bar) in histogram.bars.iter().enumerate() {
                @let h = plot * bar.students as f64 / tallest;
                @let x = index as f64 * slot + slot * 0.1;
                rect.bar x=(fmt(x)) y=(fmt(top + plot - h)) width=(fmt(slot * 0.8)) height=(fmt(h))
                    data-students=(bar.students) {
                    title { (range(bar.low, bar.high)) " points: " (bar.students) " students" }
                }
                @if labels {
                    @if bar.students > 0 {
                        text x=(fmt(x + slot * 0.4)) y=(fmt(top + plot - h - 4.0)) text-anchor="middle" { (bar.students) }
                    }
                    text x=(fmt(x + slot * 0.4)) y=(fmt(f64::from(height) - 6.0)) text-anchor="middle" { (range(bar.low, bar.high)) }
                }
            }
        }
    }
}

fn wrong(summary: &ClassSummary) -> Markup {
    let failing: Vec<&TestFailures> = summary.failures.iter().filter(|f| f.failed > 0).collect();
    let clean = summary.failures.len() - failing.len();
    html! {
        section #wrong {
            h2 { "What the class got wrong" }
            p.lead {
                "Each hidden test that someone failed, by the share of students (whose exercise compiled) who failed it. "
                (clean) " hidden tests were passed by everyone."
            }
            table #failures {
                thead { tr {
                    th { "exercise" } th { "hidden test, and the bug its hint names" } th.num { "points" }
                    th.num { "failed" } th { "verdicts" }
                } }
                tbody {
                    @for row in &failing { (failure_row(row)) }
                }
            }
            h3 { "Verdicts per exercise" }
            table #kinds {
                thead { tr { th { "exercise" } th.num { "submitted" } th.num { "full marks" } th { "students per kind of failure" } } }
                tbody { @for exercise in &summary.kinds { (kinds_row(exercise)) } }
            }
        }
    }
}

fn failure_row(row: &TestFailures) -> Markup {
    let percent = 100.0 * row.rate();
    html! {
        tr {
            td { (row.exercise) }
            td {
                code { (row.test) }
                div.hint { @if let Some(hint) = &row.hint { (hint) } @else { "(no hint)" } }
            }
            td.num { (row.points) }
            td.num {
                span.rate style=(format!("width: {:.1}px", 0.6 * percent)) {}
                (format!("{percent:.0}%")) " (" (row.failed) "/" (row.graded) ")"
            }
            td.kinds { (kind_list(&row.kinds)) }
        }
    }
}

fn kinds_row(exercise: &ExerciseKinds) -> Markup {
    html! {
        tr {
            td { (exercise.exercise) }
            td.num { (exercise.submitted) }
            td.num { (exercise.full_marks) }
            td { @if exercise.kinds.is_empty() { "none" } @else { (kind_list(&exercise.kinds)) } }
        }
    }
}

fn kind_list(kinds: &[(FailureKind, usize)]) -> Markup {
    html! { @for (kind, n) in kinds { span.kind { (kind.label()) " × " (n) } } }
}

fn students(run: &GradingRun, summary: &ClassSummary) -> Markup {
    html! {
        section #students {
            h2 { "Students" }
            table #student-table {
                thead { tr {
                    th { "student" } th.num { "total" }
                    @for exercise in &summary.exercises {
                        th.num title=(exercise.label) { (exercise.label.get(..2).unwrap_or(&exercise.label)) }
                    }
                    th { "marks" }
                } }
                tbody {
                    @for submission in &run.submissions { (student_row(submission, &summary.exercises)) }
                }
            }
        }
    }
}

fn student_row(submission: &SubmissionResult, columns: &[Distribution]) -> Markup {
    let link = format!("{}/feedback.md", safe_name(&submission.student));
    if let Some(fault) = submission.fault() {
        return html! {
            tr.not-graded {
                td { a.feedback href=(link) { (submission.student) } }
                td colspan=(columns.len() + 2) { "not graded: " (fault.to_string()) }
            }
        };
    }
    html! {
        tr {
            td { a.feedback href=(link) { (submission.student) } }
            td.num { (submission.score) " / " (submission.max_score) }
            @for column in columns {
                @let exercise = submission.exercises.iter().find(|e| e.exercise == column.label);
                @match exercise {
                    None => td.num { "" },
                    Some(e) => td.num.full[e.score == e.max_score && e.max_score > 0] title=(e.verdict()) {
                        (cell(e.score, &e.status))
                    },
                }
            }
            td { @for mark in anomalies(&submission.exercises) { span.mark { (mark.label()) } } }
        }
    }
}

/// A student's points in one exercise, with `C` for a compile error, `R`
/// for refused files and `-` for nothing submitted.
fn cell(score: u32, status: &ExerciseStatus) -> String {
    match status {
        ExerciseStatus::Graded => score.to_string(),
        ExerciseStatus::NotSubmitted => "-".to_string(),
        ExerciseStatus::CompileError { .. } => "C".to_string(),
        ExerciseStatus::Rejected { .. } => "R".to_string(),
    }
}

fn run_facts(run: &GradingRun) -> Markup {
    let unknown = "not recorded";
    html! {
        section #run {
            h2 { "The run" }
            dl.run {
                dt { "seed" } dd { (run.seed) " (replay with " code { "grader grade … --seed " (run.seed) } ")" }
                dt { "grader version" } dd { @if run.grader_version.is_empty() { (unknown) } @else { (run.grader_version) } }
                dt { "date" } dd { @if run.started_at.is_empty() { (unknown) } @else { (run.started_at) } }
                dt { "protections" } dd {
                    @if run.protections.is_empty() { "none (graded with --no-sandbox, or not recorded)" }
                    @else {
                        @for p in &run.protections { span.kind { (p) } }
                        @let missing: Vec<&Protection> = Protection::ALL.iter().filter(|p| !run.protections.contains(p)).collect();
                        @if !missing.is_empty() {
                            div.hint { "not available here: " @for (i, p) in missing.iter().enumerate() { @if i > 0 { ", " } (p) } }
                        }
                    }
                }
                dt { "time taken" } dd { (format!("{:.1} s", run.elapsed_secs)) }
                dt { "limit per test" } dd { (format!("{:.0} s", run.timeout_secs)) }
                @if let Some(shard) = &run.shard { dt { "shard" } dd { (shard) } }
                dt { "students" } dd { (run.submissions.len()) }
            }
        }
    }
}

fn range(low: u32, high: u32) -> String {
    if low == high {
        low.to_string()
    } else {
        format!("{low}–{high}")
    }
}

fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn fmt(value: f64) -> String {
    format!("{value:.1}")
}
