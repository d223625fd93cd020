//! Stage 1: find the submissions and turn each into a scratch workspace.
//!
//! A submission's exercise becomes a crate named `exercise-NN` made of the
//! submission's `src/**/*.rs` only (never its `Cargo.toml`, `build.rs` or
//! `tests/`), the course's visible tests, the hidden suite as
//! `tests/hidden.rs`, and a manifest the grader writes. The crates of one
//! submission form one workspace in a *slot*, a folder under
//! `target/grading/scratch` that later submissions reuse, so the shared target
//! directory keeps one set of artifacts per slot rather than one per student.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Component, Path, PathBuf};

use crate::Error;
use crate::course::{Course, Exercise, exercise_number, render_inline};

/// Largest source file taken from a submission.
pub const MAX_FILE_BYTES: u64 = 512 * 1024;
/// Largest total size of one exercise's sources.
pub const MAX_TOTAL_BYTES: u64 = 2 * 1024 * 1024;
/// Most `.rs` files taken for one exercise.
pub const MAX_FILES: usize = 200;
/// Name of the hidden suite's test target in a scratch crate.
pub const HIDDEN_TARGET: &str = "hidden";
/// The test target the grader adds to every scratch crate: the hidden
/// suite and every visible test file as modules of one binary, which
/// compiles in about 20% less CPU time than one binary each (see
/// [`crate::build::Layout`]).
pub const MERGED_TARGET: &str = "graded";
/// Folder of a scratch crate that keeps, for the build's second try with the
/// real `parking_lot`, the files whose `std` paths were pointed at the chaos
/// stand-in's twins (as they were before).
pub const UNTWINNED_DIR: &str = "untwinned-src";

/// Which `parking_lot` the scratch crates are built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LockBackend {
    /// The real `parking_lot`, as the course declares it.
    Real,
    /// The course's schedule-perturbing stand-in in `grader/chaos`, renamed
    /// to `parking_lot` so student code is unchanged. The default: under it a
    /// single grading run catches races that plain stress almost never shows.
    #[default]
    Chaos,
}

/// The manifest line that provides `parking_lot` to a scratch crate. This is
/// the one place that decides which implementation student code links.
pub fn parking_lot_dependency(
    backend: LockBackend,
    course: &Course,
    declared: &toml::Value,
) -> String {
    match backend {
        LockBackend::Real => format!("parking_lot = {}", render_inline(declared)),
        LockBackend::Chaos => format!(
            "parking_lot = {{ package = \"chaos\", path = {} }}",
            render_inline(&toml::Value::String(
                course
                    .root
                    .join("grader/chaos")
                    .to_string_lossy()
                    .into_owned()
            ))
        ),
    }
}

/// One student's work: where each exercise's `src/` is.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The student id (the submission folder's name).
    pub student: String,
    /// Where it was read from, for reports.
    pub source: PathBuf,
    /// The code of each submitted exercise, by exercise number.
    pub exercises: BTreeMap<String, Source>,
    /// Which tests to build and run.
    pub scope: Scope,
    /// Whether it is a single exercise folder (then only that exercise is
    /// graded, unless `--exercise` says otherwise).
    pub exercise_folder: bool,
}

/// Where the code of one submitted exercise comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A `src/` folder on disk (a student's, or the course's stub or solution).
    Dir(PathBuf),
    /// Files made in memory, by path relative to `src/` (a mutant: the
    /// solution with its patch applied).
    Files(BTreeMap<PathBuf, Vec<u8>>),
}

/// `src/` folders as sources.
fn dirs(found: BTreeMap<String, PathBuf>) -> BTreeMap<String, Source> {
    found
        .into_iter()
        .map(|(number, src)| (number, Source::Dir(src)))
        .collect()
}

/// Which tests a grading of a submission builds and runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The hidden suite and the visible tests, every test.
    #[default]
    Full,
    /// The hidden suite only.
    HiddenOnly,
    /// The hidden suite only, and per exercise only until one test fails
    /// (enough to show that a mutant is caught).
    UntilCaught,
}

