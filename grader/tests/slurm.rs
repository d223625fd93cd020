//! `grader slurm` on a real Slurm: the test starts munge, `slurmctld` and
//! `slurmd` on this machine with a configuration of its own (its own ports,
//! folders and munge socket; nothing system-wide is read), grades the sample
//! class (exercise 05) as an array of 3 shards and checks that the merged
//! reports equal those of one `grade` run with the same seed. Then it
//! cancels task 2 while it runs: the merge must still run, report task 2's
//! students not graded naming the task, and exit 3; `submit.sh 2` must then
//! complete the class, equal to the single run again.
//!
//! Built only with `--features slurm` (`.ci/run` installs Debian's
//! `slurm-wlm` and `munge` and runs it); without them it fails, it never
//! passes silently. Every daemon it started is stopped, and every job
//! cancelled, when it ends, panics included.

mod common;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const SEED: &str = "20260";
const SHARDS: usize = 3;
/// The students of shard 2 of 3 in the sample class (every third student
/// in id order, from the second).
const SHARD_2: [&str; 2] = ["ben-partial", "eli-no-compile"];

/// The programs the test needs, and where Debian puts them.
const PROGRAMS: [&str; 8] = [
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "scancel",
    "scontrol",
    "sinfo",
    "squeue",
];

/// The full path of `program`, on `PATH` or in the sbin folders; a test
/// failure naming the packages when it is missing.
fn program(program: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let folders = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"]);
    for folder in folders.filter(|f| !f.is_empty()) {
        let candidate = Path::new(folder).join(program);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "{program} not found: this test runs a real Slurm; install Debian's slurm-wlm and munge \
         (apt-get install slurm-wlm munge), as .ci/run does"
    );
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// This machine's short host name: the Slurm node's name.
fn short_hostname() -> String {
    let name = nix::unistd::gethostname().unwrap();
    let name = name.to_string_lossy();
    name.split('.').next().unwrap().to_string()
}

/// The value of `key` in `slurmd -C`'s node line (CPUs, RealMemory).
fn node_value(key: &str) -> String {
    let out = Command::new(program("slurmd")).arg("-C").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("{key}=");
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in slurmd -C: {text}"))
        .to_string()
}

/// The user running the test, whom Slurm's daemons and jobs run as (root
/// in `.ci/run`).
fn user() -> String {
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_uid(uid).unwrap();
    user.map(|u| u.name).unwrap_or_else(|| uid.to_string())
}

/// A Slurm cluster of one node on this machine, in a folder of its own.
/// Dropping it cancels every job and stops the daemons.
struct Cluster {
    root: tempfile::TempDir,
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    fn start() -> Cluster {
        let programs: Vec<PathBuf> = PROGRAMS.iter().map(|p| program(p)).collect();
        assert!(programs.iter().all(|p| p.is_file()));
        let root = tempfile::tempdir().unwrap();
        let mut cluster = Cluster {
            root,
            daemons: Vec::new(),
        };
        for folder in ["state", "spool", "log", "run"] {
            fs::create_dir(cluster.path().join(folder)).unwrap();
        }
        cluster.start_munge();
        fs::write(cluster.conf(), cluster.slurm_conf()).unwrap();
        cluster.start_daemon("slurmctld");
        cluster.start_daemon("slurmd");
        cluster.wait_idle();
        cluster
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn conf(&self) -> PathBuf {
        self.path().join("slurm.conf")
    }

    fn socket(&self) -> PathBuf {
        self.path().join("run/munge.socket")
    }

    /// munged with a fresh key; it wants its key 0400 and every folder
    /// above its socket open to all for search.
    fn start_munge(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = self.path().to_path_buf();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711)).unwrap();
        let key = dir.join("munge.key");
        let mut bytes = vec![0u8; 1024];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .unwrap();
        fs::File::create(&key).unwrap().write_all(&bytes).unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o400)).unwrap();
        let child = Command::new(program("munged"))
            .arg("--foreground")
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!(
                "--pid-file={}",
                dir.join("run/munged.pid").display()
            ))
            .arg(format!(
                "--log-file={}",
                dir.join("log/munged.log").display()
            ))
            .arg(format!(
                "--seed-file={}",
                dir.join("run/munged.seed").display()
            ))
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("log/munged.out")).unwrap())
            .spawn()
            .unwrap();
        self.daemons.push(("munged", child));
        self.wait_for("munged's socket", Duration::from_secs(20), || {
            self.socket().exists()
        });
    }

    fn slurm_conf(&self) -> String {
        let dir = self.path().display();
        let node = short_hostname();
        format!(
            "ClusterName=interleave\n\
             SlurmctldHost={node}\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={d}\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={socket}\n\
             CredType=cred/munge\n\
             SlurmUser={user}\n\
             SlurmdUser={user}\n\
             StateSaveLocation={dir}/state\n\
             SlurmdSpoolDir={dir}/spool\n\
             SlurmctldPidFile={dir}/run/slurmctld.pid\n\
             SlurmdPidFile={dir}/run/slurmd.pid\n\
             SlurmctldLogFile={dir}/log/slurmctld.log\n\
             SlurmdLogFile={dir}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             ReturnToService=2\n\
             MpiDefault=none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/none\n\
             SwitchType=switch/none\n\
             SchedulerType=sched/backfill\n\
             KillWait=5\n\
             MinJobAge=600\n\
             NodeName={node} CPUs={cpus} RealMemory={memory} State=UNKNOWN\n\
             PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
            ctld = free_port(),
            d = free_port(),
            socket = self.socket().display(),
            user = user(),
            cpus = node_value("CPUs"),
            memory = node_value("RealMemory"),
        )
    }

    fn start_daemon(&mut self, name: &'static str) {
        let out = fs::File::create(self.path().join(format!("log/{name}.out"))).unwrap();
        let child = Command::new(program(name))
            .arg("-D")
            .arg("-f")
            .arg(self.conf())
            .env("SLURM_CONF", self.conf())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        self.daemons.push((name, child));
    }

    /// A Slurm client command of this cluster.
    fn client(&self, name: &str) -> Command {
        let mut command = Command::new(program(name));
        command.env("SLURM_CONF", self.conf());
        command
    }

    fn output(&self, name: &str, args: &[&str]) -> String {
        let out = self.client(name).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_idle(&self) {
        self.wait_for("the node to be idle", Duration::from_secs(90), || {
            self.output("sinfo", &["-h", "-o", "%t"]).trim() == "idle"
        });
    }

    /// Polls `done` every 200 ms until it holds; fails after `limit` with
    /// the daemons' logs.
    fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > limit {
                panic!("waited {limit:?} for {what}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The tails of every log the cluster wrote, for a failure message.
    fn logs(&self) -> String {
        let mut text = String::new();
        for entry in fs::read_dir(self.path().join("log")).unwrap().flatten() {
            let log = fs::read_to_string(entry.path()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            text += &format!("--- {}\n", entry.path().display());
            for line in tail.into_iter().rev() {
                text += &format!("{line}\n");
            }
        }
        text + &self.output("squeue", &["-a"])
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .client("scancel")
            .arg(format!("--user={}", user()))
            .status();
        std::thread::sleep(Duration::from_millis(500));
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        for (name, child) in self.daemons.iter_mut().rev() {
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(10) {
                    eprintln!("{name} did not stop on SIGTERM: killed");
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// `grader slurm` for the sample class, exercise 05, into `dir`.
fn write_scripts(dir: &Path) {
    let class = course().join("examples/class.toml");
    grader()
        .arg("slurm")
        .arg(&class)
        .arg("--dir")
        .arg(dir)
        .args(["--shards", &SHARDS.to_string(), "--cpus-per-task", "1"])
        .args(["--mem", "1024", "--time", "20", "--merge-time", "5"])
        .args(["--seed", SEED, "--", "--exercise", "05"])
        .assert()
        .success();
}

/// `bash submit.sh ARGS`, then waits for the merge's exit status; it and
/// the seconds from submission to the merged gradebook.
fn submit_and_wait(cluster: &Cluster, dir: &Path, args: &[&str]) -> (i32, f64) {
    let start = Instant::now();
    let out = cluster
        .client("bash")
        .arg(dir.join("submit.sh"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "submit.sh: {out:?}");
    let status = dir.join("merge-status.txt");
    cluster.wait_for("the merge", Duration::from_secs(900), || status.exists());
    let secs = start.elapsed().as_secs_f64();
    let code = fs::read_to_string(&status).unwrap().trim().parse().unwrap();
    (code, secs)
}

/// The reports of every student in `out` that must not depend on how the
/// class was split: results.json without its execution time, feedback.md.
fn student_reports(out: &Path) -> Vec<(String, serde_json::Value, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(out).unwrap().flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let text = fs::read_to_string(dir.join("results.json")).unwrap();
        let mut results: serde_json::Value = serde_json::from_str(&text).unwrap();
        results.as_object_mut().unwrap().remove("execution_time");
        let feedback = fs::read_to_string(dir.join("feedback.md")).unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        found.push((name, results, feedback));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The merged reports equal the single run's: the gradebook byte for byte,
/// every student's results and feedback.
fn assert_same_grades(single: &Path, merged: &Path) {
    let gradebook = |dir: &Path| fs::read_to_string(dir.join("gradebook.csv")).unwrap();
    assert_eq!(gradebook(merged), gradebook(single), "gradebook.csv");
    let (single, merged) = (student_reports(single), student_reports(merged));
    assert_eq!(single.len(), 6, "the sample class has six students");
    let names = |r: &[(String, serde_json::Value, String)]| -> Vec<String> {
        r.iter().map(|s| s.0.clone()).collect()
    };
    assert_eq!(names(&merged), names(&single));
    for (one, all) in single.iter().zip(&merged) {
        assert_eq!(one.1, all.1, "{}: results.json", one.0);
        assert_eq!(one.2, all.2, "{}: feedback.md", one.0);
    }
    assert!(merged.iter().all(|(_, _, f)| !f.contains("Not graded")));
}

/// One `grade` run of the same class, seed and arguments; its seconds.
fn single_run(out: &Path) -> f64 {
    let start = Instant::now();
    grader()
        .arg("grade")
        .arg(course().join("examples/class.toml"))
        .args(["--exercise", "05", "--seed", SEED, "--out"])
        .arg(out)
        .assert()
        .success();
    start.elapsed().as_secs_f64()
}

/// Cancels task 2 of the array once it has started (its task.txt is
/// there); the task's Slurm name.
fn cancel_task_2(cluster: &Cluster, dir: &Path) -> String {
    let task_file = dir.join("shard-2/task.txt");
    cluster.wait_for("task 2 to start", Duration::from_secs(300), || {
        fs::read_to_string(&task_file).is_ok_and(|t| t.ends_with('\n'))
    });
    let task = fs::read_to_string(&task_file).unwrap().trim().to_string();
    let status = cluster.client("scancel").arg(&task).status().unwrap();
    assert!(status.success(), "scancel {task}");
    task
}

/// The merge after the cancelled task: exit 3, task 2's unfinished
/// students not graded naming the task, every other student graded.
fn assert_task_2_reported(merged: &Path, task: &str) {
    let gradebook = fs::read_to_string(merged.join("gradebook.csv")).unwrap();
    let not_graded: Vec<&str> = gradebook
        .lines()
        .filter(|l| l.contains("not graded"))
        .collect();
    assert!(
        !not_graded.is_empty(),
        "task {task} was cancelled:\n{gradebook}"
    );
    for line in &not_graded {
        let student = line.split(',').next().unwrap();
        assert!(
            SHARD_2.contains(&student),
            "{student} is not in shard 2:\n{gradebook}"
        );
        let said = format!("not graded: shard 2/3 (Slurm task {task}) wrote no results");
        assert!(line.contains(&said), "{line}");
        let feedback = fs::read_to_string(merged.join(student).join("feedback.md")).unwrap();
        assert!(
            feedback.contains(&format!("Slurm task {task}")),
            "{feedback}"
        );
    }
    assert_eq!(
        gradebook.lines().count(),
        7,
        "every student listed:\n{gradebook}"
    );
    eprintln!(
        "after cancelling task {task}:\n  {}",
        not_graded.join("\n  ")
    );
}

#[test]
fn a_class_graded_as_a_slurm_array_equals_one_run_and_a_killed_task_is_resubmitted() {
    let cluster = Cluster::start();
    let work = tempfile::tempdir().unwrap();
    let single = work.path().join("single");
    let single_secs = single_run(&single);

    let batch = work.path().join("batch");
    write_scripts(&batch);
    let (status, array_secs) = submit_and_wait(&cluster, &batch, &[]);
    assert_eq!(status, 0, "merge exit status\n{}", cluster.logs());
    assert_same_grades(&single, &batch.join("grades"));
    eprintln!(
        "sample class, exercise 05: one grade run {single_secs:.1} s; {SHARDS}-task array \
         from submission to merged gradebook {array_secs:.1} s"
    );

    let batch = work.path().join("batch-killed");
    write_scripts(&batch);
    let submit = cluster
        .client("bash")
        .arg(batch.join("submit.sh"))
        .output()
        .unwrap();
    assert!(submit.status.success(), "submit.sh: {submit:?}");
    let task = cancel_task_2(&cluster, &batch);
    let status = batch.join("merge-status.txt");
    cluster.wait_for("the merge", Duration::from_secs(900), || status.exists());
    assert_eq!(
        fs::read_to_string(&status).unwrap().trim(),
        "3",
        "merge exit status"
    );
    assert_task_2_reported(&batch.join("grades"), &task);

    let (status, resubmit_secs) = submit_and_wait(&cluster, &batch, &["2"]);
    assert_eq!(
        status,
        0,
        "merge after resubmitting task 2\n{}",
        cluster.logs()
    );
    assert_same_grades(&single, &batch.join("grades"));
    eprintln!("task 2 resubmitted and merged in {resubmit_secs:.1} s");
}
