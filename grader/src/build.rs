//! Stage 2: compile a prepared submission's tests with Cargo.
//!
//! One `cargo build --bins --test '*' --keep-going` over the whole scratch workspace
//! compiles every exercise that can be compiled, in parallel, and reports the
//! others' errors per package. The target directory is shared by every
//! submission (`target/grading`), so dependencies compile once per machine
//! and a class only recompiles student code and the suites that link it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use crate::Error;
use crate::build_cache::BuildCache;
use crate::prepare::{HIDDEN_TARGET, MERGED_TARGET, Prepared, PreparedSubmission, Scope};
use crate::sandbox::SandboxOptions;

/// Longest compiler message kept for a report.
pub const MAX_MESSAGE_CHARS: usize = 3000;
/// Most compiler errors kept for a report.
pub const MAX_ERRORS: usize = 5;

/// How a scratch crate's tests are built.
///
/// Merged, the hidden suite and the visible tests are modules of one test
/// binary ([`MERGED_TARGET`]): measured on the ten solutions, 12.3 s of CPU
/// to compile instead of 15.5 s for one binary per test file. But then a
/// visible test file that does not compile takes the hidden suite with it,
/// so such a crate is built again split, one binary per file, and its
/// hidden suite is still graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One test binary for every test file.
    Merged,
    /// One test binary per test file.
    Split,
}

/// What building produced for one exercise.
#[derive(Debug, Clone)]
pub enum Built {
    /// Its hidden suite compiled.
    Ok(Binaries),
    /// It did not compile: the compiler's errors, trimmed.
    Failed(String),
}

/// The executables of one scratch crate.
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    /// The hidden suite's test binary (with [`Layout::Merged`], the binary
    /// of every test, the hidden ones named `hidden::...`).
    pub hidden: PathBuf,
    /// Whether [`hidden`](Self::hidden) holds the visible tests too.
    pub merged: bool,
    /// Each visible test target's binary, by target name.
    pub visible: BTreeMap<String, PathBuf>,
    /// Visible test targets that did not compile, with the first error.
    pub visible_failed: BTreeMap<String, String>,
    /// The crate's own binaries (`src/bin/*.rs`), by name, for
    /// `CARGO_BIN_EXE_<name>`.
    pub bins: BTreeMap<String, PathBuf>,
    /// The scratch crate's folder (the tests' working directory).
    pub crate_dir: PathBuf,
    /// A remark for the student about how it was built (set when it had to
    /// be built against the real `parking_lot`).
    pub note: Option<String>,
    /// The crate's compiled library in the shared target directory, removed
    /// from there straight after the build (see `isolate`).
    pub shared: Vec<PathBuf>,
}

/// The result of building one submission.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// By exercise number, for the exercises that were ready to build.
    pub exercises: BTreeMap<String, Built>,
    /// Wall-clock seconds Cargo took.
    pub secs: f64,
    /// The exercises whose merged tests did not compile because of errors in
    /// a visible test file (to be built again split).
    pub visible_errors: Vec<String>,
}

/// The `cargo` to run: the one that launched us, if any.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    // Nothing from an outer Cargo invocation may change how scratch crates
    // are built, or the build cache would be invalidated back and forth.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
    ] {
        command.env_remove(var);
    }
    command
}

static FETCHED: Mutex<bool> = Mutex::new(false);

