//! The jail: starts one test process in a sandbox and reports how it ended.
//!
//! It runs as the grader binary in the [`Role::Jail`](super::Role) role,
//! single-threaded, in three processes:
//!
//! 1. the **launcher** makes the one-time secret of the pass record, drops
//!    to an unprivileged uid, enters new namespaces (user, mount, network,
//!    IPC, UTS, and PID for its children), mounts the private tmp and brings
//!    loopback up, then forks
//! 2. the namespace's **init** (PID 1), which mounts a `/proc` of the
//!    namespace, forks the test and reaps until the test ends; when init
//!    exits the kernel kills whatever else is left in the namespace, so
//!    nothing a test started (`setsid`, double forks) outlives it;
//! 3. the **test**, which applies rlimits, Landlock and seccomp to itself
//!    and execs the test binary with the secret on descriptor 3 and the
//!    record on descriptor 4 (`harness::proof`).
//!
//! The launcher's exit status is the test's, except that a test that
//! exited with status 0 without proving its pass exits [`JailExit::NoProof`].
//! No process inside the sandbox can see, signal or trace the launcher.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::prctl;
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Pid, Uid, fork};
use serde::{Deserialize, Serialize};

use super::Limits;
use super::confine::{self, FsRules};

/// Exit statuses of the jail that are its own, not the test's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum JailExit {
    /// The test exited with status 0 but did not prove that its body
    /// returned (student code called `process::exit(0)`, or forged a pass).
    NoProof = 120,
    /// The sandbox could not be set up; stderr says why after [`SETUP_PREFIX`].
    /// Only the jail exits with it: a test that exits with one of these
    /// codes itself is reported as [`JailExit::Reserved`].
    Setup = 121,
    /// The test exited with one of the jail's own codes (120 to 122), which
    /// it may not claim.
    Reserved = 122,
}

impl JailExit {
    /// Whether the test process itself exited with `code`, one of the jail's.
    fn is_reserved(code: i32) -> bool {
        (JailExit::NoProof as i32..=JailExit::Reserved as i32).contains(&code)
    }
}

/// Where the test process's copy of the exec report pipe sits until exec
/// closes it: anything written to it is a setup error of the jail.
const REPORT_FD: RawFd = 5;

/// How the jail's own setup errors start on stderr.
pub const SETUP_PREFIX: &str = "SANDBOX: ";

/// The uid (inside the user namespace) test code runs as.
const INSIDE_ID: u32 = 1000;

/// Which protections to apply (the probe found out which the kernel grants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Isolation {
    /// New user, mount, PID, network, IPC and UTS namespaces.
    pub namespaces: bool,
    /// A `/proc` of the test's own PID namespace (only with `namespaces` and
    /// secret memory for the pass record; otherwise `/proc` is not readable).
    pub own_proc: bool,
    /// The Landlock ruleset.
    pub landlock: bool,
    /// The seccomp filter.
    pub seccomp: bool,
    /// The rlimits.
    pub limits: bool,
    /// Drop to [`JailSpec::uid`] when started as root.
    pub drop_uid: bool,
}

/// One test process to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JailSpec {
    /// The program (a test binary).
    pub program: PathBuf,
    /// Its arguments (without the program name).
    pub args: Vec<String>,
    /// Its whole environment.
    pub env: Vec<(String, String)>,
    /// Files and folders it may read and execute besides the system's: its
    /// binaries. (The kernel's exec needs read access too, so a test can
    /// read its compiled suite; never the suite's source.)
    pub exec: Vec<PathBuf>,
    /// Its private tmp: working directory, `TMPDIR` and `HOME`, the one
    /// place it may write. Created (and owned by [`JailSpec::uid`]) by the grader.
    pub box_dir: PathBuf,
    /// Its resource limits.
    pub limits: Limits,
    /// What to apply.
    pub isolation: Isolation,
    /// Whether status 0 counts only with a proof (hidden tests).
    pub expect_proof: bool,
    /// The unprivileged uid (and gid) to run as when started as root.
    pub uid: u32,
    /// The grader's pid: the jail ends when the grader does.
    pub grader: i32,
    /// The control group the test's whole process tree runs in, if any.
    #[serde(default)]
    pub cgroup: Option<super::cgroup::TestCgroup>,
    /// Test-only (`INTERLEAVE_INJECT_FAULT=jail-start`): fail the jail's
    /// start, as a sandbox that cannot start would.
    #[serde(default)]
    pub fail_start: bool,
}

/// The jail role's entry point; returns the exit status.
pub fn main() -> i32 {
    let spec: JailSpec = match super::read_spec() {
        Ok(spec) => spec,
        Err(e) => return setup_failed(&e),
    };
    match launch(&spec) {
        Ok(code) => code,
        Err(e) => setup_failed(&e),
    }
}

