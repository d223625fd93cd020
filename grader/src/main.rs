//! `grader`: Interleave's command-line interface.
//!
//! Exit status: see [`Exit`].

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use grader::Error;
use grader::course::Course;
use grader::grade::{self, GradeOptions};
use grader::model::{Fault, GradingRun, SubmissionResult};
use grader::prepare::{self, LockBackend, Submission};
use grader::report::{self, GradescopeVisibility};
use grader::{bench, export, repeat, sandbox, sync, verify};

/// The grader's exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// 0: the command completed, whatever the scores.
    Done = 0,
    /// 1: `verify` found a violation, or `verify --repeat` a solution that
    /// lost points or a mutant caught too rarely.
    Violation = 1,
    /// 2: the grader itself could not work (a missing folder, no `cargo`,
    /// an unknown exercise, bad arguments, a sandbox that cannot run a
    /// known-good test).
    Broken = 2,
    /// 3: `grade` completed, but the grader or the machine failed at least
    /// one submission, which is reported as not graded (no score) and which
    /// `grade --resume` grades again.
    NotGraded = 3,
}

impl Exit {
    /// [`Exit::Done`] when `ok`, else [`Exit::Violation`].
    fn holds(ok: bool) -> Exit {
        if ok { Exit::Done } else { Exit::Violation }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

#[derive(Parser)]
#[command(
    name = "grader",
    version,
    about = "Grade Interleave submissions against the hidden suites.",
    long_about = "Grade Interleave submissions against the hidden suites.\n\n\
                  Exit status: 0 when the command completed (whatever the scores), 1 when \
                  `verify` found a violation, 2 when the grader itself could not work, 3 when \
                  `grade` could not grade some submission (a fault of the grader or the \
                  machine; `--resume` grades it again)."
)]
struct Cli {
    /// The course workspace (default: the nearest folder at or above the current one
    /// that holds grader/suites, else the workspace this binary was built from).
    #[arg(long, global = true, value_name = "DIR")]
    course: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Grade one submission, one exercise folder, or a class (a folder of submissions).
    Grade(GradeArgs),
    /// Join the `--out` folders of several `grade --shard` runs into one gradebook.
    Merge {
        /// The `--out` folders of the shards.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the joined gradebook and reports.
        #[arg(long, short = 'o', value_name = "DIR")]
        out: PathBuf,
        /// Gradescope visibility of the hidden suites' tests in results.json.
        #[arg(long, value_enum, default_value_t)]
        hidden_visibility: GradescopeVisibility,
        /// The class the shards graded (as given to `grade`; repeatable):
        /// then the folders must be given in shard order, of one seed, and a student
        /// whose shard wrote no result for them is reported not graded
        /// (exit status 3) instead of left out.
        #[arg(long, value_name = "PATH")]
        class: Vec<PathBuf>,
    },
    /// Write Slurm batch scripts that grade a class as a job array (one task
    /// per shard) and merge the shards when the array is over.
    Slurm(SlurmArgs),
    /// The course author's check: solutions full marks, stubs zero, every mutant caught.
    Verify(VerifyArgs),
    /// Write the student-facing repository (exercises and README, no solutions or hidden suites).
    Export {
        /// A new or empty folder.
        dir: PathBuf,
    },
    /// Write a Gradescope autograder bundle (setup.sh, run_autograder, the grader and suites).
    Gradescope {
        /// A new or empty folder.
        dir: PathBuf,
    },
    /// Print the GitHub Classroom workflow (.github/workflows/classroom.yml) for this course.
    ClassroomWorkflow {
        /// The private repository holding this course, as OWNER/NAME.
        #[arg(long, value_name = "OWNER/NAME", default_value = "our-org/interleave")]
        course_repo: String,
    },
    /// Measure grading speed and print medians.
    Bench(bench::BenchArgs),
    /// Measure the CPU time each test needs (solutions and references, several
    /// gradings) and write grader/suites/NN-topic/cpu.toml, the tests' CPU caps.
    Budget(BudgetArgs),
    /// Rewrite the generated end of grader/Cargo.toml (each exercise's solution
    /// dependency and test targets) from the exercise folders.
    Sync,
}

