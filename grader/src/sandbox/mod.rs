//! The sandbox around student code: every test process and every compile of
//! a submission.
//!
//! Student code is hostile (see the Security model in `grader/README.md`).
//! The kernel, not a text check, keeps it in:
//!
//! - **Test processes** start through the *jail* ([`jail`]): the grader
//!   re-executes itself in the [`Role::Jail`] role, which drops to an
//!   unprivileged uid, enters new user, mount, PID, network, IPC and UTS
//!   namespaces (only loopback is up), mounts a private size-limited tmp
//!   and a `/proc` that shows only the test's own processes, becomes the
//!   namespace's init, and starts the test with rlimits, a Landlock ruleset
//!   (read only the system libraries and the test's own binaries, write only
//!   its tmp, signal nothing outside) and a seccomp filter (no ptrace, no
//!   reading other memory, no new namespaces). When the test ends, init ends
//!   and the kernel kills everything the test started. The jail also holds
//!   the one-time secret of the pass record (`harness::proof`) and turns it
//!   into its own exit status, which no process inside can set.
//! - **Compiles** of student code go through [`rustc`], a
//!   `RUSTC_WORKSPACE_WRAPPER` that confines rustc with Landlock (its own
//!   `src/`, the toolchain and the dependencies' artifacts) and rlimits on
//!   CPU time and memory.
//!
//! [`probe`] finds out once per grading run which of these protections the
//! kernel grants; the result is reported in every report and a run refuses
//! to start without the essential ones unless `--no-sandbox` is given.

#![allow(unsafe_code)]

pub mod cgroup;
pub mod confine;
pub mod jail;
pub mod probe;
pub mod rustc;
pub mod stage;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

pub use probe::{Protection, Protections};

use crate::model::{Fault, Outcome};

/// Environment variable that selects a role of the grader binary.
pub const ROLE_VAR: &str = "INTERLEAVE_ROLE";
/// Environment variable that carries a role's settings (JSON).
pub const SPEC_VAR: &str = "INTERLEAVE_SPEC";

/// What the grader binary was started to do, besides its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Start one test process in a sandbox ([`jail::main`]).
    Jail,
    /// Wrap one rustc call of a scratch build ([`rustc::main`]).
    Rustc,
    /// Report which protections the kernel grants ([`probe::main`]).
    Probe,
    /// Be the preflight's known-good test, inside a jail
    /// ([`crate::preflight::test_main`]).
    Preflight,
}

impl Role {
    /// The role the environment asks for, if any.
    pub fn from_env() -> Option<Role> {
        match std::env::var(ROLE_VAR).ok()?.as_str() {
            "jail" => Some(Role::Jail),
            "rustc" => Some(Role::Rustc),
            "probe" => Some(Role::Probe),
            "preflight" => Some(Role::Preflight),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Jail => "jail",
            Role::Rustc => "rustc",
            Role::Probe => "probe",
            Role::Preflight => "preflight",
        }
    }

    /// Runs the role and returns the process's exit code.
    pub fn run(self) -> i32 {
        match self {
            Role::Jail => jail::main(),
            Role::Rustc => rustc::main(),
            Role::Probe => probe::main(),
            Role::Preflight => crate::preflight::test_main(),
        }
    }
}

/// A command that runs this grader binary in `role` with `spec`: the very
/// binary this process runs (`/proc/self/exe`, valid even while a rebuild
/// replaces the file), unless `INTERLEAVE_GRADER_BIN` names another.
pub fn role_command(role: Role, spec: &impl Serialize) -> Command {
    let program = match std::env::var_os("INTERLEAVE_GRADER_BIN") {
        Some(path) => PathBuf::from(path),
        None if exists(Path::new("/proc/self/exe")) => PathBuf::from("/proc/self/exe"),
        None => grader_binary(),
    };
    let mut command = Command::new(program);
    command.env(ROLE_VAR, role.name()).env(
        SPEC_VAR,
        serde_json::to_string(spec).expect("a spec serializes"),
    );
    command
}

/// The grader binary: this process's own executable, unless
/// `INTERLEAVE_GRADER_BIN` names another one (for the library's own tests,
/// which run inside a test binary).
pub fn grader_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("INTERLEAVE_GRADER_BIN") {
        return PathBuf::from(path);
    }
    let path = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("grader"));
    // A rebuilt binary: the new file at the same path.
    match path.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(live) => PathBuf::from(live),
        None => path,
    }
}