fn setup_failed(message: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "{SETUP_PREFIX}{message}");
    JailExit::Setup as i32
}

/// The pipes between the three processes.
struct Pipes {
    secret: OwnedFd,
    record: (OwnedFd, OwnedFd),
    status: (OwnedFd, OwnedFd),
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))
}

fn launch(spec: &JailSpec) -> Result<i32, String> {
    // A grader killed mid-run takes its jails (and so their tests) with it.
    prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| format!("pdeathsig: {e}"))?;
    if nix::unistd::getppid().as_raw() != spec.grader {
        return Err("the grader ended before the test started".to_string());
    }
    if spec.fail_start {
        return Err("injected fault: the jail's start was made to fail".to_string());
    }
    // Before giving up root: the test and all it starts stay in it.
    if let Some(cgroup) = &spec.cgroup {
        cgroup.join()?;
    }
    let secret = format!("{:032x}", harness::rand::random::<u128>());
    let (secret_read, secret_write) = pipe()?;
    std::fs::File::from(secret_write)
        .write_all(secret.as_bytes())
        .map_err(|e| format!("write the secret: {e}"))?;
    let mut pipes = Pipes {
        secret: secret_read,
        record: pipe()?,
        status: pipe()?,
    };
    let outside = (nix::unistd::geteuid(), nix::unistd::getegid());
    let (uid, gid) = if spec.isolation.drop_uid && outside.0.is_root() {
        drop_to(spec.uid)?;
        (Uid::from_raw(spec.uid), Gid::from_raw(spec.uid))
    } else {
        outside
    };
    if spec.isolation.namespaces {
        enter_namespaces(uid, gid)?;
        set_up_box(spec)?;
    }
    // SAFETY: this process is single-threaded (the jail starts no threads).
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let code = init(spec, &mut pipes);
            // SAFETY: leave without running the parent's destructors twice.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => collect(spec, pipes, child, &secret),
    }
}

/// Gives up root for `id` (uid and gid), with no supplementary groups.
pub(crate) fn drop_to(id: u32) -> Result<(), String> {
    let (uid, gid) = (Uid::from_raw(id), Gid::from_raw(id));
    nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))?;
    // Changing uid made the process non-dumpable, which makes its /proc
    // files root's: the uid map could not be written.
    prctl::set_dumpable(true).map_err(|e| format!("dumpable: {e}"))
}

/// Enters new user, mount, PID (for children), network, IPC and UTS
/// namespaces, maps `uid`/`gid` to [`INSIDE_ID`] and makes every mount
/// private to the new mount namespace.
pub(crate) fn enter_namespaces(uid: Uid, gid: Gid) -> Result<(), String> {
    unshare(
        CloneFlags::CLONE_NEWUSER
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWNET
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWUTS,
    )
    .map_err(|e| format!("unshare: {e}"))?;
    let write = |path: &str, text: String| {
        std::fs::write(path, text).map_err(|e| format!("write {path}: {e}"))
    };
    write("/proc/self/uid_map", format!("{INSIDE_ID} {uid} 1\n"))?;
    write("/proc/self/setgroups", "deny".to_string())?;
    write("/proc/self/gid_map", format!("{INSIDE_ID} {gid} 1\n"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("make mounts private: {e}"))
}

/// Inside the new namespaces: the private tmp, a hostname, loopback up.
fn set_up_box(spec: &JailSpec) -> Result<(), String> {
    let options = format!(
        "size={},mode=0700,uid={INSIDE_ID},gid={INSIDE_ID}",
        spec.limits.file_bytes
    );
    mount(
        Some("tmpfs"),
        &spec.box_dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options.as_str()),
    )
    .map_err(|e| format!("mount the private tmp: {e}"))?;
    let _ = nix::unistd::sethostname("interleave");
    loopback_up()
}

/// Mounts a `/proc` of the current PID namespace.
pub(crate) fn mount_proc() -> Result<(), String> {
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| format!("mount /proc: {e}"))
}

/// Brings up `lo` in the new network namespace (it starts down), so tests
/// can serve and fetch on 127.0.0.1; nothing else is reachable.
fn loopback_up() -> Result<(), String> {
    // SAFETY: a zeroed ifreq is valid; the socket is closed before return;
    // the ioctls read and write only `request`.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut result = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if result == 0 {
            request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            result = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let error = std::io::Error::last_os_error();
        libc::close(socket);
        if result != 0 {
            return Err(format!("bring loopback up: {error}"));
        }
    }
    Ok(())
}

