//! Control groups: limits that hold for a test's whole process tree.
//!
//! The rlimits of [`super::confine`] hold per process: eight children under
//! a 1 GiB address-space limit may hold 8 GiB between them. So each test
//! runs in a control group of its own, made by the grader and joined by the
//! jail before it gives up root, whose memory limit (every page of every
//! process in it, children included) and task limit hold for the whole
//! tree. The grader reads the group's counters when the test has ended (an
//! out-of-memory kill inside the group is the test's verdict; one while the
//! group was under its limit came from outside, a fault of the machine) and
//! removes the group.
//!
//! The same groups share the CPU fairly between submissions: the tests of
//! each submission under test run in a CPU group of their own (`sub-R`, R
//! the submission's rank), and sibling groups weigh the same. However many
//! threads or children a spinning submission starts, the kernel gives its
//! tests no more CPU than the tests of the submission graded beside it, so
//! one student's busy loop cannot slow another's timing-sensitive tests.
//! All tests together weigh as much as the run's test processes at once
//! (`--jobs`) would, so compiles running beside them get the share they got
//! before the groups existed.
//!
//! Either hierarchy works: cgroup v2 where the grader's own group offers the
//! `memory` and `pids` controllers and the grader may write to it (a
//! delegated subtree, or root), or the v1 `memory` and `pids` hierarchies
//! when the grader runs as root and they are mounted. Groups are made below
//! the grader's own, so the limits of whatever runs the grader still hold.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Limits;
use crate::model::{Fault, Limit, Outcome};

/// Which cgroup hierarchy the groups are made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Version {
    /// The unified hierarchy: one folder holds both controllers.
    V2,
    /// The v1 `memory` and `pids` hierarchies: one folder in each.
    V1,
}

/// Where this grader's test groups go: below its own group, per controller
/// hierarchy (one folder for v2; memory, then pids, for v1).
#[derive(Debug, Clone)]
pub struct Base {
    /// The hierarchy.
    pub version: Version,
    dirs: Vec<PathBuf>,
    /// This grader's own group in the hierarchy that holds the `cpu`
    /// controller (for v2, the same as `dirs[0]`), when CPU shares work.
    cpu: Option<PathBuf>,
}

impl Base {
    /// Whether submissions under test share the CPU equally.
    pub fn shares_cpu(&self) -> bool {
        self.cpu.is_some()
    }
}

static BASE: OnceLock<Result<Base, String>> = OnceLock::new();

/// The place for test groups on this machine, found (and, for v2, made
/// ready) once per process; why there is none, when there is none.
/// `INTERLEAVE_SANDBOX_WITHOUT=cgroups` pretends there is none;
/// `INTERLEAVE_SANDBOX_WITHOUT=cpu_shares` keeps the limits but not the
/// CPU shares.
pub fn base() -> Result<&'static Base, &'static str> {
    BASE.get_or_init(|| {
        let without = std::env::var("INTERLEAVE_SANDBOX_WITHOUT").unwrap_or_default();
        let without = |name: &str| without.split(',').any(|w| w.trim() == name);
        if without("cgroups") {
            return Err("turned off (INTERLEAVE_SANDBOX_WITHOUT=cgroups)".to_string());
        }
        let mut base = find_base()?;
        if without("cpu_shares") {
            base.cpu = None;
        }
        Ok(base)
    })
    .as_ref()
    .map_err(String::as_str)
}

fn find_base() -> Result<Base, String> {
    let memberships = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let v2 = match own_dir(&memberships, &mounts, Controller::Unified) {
        Some(dir) => v2_base(&dir),
        None => Err("no cgroup v2 hierarchy".to_string()),
    };
    let v2_error = match v2 {
        Ok(base) => return Ok(base),
        Err(e) => e,
    };
    if !nix::unistd::geteuid().is_root() {
        return Err(format!("{v2_error}, and cgroup v1 needs root"));
    }
    let memory = own_dir(&memberships, &mounts, Controller::Memory);
    let pids = own_dir(&memberships, &mounts, Controller::Pids);
    let cpu = own_dir(&memberships, &mounts, Controller::Cpu).filter(|dir| writable(dir));
    match (memory, pids) {
        (Some(memory), Some(pids)) if writable(&memory) && writable(&pids) => Ok(Base {
            version: Version::V1,
            dirs: vec![memory, pids],
            cpu,
        }),
        _ => Err(format!(
            "{v2_error}, and no writable cgroup v1 memory and pids hierarchies"
        )),
    }
}

/// A cgroup hierarchy, as `/proc/self/cgroup` and mount options name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Controller {
    Unified,
    Memory,
    Pids,
    Cpu,
}