/// Finds the submissions named on the command line.
///
/// Each path is one of: an exercise folder (it holds `src/`); a submission
/// (it holds `exercises/NN-*/` or `NN-*/` folders); or a class (a folder
/// whose subfolders are submissions, each named by its student id); or a
/// class description (`NAME.toml`, see [`crate::class`]). No path means this
/// course's own `exercises/`.
pub fn discover(paths: &[PathBuf], course: &Course) -> Result<Vec<Submission>, Error> {
    let mut submissions = Vec::new();
    if paths.is_empty() {
        let student = course
            .root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "workspace".to_string());
        submissions.push(whole(student, &course.root));
    }
    for path in paths {
        submissions.extend(discover_one(path, course)?);
    }
    // Student ids name output folders: keep them unique.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for submission in &mut submissions {
        let count = seen.entry(submission.student.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            submission.student = format!("{}-{}", submission.student, count);
        }
    }
    Ok(submissions)
}

/// Shard `k` of `n` (1-based) of a class: every `n`-th submission in
/// student order, starting with the `k`-th. `grade --shard K/N` grades it,
/// and `merge --class` expects it of shard K.
pub fn select_shard(mut submissions: Vec<Submission>, k: usize, n: usize) -> Vec<Submission> {
    submissions.sort_by(|a, b| a.student.cmp(&b.student));
    submissions
        .into_iter()
        .enumerate()
        .filter(|(i, _)| crate::merge::shard_of(*i, n) == k)
        .map(|(_, s)| s)
        .collect()
}

/// The submissions one command-line path names.
fn discover_one(path: &Path, course: &Course) -> Result<Vec<Submission>, Error> {
    let meta = fs::metadata(path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_file() && path.extension().is_some_and(|e| e == "toml") {
        return crate::class::expand(course, path);
    }
    if !meta.is_dir() {
        return Err(Error::new(format!(
            "{} is not a folder (give a submission folder, an exercise folder, a class folder \
             or a class description, NAME.toml)",
            path.display()
        )));
    }
    let path = path
        .canonicalize()
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let name = folder_name(&path);
    if path.join("src").is_dir() {
        return Ok(vec![single_exercise(&path, name)?]);
    }
    if !exercise_sources(&path).is_empty() {
        return Ok(vec![whole(name, &path)]);
    }
    // A class: subfolders are submissions, if any of them looks like one.
    let mut entries: Vec<_> = fs::read_dir(&path)
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with('.') && name != "target"
        })
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    entries.sort();
    let looks_like_class = entries
        .iter()
        .any(|dir| dir.join("src").is_dir() || !exercise_sources(dir).is_empty());
    if !looks_like_class {
        // An empty submission.
        return Ok(vec![whole(name, &path)]);
    }
    entries
        .iter()
        .map(|dir| {
            let student = folder_name(dir);
            if dir.join("src").is_dir() {
                single_exercise(dir, student)
            } else {
                Ok(whole(student, dir))
            }
        })
        .collect()
}

/// A submission of the exercise folders under `dir` (none for an empty one).
fn whole(student: String, dir: &Path) -> Submission {
    Submission {
        student,
        source: dir.to_path_buf(),
        exercises: dirs(exercise_sources(dir)),
        scope: Scope::Full,
        exercise_folder: false,
    }
}

fn folder_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".to_string())
}

/// An exercise folder on its own: its number comes from the folder's name
/// (`05-event`) or, failing that, the package name in its `Cargo.toml`.
fn single_exercise(path: &Path, name: String) -> Result<Submission, Error> {
    let mut number = exercise_number(&name).map(str::to_string);
    if number.is_none()
        && let Ok(text) = fs::read_to_string(path.join("Cargo.toml"))
        && let Ok(manifest) = text.parse::<toml::Table>()
        && let Some(package) = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
    {
        number = package
            .strip_prefix("exercise-")
            .and_then(exercise_number)
            .map(str::to_string);
    }
    let number = number.ok_or_else(|| {
        Error::new(format!(
            "{}: cannot tell which exercise this is (name the folder NN-topic, e.g. 05-event)",
            path.display()
        ))
    })?;
    Ok(Submission {
        student: name,
        source: path.to_path_buf(),
        exercises: BTreeMap::from([(number, Source::Dir(path.join("src")))]),
        scope: Scope::Full,
        exercise_folder: true,
    })
}