#[derive(Args)]
struct CommonArgs {
    /// Only this exercise (a number like 05); repeat for several.
    #[arg(long = "exercise", short = 'e', value_name = "NN")]
    exercises: Vec<String>,
    /// Test processes to run at once (default: six per CPU).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Seed for every randomized test (default: a fresh one, printed in the reports).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Wall-clock limit per test, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = grade::DEFAULT_TIMEOUT_SECS as f64)]
    timeout: f64,
    /// Which parking_lot student code links: the course's chaos stand-in (default) or the real one.
    #[arg(long, value_enum, default_value_t)]
    parking_lot: LockBackend,
    /// Do not compile the next submission while the current one's tests run.
    #[arg(long)]
    no_overlap: bool,
    /// Compile every crate, even those whose exact bytes were built before
    /// (the build cache in target/grading/cache).
    #[arg(long)]
    no_cache: bool,
    /// Run tests and compiles without the sandbox (never for code you do not
    /// trust): no namespaces, Landlock, seccomp, dropped uid or limits.
    #[arg(long)]
    no_sandbox: bool,
    /// Memory (address space) per test process, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = sandbox::Limits::default().memory_bytes >> 20)]
    memory_limit: u64,
    /// Threads plus processes per test at once.
    #[arg(long, value_name = "N", default_value_t = sandbox::Limits::default().tasks)]
    task_limit: u64,
    /// Largest file a test may write (and size of its private tmp), in MiB.
    #[arg(long, value_name = "MIB", default_value_t = sandbox::Limits::default().file_bytes >> 20)]
    file_limit: u64,
    /// CPU seconds per test process.
    #[arg(long, value_name = "SECS", default_value_t = sandbox::Limits::default().cpu_secs)]
    cpu_limit: u64,
    /// Wall-clock seconds for the build of one submission.
    #[arg(long, value_name = "SECS", default_value_t = sandbox::BuildLimits::default().wall_secs)]
    build_timeout: u64,
    /// CPU seconds per compiler process in the build of a submission.
    #[arg(long, value_name = "SECS", default_value_t = sandbox::BuildLimits::default().cpu_secs)]
    build_cpu_limit: u64,
    /// Keep N busy loops running meanwhile (a load benchmark: how the
    /// verdicts hold on a busy machine).
    #[arg(long, value_name = "N", default_value_t = 0)]
    busy_loops: usize,
}

impl CommonArgs {
    fn options(&self) -> Result<GradeOptions, Error> {
        if !(self.timeout > 0.0 && self.timeout.is_finite()) {
            return Err(Error::new("--timeout must be a positive number of seconds"));
        }
        let mut options = GradeOptions::new(self.seed.unwrap_or_else(grade::fresh_seed));
        options.exercises = self.exercises.clone();
        if let Some(jobs) = self.jobs {
            options.jobs = jobs.max(1);
        }
        options.timeout = Duration::from_secs_f64(self.timeout);
        options.backend = self.parking_lot;
        options.overlap = !self.no_overlap;
        options.cache = !self.no_cache;
        options.sandbox = sandbox::SandboxOptions {
            disabled: self.no_sandbox,
            limits: sandbox::Limits {
                memory_bytes: self.memory_limit << 20,
                tasks: self.task_limit,
                file_bytes: self.file_limit << 20,
                cpu_secs: self.cpu_limit,
                ..Default::default()
            },
            build_limits: sandbox::BuildLimits {
                wall_secs: self.build_timeout,
                cpu_secs: self.build_cpu_limit,
                ..Default::default()
            },
        };
        Ok(options)
    }
}

#[derive(Args)]
struct GradeArgs {
    /// Submission, exercise or class folders (default: this workspace's exercises/).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
    /// Write gradebook.csv, run.json, report.html and per student results.json, junit.xml,
    /// feedback.md here.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Grade only the K-th of N slices of the class (1-based), e.g. 2/8.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Gradescope visibility of the hidden suites' tests in results.json.
    #[arg(long, value_enum, default_value_t)]
    hidden_visibility: GradescopeVisibility,
    /// Keep the students already graded into --out and grade only the rest
    /// (after an interrupted run).
    #[arg(long, requires = "out")]
    resume: bool,
}