/// The namespace's init: starts the test, reaps, and exits when the test
/// has; returns its own exit status.
fn init(spec: &JailSpec, pipes: &mut Pipes) -> i32 {
    let mut report = std::fs::File::from(pipes.status.1.try_clone().expect("dup status pipe"));
    let ended = start_and_reap(spec, pipes);
    let message = match ended {
        Ok(status) => [&[0u8][..], &status.to_ne_bytes()].concat(),
        Err(error) => [&[1u8][..], error.as_bytes()].concat(),
    };
    let _ = report.write_all(&message);
    0
}

/// Starts the test and reaps until it ends: its raw wait status, or the
/// setup error that kept it from starting (told apart by a pipe that the
/// test's exec closes, so nothing the test does can pass for one).
fn start_and_reap(spec: &JailSpec, pipes: &mut Pipes) -> Result<i32, String> {
    prepare_init(spec)?;
    let (report_read, report_write) = pipe()?;
    // SAFETY: init is single-threaded.
    let test = match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            drop(report_read);
            let error = exec_test(spec, pipes, report_write.as_raw_fd());
            // SAFETY: plain descriptor calls; the buffer is ours.
            unsafe {
                let fd = match libc::fcntl(REPORT_FD, libc::F_GETFD) >= 0 {
                    true => REPORT_FD,
                    false => report_write.as_raw_fd(),
                };
                libc::write(fd, error.as_ptr().cast(), error.len());
            }
            // SAFETY: the exec failed; leave at once.
            unsafe { libc::_exit(JailExit::Setup as i32) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(report_write);
    let mut error = String::new();
    let _ = std::fs::File::from(report_read).read_to_string(&mut error);
    let status = reap_until(test);
    if !spec.isolation.namespaces {
        sweep(test, spec);
    }
    match error.is_empty() {
        true => Ok(status),
        false => Err(error),
    }
}

/// Init dies with the launcher (and the namespace with it). The launcher
/// dying before this takes effect needs no check: the grader kills the
/// launcher only through its process group, which init is in too.
fn prepare_init(spec: &JailSpec) -> Result<(), String> {
    if spec.isolation.namespaces {
        prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| format!("pdeathsig: {e}"))?;
        if spec.isolation.own_proc {
            mount_proc()?;
        }
    } else {
        prctl::set_child_subreaper(true).map_err(|e| format!("subreaper: {e}"))?;
    }
    // Nothing in the sandbox may read this process's memory or files in /proc.
    prctl::set_dumpable(false).map_err(|e| format!("dumpable: {e}"))
}

/// Reaps children until `test` ends; returns its raw wait status.
fn reap_until(test: Pid) -> i32 {
    loop {
        let mut raw = 0;
        // SAFETY: waitpid writes only `raw`.
        let pid = unsafe { libc::waitpid(-1, &mut raw, 0) };
        if pid == test.as_raw() {
            return raw;
        }
        if pid < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 0;
        }
    }
}

/// Without a PID namespace: kills what the test left (its process group,
/// and every process of its uid when that uid is the test's alone), then
/// reaps them.
fn sweep(test: Pid, spec: &JailSpec) {
    let _ = nix::sys::signal::killpg(test, Signal::SIGKILL);
    if spec.isolation.drop_uid && nix::unistd::getuid().as_raw() == spec.uid {
        // kill(-1) reaches every process this uid may signal, but not init.
        let _ = nix::sys::signal::kill(Pid::from_raw(-1), Signal::SIGKILL);
    }
    while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// In the test process: descriptors, confinement, exec. Returns only on error.
fn exec_test(spec: &JailSpec, pipes: &mut Pipes, report: RawFd) -> String {
    match confine_and_exec(spec, pipes, report) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

enum Never {}

fn confine_and_exec(spec: &JailSpec, pipes: &mut Pipes, report: RawFd) -> Result<Never, String> {
    place_descriptors(pipes.secret.as_raw_fd(), pipes.record.1.as_raw_fd(), report)?;
    std::env::set_current_dir(&spec.box_dir).map_err(|e| format!("chdir: {e}"))?;
    if !spec.isolation.namespaces {
        nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0))
            .map_err(|e| format!("setpgid: {e}"))?;
    }
    if spec.isolation.limits {
        confine::limit_test(&spec.limits)?;
    }
    prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    if spec.isolation.landlock {
        confine::restrict_filesystem(&test_rules(spec))?;
    }
    if spec.isolation.seccomp {
        confine::restrict_syscalls()?;
    }
    exec(&spec.program, &spec.args, &spec.env)
}

/// What a test may read (the system, its `/proc`), execute (its binaries)
/// and write (its private tmp).
fn test_rules(spec: &JailSpec) -> FsRules {
    let mut rules = FsRules::system();
    rules.read.extend(spec.exec.iter().cloned());
    if spec.isolation.own_proc {
        rules.read.push(PathBuf::from("/proc"));
    }
    rules.write.push(spec.box_dir.clone());
    rules
}