/// The exercise folders of a submission: `exercises/NN-*/` if it has them,
/// else `NN-*/` directly inside it.
pub fn exercise_sources(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for base in [dir.join("exercises"), dir.to_path_buf()] {
        if let Ok(entries) = fs::read_dir(&base) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(number) = exercise_number(&name)
                    && entry.path().is_dir()
                {
                    found
                        .entry(number.to_string())
                        .or_insert_with(|| entry.path().join("src"));
                }
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    found
}

/// A scratch workspace folder held by this process until dropped.
#[derive(Debug)]
pub struct Slot {
    /// The folder holding the scratch workspace.
    pub dir: PathBuf,
    /// Its number. Scratch crates are named after it (`exercise-05-s1`), because
    /// Cargo names artifacts by a package's path *relative to its workspace*:
    /// without it, two slots' `exercise-05` would share (and overwrite) the
    /// same test binaries in the shared target directory.
    pub index: usize,
    _lock: File,
}

impl Slot {
    /// Takes the first free slot under `grading_dir/scratch`, creating one if
    /// all are busy (other grader processes hold theirs with a file lock).
    pub fn acquire(grading_dir: &Path) -> Result<Slot, Error> {
        let scratch = grading_dir.join("scratch");
        for index in 0.. {
            let dir = scratch.join(format!("slot-{index}"));
            fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let lock_path = dir.join(".lock");
            let lock = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| Error::io(&lock_path, e))?;
            if lock.try_lock().is_ok() {
                return Ok(Slot {
                    dir,
                    index,
                    _lock: lock,
                });
            }
        }
        unreachable!("slot indices are unbounded")
    }
}

/// What preparing did with one exercise.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Its scratch crate is written and ready to build.
    Ready {
        /// The scratch crate's folder.
        crate_dir: PathBuf,
        /// Notes for the feedback (what the perturbation does not reach).
        notes: Vec<String>,
    },
    /// The submission has no `src/` for it.
    NotSubmitted,
    /// The files were refused.
    Rejected(String),
}

/// One exercise of a prepared submission.
#[derive(Debug, Clone)]
pub struct PreparedExercise {
    /// The course's exercise.
    pub exercise: Exercise,
    /// Its state.
    pub state: Prepared,
}

/// A submission written out as a scratch workspace.
#[derive(Debug, Clone)]
pub struct PreparedSubmission {
    /// The scratch workspace root (the slot's folder).
    pub workspace: PathBuf,
    /// One entry per selected exercise, in course order.
    pub exercises: Vec<PreparedExercise>,
    /// Which tests to build and run.
    pub scope: Scope,
}

impl PreparedSubmission {
    /// Whether any exercise has a crate to build.
    pub fn any_ready(&self) -> bool {
        self.exercises
            .iter()
            .any(|e| matches!(e.state, Prepared::Ready { .. }))
    }
}

/// Writes `submission`'s selected exercises into `slot` as scratch crates.
pub fn prepare(
    course: &Course,
    exercises: &[&Exercise],
    submission: &Submission,
    slot: &Slot,
    backend: LockBackend,
) -> Result<PreparedSubmission, Error> {
    let mut prepared = Vec::new();
    for exercise in exercises {
        let state = match submission.exercises.get(&exercise.number) {
            None => Prepared::NotSubmitted,
            Some(src) => match collect_sources(src) {
                Ok(None) => Prepared::NotSubmitted,
                Err(reason) => Prepared::Rejected(reason),
                Ok(Some(mut files)) => {
                    add_given_programs(exercise, &mut files)?;
                    let crate_dir =
                        slot.dir
                            .join(format!("{}-s{}", exercise.package(), slot.index));
                    let notes = write_crate(course, exercise, &crate_dir, files, backend)?;
                    Prepared::Ready { crate_dir, notes }
                }
            },
        };
        prepared.push(PreparedExercise {
            exercise: (*exercise).clone(),
            state,
        });
    }
    let members: Vec<String> = prepared
        .iter()
        .filter_map(|p| match &p.state {
            Prepared::Ready { crate_dir, .. } => crate_dir.file_name(),
            _ => None,
        })
        .map(|name| format!("{:?}", name.to_string_lossy()))
        .collect();
    let manifest = workspace_manifest(&members, backend);
    write_if_changed(&slot.dir.join("Cargo.toml"), manifest.as_bytes())?;
    copy_course_lock(course, slot)?;
    for (name, content) in course.shared_test_files()? {
        write_if_changed(&slot.dir.join(name), &content)?;
    }
    Ok(PreparedSubmission {
        workspace: slot.dir.clone(),
        exercises: prepared,
        scope: submission.scope,
    })
}

