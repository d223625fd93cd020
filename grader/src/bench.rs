//! `grader bench`: how fast grading is, as medians.
//!
//! 1. The full solution set graded again unchanged (a student re-running
//!    `grade` on an unchanged tree): the crates come from the build cache.
//! 2. The full solution set with warm dependencies but every scratch crate
//!    recompiled (what each new submission costs), split into preparing,
//!    compiling + linking, and running.
//! 3. A synthetic class (per student, about a third of the exercises replaced
//!    by mutants, every file marked with the student's name so every crate
//!    recompiles), at several sizes: submissions per minute, and how the time
//!    grows.
//! 4. With `--link-split`, how much of the compile time is linking, measured
//!    by timing the linker in a separate target directory.

use std::collections::BTreeMap;
use std::fs;
use std::time::Instant;

use crate::Error;
use crate::build;
use crate::course::{Course, Exercise};
use crate::grade::{self, GradeOptions, grade_all};
use crate::model::SubmissionResult;
use crate::prepare::{self, Scope, Slot, Submission};
use crate::synthetic::{self, Subject};

/// Options of `grader bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Timed repetitions of the single-submission measurements (0 skips them).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Class sizes to report (comma-separated): one class of the largest size
    /// is graded, the others are read off its progress; 0 skips it.
    #[arg(long, value_delimiter = ',', default_value = "5,10,20")]
    pub class_sizes: Vec<usize>,
    /// Also measure how much of compiling is linking (builds the
    /// dependencies once more, in target/grading-bench-link).
    #[arg(long)]
    pub link_split: bool,
    /// Test processes to run at once (default: the grader's default).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Instead, grade a realistic class of N (complete, partial, deadlocking
    /// and spinning submissions; `src/bench_class.rs`) and time plain
    /// `cargo test` of the same crates beside it.
    #[arg(long, value_name = "N")]
    pub class: Option<usize>,
}

/// The median of `values` (0 for none).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

struct Sample {
    total: f64,
    prepare: f64,
    build: f64,
    run: f64,
    score: u32,
    max: u32,
}

fn sample(result: &SubmissionResult) -> Sample {
    Sample {
        total: result.elapsed_secs,
        prepare: result.timings.prepare_secs,
        build: result.timings.build_secs,
        run: result.timings.run_secs,
        score: result.score,
        max: result.max_score,
    }
}

fn print_medians(label: &str, samples: &[Sample]) {
    let pick = |f: fn(&Sample) -> f64| median(&mut samples.iter().map(f).collect::<Vec<_>>());
    println!(
        "{label}: median {:.1} s wall (prepare {:.2} s, compile+link {:.1} s, run tests {:.1} s) over {} runs; score {}/{}",
        pick(|s| s.total),
        pick(|s| s.prepare),
        pick(|s| s.build),
        pick(|s| s.run),
        samples.len(),
        samples.last().map(|s| s.score).unwrap_or(0),
        samples.last().map(|s| s.max).unwrap_or(0),
    );
}

/// Runs the benchmark and prints its figures.
pub fn bench(course: &Course, args: &BenchArgs) -> Result<(), Error> {
    let mut options = GradeOptions::new(grade::fresh_seed());
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    if let Some(size) = args.class {
        return crate::bench_class::bench_class(course, &options, size);
    }
    // Single submissions in sequence: one slot, no overlap.
    options.overlap = false;
    let all: Vec<&Exercise> = course.exercises.iter().collect();
    let full = |name: &str, subject: Subject| {
        synthetic::submission(course, name, Scope::Full, &synthetic::every(&all, subject))
            .map(|s| s.submission)
    };
    let solutions = full("solutions", Subject::Solution)?;
    let stubs = full("stubs", Subject::Stub)?;
    println!(
        "grader bench: {} exercises, {} test processes at once, {} CPUs",
        course.exercises.len(),
        options.jobs,
        grade::default_jobs() / grade::JOBS_PER_CPU
    );
    let warm_up = Instant::now();
    grade_all(course, std::slice::from_ref(&solutions), &options, |_| {})?;
    println!(
        "warm-up (whatever was not built yet): {:.1} s",
        warm_up.elapsed().as_secs_f64()
    );
    if args.runs > 0 {
        single_submissions(course, &options, args.runs, &solutions, &stubs)?;
    }
    let sizes: Vec<usize> = args
        .class_sizes
        .iter()
        .copied()
        .filter(|n| *n > 0)
        .collect();
    if !sizes.is_empty() {
        class_sizes(course, &options, &sizes)?;
    }
    if args.link_split {
        link_split(course, &solutions, &stubs)?;
    }
    Ok(())
}

/// The solutions graded `runs` times unchanged, then `runs`
/// times after the stubs (so every scratch crate recompiles).
fn single_submissions(
    course: &Course,
    options: &GradeOptions,
    runs: usize,
    solutions: &Submission,
    stubs: &Submission,
) -> Result<(), Error> {
    let mut unchanged = Vec::new();
    for _ in 0..runs {
        let results = grade_all(course, std::slice::from_ref(solutions), options, |_| {})?;
        unchanged.push(sample(&results[0]));
    }
    print_medians(
        "solutions graded again unchanged (their crates from the build cache)",
        &unchanged,
    );
    let mut recompiled = Vec::new();
    let mut uncached = options.clone();
    uncached.cache = false;
    for _ in 0..runs {
        // Grading the stubs in between makes every scratch crate change.
        let pair = [stubs.clone(), solutions.clone()];
        let results = grade_all(course, &pair, &uncached, |_| {})?;
        recompiled.push(sample(&results[1]));
    }
    print_medians(
        "solutions, warm dependencies, all ten crates recompiled",
        &recompiled,
    );
    Ok(())
}

