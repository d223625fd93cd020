//! Which protections the kernel grants here, found out once per grading run
//! by trying each of them in a fresh process (the [`Role::Probe`](super::Role)
//! role: namespaces can only be entered by a single-threaded process).

use std::fmt;
use std::process::Stdio;

use nix::unistd::{ForkResult, fork};
use serde::{Deserialize, Serialize};

use super::jail::Isolation;

/// One protection of the sandbox, as the reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// The pass record's secret lives in `memfd_secret` memory, which even
    /// `/proc/self/mem` cannot read.
    SecretMemory,
    /// New user, mount, PID, network, IPC and UTS namespaces per test.
    Namespaces,
    /// Landlock: each test reads only the system and its own binaries and
    /// writes only its private tmp; compiles read only their own sources.
    Landlock,
    /// Landlock scoping: no signals to (or abstract sockets of) processes
    /// outside the test's sandbox.
    SignalScope,
    /// The seccomp filter (no ptrace, no reading other memory, no namespaces).
    Seccomp,
    /// Tests run as an unprivileged uid although the grader runs as root.
    DroppedUid,
    /// Memory, task, file-size, descriptor and CPU limits per test, CPU and
    /// memory limits per compile, a wall-clock limit per build.
    Limits,
    /// A control group per test: its memory and task limits hold for the
    /// whole process tree, children included ([`super::cgroup`]).
    ControlGroups,
    /// The tests of each submission under test share the CPU equally with
    /// those of the others, however many threads they start
    /// ([`super::cgroup`]).
    CpuShares,
}

impl Protection {
    /// Every protection, in report order.
    pub const ALL: [Protection; 9] = [
        Protection::SecretMemory,
        Protection::Namespaces,
        Protection::Landlock,
        Protection::SignalScope,
        Protection::Seccomp,
        Protection::DroppedUid,
        Protection::Limits,
        Protection::ControlGroups,
        Protection::CpuShares,
    ];
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protection::SecretMemory => "unforgeable pass record (memfd_secret)",
            Protection::Namespaces => "user, mount, PID, network, IPC and UTS namespaces",
            Protection::Landlock => "Landlock filesystem rules",
            Protection::SignalScope => "Landlock signal scoping",
            Protection::Seccomp => "seccomp filter",
            Protection::DroppedUid => "unprivileged uid",
            Protection::Limits => "resource limits",
            Protection::ControlGroups => "whole-tree memory and task limits (control groups)",
            Protection::CpuShares => "an equal CPU share per submission (control groups)",
        })
    }
}

/// What the kernel grants, as the probe found it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protections {
    /// The Landlock ABI version (0: none).
    pub landlock_abi: u32,
    /// Whether `memfd_secret` works.
    pub secret_memory: bool,
    /// Whether the namespaces (and a `/proc` in them) can be made.
    pub namespaces: bool,
    /// Why not, when they cannot.
    pub namespaces_error: Option<String>,
    /// Whether a seccomp filter can be installed.
    pub seccomp: bool,
    /// Whether the grader runs as root (then tests drop to an unprivileged uid).
    pub root: bool,
}

impl Protections {
    /// Runs the probe in a fresh grader process. `INTERLEAVE_SANDBOX_WITHOUT`
    /// (a comma-separated list of `namespaces`, `landlock`, `seccomp`,
    /// `secret_memory`, `cgroups`, `cpu_shares`) pretends the kernel lacks
    /// those, to test the sandbox as a container without them would run it.
    pub fn probe() -> Result<Protections, String> {
        let mut found = Self::probe_kernel()?;
        let without = std::env::var("INTERLEAVE_SANDBOX_WITHOUT").unwrap_or_default();
        for name in without.split(',').map(str::trim) {
            match name {
                "namespaces" => found.namespaces = false,
                "landlock" => found.landlock_abi = 0,
                "seccomp" => found.seccomp = false,
                "secret_memory" => found.secret_memory = false,
                // Turned off where the control groups are found (cgroup::base).
                "cgroups" | "cpu_shares" => {}
                "" => {}
                other => return Err(format!("INTERLEAVE_SANDBOX_WITHOUT: unknown {other:?}")),
            }
        }
        Ok(found)
    }