/// The scratch workspace's manifest: the exercises' crates, and the
/// profile every scratch build uses.
fn workspace_manifest(members: &[String], backend: LockBackend) -> String {
    format!(
        "# Written by the Interleave grader for each submission; do not edit.\n\
         [workspace]\n\
         resolver = \"3\"\n\
         members = [{}]\n\
         \n\
         # No debug info: test binaries link faster, and panic messages keep\n\
         # their file and line without it. Four codegen units, not 256:\n\
         # the crates of a submission build side by side anyway, and fewer\n\
         # units cost less CPU (measured: 10.2 s against 13.3 s a submission).\n\
         [profile.dev]\n\
         debug = false\n\
         codegen-units = 4\n\
         \n\
         # The locks every test goes through (the chaos stand-in when it is\n\
         # used) run optimized: a suite under chaos is about 3x faster.\n\
         [profile.dev.package.parking_lot]\n\
         opt-level = 3\n\
         [profile.dev.package.parking_lot_core]\n\
         opt-level = 3\n\
         [profile.dev.package.lock_api]\n\
         opt-level = 3\n\
         {chaos_profile}",
        members.join(", "),
        chaos_profile = if backend == LockBackend::Chaos {
            "[profile.dev.package.chaos]\nopt-level = 3\n"
        } else {
            ""
        },
    )
}

/// Starts the scratch workspace from the course's lock file, so the scratch
/// build uses the same dependency versions (and needs no network once they
/// are downloaded).
fn copy_course_lock(course: &Course, slot: &Slot) -> Result<(), Error> {
    let course_lock = course.root.join("Cargo.lock");
    if let Ok(lock) = fs::read(&course_lock) {
        let seen = slot.dir.join(".course-lock");
        if fs::read(&seen).ok().as_deref() != Some(&lock[..]) {
            write_if_changed(&slot.dir.join("Cargo.lock"), &lock)?;
            write_if_changed(&seen, &lock)?;
        }
    }
    Ok(())
}

/// Switches the scratch crates of exercises `numbers` to the real
/// `parking_lot` (for the build stage's second try, when they did not
/// compile against the chaos stand-in).
pub fn use_real_parking_lot(
    course: &Course,
    prepared: &PreparedSubmission,
    numbers: &[String],
) -> Result<(), Error> {
    for entry in &prepared.exercises {
        if let Prepared::Ready { crate_dir, .. } = &entry.state
            && numbers.contains(&entry.exercise.number)
        {
            restore_std_paths(crate_dir)?;
            let manifest = scratch_manifest(course, &entry.exercise, LockBackend::Real);
            write_if_changed(&crate_dir.join("Cargo.toml"), manifest.as_bytes())?;
        }
    }
    Ok(())
}

/// Adds the programs the course gives with an exercise (`src/bin/**` of the
/// stub, such as a demo binary the visible tests run) that the submission
/// does not have. The submission's own files always win.
fn add_given_programs(
    exercise: &Exercise,
    files: &mut BTreeMap<PathBuf, Vec<u8>>,
) -> Result<(), Error> {
    let bin = exercise.stub_src().join("bin");
    if !bin.is_dir() {
        return Ok(());
    }
    let mut given = BTreeMap::new();
    gather_files(&bin, Path::new("bin"), &mut given)?;
    for (rel, content) in given {
        if rel.extension().is_some_and(|e| e == "rs") {
            files.entry(rel).or_insert(content);
        }
    }
    Ok(())
}

/// The `.rs` files of a submitted exercise, by path relative to `src/`.
/// `Ok(None)` when there is nothing to grade (no `src/lib.rs`); `Err` with a
/// reason a student understands when the files are refused.
pub fn collect_sources(source: &Source) -> Result<Option<BTreeMap<PathBuf, Vec<u8>>>, String> {
    let files = match source {
        Source::Dir(src) => match read_src(src)? {
            Some(files) => files,
            None => return Ok(None),
        },
        Source::Files(files) => files.clone(),
    };
    if !files.contains_key(Path::new("lib.rs")) {
        return Ok(None);
    }
    for (rel, content) in &files {
        let text = String::from_utf8_lossy(content);
        if let Some(problem) = reads_outside_src(rel, &text) {
            return Err(problem);
        }
    }
    Ok(Some(files))
}

/// The `.rs` files under a `src/` folder, refusing links and oversized trees.
fn read_src(src: &Path) -> Result<Option<BTreeMap<PathBuf, Vec<u8>>>, String> {
    match fs::symlink_metadata(src) {
        Err(_) => return Ok(None),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err("src is a symbolic link; submit plain files only".to_string());
        }
        Ok(meta) if !meta.is_dir() => return Ok(None),
        Ok(_) => {}
    }
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    walk(src, Path::new(""), 0, &mut files, &mut total)?;
    Ok(Some(files))
}