/// The settings a role reads from [`SPEC_VAR`].
pub fn read_spec<T: for<'de> Deserialize<'de>>() -> Result<T, String> {
    let text = std::env::var(SPEC_VAR).map_err(|_| format!("{SPEC_VAR} is not set"))?;
    serde_json::from_str(&text).map_err(|e| format!("{SPEC_VAR}: {e}"))
}

/// Resource limits of one test process (and everything it starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Address space of each process, in bytes (`RLIMIT_AS`).
    pub memory_bytes: u64,
    /// Threads plus processes at once (`RLIMIT_NPROC`, counted per sandbox).
    pub tasks: u64,
    /// Largest file it may write, in bytes (`RLIMIT_FSIZE`), and the size of
    /// its private tmp.
    pub file_bytes: u64,
    /// Open file descriptors per process (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// CPU seconds per process (`RLIMIT_CPU`).
    pub cpu_secs: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory_bytes: 1 << 30,
            tasks: 512,
            file_bytes: 64 << 20,
            open_files: 1024,
            cpu_secs: 60,
        }
    }
}

impl Limits {
    /// The memory limit in words, e.g. `1 GiB`.
    pub fn memory_words(&self) -> String {
        bytes_in_words(self.memory_bytes)
    }

    /// The file-size limit in words.
    pub fn file_words(&self) -> String {
        bytes_in_words(self.file_bytes)
    }
}

/// Limits of one compile of student code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildLimits {
    /// CPU seconds per rustc process.
    pub cpu_secs: u64,
    /// Address space of each rustc process, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock seconds for the whole build of one submission.
    pub wall_secs: u64,
}

impl Default for BuildLimits {
    fn default() -> BuildLimits {
        BuildLimits {
            cpu_secs: 120,
            memory_bytes: 4 << 30,
            wall_secs: 300,
        }
    }
}