impl Controller {
    /// Its name in v1 mount options and memberships (none for v2).
    fn v1_name(self) -> Option<&'static str> {
        match self {
            Controller::Unified => None,
            Controller::Memory => Some("memory"),
            Controller::Pids => Some("pids"),
            Controller::Cpu => Some("cpu"),
        }
    }
}

/// This process's own group folder in the hierarchy of `controller`.
fn own_dir(memberships: &str, mounts: &str, controller: Controller) -> Option<PathBuf> {
    let path = memberships.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (id, names, path) = (fields.next()?, fields.next()?, fields.next()?);
        let wanted = match controller.v1_name() {
            None => id == "0" && names.is_empty(),
            Some(name) => names.split(',').any(|n| n == name),
        };
        wanted.then(|| path.to_string())
    })?;
    let mount = mounts
        .lines()
        .find_map(|line| mount_point(line, controller))?;
    Some(mount.join(path.trim_start_matches('/')))
}

/// The mount point of `controller`'s hierarchy, if `line` of mountinfo
/// mounts its root.
fn mount_point(line: &str, controller: Controller) -> Option<PathBuf> {
    let (before, after) = line.split_once(" - ")?;
    let fields: Vec<&str> = before.split(' ').collect();
    let (root, point) = (fields.get(3)?, fields.get(4)?);
    let mut after = after.split(' ');
    let (fstype, _source, options) = (after.next()?, after.next()?, after.next()?);
    let ours = match controller.v1_name() {
        None => fstype == "cgroup2",
        Some(name) => fstype == "cgroup" && options.split(',').any(|o| o == name),
    };
    (ours && *root == "/").then(|| PathBuf::from(point))
}

fn writable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// Makes `own` (this process's v2 group) hand `memory` and `pids` (and
/// `cpu`, when it has it) to its children. A group that does so may hold no
/// process itself, so the grader first moves into a leaf of its own below
/// it; if other processes share its group, it cannot, and says so.
fn v2_base(own: &Path) -> Result<Base, String> {
    let controllers = read(&own.join("cgroup.controllers"))?;
    let has = |list: &str, name: &str| list.split_whitespace().any(|c| c == name);
    if !(has(&controllers, "memory") && has(&controllers, "pids")) {
        return Err(format!(
            "the cgroup v2 group {} offers no memory and pids controllers",
            own.display()
        ));
    }
    if !writable(own) {
        return Err(format!(
            "cannot write the cgroup v2 group {}",
            own.display()
        ));
    }
    let subtree = read(&own.join("cgroup.subtree_control"))?;
    let cpu = has(&controllers, "cpu");
    if !(has(&subtree, "memory") && has(&subtree, "pids") && (!cpu || has(&subtree, "cpu"))) {
        let leaf = own.join(format!("interleave-grader-{}", std::process::id()));
        make_dir(&leaf)?;
        write(&leaf.join("cgroup.procs"), &std::process::id().to_string())?;
        if cpu {
            // Without it the groups still limit; they only share less fairly.
            let _ = write(&own.join("cgroup.subtree_control"), "+cpu");
        }
        if let Err(e) = write(&own.join("cgroup.subtree_control"), "+memory +pids") {
            let _ = write(&own.join("cgroup.procs"), &std::process::id().to_string());
            let _ = std::fs::remove_dir(&leaf);
            return Err(format!(
                "cgroup v2: {e} (other processes share the grader's group; start the grader \
                 in a group of its own, e.g. systemd-run --user --scope -p Delegate=yes)"
            ));
        }
    }
    let subtree = read(&own.join("cgroup.subtree_control"))?;
    Ok(Base {
        version: Version::V2,
        dirs: vec![own.to_path_buf()],
        cpu: has(&subtree, "cpu").then(|| own.to_path_buf()),
    })
}

fn make_dir(dir: &Path) -> Result<(), String> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("mkdir {}: {e}", dir.display())),
    }
}

/// The groups of one grading run's tests: a folder per hierarchy below the
/// [`Base`], removed when dropped.
#[derive(Debug)]
pub struct RunGroups {
    version: Version,
    dirs: Vec<PathBuf>,
    /// The run's folder in the `cpu` hierarchy, holding a `sub-R` group per
    /// submission under test (for v2, the same as `dirs[0]`).
    cpu: Option<PathBuf>,
}

/// The weight of one runnable task in the `cpu` controller's units (v1
/// `cpu.shares`, v2 `cpu.weight`): the default of a group.
fn task_weight(version: Version) -> u64 {
    match version {
        Version::V1 => 1024,
        Version::V2 => 100,
    }
}