/// Makes sure every dependency of the scratch workspace is downloaded, so
/// builds can run with `--offline`. Downloads only if something is missing.
fn ensure_fetched(workspace: &Path) -> Result<(), Error> {
    let mut fetched = FETCHED.lock().expect("fetch flag");
    if *fetched {
        return Ok(());
    }
    let manifest = workspace.join("Cargo.toml");
    let offline = cargo()
        .args(["fetch", "--offline", "--manifest-path"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !offline.success() {
        let output = cargo()
            .args(["fetch", "--manifest-path"])
            .arg(&manifest)
            .stdout(Stdio::null())
            .output()
            .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
        if !output.status.success() {
            return Err(Error::new(format!(
                "cargo fetch failed (the scratch crates' dependencies could not be downloaded):\n{}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
    }
    *fetched = true;
    Ok(())
}

/// Compiles the tests of every ready exercise of `prepared`, every compile
/// confined by the sandbox's rustc wrapper, the whole build under its
/// wall-clock limit; a crate whose exact bytes `cache` has seen built
/// before is taken from there instead.
pub fn build(
    prepared: &PreparedSubmission,
    grading_dir: &Path,
    sandbox: &SandboxOptions,
    cache: Option<&BuildCache>,
) -> Result<BuildOutput, Error> {
    let (hits, keys) = match cache {
        Some(cache) => look_up(cache, prepared)?,
        None => (BTreeMap::new(), BTreeMap::new()),
    };
    let misses: Vec<String> = prepared
        .exercises
        .iter()
        .map(|e| e.exercise.number.clone())
        .filter(|number| !hits.contains_key(number))
        .collect();
    let mut built = compile_all(&only(prepared, &misses), grading_dir, sandbox)?;
    if let Some(cache) = cache {
        for (number, key) in &keys {
            if let Some(Built::Ok(binaries)) = built.exercises.get(number) {
                // A cache that cannot keep an entry only costs the next build.
                let _ = cache.put(key, binaries);
            }
        }
    }
    built
        .exercises
        .extend(hits.into_iter().map(|(number, b)| (number, Built::Ok(b))));
    Ok(built)
}

/// Per ready exercise of `prepared`, the binaries `cache` holds for its
/// bytes, and the keys of those it does not hold.
#[allow(clippy::type_complexity)]
fn look_up(
    cache: &BuildCache,
    prepared: &PreparedSubmission,
) -> Result<(BTreeMap<String, Binaries>, BTreeMap<String, String>), Error> {
    let mut hits = BTreeMap::new();
    let mut keys = BTreeMap::new();
    for exercise in &prepared.exercises {
        let Prepared::Ready { crate_dir, .. } = &exercise.state else {
            continue;
        };
        let scope = format!("{:?}", prepared.scope);
        let key = cache.key(&prepared.workspace, crate_dir, &scope)?;
        let number = exercise.exercise.number.clone();
        match cache.get(&key, crate_dir) {
            Some(binaries) => {
                hits.insert(number, binaries);
            }
            None => {
                keys.insert(number, key);
            }
        }
    }
    Ok((hits, keys))
}

/// [`build`] without the cache.
fn compile_all(
    prepared: &PreparedSubmission,
    grading_dir: &Path,
    sandbox: &SandboxOptions,
) -> Result<BuildOutput, Error> {
    let target = grading_dir;
    let tmp = prepared.workspace.join(".rustc-tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let env = sandbox.cargo_env(target, &tmp)?;
    let wall = std::time::Duration::from_secs(sandbox.build_limits.wall_secs);
    let layout = match prepared.scope {
        Scope::Full => Layout::Merged,
        Scope::HiddenOnly | Scope::UntilCaught => Layout::Split,
    };
    let mut built = build_with(prepared, target, &env, wall, layout)?;
    if !built.visible_errors.is_empty() {
        let again = build_with(
            &only(prepared, &built.visible_errors),
            target,
            &env,
            wall,
            Layout::Split,
        )?;
        built.secs += again.secs;
        built.exercises.extend(again.exercises);
    }
    for outcome in built.exercises.values_mut() {
        if let Built::Failed(message) = outcome {
            *message = explain_build_limits(message, sandbox);
        }
    }
    Ok(built)
}

/// Says so when a compile failed because it hit the build's limits.
fn explain_build_limits(message: &str, sandbox: &SandboxOptions) -> String {
    let limits = &sandbox.build_limits;
    let why = if message.contains("SIGXCPU") || message.contains("signal: 24") {
        format!(
            "compiling used more than {} s of CPU time, the build's limit (an endless `const` \
             evaluation or macro recursion?)",
            limits.cpu_secs
        )
    } else if message.contains("memory allocation of") || message.contains("SIGKILL") {
        format!(
            "compiling used more than {} of memory, the build's limit",
            crate::sandbox::Limits {
                memory_bytes: limits.memory_bytes,
                ..Default::default()
            }
            .memory_words()
        )
    } else if message.contains("Permission denied") {
        "the code reads a file outside its own src/ folder (with #[path], include_str!, \
         include_bytes! or include!); the grader takes only src/**/*.rs, so keep all code there"
            .to_string()
    } else {
        return message.to_string();
    };
    format!("error: {why}\n\n{message}")
}

/// Builds again, after their manifests were switched to the real
/// `parking_lot`, the exercises `numbers` of `prepared` that did not compile
/// against the chaos stand-in. Those that compile now used a part of
/// `parking_lot` the stand-in lacks: they are kept, with a note saying so;
/// the others keep the errors of this build (what the student sees at home).
pub fn rebuild_with_real_parking_lot(
    prepared: &PreparedSubmission,
    grading_dir: &Path,
    sandbox: &SandboxOptions,
    numbers: &[String],
    built: &mut BuildOutput,
) -> Result<(), Error> {
    let again = build(&only(prepared, numbers), grading_dir, sandbox, None)?;
    built.secs += again.secs;
    for (number, result) in again.exercises {
        let result = match (result, built.exercises.get(&number)) {
            (Built::Ok(mut binaries), Some(Built::Failed(chaos_errors))) => {
                let first = chaos_errors
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("it did not compile");
                binaries.note = Some(format!(
                    "Graded with the real parking_lot and std: your code uses a part of \
                     parking_lot or std::sync / std::thread that the grader's race-finding \
                     stand-in does not provide ({}). The real crates show fewer races, so \
                     passing here proves less.",
                    first.trim()
                ));
                Built::Ok(binaries)
            }
            (result, _) => result,
        };
        built.exercises.insert(number, result);
    }
    Ok(())
}

/// `prepared` with only the exercises `numbers`.
fn only(prepared: &PreparedSubmission, numbers: &[String]) -> PreparedSubmission {
    PreparedSubmission {
        exercises: prepared
            .exercises
            .iter()
            .filter(|e| numbers.contains(&e.exercise.number))
            .cloned()
            .collect(),
        ..prepared.clone()
    }
}

/// [`build`] into `target_dir`, with extra environment for Cargo, stopped
/// after `wall`, the tests laid out as `layout` says.
pub fn build_with(
    prepared: &PreparedSubmission,
    target_dir: &Path,
    env: &[(String, String)],
    wall: std::time::Duration,
    layout: Layout,
) -> Result<BuildOutput, Error> {
    let started = Instant::now();
    let mut exercises = BTreeMap::new();
    let mut visible_errors = Vec::new();
    if !prepared.any_ready() {
        return Ok(BuildOutput {
            exercises,
            secs: 0.0,
            visible_errors,
        });
    }
    ensure_fetched(&prepared.workspace)?;
    let command = build_command(prepared, target_dir, env, layout);
    let output = run_cargo(command, wall)?;
    if output.timed_out {
        let message = format!(
            "error: the build took longer than {} s, the build's wall-clock limit, and was \
             stopped",
            wall.as_secs()
        );
        for p in &prepared.exercises {
            if matches!(p.state, Prepared::Ready { .. }) {
                exercises.insert(p.exercise.number.clone(), Built::Failed(message.clone()));
            }
        }
        return Ok(BuildOutput {
            exercises,
            secs: started.elapsed().as_secs_f64(),
            visible_errors,
        });
    }
    let mut messages = Messages::read(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for prepared_exercise in &prepared.exercises {
        let Prepared::Ready { crate_dir, .. } = &prepared_exercise.state else {
            continue;
        };
        // Messages are keyed by the scratch crate's folder name.
        let package = crate_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let diagnostics = messages.errors.remove(&package).unwrap_or_default();
        let mut found = messages.binaries.remove(&package).unwrap_or_default();
        found.crate_dir = crate_dir.clone();
        isolate(&mut found, crate_dir)?;
        let built = if found.hidden.as_os_str().is_empty() {
            if layout == Layout::Merged && diagnostics.iter().any(Diagnostic::in_visible_file) {
                visible_errors.push(prepared_exercise.exercise.number.clone());
            }
            let failure = Failure {
                package: &package,
                diagnostics: &diagnostics,
                stderr: &stderr,
                cargo_failed: !output.status.success(),
            };
            Built::Failed(failure.message(prepared)?)
        } else {
            keep_visible_failures(&mut found, &diagnostics, &package);
            Built::Ok(found)
        };
        exercises.insert(prepared_exercise.exercise.number.clone(), built);
    }
    Ok(BuildOutput {
        exercises,
        secs: started.elapsed().as_secs_f64(),
        visible_errors,
    })
}

/// The one `cargo build` of a scratch workspace: the crates' own programs,
/// which tests may run (`CARGO_BIN_EXE_<name>`), and the hidden suite, or
/// every integration test target.
fn build_command(
    prepared: &PreparedSubmission,
    target_dir: &Path,
    env: &[(String, String)],
    layout: Layout,
) -> Command {
    let tests: Vec<String> = match (prepared.scope, layout) {
        (Scope::Full, Layout::Merged) => vec![MERGED_TARGET.to_string()],
        (Scope::Full, Layout::Split) => split_targets(prepared),
        (Scope::HiddenOnly | Scope::UntilCaught, _) => vec![HIDDEN_TARGET.to_string()],
    };
    let mut command = cargo();
    command.args(["build", "--offline", "--bins"]);
    // Only the crates to build: others of the workspace may come from the
    // cache, or have been built already.
    for exercise in &prepared.exercises {
        if matches!(exercise.state, Prepared::Ready { .. }) {
            command.args(["-p", &exercise.exercise.package()]);
        }
    }
    for test in tests {
        command.args(["--test", &test]);
    }
    command
        .args([
            "--keep-going",
            "--message-format",
            "json",
            "--color",
            "never",
            "--manifest-path",
        ])
        .arg(prepared.workspace.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
        // No incremental caches: they would keep data derived from one
        // student's code where the next student's compile can read it.
        .env("CARGO_INCREMENTAL", "0")
        .envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// Every test target of the ready crates of `prepared` but the merged one:
/// the stems of their top-level `tests/*.rs`.
fn split_targets(prepared: &PreparedSubmission) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for exercise in &prepared.exercises {
        let Prepared::Ready { crate_dir, .. } = &exercise.state else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(crate_dir.join("tests")) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && stem != MERGED_TARGET
            {
                names.insert(stem.to_string());
            }
        }
    }
    names.into_iter().collect()
}

/// What Cargo's JSON messages said, by scratch crate.
#[derive(Default)]
struct Messages {
    binaries: BTreeMap<String, Binaries>,
    errors: BTreeMap<String, Vec<Diagnostic>>,
}

impl Messages {
    /// Reads `cargo build --message-format json` output.
    fn read(stdout: &[u8]) -> Messages {
        let mut messages = Messages::default();
        for line in stdout.split(|b| *b == b'\n') {
            let Ok(message) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            let Some(package) = package_of(&message) else {
                continue;
            };
            match message["reason"].as_str() {
                Some("compiler-artifact") => {
                    messages.artifact(package, &message);
                }
                Some("compiler-message") => {
                    let level = message["message"]["level"].as_str().unwrap_or_default();
                    if level.starts_with("error") {
                        let diagnostic = Diagnostic::of(&message);
                        messages.errors.entry(package).or_default().push(diagnostic);
                    }
                }
                _ => {}
            }
        }
        messages
    }

    /// Records a built artifact: a library's files, the hidden suite, a
    /// visible test target or one of the crate's programs.
    fn artifact(&mut self, package: String, message: &Value) {
        let entry = self.binaries.entry(package).or_default();
        let name = message["target"]["name"].as_str().unwrap_or_default();
        let kinds = target_kinds(message);
        if kinds.iter().any(|k| k.ends_with("lib")) {
            let files = message["filenames"].as_array().cloned().unwrap_or_default();
            entry
                .shared
                .extend(files.iter().filter_map(Value::as_str).map(PathBuf::from));
        }
        let Some(executable) = message["executable"].as_str() else {
            return;
        };
        if kinds.iter().any(|k| k == "test") {
            if name == MERGED_TARGET {
                entry.hidden = PathBuf::from(executable);
                entry.merged = true;
            } else if name == HIDDEN_TARGET {
                entry.hidden = PathBuf::from(executable);
            } else {
                entry.visible.insert(name.to_string(), executable.into());
            }
        } else if kinds.iter().any(|k| k == "bin") {
            entry.bins.insert(name.to_string(), executable.into());
        }
    }
}

/// The kinds of the target a Cargo message is about (`lib`, `test`, `bin`).
fn target_kinds(message: &Value) -> Vec<String> {
    message["target"]["kind"]
        .as_array()
        .map(|k| {
            k.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Notes the visible test targets that did not compile (the hidden suite
/// did), with their first error.
fn keep_visible_failures(found: &mut Binaries, diagnostics: &[Diagnostic], package: &str) {
    for diagnostic in diagnostics.iter().filter(|d| d.is_visible_test()) {
        found
            .visible_failed
            .entry(diagnostic.target.clone())
            .or_insert_with(|| trim_errors(std::iter::once(diagnostic.message.as_str()), package));
    }
}

/// A scratch crate whose hidden suite did not build, and what Cargo said.
struct Failure<'a> {
    package: &'a str,
    diagnostics: &'a [Diagnostic],
    stderr: &'a str,
    cargo_failed: bool,
}

impl Failure<'_> {
    /// The compiler's errors for the student: those in the library (or in
    /// the hidden suite's use of it) first, else any; `Err` when Cargo
    /// itself failed with nothing about this crate.
    fn message(&self, prepared: &PreparedSubmission) -> Result<String, Error> {
        let relevant: Vec<&Diagnostic> = self
            .diagnostics
            .iter()
            .filter(|d| !d.is_visible_test())
            .collect();
        if !relevant.is_empty() {
            return Ok(trim_errors(
                relevant.iter().map(|d| d.message.as_str()),
                self.package,
            ));
        }
        if !self.diagnostics.is_empty() {
            return Ok(trim_errors(
                self.diagnostics.iter().map(|d| d.message.as_str()),
                self.package,
            ));
        }
        // Cargo failed without a compiler message for this package (a
        // linker failure, say): keep what it printed about it.
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.contains(self.package) || l.starts_with("error"))
            .collect();
        if !lines.is_empty() {
            return Ok(trim_errors(lines.into_iter(), self.package));
        }
        if self.cargo_failed && self.stderr.contains("error") {
            return Err(Error::new(format!(
                "cargo could not build the scratch workspace {}:\n{}",
                prepared.workspace.display(),
                tail(self.stderr, 40)
            )));
        }
        Ok("the hidden tests did not compile (no compiler message)".to_string())
    }
}

struct Diagnostic {
    target: String,
    kinds: Vec<String>,
    message: String,
    /// The files of its primary spans, as rustc names them.
    files: Vec<String>,
}

impl Diagnostic {
    /// The error a `compiler-message` carries.
    fn of(message: &Value) -> Diagnostic {
        Diagnostic {
            target: message["target"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            kinds: target_kinds(message),
            message: diagnostic_text(&message["message"]),
            files: primary_files(&message["message"]),
        }
    }

    /// Whether it is about a visible test: in a visible test target, or in a
    /// visible test file of the merged one.
    fn is_visible_test(&self) -> bool {
        self.kinds.iter().any(|k| k == "test")
            && match self.target.as_str() {
                HIDDEN_TARGET => false,
                MERGED_TARGET => self.in_visible_file(),
                _ => true,
            }
    }

    /// Whether one of its primary spans is in a visible test file: under
    /// `tests/`, but neither the hidden suite nor the merged target's file.
    fn in_visible_file(&self) -> bool {
        self.files.iter().any(|file| {
            let in_tests = file.starts_with("tests/") || file.contains("/tests/");
            let ours = [HIDDEN_TARGET, MERGED_TARGET]
                .iter()
                .any(|t| file.ends_with(&format!("tests/{t}.rs")));
            in_tests && !ours
        })
    }
}

/// The scratch crate (its folder name, `exercise-NN-sK`) a Cargo message is
/// about, from its manifest path.
fn package_of(message: &Value) -> Option<String> {
    let manifest = message["manifest_path"].as_str()?;
    let dir = Path::new(manifest).parent()?.file_name()?.to_str()?;
    dir.starts_with("exercise-").then(|| dir.to_string())
}

/// The files of a diagnostic's primary spans.
fn primary_files(message: &Value) -> Vec<String> {
    message["spans"]
        .as_array()
        .map(|spans| {
            spans
                .iter()
                .filter(|s| s["is_primary"].as_bool() == Some(true))
                .filter_map(|s| s["file_name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The text of one compiler diagnostic. Errors located in the hidden suite
/// keep only their headline, so feedback never shows the suite's source.
fn diagnostic_text(message: &Value) -> String {
    let in_hidden = message["spans"]
        .as_array()
        .map(|spans| {
            spans.iter().any(|s| {
                s["is_primary"].as_bool() == Some(true)
                    && s["file_name"]
                        .as_str()
                        .is_some_and(|f| f.ends_with(&format!("tests/{HIDDEN_TARGET}.rs")))
            })
        })
        .unwrap_or(false);
    if in_hidden {
        let code = message["code"]["code"]
            .as_str()
            .map(|c| format!("[{c}]"))
            .unwrap_or_default();
        let text = message["message"].as_str().unwrap_or("error");
        format!(
            "error{code}: {text}\n  (in the hidden tests: your public API differs from the one the \
             exercise asks for; compare names, parameter and return types with the README)"
        )
    } else {
        message["rendered"]
            .as_str()
            .or_else(|| message["message"].as_str())
            .unwrap_or("error")
            .to_string()
    }
}

/// Joins compiler errors into one message for a student: at most
/// [`MAX_ERRORS`] errors and [`MAX_MESSAGE_CHARS`] characters, with paths
/// relative to the exercise (`src/lib.rs:3:5`, not the scratch folder
/// `crate_dir_name`).
pub fn trim_errors<'a>(errors: impl Iterator<Item = &'a str>, crate_dir_name: &str) -> String {
    let prefix = format!("{crate_dir_name}/");
    let mut kept = Vec::new();
    let mut skipped = 0;
    for error in errors {
        let error = error.trim_end();
        if error.starts_with("error: aborting due to") || error.is_empty() {
            continue;
        }
        if kept.len() < MAX_ERRORS {
            kept.push(error.replace(&prefix, ""));
        } else {
            skipped += 1;
        }
    }
    let mut text = kept.join("\n\n");
    if text.chars().count() > MAX_MESSAGE_CHARS {
        text = text.chars().take(MAX_MESSAGE_CHARS).collect();
        text.push_str("\n[... trimmed]");
    }
    if skipped > 0 {
        text.push_str(&format!("\n\n[... and {skipped} more errors]"));
    }
    text
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Moves a crate's compiled code out of the shared target directory, into
/// `built/` next to the crate, and returns nothing of it there.
///
/// Every submission compiles into the same `deps` folder, which the next
/// submission's compile must be able to read (its dependencies are there).
/// So a student's library, tests and programs leave it as soon as their
/// build is done: the next compile, running while these tests run, finds
/// nothing of another student there. (Cargo rebuilds them next time; a new
/// submission changes them anyway.) Moving also keeps this submission's
/// binaries from being replaced by the next build's while its tests run.
fn isolate(found: &mut Binaries, crate_dir: &Path) -> Result<(), Error> {
    let dir = crate_dir.join("built");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let take = |from: &Path, name: &str| -> Result<PathBuf, Error> {
        let to = dir.join(name);
        std::fs::rename(from, &to).map_err(|e| {
            Error::new(format!(
                "cannot move {} to {}: {e}",
                from.display(),
                to.display()
            ))
        })?;
        Ok(to)
    };
    if !found.hidden.as_os_str().is_empty() {
        found.hidden = take(&found.hidden.clone(), "test-hidden")?;
    }
    for (name, path) in found.visible.iter_mut() {
        *path = take(path, &format!("test-{name}"))?;
    }
    for (name, path) in found.bins.iter_mut() {
        let twin = deps_twin(path);
        *path = take(path, name)?;
        if let Some(twin) = twin {
            let _ = std::fs::remove_file(twin);
        }
    }
    for file in found.shared.drain(..) {
        let _ = std::fs::remove_file(file);
    }
    Ok(())
}

/// The `deps/<name>-<hash>` file that Cargo hard-links a program's
/// `target/debug/<name>` from.
fn deps_twin(uplifted: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(uplifted).ok()?.ino();
    let name = uplifted.file_name()?.to_str()?;
    let deps = uplifted.parent()?.join("deps");
    std::fs::read_dir(deps)
        .ok()?
        .flatten()
        .find(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
                && entry.metadata().is_ok_and(|m| m.ino() == inode)
        })
        .map(|entry| entry.path())
}

/// What a Cargo build printed, and whether it ran out of time.
struct CargoOutput {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
}

/// Runs Cargo in its own process group and kills the group after `wall`.
fn run_cargo(mut command: Command, wall: std::time::Duration) -> Result<CargoOutput, Error> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use wait_timeout::ChildExt;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    let read_all = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read_all(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = read_all(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let waited = child
        .wait_timeout(wall)
        .map_err(|e| Error::new(format!("cannot wait for cargo: {e}")))?;
    let timed_out = waited.is_none();
    if timed_out {
        // SAFETY: signalling a process group we created.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
    }
    let status = match waited {
        Some(status) => status,
        None => child
            .wait()
            .map_err(|e| Error::new(format!("cannot wait for cargo: {e}")))?,
    };
    Ok(CargoOutput {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(target: &str, file: &str) -> Diagnostic {
        Diagnostic {
            target: target.to_string(),
            kinds: vec!["test".to_string()],
            message: "error".to_string(),
            files: vec![file.to_string()],
        }
    }

    /// In the merged binary, an error in a visible test file is a visible
    /// test's (the crate is built again split); one in the hidden suite is not.
    #[test]
    fn errors_in_the_merged_binary_are_told_apart_by_file() {
        let visible = diagnostic(MERGED_TARGET, "exercise-05-s0/tests/visible.rs");
        assert!(visible.in_visible_file() && visible.is_visible_test());
        let hidden = diagnostic(MERGED_TARGET, "exercise-05-s0/tests/hidden.rs");
        assert!(!hidden.in_visible_file() && !hidden.is_visible_test());
        let merged = diagnostic(MERGED_TARGET, "exercise-05-s0/tests/graded.rs");
        assert!(!merged.in_visible_file());
        let library = diagnostic(MERGED_TARGET, "exercise-05-s0/src/lib.rs");
        assert!(!library.in_visible_file());
        assert!(diagnostic("visible", "exercise-05-s0/tests/visible.rs").is_visible_test());
        assert!(!diagnostic(HIDDEN_TARGET, "exercise-05-s0/tests/hidden.rs").is_visible_test());
    }
}
