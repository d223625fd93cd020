//! The confinements a process applies to itself just before it runs
//! student code (or rustc over student code): a Landlock ruleset, a seccomp
//! filter and rlimits. Each is inherited by every process it starts and
//! cannot be lifted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
    path_beneath_rules,
};
use nix::sys::resource::{Resource, setrlimit};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The Landlock ABI the rulesets are written for (Linux 6.12: filesystem,
/// TCP, signal and abstract-socket scoping). Older kernels enforce the part
/// they know.
const LANDLOCK_ABI: ABI = ABI::V6;

/// Paths every sandboxed program may read and execute: the system's
/// programs and shared libraries, the dynamic loader's cache, name lookup
/// of `localhost`.
pub const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/sbin",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
];

/// Device files every sandboxed program may read and write.
pub const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/urandom",
    "/dev/random",
];

/// What a ruleset grants, by path.
#[derive(Debug, Default)]
pub struct FsRules {
    /// Read and execute beneath these.
    pub read: Vec<PathBuf>,
    /// Every access beneath these.
    pub write: Vec<PathBuf>,
}

impl FsRules {
    /// The system paths of [`SYSTEM_READ`] and the [`DEVICES`], plus nothing else.
    pub fn system() -> FsRules {
        FsRules {
            read: existing(SYSTEM_READ.iter().map(PathBuf::from)),
            write: Vec::new(),
        }
    }
}

fn existing(paths: impl Iterator<Item = PathBuf>) -> Vec<PathBuf> {
    paths.filter(|p| super::exists(p)).collect()
}

/// Restricts this process (and everything it starts) to `rules`, with
/// signals and abstract sockets scoped to the sandbox. Also sets
/// `no_new_privs`. A kernel that enforces none of it is an error: the
/// caller asked for Landlock because the probe found it.
pub fn restrict_filesystem(rules: &FsRules) -> Result<(), String> {
    let all = AccessFs::from_all(LANDLOCK_ABI);
    let read = AccessFs::from_read(LANDLOCK_ABI);
    let device = read | AccessFs::WriteFile;
    let devices = existing(DEVICES.iter().map(PathBuf::from));
    let status = Ruleset::default()
        .handle_access(all)
        .and_then(|r| r.scope(Scope::from_all(LANDLOCK_ABI)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(&rules.read, read)))
        .and_then(|r| r.add_rules(path_beneath_rules(&devices, device)))
        .and_then(|r| r.add_rules(path_beneath_rules(&rules.write, all)))
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("Landlock: {e}"))?;
    match status.ruleset {
        RulesetStatus::NotEnforced => Err("Landlock: the kernel enforced no rule".to_string()),
        RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => Ok(()),
    }
}

/// System calls a sandboxed process never needs: tracing or reading other
/// processes' memory (the pass record's secret lives in this process), new
/// namespaces or mounts, kernel keyrings, BPF, io_uring (which bypasses
/// this filter), loading modules.
const DENIED: &[i64] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_kcmp,
    libc::SYS_perf_event_open,
    libc::SYS_bpf,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
];

/// `clone` flags that would make new namespaces.
const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP) as u64;

/// The seccomp filter of a sandboxed process: [`DENIED`] fail with `EPERM`,
/// `clone` with namespace flags too, and `clone3` (whose flags a filter cannot
/// read) with `ENOSYS`, so that the C library falls back to `clone`.
fn seccomp_program() -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&call| (call, Vec::new())).collect();
    // One rule per namespace flag: a clone with any of them set matches.
    let mut clone_rules = Vec::new();
    for bit in 0..64 {
        let flag = 1u64 << bit;
        if NAMESPACE_FLAGS & flag != 0 {
            let condition = SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .map_err(|e| format!("seccomp: {e}"))?;
            clone_rules
                .push(SeccompRule::new(vec![condition]).map_err(|e| format!("seccomp: {e}"))?);
        }
    }
    rules.insert(libc::SYS_clone, clone_rules);
    SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        TargetArch::x86_64,
    )
    .map_err(|e| format!("seccomp: {e}"))?
    .try_into()
    .map_err(|e| format!("seccomp: {e:?}"))
}

/// Installs the seccomp filter on this process (inherited by its children),
/// plus `clone3` → `ENOSYS`.
pub fn restrict_syscalls() -> Result<(), String> {
    let program = seccomp_program()?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        TargetArch::x86_64,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    let clone3: BpfProgram = clone3.try_into().map_err(|e| format!("seccomp: {e:?}"))?;
    seccompiler::apply_filter(&clone3).map_err(|e| format!("seccomp: {e}"))?;
    seccompiler::apply_filter(&program).map_err(|e| format!("seccomp: {e}"))
}

/// One rlimit, soft and hard alike.
pub fn limit(resource: Resource, value: u64) -> Result<(), String> {
    setrlimit(resource, value, value).map_err(|e| format!("setrlimit({resource:?}): {e}"))
}

/// The rlimits of a test process.
pub fn limit_test(limits: &super::Limits) -> Result<(), String> {
    limit(Resource::RLIMIT_AS, limits.memory_bytes)?;
    limit(Resource::RLIMIT_NPROC, limits.tasks)?;
    limit(Resource::RLIMIT_FSIZE, limits.file_bytes)?;
    limit(Resource::RLIMIT_NOFILE, limits.open_files)?;
    // A soft CPU limit sends SIGXCPU (its own verdict); the hard one, a
    // second later, SIGKILL.
    setrlimit(Resource::RLIMIT_CPU, limits.cpu_secs, limits.cpu_secs + 1)
        .map_err(|e| format!("setrlimit(RLIMIT_CPU): {e}"))?;
    limit(Resource::RLIMIT_CORE, 0)
}