impl RunGroups {
    /// Makes this run's folders below `base`; all its tests together weigh
    /// as much as `tasks` runnable processes against whatever else the
    /// machine runs (compiles, say).
    pub fn new(base: &Base, tasks: u64) -> Result<RunGroups, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "interleave-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let dirs: Vec<PathBuf> = base.dirs.iter().map(|d| d.join(&name)).collect();
        for dir in &dirs {
            make_dir(dir)?;
        }
        let cpu = base.cpu.as_ref().map(|d| d.join(&name));
        let weight = task_weight(base.version) * tasks.max(1);
        match (base.version, &cpu) {
            (Version::V1, Some(cpu)) => {
                make_dir(cpu)?;
                write(&cpu.join("cpu.shares"), &weight.min(262_144).to_string())?;
            }
            (Version::V2, Some(cpu)) => {
                write(&cpu.join("cpu.weight"), &weight.min(10_000).to_string())?;
                write(&cpu.join("cgroup.subtree_control"), "+memory +pids +cpu")?;
            }
            (Version::V2, None) => write(&dirs[0].join("cgroup.subtree_control"), "+memory +pids")?,
            (Version::V1, None) => {}
        }
        Ok(RunGroups {
            version: base.version,
            dirs,
            cpu,
        })
    }

    /// Makes test `n`'s group with `limits`, drawing on the CPU share of the
    /// submission ranked `share`.
    pub fn test(&self, n: u64, limits: &Limits, share: u64) -> Result<TestCgroup, String> {
        let name = format!("test-{n}");
        let shared = self
            .cpu
            .as_ref()
            .map(|cpu| cpu.join(format!("sub-{share}")));
        let (dirs, share) = match (self.version, shared) {
            (Version::V2, Some(shared)) => {
                make_dir(&shared)?;
                write(&shared.join("cgroup.subtree_control"), "+memory +pids")?;
                (vec![shared.join(&name)], None)
            }
            (Version::V1, Some(shared)) => {
                make_dir(&shared)?;
                (
                    self.dirs.iter().map(|d| d.join(&name)).collect(),
                    Some(shared),
                )
            }
            (_, None) => (self.dirs.iter().map(|d| d.join(&name)).collect(), None),
        };
        let group = TestCgroup {
            version: self.version,
            dirs,
            share,
            memory_bytes: limits.memory_bytes,
        };
        for dir in &group.dirs {
            make_dir(dir)?;
        }
        group.set_limits(limits)?;
        Ok(group)
    }
}

impl Drop for RunGroups {
    fn drop(&mut self) {
        // The submissions' CPU groups first (empty once their tests ended).
        if let Some(cpu) = &self.cpu {
            for entry in std::fs::read_dir(cpu).into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().starts_with("sub-") {
                    let _ = std::fs::remove_dir(entry.path());
                }
            }
        }
        for dir in self.dirs.iter().chain(&self.cpu) {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// How close to its limit a v1 group's peak must come to count as having
/// reached it (a few pages).
const AT_LIMIT_SLACK: u64 = 1 << 20;

/// One test's control group (a folder per hierarchy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCgroup {
    /// The hierarchy.
    pub version: Version,
    /// Its folders: one for v2; memory, then pids, for v1.
    pub dirs: Vec<PathBuf>,
    /// The v1 CPU group of its submission, joined but shared with the
    /// submission's other tests (so never removed with the test's).
    #[serde(default)]
    pub share: Option<PathBuf>,
    /// Its memory limit, in bytes.
    pub memory_bytes: u64,
}

/// What a test's group counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Processes the out-of-memory killer ended in it (for any reason).
    pub oom_kills: u64,
    /// Whether its memory reached the group's limit.
    pub hit_memory_limit: bool,
    /// Whether a fork or thread failed at its task limit.
    pub hit_task_limit: bool,
    /// The most memory it held at once, where the kernel says.
    pub peak_bytes: Option<u64>,
}

impl TestCgroup {
    fn memory_dir(&self) -> &Path {
        &self.dirs[0]
    }

    fn pids_dir(&self) -> &Path {
        self.dirs.last().expect("a group has a folder")
    }

    fn set_limits(&self, limits: &Limits) -> Result<(), String> {
        let set = |file: &str, value: u64| write(&self.memory_dir().join(file), &value.to_string());
        match self.version {
            Version::V2 => {
                set("memory.max", limits.memory_bytes)?;
                // No swap to spill into, and one OOM kill ends the whole test.
                let _ = set("memory.swap.max", 0);
                let _ = set("memory.oom.group", 1);
            }
            Version::V1 => {
                set("memory.limit_in_bytes", limits.memory_bytes)?;
                let _ = set("memory.memsw.limit_in_bytes", limits.memory_bytes);
            }
        }
        write(&self.pids_dir().join("pids.max"), &limits.tasks.to_string())
    }