    fn probe_kernel() -> Result<Protections, String> {
        let output = super::role_command(super::Role::Probe, &())
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run the sandbox probe: {e}"))?;
        serde_json::from_slice(&output.stdout).map_err(|e| {
            format!(
                "the sandbox probe answered {:?}: {e}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// What a test sandbox applies: everything granted, or nothing but the
    /// pass record with `no_sandbox`.
    pub fn isolation(&self, no_sandbox: bool) -> Isolation {
        if no_sandbox {
            return Isolation::default();
        }
        Isolation {
            namespaces: self.namespaces,
            own_proc: self.namespaces && self.secret_memory && self.landlock_abi > 0,
            landlock: self.landlock_abi > 0,
            seccomp: self.seccomp,
            limits: true,
            drop_uid: self.root,
        }
    }

    /// The protections a grading run with `isolation` has.
    pub fn active(&self, isolation: &Isolation) -> Vec<Protection> {
        let mut active = Vec::new();
        let mut on = |yes: bool, protection| {
            if yes {
                active.push(protection)
            }
        };
        on(self.secret_memory, Protection::SecretMemory);
        on(isolation.namespaces, Protection::Namespaces);
        on(isolation.landlock, Protection::Landlock);
        on(
            isolation.landlock && self.landlock_abi >= 6,
            Protection::SignalScope,
        );
        on(isolation.seccomp, Protection::Seccomp);
        on(isolation.drop_uid, Protection::DroppedUid);
        on(isolation.limits, Protection::Limits);
        active
    }

    /// Why grading must not start with `isolation`, if it must not: the
    /// filesystem rules and an unforgeable pass record are essential.
    pub fn refusal(&self, isolation: &Isolation) -> Option<String> {
        if !isolation.landlock {
            return Some(
                "this kernel has no Landlock, so student code could read the course, the \
                 class and the reports"
                    .to_string(),
            );
        }
        if !(self.secret_memory || isolation.seccomp) {
            return Some(
                "this kernel offers neither memfd_secret nor seccomp, so student code could \
                 read the pass record's secret"
                    .to_string(),
            );
        }
        None
    }
}

/// The probe role's entry point: prints the [`Protections`] as JSON.
pub fn main() -> i32 {
    let protections = Protections {
        landlock_abi: landlock_abi(),
        secret_memory: secret_memory(),
        namespaces_error: namespaces().err(),
        namespaces: false,
        seccomp: in_child(|| super::confine::restrict_syscalls().is_ok()),
        root: nix::unistd::geteuid().is_root(),
    };
    let protections = Protections {
        namespaces: protections.namespaces_error.is_none(),
        ..protections
    };
    println!(
        "{}",
        serde_json::to_string(&protections).expect("protections serialize")
    );
    0
}

fn landlock_abi() -> u32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, VERSION) only returns a number.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    abi.max(0) as u32
}

fn secret_memory() -> bool {
    // SAFETY: a plain system call; the descriptor is closed at once.
    unsafe {
        let fd = libc::syscall(libc::SYS_memfd_secret, 0) as i32;
        if fd < 0 {
            return false;
        }
        let ok = libc::ftruncate(fd, 4096) == 0;
        libc::close(fd);
        ok
    }
}

/// Runs `check` in a child process and returns what it returned.
fn in_child(check: impl FnOnce() -> bool) -> bool {
    // SAFETY: the probe is single-threaded.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let ok = check();
            // SAFETY: leave the child at once.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        Ok(ForkResult::Parent { child }) => matches!(
            nix::sys::wait::waitpid(child, None),
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0))
        ),
        Err(_) => false,
    }
}

/// Tries what a jail does with namespaces, as the uid tests would run as.
fn namespaces() -> Result<(), String> {
    let (read, write) = nix::unistd::pipe().map_err(|e| e.to_string())?;
    // SAFETY: the probe is single-threaded.
    match unsafe { fork() }.map_err(|e| e.to_string())? {
        ForkResult::Child => {
            drop(read);
            let result = try_namespaces();
            let mut file = std::fs::File::from(write);
            if let Err(e) = &result {
                let _ = std::io::Write::write_all(&mut file, e.as_bytes());
            }
            // SAFETY: leave the child at once.
            unsafe { libc::_exit(if result.is_ok() { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => {
            drop(write);
            let mut message = String::new();
            let _ = std::io::Read::read_to_string(&mut std::fs::File::from(read), &mut message);
            match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
                _ if !message.is_empty() => Err(message),
                other => Err(format!("the namespace probe ended with {other:?}")),
            }
        }
    }
}

fn try_namespaces() -> Result<(), String> {
    if nix::unistd::geteuid().is_root() {
        super::jail::drop_to(65534)?;
    }
    super::jail::enter_namespaces(nix::unistd::geteuid(), nix::unistd::getegid())?;
    if in_child(|| super::jail::mount_proc().is_ok()) {
        Ok(())
    } else {
        Err("cannot mount a /proc in a new PID namespace".to_string())
    }
}