#[derive(Args)]
struct SlurmArgs {
    /// The class: submission folders or a class description, as for `grade`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The batch folder, on storage every node shares: the scripts, each
    /// shard's results (shard-K) and the merged reports (grades).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Array tasks, one shard of the class each.
    #[arg(long, value_name = "N", default_value_t = 4)]
    shards: usize,
    /// The Slurm partition (default: the cluster's default partition).
    #[arg(long, value_name = "NAME")]
    partition: Option<String>,
    /// Time limit per grading task, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    time: u32,
    /// Memory per grading task, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 8192)]
    mem: u64,
    /// CPUs per grading task (it runs three test processes per CPU).
    #[arg(long, value_name = "N", default_value_t = 4)]
    cpus_per_task: u32,
    /// Time limit of the merge job, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 15)]
    merge_time: u32,
    /// The seed every shard grades with (default: a fresh one, written into the scripts).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Gradescope visibility of the hidden suites' tests in results.json.
    #[arg(long, value_enum, default_value_t)]
    hidden_visibility: GradescopeVisibility,
    /// More `grade` arguments for every task, after `--` (e.g. `-- --exercise 05`).
    #[arg(last = true, value_name = "GRADE ARGS")]
    grade_args: Vec<String>,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Measure instead of checking once: build the solutions and the mutants once,
    /// run each hidden suite N times against each (seeds SEED, SEED+1, ...), and
    /// print per mutant the fraction of runs that caught it and per solution the
    /// runs that lost points.
    #[arg(long, value_name = "N")]
    repeat: Option<usize>,
    /// With --repeat: the least fraction of runs in which each mutant must lose points.
    #[arg(long, value_name = "FRACTION", default_value_t = repeat::MIN_CATCH_RATE)]
    min_catch: f64,
    /// With --repeat: measure only the solutions (with the std references),
    /// only the std references, or only the mutants.
    #[arg(long, value_enum, default_value_t)]
    only: repeat::Subjects,
    /// With --repeat: also write every row, with its per-run figures, as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// With --repeat: measure only this mutant (its patch's name in
    /// grader/suites/NN-topic/mutants, without .patch); repeat for several.
    #[arg(long, value_name = "NAME")]
    mutant: Vec<String>,
}

#[derive(Args)]
struct BudgetArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Gradings of the solutions and references to take the most of.
    #[arg(long, value_name = "N", default_value_t = 5)]
    runs: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table per submission (and a class summary).
    Table,
    /// The full result model as JSON.
    Json,
    /// GitHub Classroom's runner results, as `name=value` lines for
    /// `$GITHUB_OUTPUT` (one submission only).
    Classroom,
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("expected K/N, like 2/8, got {text:?}"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("K in {text:?} is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("N in {text:?} is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("need 1 <= K <= N, got {k}/{n}"));
    }
    Ok((k, n))
}

fn main() -> ExitCode {
    // The grader re-executes itself to start test processes in their sandbox
    // and to confine rustc; those roles come before any argument parsing.
    if let Some(role) = grader::sandbox::Role::from_env() {
        std::process::exit(role.run());
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("grader: {error}");
            Exit::Broken.into()
        }
    }
}

fn run(cli: Cli) -> Result<Exit, Error> {
    let course = Course::locate(cli.course.as_deref())?;
    let busy = match &cli.command {
        Command::Grade(args) => args.common.busy_loops,
        Command::Verify(args) => args.common.busy_loops,
        Command::Budget(args) => args.common.busy_loops,
        _ => 0,
    };
    let _load = grader::load::BusyLoops::start(busy);
    match cli.command {
        Command::Grade(args) => grade_command(&course, args),
        Command::Merge {
            dirs,
            out,
            hidden_visibility,
            class,
        } => merge_command(&course, &dirs, &class, &out, hidden_visibility),
        Command::Slurm(args) => slurm_command(&course, args),
        Command::Verify(args) => verify_command(&course, args),
        Command::Export { dir } => {
            export::export(&course, &dir)?;
            println!(
                "wrote the student repository to {} (try: cd {} && cargo test -p exercise-01)",
                dir.display(),
                dir.display()
            );
            Ok(Exit::Done)
        }
        Command::Gradescope { dir } => {
            export::gradescope(&course, &dir)?;
            println!(
                "wrote the Gradescope autograder bundle to {}; upload a zip of its contents \
                 (cd {} && zip -r ../autograder.zip .)",
                dir.display(),
                dir.display()
            );
            Ok(Exit::Done)
        }
        Command::ClassroomWorkflow { course_repo } => {
            print!("{}", report::classroom::workflow_yaml(&course_repo));
            Ok(Exit::Done)
        }
        Command::Bench(args) => {
            bench::bench(&course, &args)?;
            Ok(Exit::Done)
        }
        Command::Budget(args) => budget_command(&course, args),
        Command::Sync => {
            let changed = sync::sync(&course)?;
            println!(
                "{} {}",
                sync::manifest_path(&course).display(),
                if changed {
                    "rewritten"
                } else {
                    "already up to date"
                }
            );
            Ok(Exit::Done)
        }
    }
}