fn walk(
    dir: &Path,
    rel: &Path,
    depth: usize,
    files: &mut BTreeMap<PathBuf, Vec<u8>>,
    total: &mut u64,
) -> Result<(), String> {
    if depth > 16 {
        return Err(format!("src/{} is nested too deeply", rel.display()));
    }
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read src/{}: {e}", rel.display()))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(format!(
                "src/{} holds a file whose name is not UTF-8",
                rel.display()
            ));
        };
        let rel = rel.join(name);
        let meta = fs::symlink_metadata(entry.path())
            .map_err(|e| format!("cannot read src/{}: {e}", rel.display()))?;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "src/{} is a symbolic link; submit plain files only",
                rel.display()
            ));
        }
        if meta.is_dir() {
            walk(&entry.path(), &rel, depth + 1, files, total)?;
        } else if meta.is_file() && name.ends_with(".rs") {
            if meta.len() > MAX_FILE_BYTES {
                return Err(format!(
                    "src/{} is {} KiB; the limit is {} KiB per file",
                    rel.display(),
                    meta.len() / 1024,
                    MAX_FILE_BYTES / 1024
                ));
            }
            *total += meta.len();
            if *total > MAX_TOTAL_BYTES {
                return Err(format!(
                    "the .rs files under src/ exceed {} KiB in total",
                    MAX_TOTAL_BYTES / 1024
                ));
            }
            if files.len() >= MAX_FILES {
                return Err(format!("src/ holds more than {MAX_FILES} .rs files"));
            }
            let content = fs::read(entry.path())
                .map_err(|e| format!("cannot read src/{}: {e}", rel.display()))?;
            files.insert(rel, content);
        }
        // Anything else (other extensions, sockets, ...) is ignored.
    }
    Ok(())
}

/// Finds `include!`, `include_str!`, `include_bytes!` or `#[path = ...]`
/// naming a file outside `src/` (an absolute path, or one that climbs out
/// with `..`). Only `src/**/*.rs` is taken from a submission, so such a file
/// would be one of the grader's own.
pub fn reads_outside_src(rel: &Path, source: &str) -> Option<String> {
    const MACROS: [&str; 4] = ["include!", "include_str!", "include_bytes!", "#[path"];
    let depth = rel.components().count().saturating_sub(1);
    for (line_no, line) in source.lines().enumerate() {
        for needle in MACROS {
            let mut from = 0;
            while let Some(pos) = line[from..].find(needle) {
                let start = from + pos + needle.len();
                from = start;
                // Gather the string literals up to the closing bracket.
                let rest = &line[start..];
                let end = rest.find([')', ']']).unwrap_or(rest.len());
                let named: String = string_literals(&rest[..end]).concat();
                if named.is_empty() {
                    continue;
                }
                let path = Path::new(&named);
                let mut level = depth as isize;
                let mut escapes =
                    path.is_absolute() || named.contains(':') || named.starts_with('\\');
                for component in path.components() {
                    match component {
                        Component::ParentDir => level -= 1,
                        Component::Normal(_) => level += 1,
                        Component::RootDir | Component::Prefix(_) => escapes = true,
                        Component::CurDir => {}
                    }
                    if level < 0 {
                        escapes = true;
                    }
                }
                if escapes {
                    return Some(format!(
                        "src/{}:{} uses {}(\"{}\"), a file outside src/; the grader takes only \
                         src/**/*.rs, so keep all code there",
                        rel.display(),
                        line_no + 1,
                        needle.trim_start_matches("#["),
                        named
                    ));
                }
            }
        }
    }
    None
}

fn string_literals(text: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => {
                    if let Some(next) = chars.next() {
                        literal.push(next);
                    }
                }
                _ => literal.push(c),
            }
        }
        literals.push(literal);
    }
    literals
}