/// One synthetic class of the largest of `sizes`, graded with overlapping
/// stages; the smaller sizes are read off the times at which its first
/// submissions finished.
fn class_sizes(course: &Course, options: &GradeOptions, sizes: &[usize]) -> Result<(), Error> {
    let mut class_options = options.clone();
    class_options.overlap = true;
    let largest = *sizes.iter().max().expect("non-empty");
    let class = synthetic_class(course, largest)?;
    let started = Instant::now();
    let mut finished = Vec::new();
    let results = grade_all(course, &class, &class_options, |_| {
        finished.push(started.elapsed().as_secs_f64());
    })?;
    for &size in sizes {
        let wall = finished[size - 1];
        let mut builds: Vec<f64> = results[..size]
            .iter()
            .map(|r| r.timings.build_secs)
            .collect();
        let mut runs: Vec<f64> = results[..size].iter().map(|r| r.timings.run_secs).collect();
        println!(
            "class of {size}: {wall:.0} s wall, {:.1} submissions/minute, {:.1} s per submission \
             (median compile+link {:.1} s, run {:.1} s; the stages overlap)",
            size as f64 * 60.0 / wall,
            wall / size as f64,
            median(&mut builds),
            median(&mut runs),
        );
    }
    Ok(())
}

/// `size` different submissions, a mix as in a real class: in each, about
/// two exercises in three are the solution and the others one of the
/// exercise's mutants (a different mix per student), and every `lib.rs` is
/// marked with the student's name. Consecutive students therefore differ in
/// every crate, most of them in real code.
pub fn synthetic_class(course: &Course, size: usize) -> Result<Vec<Submission>, Error> {
    let mut class = Vec::new();
    for i in 0..size {
        let name = format!("student-{:02}", i + 1);
        let picks: Vec<(&Exercise, Subject)> = course
            .exercises
            .iter()
            .enumerate()
            .map(|(j, exercise)| {
                let mutants = exercise.mutants(course);
                let subject = if (i + j) % 3 == 0 && !mutants.is_empty() {
                    Subject::Mutant(mutants[(i / 3 + j) % mutants.len()].name.clone())
                } else {
                    Subject::Solution
                };
                (exercise, subject)
            })
            .collect();
        let mut student = synthetic::submission(course, &name, Scope::Full, &picks)?.submission;
        for source in student.exercises.values_mut() {
            *source = synthetic::appended(source, &format!("\n// Submitted by {name}.\n"))?;
        }
        class.push(student);
    }
    Ok(class)
}

/// Times the linker separately: builds the solutions (after the stubs, so
/// everything recompiles) in a separate target directory with a linker
/// wrapper that logs how long each link takes.
fn link_split(course: &Course, solutions: &Submission, stubs: &Submission) -> Result<(), Error> {
    let dir = course.root.join("target").join("grading-bench-link");
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let log = dir.join("links.log");
    let wrapper = dir.join("timed-cc");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nstart=$(date +%s%N)\ncc \"$@\"\nrc=$?\nend=$(date +%s%N)\necho $((end - start)) >> '{}'\nexit $rc\n",
            log.display()
        ),
    )
    .map_err(|e| Error::io(&wrapper, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(&wrapper, e))?;
    }
    let exercises: Vec<&crate::course::Exercise> = course.exercises.iter().collect();
    let slot = Slot::acquire(&course.grading_dir())?;
    let env = [(
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER".to_string(),
        wrapper.to_string_lossy().into_owned(),
    )];
    let mut totals = BTreeMap::new();
    for (round, submission) in [stubs, solutions, stubs, solutions].iter().enumerate() {
        let _ = fs::remove_file(&log);
        let prepared = prepare::prepare(course, &exercises, submission, &slot, Default::default())?;
        let started = Instant::now();
        let wall = std::time::Duration::from_secs(crate::sandbox::BuildLimits::default().wall_secs);
        build::build_with(&prepared, &dir, &env, wall, build::Layout::Merged)?;
        let wall = started.elapsed().as_secs_f64();
        let links: Vec<f64> = fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse::<f64>().ok())
            .map(|ns| ns / 1e9)
            .collect();
        // Rounds 0 and 1 warm the separate target directory.
        if round >= 2 {
            totals.insert(submission.student.clone(), (wall, links));
        }
    }
    if let Some((wall, links)) = totals.get("solutions") {
        let sum: f64 = links.iter().sum();
        let mut sorted = links.clone();
        println!(
            "link split (solutions recompiled): compile+link {wall:.1} s wall; {} links took {sum:.1} s \
             in total (median {:.2} s each; links run in parallel with other compiles)",
            links.len(),
            median(&mut sorted),
        );
    }
    Ok(())
}