fn grade_command(course: &Course, args: GradeArgs) -> Result<Exit, Error> {
    let mut options = args.common.options()?;
    let mut submissions = select_submissions(course, &args, &mut options)?;
    let protections = options.sandbox.active()?;
    let done = already_graded(&args, &mut submissions)?;
    let table = args.format == Format::Table;
    let class = submissions.len() + done.len() > 1;
    if args.format == Format::Classroom && class {
        return Err(Error::new(format!(
            "--format classroom grades one submission, not {}",
            submissions.len() + done.len()
        )));
    }
    let bar = progress_bar(class, submissions.len());
    if table {
        announce(submissions.len(), done.len(), options.seed);
        eprintln!("{}", report::protections_line(&protections));
    }
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let mut unwritten: Vec<(String, Fault)> = Vec::new();
    let results = grade::grade_all(
        course,
        &submissions,
        &options,
        |result: &SubmissionResult| {
            bar.inc(1);
            bar.set_message(result.student.clone());
            // Reports are written as each student is done: a crash loses at
            // most the submission in flight.
            let mut shown = result.clone();
            if let Some(out) = &args.out
                && let Err(fault) = write_student(result, out, &args, &options)
            {
                bar.suspend(|| eprintln!("grader: {fault}"));
                unwritten.push((result.student.clone(), fault.clone()));
                shown.not_graded = Some(fault);
            }
            if table {
                bar.suspend(|| {
                    println!("{}", report::submission_table(&shown));
                    let _ = std::io::stdout().flush();
                });
            }
        },
    )?;
    bar.finish_and_clear();
    let mut results = results;
    for result in &mut results {
        if let Some((_, fault)) = unwritten.iter().find(|(s, _)| *s == result.student) {
            result.not_graded = Some(fault.clone());
        }
    }
    if !done.is_empty() {
        results.extend(done);
        results.sort_by(|a, b| a.student.cmp(&b.student));
    }
    let run = GradingRun {
        seed: options.seed,
        timeout_secs: options.timeout.as_secs_f64(),
        shard: args.shard.map(|(k, n)| format!("{k}/{n}")),
        protections,
        submissions: results,
        grader_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
        elapsed_secs: started.elapsed().as_secs_f64(),
    };
    print_run(&run, args.format, class, started)?;
    if let Some(out) = &args.out {
        // The class reports come from the students' own, already on disk,
        // but for those whose reports could not be written.
        let mut from_disk = run.clone();
        from_disk.submissions = report::read_students(out)?
            .into_iter()
            .filter(|s| run.submissions.iter().any(|r| r.student == s.student))
            .filter(|s| !unwritten.iter().any(|(student, _)| *student == s.student))
            .collect();
        for submission in &run.submissions {
            if !from_disk
                .submissions
                .iter()
                .any(|s| s.student == submission.student)
            {
                from_disk.submissions.push(submission.clone());
            }
        }
        from_disk
            .submissions
            .sort_by(|a, b| a.student.cmp(&b.student));
        report::write_class(&from_disk, out)?;
        if table {
            eprintln!("reports written to {}", out.display());
        }
    }
    Ok(not_graded_exit(&run))
}