fn write_crate(
    course: &Course,
    exercise: &Exercise,
    crate_dir: &Path,
    sources: BTreeMap<PathBuf, Vec<u8>>,
    backend: LockBackend,
) -> Result<Vec<String>, Error> {
    let mut src = sources;
    let notes = match backend {
        LockBackend::Chaos => unperturbed_note(&src).into_iter().collect(),
        LockBackend::Real => Vec::new(),
    };
    // Forbid unsafe code at the crate root. The manifest's `[lints]` forbids
    // it too; the attribute goes on the first line so that line numbers in
    // compiler messages still match the student's file.
    if let Some(lib) = src.get_mut(Path::new("lib.rs")) {
        let body = lib.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(lib).to_vec();
        let mut with_forbid = b"#![forbid(unsafe_code)] ".to_vec();
        with_forbid.extend_from_slice(&body);
        *lib = with_forbid;
    }
    let untwinned = match backend {
        LockBackend::Chaos => point_std_at_twins(&mut src),
        LockBackend::Real => BTreeMap::new(),
    };
    sync_tree(&crate_dir.join(UNTWINNED_DIR), &untwinned)?;
    sync_tree(&crate_dir.join("src"), &src)?;

    let mut tests = BTreeMap::new();
    let course_tests = exercise.dir.join("tests");
    if course_tests.is_dir() {
        gather_files(&course_tests, Path::new(""), &mut tests)?;
    }
    let hidden_name = PathBuf::from(format!("{HIDDEN_TARGET}.rs"));
    if tests.contains_key(&hidden_name) {
        return Err(Error::new(format!(
            "{}/tests/{HIDDEN_TARGET}.rs clashes with the name the grader gives the hidden suite",
            exercise.dir.display()
        )));
    }
    let suite = fs::read(&exercise.suite).map_err(|e| Error::io(&exercise.suite, e))?;
    tests.insert(hidden_name, suite);
    let merged = merged_target(exercise, &tests)?;
    tests.insert(PathBuf::from(format!("{MERGED_TARGET}.rs")), merged);
    sync_tree(&crate_dir.join("tests"), &tests)?;

    let manifest = scratch_manifest(course, exercise, backend);
    write_if_changed(&crate_dir.join("Cargo.toml"), manifest.as_bytes())?;
    Ok(notes)
}

/// The source of [`MERGED_TARGET`]: each test target's file (the top-level
/// `tests/*.rs`) as a module named after it, so that `hidden::name` and
/// `visible::name` are its tests.
fn merged_target(
    exercise: &Exercise,
    tests: &BTreeMap<PathBuf, Vec<u8>>,
) -> Result<Vec<u8>, Error> {
    let mut text = String::from(
        "// Written by the Interleave grader: every test target of the crate, as modules.\n",
    );
    for file in tests.keys().filter(|f| f.parent() == Some(Path::new(""))) {
        let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let identifier = stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && stem.starts_with(|c: char| c.is_ascii_alphabetic());
        if stem == MERGED_TARGET || !identifier {
            return Err(Error::new(format!(
                "{}/tests/{stem}.rs: a test file's name must be a Rust identifier other than \
                 `{MERGED_TARGET}` (the grader puts every test file in one binary as modules)",
                exercise.dir.display()
            )));
        }
        text.push_str(&format!("#[path = \"{stem}.rs\"]\nmod {stem};\n"));
    }
    Ok(text.into_bytes())
}

/// The feedback note on what of `src` the grader's perturbation of
/// `std::sync` and `std::thread` does not reach (see
/// [`twin_paths::unperturbed`](crate::twin_paths::unperturbed)), if anything.
fn unperturbed_note(src: &BTreeMap<PathBuf, Vec<u8>>) -> Option<String> {
    let mut found: Vec<String> = src
        .values()
        .filter_map(|content| std::str::from_utf8(content).ok())
        .flat_map(crate::twin_paths::unperturbed)
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "Your code uses {}, which the grader runs as std's own, without the \
         scheduling noise it adds to std::sync and std::thread elsewhere: races \
         through it are less likely to show here. This costs no points.",
        found.join(", ")
    ))
}

/// Points the `std::sync`, `std::thread` and `core::sync` paths of every
/// `.rs` file in `src` at the chaos stand-in's twins of them (see
/// [`twin_paths`](crate::twin_paths); every line stays where it was). Returns
/// the changed files as they were.
fn point_std_at_twins(src: &mut BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut originals = BTreeMap::new();
    for (rel, content) in src.iter_mut() {
        let Ok(text) = std::str::from_utf8(content) else {
            continue;
        };
        if let Some(rewritten) = crate::twin_paths::rewrite(text) {
            originals.insert(
                rel.clone(),
                std::mem::replace(content, rewritten.into_bytes()),
            );
        }
    }
    originals
}