    /// Moves the calling process (the jail, still root) into the group;
    /// everything it starts from then on is born in it.
    pub fn join(&self) -> Result<(), String> {
        self.add(std::process::id())
    }

    /// Moves process `pid` into the group.
    pub fn add(&self, pid: u32) -> Result<(), String> {
        for dir in self.dirs.iter().chain(&self.share) {
            write(&dir.join("cgroup.procs"), &pid.to_string())
                .map_err(|e| format!("cgroup: {e}"))?;
        }
        Ok(())
    }

    /// Reads the group's counters.
    pub fn usage(&self) -> Usage {
        let text = |file: &str| std::fs::read_to_string(self.memory_dir().join(file));
        let pids = std::fs::read_to_string(self.pids_dir().join("pids.events")).unwrap_or_default();
        let hit_task_limit = counter(&pids, "max") > 0;
        match self.version {
            Version::V2 => {
                let events = text("memory.events").unwrap_or_default();
                Usage {
                    oom_kills: counter(&events, "oom_kill"),
                    hit_memory_limit: counter(&events, "oom") > 0 || counter(&events, "max") > 0,
                    hit_task_limit,
                    peak_bytes: text("memory.peak").ok().and_then(|t| t.trim().parse().ok()),
                }
            }
            Version::V1 => {
                let count = |file: &str| {
                    let value = text(file).ok().and_then(|t| t.trim().parse::<u64>().ok());
                    value.unwrap_or(0)
                };
                let peak_bytes = text("memory.max_usage_in_bytes")
                    .ok()
                    .and_then(|t| t.trim().parse().ok());
                // With memsw limited too, some kernels count a failed charge
                // in neither failcnt: a peak at the limit tells it then.
                let at_limit = peak_bytes.is_some_and(|peak: u64| {
                    peak >= self.memory_bytes.saturating_sub(AT_LIMIT_SLACK)
                });
                Usage {
                    oom_kills: counter(&text("memory.oom_control").unwrap_or_default(), "oom_kill"),
                    hit_memory_limit: count("memory.failcnt") > 0
                        || count("memory.memsw.failcnt") > 0
                        || at_limit,
                    hit_task_limit,
                    peak_bytes,
                }
            }
        }
    }