/// Puts the secret on descriptor 3 and the record on 4 (both inherited by
/// the exec), the exec report on [`REPORT_FD`] (closed by the exec) and
/// closes every other descriptor above 2.
fn place_descriptors(secret: RawFd, record: RawFd, report: RawFd) -> Result<(), String> {
    // SAFETY: plain descriptor calls on descriptors this process owns.
    unsafe {
        let high_secret = libc::fcntl(secret, libc::F_DUPFD_CLOEXEC, 100);
        let high_record = libc::fcntl(record, libc::F_DUPFD_CLOEXEC, 100);
        let high_report = libc::fcntl(report, libc::F_DUPFD_CLOEXEC, 100);
        if high_secret < 0
            || high_record < 0
            || high_report < 0
            || libc::dup2(high_secret, 3) != 3
            || libc::dup2(high_record, 4) != 4
            || libc::dup3(high_report, REPORT_FD, libc::O_CLOEXEC) != REPORT_FD
        {
            return Err(format!(
                "place descriptors: {}",
                std::io::Error::last_os_error()
            ));
        }
        libc::close_range(REPORT_FD as u32 + 1, u32::MAX, 0);
    }
    Ok(())
}

fn exec(program: &Path, args: &[String], env: &[(String, String)]) -> Result<Never, String> {
    let c = |text: &str| CString::new(text).map_err(|_| format!("a NUL byte in {text:?}"));
    let program_c = c(&program.to_string_lossy())?;
    let mut argv = vec![program_c.clone()];
    for arg in args {
        argv.push(c(arg)?);
    }
    let mut envp = Vec::new();
    for (key, value) in env {
        envp.push(c(&format!("{key}={value}"))?);
    }
    envp.push(c(&format!("{}=3,4", harness::PROOF_VAR))?);
    let error = nix::unistd::execve(&program_c, &argv, &envp).unwrap_err();
    Err(format!("cannot start {}: {error}", program.display()))
}

/// In the launcher: waits for init, then turns the test's status and
/// record into the jail's exit status.
fn collect(spec: &JailSpec, pipes: Pipes, init: Pid, secret: &str) -> Result<i32, String> {
    let Pipes {
        secret: _,
        record: (record_read, record_write),
        status: (status_read, status_write),
    } = pipes;
    drop(record_write);
    drop(status_write);
    let _ = waitpid(init, None);
    let mut message = Vec::new();
    let _ = std::fs::File::from(status_read).read_to_end(&mut message);
    let status = match message.split_first() {
        Some((0, raw)) if raw.len() == 4 => i32::from_ne_bytes(raw.try_into().expect("4 bytes")),
        Some((1, error)) => return Err(String::from_utf8_lossy(error).into_owned()),
        _ => return Err("the sandbox's init ended without reporting the test".to_string()),
    };
    let record = read_record(record_read);
    if libc::WIFSIGNALED(status) {
        reraise(libc::WTERMSIG(status));
    }
    let code = libc::WEXITSTATUS(status);
    if JailExit::is_reserved(code) {
        return Ok(JailExit::Reserved as i32);
    }
    if code == 0 && spec.expect_proof && !proved(&record, secret) {
        return Ok(JailExit::NoProof as i32);
    }
    Ok(code)
}

/// What the test wrote to its record (at most 64 KiB). Every writer is gone
/// by now with a PID namespace; without one, a straggler gets a second.
fn read_record(fd: OwnedFd) -> Vec<u8> {
    let mut poll = [libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let mut file = std::fs::File::from(fd);
    let mut record = Vec::new();
    let mut buffer = [0u8; 4096];
    while record.len() < 64 * 1024 {
        // SAFETY: `poll` is a valid array of one pollfd.
        if unsafe { libc::poll(poll.as_mut_ptr(), 1, 1000) } <= 0 {
            break;
        }
        match file.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => record.extend_from_slice(&buffer[..n]),
        }
    }
    record
}

fn proved(record: &[u8], secret: &str) -> bool {
    let expected = format!("PASS {secret}");
    String::from_utf8_lossy(record)
        .lines()
        .any(|line| line == expected)
}

/// Ends this process with the signal that ended the test, so the grader
/// sees the same status.
fn reraise(signal_number: i32) -> ! {
    // No core file of the jail itself.
    let _ = confine::limit(nix::sys::resource::Resource::RLIMIT_CORE, 0);
    if let Ok(sig) = Signal::try_from(signal_number) {
        // SAFETY: restoring the default action is always sound.
        unsafe {
            let _ = signal(sig, SigHandler::SigDfl);
        }
        let _ = nix::sys::signal::raise(sig);
    }
    std::process::exit(128 + signal_number)
}