/// Writes one student's reports; what kept them from being written is a
/// fault of the grader (or one injected for the tests, [`grader::inject`]).
fn write_student(
    result: &SubmissionResult,
    out: &std::path::Path,
    args: &GradeArgs,
    options: &GradeOptions,
) -> Result<(), Fault> {
    let unwritable = |detail: String| Fault::ReportsUnwritable {
        dir: out.display().to_string(),
        detail,
    };
    if grader::inject::out_dir_fails(&result.student) {
        return Err(unwritable("injected fault".to_string()));
    }
    let timeout = options.timeout.as_secs_f64();
    report::write_student(result, out, args.hidden_visibility, timeout)
        .map_err(|e| unwritable(e.to_string()))
}

/// [`Exit::NotGraded`] when the grader failed any submission of `run`
/// (saying which), else [`Exit::Done`].
fn not_graded_exit(run: &GradingRun) -> Exit {
    let failed: Vec<&SubmissionResult> = run
        .submissions
        .iter()
        .filter(|s| s.fault().is_some())
        .collect();
    if failed.is_empty() {
        return Exit::Done;
    }
    eprintln!(
        "grader: {} of {} submissions NOT GRADED (a fault of the grader or the machine, no \
         score given; grade again with --resume --out DIR):",
        failed.len(),
        run.submissions.len()
    );
    for submission in failed {
        let fault = submission.fault().expect("a fault");
        eprintln!("  {}: {fault}", submission.student);
    }
    Exit::NotGraded
}

/// With `--resume`, the students already graded in `--out` (their results
/// read back), and the others left in `submissions`.
fn already_graded(
    args: &GradeArgs,
    submissions: &mut Vec<Submission>,
) -> Result<Vec<SubmissionResult>, Error> {
    let done = match (&args.out, args.resume) {
        (Some(out), true) => report::read_students(out)?,
        _ => Vec::new(),
    };
    // A submission the grader failed is graded again.
    let done: Vec<SubmissionResult> = done.into_iter().filter(|d| d.fault().is_none()).collect();
    submissions.retain(|s| !done.iter().any(|d| d.student == s.student));
    Ok(done)
}

/// The line `grade` starts with: how many submissions, the seed.
fn announce(count: usize, done: usize, seed: u64) {
    eprintln!(
        "grading {count} submission{} with seed {seed} (replay with --seed {seed}){}",
        if count == 1 { "" } else { "s" },
        if done == 0 {
            String::new()
        } else {
            format!(", {done} already graded")
        }
    );
}

/// The submissions `grade` was given, only its shard of them; exercise
/// folders on their own select just those exercises.
fn select_submissions(
    course: &Course,
    args: &GradeArgs,
    options: &mut GradeOptions,
) -> Result<Vec<Submission>, Error> {
    let mut submissions = prepare::discover(&args.paths, course)?;
    if submissions.is_empty() {
        return Err(Error::new("no submissions found"));
    }
    if options.exercises.is_empty() && submissions.iter().all(|s| s.exercise_folder) {
        let mut numbers: Vec<String> = submissions
            .iter()
            .flat_map(|s| s.exercises.keys().cloned())
            .collect();
        numbers.sort();
        numbers.dedup();
        options.exercises = numbers;
    }
    if let Some((k, n)) = args.shard {
        submissions = prepare::select_shard(submissions, k, n);
    }
    Ok(submissions)
}

/// A progress bar over `count` submissions for a class (hidden otherwise).
fn progress_bar(class: bool, count: usize) -> ProgressBar {
    if !class {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} submissions, {elapsed} elapsed, ~{eta} left {msg}",
        )
        .expect("a valid progress template"),
    );
    bar
}

/// The class table and a closing line, or the whole run as JSON.
fn print_run(run: &GradingRun, format: Format, class: bool, started: Instant) -> Result<(), Error> {
    match format {
        Format::Table => {
            if class {
                println!("{}", report::class_table(run));
            }
            eprintln!(
                "graded {} submission{} in {:.1} s",
                run.submissions.len(),
                if class { "s" } else { "" },
                started.elapsed().as_secs_f64()
            );
        }
        Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(run).map_err(|e| Error::new(format!("json: {e}")))?
            );
        }
        Format::Classroom => {
            // A submission not graded gets no runner results: no score.
            for submission in run.submissions.iter().filter(|s| s.fault().is_none()) {
                print!("{}", report::classroom::github_outputs(submission)?);
            }
        }
    }
    Ok(())
}