fn bytes_in_words(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// Whether `path` exists, for optional system paths in rulesets.
pub(crate) fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// How a grading run starts its test processes: the isolation the probe
/// allows, the limits, and a folder for the tests' private tmps (removed
/// when this is dropped).
#[derive(Debug)]
pub struct TestSandbox {
    /// What each jail applies.
    pub isolation: jail::Isolation,
    /// Each test's limits.
    pub limits: Limits,
    /// Where the private tmps are made (one folder per grading run).
    pub boxes: PathBuf,
    /// Where the programs the jails run are staged, when they drop to an
    /// unprivileged uid ([`stage`]).
    staging: Option<stage::Staging>,
    /// This run's control groups, when the machine offers them ([`cgroup`]).
    groups: Option<cgroup::RunGroups>,
    /// Whether the preflight passed; faults are injected only after it
    /// ([`crate::preflight`]).
    armed: std::sync::atomic::AtomicBool,
}

/// A program, the files it may execute and its environment, as staged for
/// the jail's uid ([`stage`]).
type Staged = (PathBuf, Vec<PathBuf>, Vec<(String, String)>);

/// A test's private tmp on the host and its control group, removed when
/// dropped.
#[derive(Debug)]
pub struct BoxDir {
    /// The folder.
    pub path: PathBuf,
    /// The test's control group, if it has one.
    pub cgroup: Option<cgroup::TestCgroup>,
}

impl Drop for BoxDir {
    fn drop(&mut self) {
        if let Some(cgroup) = &self.cgroup {
            cgroup.remove();
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The uid tests run as when the grader runs as root and a user namespace
/// maps it (`nobody`).
const NOBODY: u32 = 65534;

static NEXT_BOX: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl TestSandbox {
    /// A sandbox whose private tmps go in a new folder under the system's tmp.
    /// All its tests together weigh as much as `jobs` processes for the CPU.
    pub fn new(
        isolation: jail::Isolation,
        limits: Limits,
        jobs: usize,
    ) -> std::io::Result<TestSandbox> {
        use std::os::unix::fs::PermissionsExt;
        let boxes = tempfile::Builder::new()
            .prefix("interleave-boxes-")
            .tempdir()?
            .keep();
        // Traversable (not listable) by the unprivileged uid the jails drop to.
        std::fs::set_permissions(&boxes, std::fs::Permissions::from_mode(0o711))?;
        let staging = match isolation.drop_uid {
            true => Some(stage::Staging::new(&boxes)?),
            false => None,
        };
        let groups = match (isolation.limits, cgroup::base()) {
            (true, Ok(base)) => {
                Some(cgroup::RunGroups::new(base, jobs as u64).map_err(std::io::Error::other)?)
            }
            _ => None,
        };
        Ok(TestSandbox {
            isolation,
            limits,
            boxes,
            staging,
            groups,
            armed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether each test's whole process tree has a control group.
    pub fn has_cgroups(&self) -> bool {
        self.groups.is_some()
    }

    /// Called once the preflight passed: from now on, faults asked for by
    /// `INTERLEAVE_INJECT_FAULT` are injected.
    pub fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn inject(&self, fault: crate::inject::Injected) -> bool {
        self.armed.load(std::sync::atomic::Ordering::Relaxed) && crate::inject::is(fault)
    }

    /// The verdict on a test that ended with `outcome`, given what its
    /// control group counted ([`cgroup::Usage::verdict`]).
    pub fn judge_tree(&self, boxed: &BoxDir, outcome: Outcome) -> Outcome {
        match &boxed.cgroup {
            Some(cgroup) => cgroup.usage().verdict(outcome, &self.limits),
            None => outcome,
        }
    }

    /// `program` and `exec` as the jail's uid can reach them (staged), and
    /// `env` with every path to one of them replaced by its staged path.
    fn staged(
        &self,
        program: &Path,
        exec: Vec<PathBuf>,
        env: Vec<(String, String)>,
    ) -> Result<Staged, Fault> {
        let Some(staging) = &self.staging else {
            return Ok((program.to_path_buf(), exec, env));
        };
        let mut moved = Vec::new();
        for path in exec.iter().chain([&program.to_path_buf()]) {
            moved.push((path.clone(), staging.stage(path)?));
        }
        let program = moved.last().expect("the program").1.clone();
        let exec = moved.iter().map(|(_, to)| to.clone()).collect();
        let env = env
            .into_iter()
            .map(|(key, value)| {
                let to = moved
                    .iter()
                    .find(|(from, _)| from.as_os_str() == value.as_str());
                let staged = to.map(|(_, to)| to.to_string_lossy().into_owned());
                (key, staged.unwrap_or(value))
            })
            .collect();
        Ok((program, exec, env))
    }

    /// Makes a private tmp (and control group) and the jail command that
    /// runs `program` in it. `exec` are the files and folders the test may
    /// execute; `share` is the rank of the submission whose CPU share the
    /// test draws on ([`cgroup`]). What keeps it from starting is a fault
    /// of the grader.
    pub fn command(
        &self,
        program: &Path,
        args: Vec<String>,
        env: Vec<(String, String)>,
        exec: Vec<PathBuf>,
        expect_proof: bool,
        share: u64,
    ) -> Result<(Command, BoxDir), Fault> {
        let (program, exec, env) = self.staged(program, exec, env)?;
        let n = NEXT_BOX.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let start = |detail: String| Fault::SandboxStart { detail };
        let path = self.boxes.join(format!("box-{n}"));
        std::fs::create_dir(&path).map_err(|e| start(format!("mkdir {}: {e}", path.display())))?;
        let mut boxed = BoxDir { path, cgroup: None };
        if let Some(groups) = &self.groups {
            boxed.cgroup = Some(groups.test(n, &self.limits, share).map_err(start)?);
        }
        let uid = self.uid(n);
        if self.isolation.drop_uid {
            std::os::unix::fs::chown(&boxed.path, Some(uid), Some(uid))
                .map_err(|e| start(format!("chown {}: {e}", boxed.path.display())))?;
        }
        let program = program.as_path();
        let mut env = env;
        for var in ["HOME", "TMPDIR", "CARGO_MANIFEST_DIR"] {
            env.retain(|(k, _)| k != var);
            env.push((var.to_string(), boxed.path.to_string_lossy().into_owned()));
        }
        let mut exec = exec;
        exec.push(program.to_path_buf());
        let spec = jail::JailSpec {
            program: program.to_path_buf(),
            args,
            env,
            exec,
            box_dir: boxed.path.clone(),
            limits: self.limits,
            isolation: self.isolation,
            expect_proof,
            uid,
            grader: std::process::id() as i32,
            cgroup: boxed.cgroup.clone(),
            fail_start: self.inject(crate::inject::Injected::JailStart),
        };
        let mut command = role_command(Role::Jail, &spec);
        // The jail reads only its spec; nothing of the grader's environment.
        command.env_clear();
        command.env(ROLE_VAR, "jail").env(
            SPEC_VAR,
            serde_json::to_string(&spec).expect("a spec serializes"),
        );
        Ok((command, boxed))
    }

    /// The uid test code runs as (outside any user namespace).
    pub fn test_uid(&self) -> u32 {
        match self.isolation.drop_uid {
            true => self.uid(0),
            false => nix::unistd::geteuid().as_raw(),
        }
    }

    /// The uid a jail drops to: `nobody` behind a user namespace; without
    /// one, a uid of its own, so that killing every process of that uid
    /// ends exactly what the test started.
    fn uid(&self, n: u64) -> u32 {
        if self.isolation.namespaces {
            NOBODY
        } else {
            200_000 + (std::process::id() % 1000) * 1000 + (n % 1000) as u32
        }
    }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        // The run's control groups go (by RunGroups' drop) after the boxes.
        let _ = std::fs::remove_dir_all(&self.boxes);
    }
}

/// The sandbox settings of a grading run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SandboxOptions {
    /// `--no-sandbox`: run tests and compiles unconfined (the pass record
    /// still needs its secret).
    pub disabled: bool,
    /// Each test's limits.
    pub limits: Limits,
    /// Each build's limits.
    pub build_limits: BuildLimits,
}

static PROBED: std::sync::OnceLock<Result<Protections, String>> = std::sync::OnceLock::new();

/// What the kernel grants, probed once per process.
pub fn probed() -> Result<&'static Protections, crate::Error> {
    PROBED
        .get_or_init(Protections::probe)
        .as_ref()
        .map_err(|e| crate::Error::new(e.clone()))
}

impl SandboxOptions {
    /// What each test's jail applies; an error when an essential protection
    /// is missing and the sandbox is not disabled.
    pub fn isolation(&self) -> Result<jail::Isolation, crate::Error> {
        let protections = probed()?;
        let isolation = protections.isolation(self.disabled);
        if !self.disabled
            && let Some(reason) = protections.refusal(&isolation)
        {
            return Err(crate::Error::new(format!(
                "refusing to grade: {reason}. Grade inside a container or VM that provides \
                 it, or pass --no-sandbox to grade without the sandbox (never for code you \
                 do not trust)"
            )));
        }
        Ok(isolation)
    }

    /// The protections a run with these options has.
    pub fn active(&self) -> Result<Vec<Protection>, crate::Error> {
        let isolation = self.isolation()?;
        let mut active = probed()?.active(&isolation);
        if let (true, Ok(base)) = (isolation.limits, cgroup::base()) {
            active.push(Protection::ControlGroups);
            if base.shares_cpu() {
                active.push(Protection::CpuShares);
            }
            active.sort();
        }
        Ok(active)
    }

    /// The sandbox test processes start in, `jobs` of them at once.
    pub fn test_sandbox(&self, jobs: usize) -> Result<std::sync::Arc<TestSandbox>, crate::Error> {
        let sandbox = TestSandbox::new(self.isolation()?, self.limits, jobs)
            .map_err(|e| crate::Error::new(format!("cannot make the sandboxes' folder: {e}")))?;
        Ok(std::sync::Arc::new(sandbox))
    }

    /// The environment that makes Cargo run every compile of a scratch
    /// workspace through the [`rustc`] wrapper.
    pub fn cargo_env(
        &self,
        target_dir: &Path,
        tmp_dir: &Path,
    ) -> Result<Vec<(String, String)>, crate::Error> {
        let spec = rustc::RustcSpec {
            limits: self.build_limits,
            landlock: !self.disabled && self.isolation()?.landlock,
            toolchain: toolchain_folders(),
            profile_dir: target_dir.join("debug"),
            tmp_dir: tmp_dir.to_path_buf(),
        };
        Ok(vec![
            (
                "RUSTC_WORKSPACE_WRAPPER".to_string(),
                grader_binary().to_string_lossy().into_owned(),
            ),
            (ROLE_VAR.to_string(), "rustc".to_string()),
            (
                SPEC_VAR.to_string(),
                serde_json::to_string(&spec).expect("a spec serializes"),
            ),
        ])
    }
}

/// The folders rustc (and rustup's proxies) read: the sysroot, rustup's
/// home and Cargo's `bin`.
fn toolchain_folders() -> Vec<PathBuf> {
    static FOLDERS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    FOLDERS
        .get_or_init(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let mut folders = Vec::new();
            if let Ok(output) = Command::new("rustc").args(["--print", "sysroot"]).output() {
                let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
                if !sysroot.is_empty() {
                    folders.push(PathBuf::from(sysroot));
                }
            }
            let rustup = std::env::var_os("RUSTUP_HOME")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".rustup")));
            let cargo = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".cargo")));
            folders.extend(rustup);
            folders.extend(cargo.map(|c| c.join("bin")));
            folders.retain(|f| exists(f));
            folders
        })
        .clone()
}