/// Undoes [`point_std_at_twins`] in a scratch crate (for the real
/// `parking_lot`, which has no twins).
fn restore_std_paths(crate_dir: &Path) -> Result<(), Error> {
    let kept = crate_dir.join(UNTWINNED_DIR);
    if !kept.is_dir() {
        return Ok(());
    }
    let mut originals = BTreeMap::new();
    gather_files(&kept, Path::new(""), &mut originals)?;
    for (rel, content) in originals {
        write_if_changed(&crate_dir.join("src").join(rel), &content)?;
    }
    Ok(())
}

/// The manifest of a scratch crate.
pub fn scratch_manifest(course: &Course, exercise: &Exercise, backend: LockBackend) -> String {
    let section = |deps: &BTreeMap<String, toml::Value>| {
        deps.iter()
            .map(|(name, spec)| {
                if name == "parking_lot" {
                    parking_lot_dependency(backend, course, spec)
                } else {
                    format!("{name} = {}", render_inline(spec))
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "# Written by the Interleave grader; the submission's own manifest is never used.\n\
         [package]\n\
         name = \"{package}\"\n\
         version = \"0.1.0\"\n\
         edition = \"{edition}\"\n\
         publish = false\n\
         autoexamples = false\n\
         autobenches = false\n\
         \n\
         [lib]\n\
         path = \"src/lib.rs\"\n\
         doctest = false\n\
         \n\
         [dependencies]\n\
         {deps}\n\
         \n\
         [dev-dependencies]\n\
         {dev}\n\
         \n\
         [lints.rust]\n\
         unsafe_code = \"forbid\"\n",
        package = exercise.package(),
        edition = course.edition,
        deps = section(&exercise.dependencies),
        dev = section(&exercise.dev_dependencies),
    )
}

fn gather_files(
    dir: &Path,
    rel: &Path,
    into: &mut BTreeMap<PathBuf, Vec<u8>>,
) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
        let rel = rel.join(entry.file_name());
        let path = entry.path();
        if path.is_dir() {
            gather_files(&path, &rel, into)?;
        } else {
            into.insert(rel, fs::read(&path).map_err(|e| Error::io(&path, e))?);
        }
    }
    Ok(())
}

/// Makes `dir` hold exactly `files`: writes the ones whose content differs
/// (so unchanged files keep their modification time and Cargo does not
/// rebuild them) and deletes the rest.
pub fn sync_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut existing = BTreeMap::new();
    if dir.is_dir() {
        gather_paths(dir, Path::new(""), &mut existing)?;
    }
    for (rel, is_dir) in existing.iter().rev() {
        if *is_dir {
            if !files.keys().any(|f| f.starts_with(rel)) {
                let _ = fs::remove_dir_all(dir.join(rel));
            }
        } else if !files.contains_key(rel) {
            let path = dir.join(rel);
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    for (rel, content) in files {
        write_if_changed(&dir.join(rel), content)?;
    }
    Ok(())
}

fn gather_paths(dir: &Path, rel: &Path, into: &mut BTreeMap<PathBuf, bool>) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
        let rel = rel.join(entry.file_name());
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        into.insert(rel.clone(), is_dir);
        if is_dir {
            gather_paths(&entry.path(), &rel, into)?;
        }
    }
    Ok(())
}

/// Writes `content` to `path` unless it already holds exactly that.
pub fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), Error> {
    if fs::read(path).ok().as_deref() == Some(content) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    fs::write(path, content).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_that_leave_src_are_refused() {
        let lib = Path::new("lib.rs");
        assert!(reads_outside_src(lib, r#"#![doc = include_str!("../README.md")]"#).is_some());
        assert!(
            reads_outside_src(lib, r#"const S: &str = include_str!("/etc/passwd");"#).is_some()
        );
        assert!(
            reads_outside_src(lib, r#"include!(concat!("..", "/../solutions/x.rs"));"#).is_some()
        );
        assert!(reads_outside_src(lib, "#[path = \"../../x.rs\"] mod x;").is_some());
        let nested = Path::new("queue/mod.rs");
        assert!(reads_outside_src(nested, r#"include!("../helpers.rs");"#).is_none());
        assert!(reads_outside_src(lib, r#"include!("parts/a.rs");"#).is_none());
        assert!(reads_outside_src(lib, "pub fn include() {}").is_none());
    }
}