fn merge_command(
    course: &Course,
    dirs: &[PathBuf],
    class: &[PathBuf],
    out: &std::path::Path,
    visibility: GradescopeVisibility,
) -> Result<Exit, Error> {
    let students: Option<Vec<String>> = if class.is_empty() {
        None
    } else {
        let submissions = prepare::discover(class, course)?;
        Some(submissions.into_iter().map(|s| s.student).collect())
    };
    let run = grader::merge::merge(dirs, students.as_deref())?;
    report::write_all(&run, out, visibility)?;
    println!("{}", report::class_table(&run));
    eprintln!(
        "merged {} submissions from {} folders into {}",
        run.submissions.len(),
        dirs.len(),
        out.display()
    );
    Ok(not_graded_exit(&run))
}

/// An absolute path to `path`, which must exist.
fn absolute(path: &std::path::Path) -> Result<PathBuf, Error> {
    path.canonicalize().map_err(|e| Error::io(path, e))
}

fn slurm_command(course: &Course, args: SlurmArgs) -> Result<Exit, Error> {
    if args.shards == 0 {
        return Err(Error::new("--shards needs at least one shard"));
    }
    grader::slurm::check_grade_args(&args.grade_args)?;
    let students = prepare::discover(&args.paths, course)?.len();
    if students == 0 {
        return Err(Error::new("no submissions found"));
    }
    std::fs::create_dir_all(&args.dir).map_err(|e| Error::io(&args.dir, e))?;
    let grader =
        std::env::current_exe().map_err(|e| Error::new(format!("the grader binary: {e}")))?;
    let plan = grader::slurm::BatchPlan {
        grader: absolute(&grader)?,
        course: absolute(&course.root)?,
        classes: args
            .paths
            .iter()
            .map(|p| absolute(p))
            .collect::<Result<_, _>>()?,
        dir: absolute(&args.dir)?,
        shards: args.shards,
        partition: args.partition,
        time_minutes: args.time,
        merge_time_minutes: args.merge_time,
        mem_mib: args.mem,
        cpus_per_task: args.cpus_per_task.max(1),
        seed: args.seed.unwrap_or_else(grade::fresh_seed),
        hidden_visibility: args.hidden_visibility,
        grade_args: args.grade_args,
    };
    plan.write()?;
    if args.shards > students {
        eprintln!(
            "grader: note: {} shards for {students} students: the last shards grade no one",
            args.shards
        );
    }
    println!(
        "wrote grade.sbatch, merge.sbatch and submit.sh into {}: {students} students in {} \
         shards, seed {}.\nsubmit with: bash {}/submit.sh (bash {}/submit.sh K grades shard K \
         again)",
        plan.dir.display(),
        plan.shards,
        plan.seed,
        plan.dir.display(),
        plan.dir.display()
    );
    Ok(Exit::Done)
}

fn budget_command(course: &Course, args: BudgetArgs) -> Result<Exit, Error> {
    let options = args.common.options()?;
    if args.runs == 0 {
        return Err(Error::new("--runs needs at least one grading"));
    }
    eprintln!(
        "measuring the CPU time of every test: {} gradings of the solutions and references, seeds {} on",
        args.runs, options.seed
    );
    let found = grader::budget::measure(course, &options, args.runs, |round, secs| {
        eprintln!(
            "  grading {} of {} done in {secs:.0} s",
            round + 1,
            args.runs
        );
    })?;
    let how = format!("{} gradings of the solution and the references", args.runs);
    grader::budget::write(course, &found, &how)?;
    for (topic, budgets) in &found {
        let most = budgets
            .hidden
            .values()
            .chain(budgets.visible.values())
            .max();
        println!(
            "{topic:<14} {} tests; the most CPU any needs: {} ms",
            budgets.hidden.len() + budgets.visible.len(),
            most.copied().unwrap_or(0)
        );
    }
    Ok(Exit::Done)
}

