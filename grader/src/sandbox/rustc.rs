//! The compile sandbox: a `RUSTC_WORKSPACE_WRAPPER` for scratch builds.
//!
//! Cargo runs it (the grader binary in the [`Role::Rustc`](super::Role)
//! role) instead of rustc for every crate of the scratch workspace, that is
//! for the student's crate and the test targets built on it. Before it execs
//! rustc it confines itself:
//!
//! - Landlock: rustc may read the toolchain, the system's libraries (for the
//!   linker), the dependencies' artifacts and, of the scratch crate, only
//!   the folder being compiled: `src/` for the student's library and
//!   programs, `tests/` (and the course's shared test files beside the
//!   crates, such as `within.rs`) for a test target. `#[path]`, `include_str!` or
//!   `include_bytes!` reaching anything else (the course, another student,
//!   `/etc`) fail to compile, however the path is spelled. It may write only
//!   the dependencies' output folder and a private tmp.
//! - rlimits on CPU time and memory, so that an endless `const` evaluation
//!   or macro recursion ends with its own verdict.
//! - An environment of only Cargo's and the toolchain's variables, so that
//!   `env!` cannot compile the grader's secrets (tokens) into the submission.
//!
//! The grader moves a submission's compiled crates out of the shared output
//! folder straight after its build, so the next submission's compile never
//! finds them there.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::resource::Resource;
use serde::{Deserialize, Serialize};

use super::BuildLimits;
use super::confine::{self, FsRules};

/// How compiles of one build are confined.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RustcSpec {
    /// CPU and memory per rustc process.
    pub limits: BuildLimits,
    /// Whether to apply Landlock.
    pub landlock: bool,
    /// The toolchain: folders rustc and its proxies read.
    pub toolchain: Vec<PathBuf>,
    /// The shared target directory's profile folder (`.../debug`).
    pub profile_dir: PathBuf,
    /// A private tmp for rustc and the linker.
    pub tmp_dir: PathBuf,
}

/// Environment variables rustc keeps (by prefix); the rest are dropped.
const KEPT_ENV: &[&str] = &[
    "CARGO",
    "RUSTUP_",
    "RUSTC",
    "RUST_MIN_STACK",
    "PATH",
    "HOME",
    "LD_LIBRARY_PATH",
];

/// The wrapper's entry point: `argv[1]` is rustc, the rest its arguments.
pub fn main() -> i32 {
    let mut args = std::env::args_os().skip(1);
    let Some(rustc) = args.next() else {
        eprintln!(
            "{}the rustc wrapper needs a rustc to run",
            super::jail::SETUP_PREFIX
        );
        return 2;
    };
    let args: Vec<OsString> = args.collect();
    let spec: RustcSpec = match super::read_spec() {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("{}{e}", super::jail::SETUP_PREFIX);
            return 2;
        }
    };
    let error = confine_and_exec(&spec, Path::new(&rustc), &args);
    eprintln!("{}{error}", super::jail::SETUP_PREFIX);
    2
}

fn confine_and_exec(spec: &RustcSpec, rustc: &Path, args: &[OsString]) -> String {
    let mut command = Command::new(rustc);
    command.args(args).env_clear();
    for (key, value) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if KEPT_ENV.iter().any(|prefix| name.starts_with(prefix)) && name != super::SPEC_VAR {
            command.env(&key, &value);
        }
    }
    command.env("TMPDIR", &spec.tmp_dir);
    if let Some(source) = compiled_folder(args)
        && let Err(e) = confine(spec, &source)
    {
        return e;
    }
    let error = command.exec();
    format!("cannot run {}: {error}", rustc.display())
}

/// The folder of the scratch crate a compile reads: `<crate>/src` for the
/// library and its programs, `<crate>/tests` for a test target. `None` for
/// calls that compile nothing (`rustc -vV`, target queries).
fn compiled_folder(args: &[OsString]) -> Option<PathBuf> {
    let input = args
        .iter()
        .map(Path::new)
        .find(|a| a.extension().is_some_and(|e| e == "rs"))?;
    let input = input.canonicalize().ok()?;
    let mut dir = input.parent()?;
    // src/bin/x.rs and tests/common/mod.rs belong to src/ and tests/.
    while let Some(parent) = dir.parent() {
        if parent.join("Cargo.toml").is_file() {
            return Some(dir.to_path_buf());
        }
        dir = parent;
    }
    None
}

/// For a test target's compile (`<crate>/tests`), the files the course's
/// visible tests share across exercises (`within.rs`): the `.rs` files at
/// the scratch workspace's root, one folder above the crates. Only the
/// grader writes there, from the course's `exercises/*.rs`; a submission's
/// files land in its crate's `src/`.
fn shared_test_files(source: &Path) -> Vec<PathBuf> {
    if source.file_name().is_none_or(|name| name != "tests") {
        return Vec::new();
    }
    let Some(Ok(entries)) = source
        .parent()
        .and_then(Path::parent)
        .map(std::fs::read_dir)
    else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "rs"))
        .collect()
}

fn confine(spec: &RustcSpec, source: &Path) -> Result<(), String> {
    confine::limit(Resource::RLIMIT_AS, spec.limits.memory_bytes)?;
    nix::sys::resource::setrlimit(
        Resource::RLIMIT_CPU,
        spec.limits.cpu_secs,
        spec.limits.cpu_secs + 1,
    )
    .map_err(|e| format!("setrlimit(RLIMIT_CPU): {e}"))?;
    confine::limit(Resource::RLIMIT_CORE, 0)?;
    if spec.landlock {
        let mut rules = FsRules::system();
        rules.read.extend(spec.toolchain.iter().cloned());
        rules.read.push(source.to_path_buf());
        rules.read.extend(shared_test_files(source));
        let build = spec.profile_dir.join("build");
        if build.is_dir() {
            rules.read.push(build);
        }
        rules.write.push(spec.profile_dir.join("deps"));
        rules.write.push(spec.tmp_dir.clone());
        confine::restrict_filesystem(&rules)?;
    }
    Ok(())
}