    /// Kills whatever is left in the group and removes it (waiting up to
    /// 2 s for the processes to be gone).
    pub fn remove(&self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        for dir in &self.dirs {
            if self.version == Version::V2 {
                let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            }
            while std::fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
                kill_members(dir);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// SIGKILL to every process in the group folder `dir`.
fn kill_members(dir: &Path) {
    let members = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    for pid in members.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The value of `name` in a flat-keyed file (`name value` lines).
fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            (key == name).then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

impl Usage {
    /// The verdict on a test that ended with `outcome`, given what its group
    /// counted: an out-of-memory kill at the group's limit is the test's
    /// ("over a limit: used more than 1 GiB of memory"), one while the group
    /// was under its limit came from outside the sandbox (the machine ran
    /// out of memory: a fault, no verdict), and a failure at the task limit
    /// names it. A test that passed keeps its pass.
    pub fn verdict(&self, outcome: Outcome, limits: &Limits) -> Outcome {
        if outcome == Outcome::Passed || matches!(outcome, Outcome::NotGraded { .. }) {
            return outcome;
        }
        if self.oom_kills > 0 && !self.hit_memory_limit {
            return Outcome::NotGraded {
                fault: Fault::KilledFromOutside {
                    detail: "the machine's out-of-memory killer, while the test was under its \
                             own memory limit"
                        .to_string(),
                },
            };
        }
        if self.oom_kills > 0 {
            return Outcome::OverLimit {
                limit: Limit::Memory {
                    bytes: limits.memory_bytes,
                },
            };
        }
        let failed = matches!(
            outcome,
            Outcome::Failed { .. } | Outcome::Crashed { .. } | Outcome::ExitedEarly
        );
        if self.hit_task_limit && failed {
            return Outcome::OverLimit {
                limit: Limit::Tasks {
                    count: limits.tasks,
                },
            };
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::progress::process_cpu_of;

    const MOUNTS: &str = "\
35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:11 - cgroup cgroup rw,memory
36 25 0:31 / /sys/fs/cgroup/pids rw,relatime shared:12 - cgroup cgroup rw,pids
37 25 0:32 / /sys/fs/cgroup/unified rw,relatime shared:13 - cgroup2 cgroup2 rw
";

    #[test]
    fn own_groups_are_found_in_either_hierarchy() {
        let memberships = "8:pids:/\n4:memory:/box/a1\n0::/user.slice/x.scope\n";
        let dir = |c| own_dir(memberships, MOUNTS, c);
        assert_eq!(
            dir(Controller::Memory),
            Some(PathBuf::from("/sys/fs/cgroup/memory/box/a1"))
        );
        assert_eq!(
            dir(Controller::Pids),
            Some(PathBuf::from("/sys/fs/cgroup/pids/"))
        );
        assert_eq!(
            dir(Controller::Unified),
            Some(PathBuf::from("/sys/fs/cgroup/unified/user.slice/x.scope"))
        );
        assert_eq!(own_dir("0::/\n", "", Controller::Unified), None);
    }

    fn outcome_with(usage: Usage, outcome: Outcome) -> Outcome {
        usage.verdict(outcome, &Limits::default())
    }

    #[test]
    fn an_oom_kill_at_the_limit_is_the_tests_and_one_under_it_a_fault() {
        let crashed = Outcome::Crashed { signal: 9 };
        let at_limit = Usage {
            oom_kills: 3,
            hit_memory_limit: true,
            ..Usage::default()
        };
        assert!(matches!(
            outcome_with(at_limit, crashed.clone()),
            Outcome::OverLimit {
                limit: Limit::Memory { .. }
            }
        ));
        let from_outside = Usage {
            oom_kills: 1,
            ..Usage::default()
        };
        assert!(matches!(
            outcome_with(from_outside, crashed.clone()),
            Outcome::NotGraded {
                fault: Fault::KilledFromOutside { .. }
            }
        ));
        assert_eq!(outcome_with(at_limit, Outcome::Passed), Outcome::Passed);
        assert_eq!(outcome_with(Usage::default(), crashed.clone()), crashed);
    }

    /// Busy-looping shells in one test's group, killed when dropped.
    struct Spinners {
        group: TestCgroup,
        children: Vec<std::process::Child>,
    }

    impl Spinners {
        /// Starts `count` of them in test `n`'s group of the submission
        /// ranked `share`.
        fn start(groups: &RunGroups, n: u64, share: u64, count: usize) -> Spinners {
            let mut spinners = Spinners {
                group: groups.test(n, &Limits::default(), share).unwrap(),
                children: Vec::new(),
            };
            for _ in 0..count {
                let child = std::process::Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .unwrap();
                spinners.children.push(child);
                let pid = spinners.children.last().unwrap().id();
                spinners.group.add(pid).unwrap();
            }
            spinners
        }

        fn cpu(&self) -> Duration {
            let nanos = self.children.iter().map(|c| process_cpu_of(c.id()));
            Duration::from_nanos(nanos.sum())
        }
    }

    impl Drop for Spinners {
        fn drop(&mut self) {
            for child in &mut self.children {
                let _ = child.kill();
                let _ = child.wait();
            }
            self.group.remove();
        }
    }

    /// The attack: one submission's test starts eight busy loops while the
    /// next submission's test needs one CPU. With equal shares the one loop
    /// gets about as much CPU as all eight on two free CPUs (measured 0.8:1)
    /// and about half as much under a quota of half a CPU, where the eight
    /// run on both CPUs and the one on a single CPU (0.48:1 to 0.6:1);
    /// sharing per process, it gets one part in eight (0.125:1).
    #[test]
    fn a_spinning_submission_takes_no_more_cpu_than_the_one_beside_it() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("not root: no control groups to make, nothing to share");
            return;
        }
        let base = base().expect("this machine offers control groups");
        assert!(
            base.shares_cpu(),
            "this machine offers no cpu controller to share with"
        );
        let groups = RunGroups::new(base, 12).unwrap();
        let attacker = Spinners::start(&groups, 0, 0, 8);
        let victim = Spinners::start(&groups, 1, 1, 1);
        std::thread::sleep(Duration::from_secs(3));
        let (taken, left) = (attacker.cpu(), victim.cpu());
        drop((attacker, victim));
        assert!(
            left.as_secs_f64() >= 0.35 * taken.as_secs_f64(),
            "the lone loop got {left:?} of CPU beside the eight loops' {taken:?}"
        );
    }

    #[test]
    fn counters_are_read_by_name() {
        let events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(counter(events, "oom_kill"), 2);
        assert_eq!(counter(events, "oom"), 2);
        assert_eq!(counter(events, "max"), 12);
        assert_eq!(
            counter("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n", "oom_kill"),
            5
        );
    }
}