fn verify_command(course: &Course, args: VerifyArgs) -> Result<Exit, Error> {
    let options = args.common.options()?;
    if let Some(runs) = args.repeat {
        return repeat_command(course, &options, runs, args);
    }
    eprintln!(
        "verifying {} exercises with seed {} (solutions, stubs and mutants)",
        course.select(&options.exercises)?.len(),
        options.seed
    );
    let started = Instant::now();
    let mut faults: Vec<String> = Vec::new();
    let checks = verify::verify(course, &options, |result| {
        if let Some(fault) = result.fault() {
            faults.push(format!("{}: {fault}", result.student));
        }
        eprintln!(
            "  graded {:<12} {:>4}/{:<4} in {:.1} s (build {:.1} s, run {:.1} s)",
            result.student,
            result.score,
            result.max_score,
            result.elapsed_secs,
            result.timings.build_secs,
            result.timings.run_secs
        );
    })?;
    // A grader fault says nothing about the course.
    if !faults.is_empty() {
        return Err(Error::new(format!(
            "cannot verify the course: the grader itself failed ({}), so no check means \
             anything",
            faults.join("; ")
        )));
    }
    for check in &checks {
        println!("{}", check.render());
    }
    let registered = sync::check(course);
    if let Err(problem) = &registered {
        println!("FAIL registration: {problem}");
    }
    let failed = checks.iter().filter(|c| !c.ok()).count();
    println!(
        "verify: {} of {} exercises hold (seed {}, {:.0} s)",
        checks.len() - failed,
        checks.len(),
        options.seed,
        started.elapsed().as_secs_f64()
    );
    Ok(Exit::holds(failed == 0 && registered.is_ok()))
}

fn repeat_command(
    course: &Course,
    options: &GradeOptions,
    runs: usize,
    args: VerifyArgs,
) -> Result<Exit, Error> {
    let VerifyArgs {
        only,
        min_catch,
        json,
        mutant,
        ..
    } = args;
    if runs == 0 {
        return Err(Error::new("--repeat needs at least one run"));
    }
    if !(0.0..=1.0).contains(&min_catch) {
        return Err(Error::new("--min-catch is a fraction between 0 and 1"));
    }
    eprintln!(
        "running each hidden suite {runs} times against {}, seeds {} to {}",
        only.describe(),
        options.seed,
        options.seed.wrapping_add(runs as u64 - 1)
    );
    let started = Instant::now();
    let mut tallies = repeat::repeat(course, options, runs, only, &mutant, |tally| {
        eprintln!(
            "  {} {}: {} of {} runs lost points, {:.0} s",
            tally.exercise,
            tally.subject.label(),
            tally.lost,
            tally.runs,
            tally.wall_secs.iter().sum::<f64>()
        );
    })?;
    // Per exercise, the solution first, then its mutants (`Subject`'s order).
    tallies.sort_by(|a, b| (&a.exercise, &a.subject).cmp(&(&b.exercise, &b.subject)));
    for tally in &tallies {
        println!("{}", tally.render(min_catch));
    }
    let held = print_repeat_summary(&tallies, runs, min_catch, started);
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&tallies)
            .map_err(|e| Error::new(format!("cannot write JSON: {e}")))?;
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(Exit::holds(held))
}

/// The closing line of `verify --repeat`; whether every row met its goal.
fn print_repeat_summary(
    tallies: &[repeat::Tally],
    runs: usize,
    min_catch: f64,
    started: Instant,
) -> bool {
    let (solutions, mutants): (Vec<_>, Vec<_>) = tallies.iter().partition(|t| t.is_solution());
    let lost: usize = solutions.iter().map(|t| t.lost).sum();
    let weak = mutants.iter().filter(|t| !t.ok(min_catch)).count();
    let lowest = mutants.iter().map(|t| t.catch_rate()).fold(1.0, f64::min);
    let mut parts = Vec::new();
    if !solutions.is_empty() {
        parts.push(format!(
            "solutions lost points in {lost} of {} runs",
            solutions.iter().map(|t| t.runs).sum::<usize>()
        ));
    }
    if !mutants.is_empty() {
        parts.push(format!(
            "{} of {} mutants caught in at least {:.0}% of runs (lowest {:.1}%)",
            mutants.len() - weak,
            mutants.len(),
            100.0 * min_catch,
            100.0 * lowest
        ));
    }
    println!(
        "verify --repeat {runs}: {}; {:.0} s",
        parts.join("; "),
        started.elapsed().as_secs_f64()
    );
    lost == 0 && weak == 0
}
