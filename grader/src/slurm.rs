//! `grader slurm`: the batch scripts that grade a class on a Slurm cluster.
//!
//! Three files go into one folder on storage every node shares:
//!
//! - `grade.sbatch`, a job array with one task per shard. Task K first
//!   writes `shard-K/task.txt` (its Slurm name, `ARRAYJOB_K`), then runs
//!   `grade --shard K/N --out shard-K --resume --seed S`.
//! - `merge.sbatch`, one job that runs `merge --class ...` over the shard
//!   folders into `grades/` and writes its exit status to `merge-status.txt`.
//! - `submit.sh`, which submits the array and then the merge, dependent on
//!   it; `submit.sh K...` submits only tasks K... and a new merge.
//!
//! The merge depends on the array with `afterany`, not `afterok`: a task
//! that dies (cancelled, out of time, its node lost) or that ends with exit
//! status 3 (a submission not graded) would otherwise leave the merge
//! pending forever, and the class without a gradebook that says what is
//! missing. With `afterany` the merge always runs once the array is over;
//! `merge --class` knows which students each shard should have graded and
//! reports those of a shard with no results as not graded, naming the task
//! (`Fault::ShardMissing`), and exits 3.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use clap::ValueEnum as _;

use crate::Error;
use crate::report::GradescopeVisibility;

/// The file each task writes first into its shard folder: the task's Slurm
/// name, read back by `merge` to name a task that wrote no results.
pub const TASK_FILE: &str = "task.txt";

/// The file `merge.sbatch` writes the merge's exit status to.
pub const MERGE_STATUS_FILE: &str = "merge-status.txt";

/// The folder, under the batch folder, that `merge.sbatch` writes the
/// gradebook and every report to.
pub const GRADES_DIR: &str = "grades";

/// Memory of the merge job, in MiB: it reads and writes reports only.
const MERGE_MEM_MIB: u64 = 1024;

/// What the batch scripts run, and with which Slurm limits.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    /// The grader binary, an absolute path every node can run.
    pub grader: PathBuf,
    /// The course workspace, an absolute path.
    pub course: PathBuf,
    /// The class: submission folders or class descriptions, absolute.
    pub classes: Vec<PathBuf>,
    /// The batch folder (shared storage), absolute.
    pub dir: PathBuf,
    /// Array tasks, one shard each.
    pub shards: usize,
    /// The Slurm partition, or the cluster's default.
    pub partition: Option<String>,
    /// Time limit per grading task, in minutes.
    pub time_minutes: u32,
    /// Time limit of the merge job, in minutes.
    pub merge_time_minutes: u32,
    /// Memory per grading task, in MiB.
    pub mem_mib: u64,
    /// CPUs per grading task (the task runs three test processes per CPU).
    pub cpus_per_task: u32,
    /// The seed every shard grades with, so the shards join into one run.
    pub seed: u64,
    /// Gradescope visibility of hidden tests in every `results.json`.
    pub hidden_visibility: GradescopeVisibility,
    /// More `grade` arguments, e.g. `--exercise 05`.
    pub grade_args: Vec<String>,
}

/// `text` as one word of a POSIX shell command: bare when it holds only
/// characters no shell treats specially, else in single quotes.
pub fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn path_word(path: &Path) -> String {
    shell_word(&path.to_string_lossy())
}

impl BatchPlan {
    /// The folder shard `k` (1-based) grades into.
    pub fn shard_dir(&self, k: usize) -> PathBuf {
        self.dir.join(format!("shard-{k}"))
    }

    fn visibility(&self) -> String {
        self.hidden_visibility
            .to_possible_value()
            .expect("every visibility has a name")
            .get_name()
            .to_string()
    }

    /// `grader --course COURSE`, quoted.
    fn grader_command(&self) -> String {
        format!(
            "{} --course {}",
            path_word(&self.grader),
            path_word(&self.course)
        )
    }

    fn classes_words(&self) -> String {
        let words: Vec<String> = self.classes.iter().map(|c| path_word(c)).collect();
        words.join(" ")
    }

    /// The `#SBATCH` lines both scripts share: partition and log folder.
    fn common_directives(&self, name: &str, log: &str) -> String {
        let mut text = format!("#SBATCH --job-name={name}\n");
        if let Some(partition) = &self.partition {
            let _ = writeln!(text, "#SBATCH --partition={}", shell_word(partition));
        }
        let log = self.dir.join("logs").join(log);
        let _ = writeln!(text, "#SBATCH --output={}", path_word(&log));
        text
    }

    /// `grade.sbatch`: the job array, one task per shard.
    pub fn grade_script(&self) -> String {
        let mut text = String::from("#!/usr/bin/env bash\n");
        text += "# Written by `grader slurm`: one array task per shard of the class.\n";
        text += &self.common_directives("interleave-grade", "grade-%A_%a.out");
        let _ = writeln!(text, "#SBATCH --array=1-{}", self.shards);
        let _ = writeln!(text, "#SBATCH --time={}", self.time_minutes);
        let _ = writeln!(text, "#SBATCH --mem={}", self.mem_mib);
        let _ = writeln!(text, "#SBATCH --cpus-per-task={}", self.cpus_per_task);
        text += "set -euo pipefail\n";
        text += "k=\"$SLURM_ARRAY_TASK_ID\"\n";
        let _ = writeln!(text, "out={}/shard-\"$k\"", path_word(&self.dir));
        text += "mkdir -p \"$out\"\n";
        text += "# Named first, so a task that dies before any result is named by merge.\n";
        text += "echo \"${SLURM_ARRAY_JOB_ID}_${k}\" > \"$out/task.txt\"\n";
        let extra: Vec<String> = self.grade_args.iter().map(|a| shell_word(a)).collect();
        let _ = writeln!(
            text,
            "exec {} grade {} --shard \"$k/{}\" --out \"$out\" --resume --seed {} \
             --hidden-visibility {} --jobs $((3 * ${{SLURM_CPUS_PER_TASK:-1}})){}",
            self.grader_command(),
            self.classes_words(),
            self.shards,
            self.seed,
            self.visibility(),
            extra.iter().map(|a| format!(" {a}")).collect::<String>()
        );
        text
    }

    /// `merge.sbatch`: joins the shards into `grades/`, every shard named in
    /// order, and keeps the merge's exit status.
    pub fn merge_script(&self) -> String {
        let mut text = String::from("#!/usr/bin/env bash\n");
        text += "# Written by `grader slurm`: joins the shards into one gradebook.\n";
        text += &self.common_directives("interleave-merge", "merge-%j.out");
        let _ = writeln!(text, "#SBATCH --time={}", self.merge_time_minutes);
        let _ = writeln!(text, "#SBATCH --mem={MERGE_MEM_MIB}");
        text += "#SBATCH --cpus-per-task=1\n";
        text += "set -uo pipefail\n";
        let shards: Vec<String> = (1..=self.shards)
            .map(|k| path_word(&self.shard_dir(k)))
            .collect();
        let classes: Vec<String> = self
            .classes
            .iter()
            .map(|c| format!("--class {}", path_word(c)))
            .collect();
        let _ = writeln!(
            text,
            "{} merge {} --out {} --hidden-visibility {} {}",
            self.grader_command(),
            classes.join(" "),
            path_word(&self.dir.join(GRADES_DIR)),
            self.visibility(),
            shards.join(" ")
        );
        text += "status=$?\n";
        let status = path_word(&self.dir.join(MERGE_STATUS_FILE));
        let _ = writeln!(text, "echo \"$status\" > {status}.partial");
        let _ = writeln!(text, "mv {status}.partial {status}");
        text += "exit \"$status\"\n";
        text
    }

    /// `submit.sh`: the array, then the merge once every task is over;
    /// with arguments, only those tasks (a resubmission) and a new merge.
    pub fn submit_script(&self) -> String {
        let dir = path_word(&self.dir);
        let mut text = String::from("#!/usr/bin/env bash\n");
        text += "# Written by `grader slurm`. `bash submit.sh` grades the class; `bash submit.sh 2 5`\n";
        text +=
            "# grades shards 2 and 5 again (they keep what they graded, --resume) and merges.\n";
        text += "# The merge waits with afterany, so a task that died still gets a gradebook\n";
        text +=
            "# that names it (its students \"not graded\") instead of a merge that never runs.\n";
        text += "set -euo pipefail\n";
        let _ = writeln!(text, "cd {dir}");
        let _ = writeln!(text, "tasks=1-{}", self.shards);
        text += "if [ \"$#\" -gt 0 ]; then tasks=\"$(IFS=,; echo \"$*\")\"; fi\n";
        text += "mkdir -p logs\n";
        let _ = writeln!(text, "rm -f {MERGE_STATUS_FILE}");
        text += "grade=\"$(sbatch --parsable --array=\"$tasks\" grade.sbatch)\"\n";
        text += "grade=\"${grade%%;*}\"\n";
        text += "merge=\"$(sbatch --parsable --dependency=afterany:\"$grade\" merge.sbatch)\"\n";
        text += "merge=\"${merge%%;*}\"\n";
        let _ = writeln!(
            text,
            "echo \"grading: job $grade (tasks $tasks); merge: job $merge, into {}\"",
            self.dir.join(GRADES_DIR).display()
        );
        text
    }

    /// Writes the three scripts into the batch folder; the paths written.
    pub fn write(&self) -> Result<Vec<PathBuf>, Error> {
        fs::create_dir_all(self.dir.join("logs")).map_err(|e| Error::io(&self.dir, e))?;
        let files = [
            ("grade.sbatch", self.grade_script()),
            ("merge.sbatch", self.merge_script()),
            ("submit.sh", self.submit_script()),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = self.dir.join(name);
            fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The `grade` options every task's command line sets itself: given again
/// after `--`, the task's grader would refuse to start.
const SET_BY_THE_SCRIPT: [&str; 8] = [
    "--shard",
    "--out",
    "-o",
    "--resume",
    "--seed",
    "--hidden-visibility",
    "--jobs",
    "-j",
];

/// Refuses extra `grade` arguments that the task's command line sets
/// itself (`--shard`, `--out`, `--seed`, ...), naming the option that
/// stands in for each.
pub fn check_grade_args(args: &[String]) -> Result<(), Error> {
    for arg in args {
        let name = arg.split('=').next().unwrap_or(arg);
        if SET_BY_THE_SCRIPT.contains(&name) {
            return Err(Error::new(format!(
                "{arg} after --: every task sets --shard, --out, --resume, --seed, \
                 --hidden-visibility and --jobs itself (use --shards, --dir, --seed, \
                 --hidden-visibility and --cpus-per-task of `grader slurm`)"
            )));
        }
    }
    Ok(())
}

/// The Slurm name of the task that graded into `shard_dir`, if it started.
pub fn task_of(shard_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(shard_dir.join(TASK_FILE)).ok()?;
    let task = text.trim();
    (!task.is_empty()).then(|| task.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> BatchPlan {
        BatchPlan {
            grader: "/opt/interleave/grader".into(),
            course: "/srv/course".into(),
            classes: vec!["/srv/class one.toml".into()],
            dir: "/shared/batch".into(),
            shards: 3,
            partition: Some("short".into()),
            time_minutes: 60,
            merge_time_minutes: 15,
            mem_mib: 8192,
            cpus_per_task: 4,
            seed: 42,
            hidden_visibility: GradescopeVisibility::AfterPublished,
            grade_args: vec!["--exercise".into(), "05".into()],
        }
    }

    #[test]
    fn shell_words_are_bare_or_single_quoted() {
        assert_eq!(shell_word("/srv/course"), "/srv/course");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn the_array_has_one_task_per_shard_each_grading_its_own_shard() {
        let script = plan().grade_script();
        for line in [
            "#SBATCH --array=1-3",
            "#SBATCH --partition=short",
            "#SBATCH --time=60",
            "#SBATCH --mem=8192",
            "#SBATCH --cpus-per-task=4",
            "out=/shared/batch/shard-\"$k\"",
            "echo \"${SLURM_ARRAY_JOB_ID}_${k}\" > \"$out/task.txt\"",
        ] {
            assert!(script.lines().any(|l| l == line), "{line} in:\n{script}");
        }
        let command = script.lines().last().unwrap();
        assert!(
            command.starts_with("exec /opt/interleave/grader --course /srv/course grade"),
            "{command}"
        );
        for part in [
            "'/srv/class one.toml'",
            "--shard \"$k/3\"",
            "--out \"$out\" --resume --seed 42",
            "--hidden-visibility after-published",
            "--exercise 05",
        ] {
            assert!(command.contains(part), "{part} in {command}");
        }
    }

    #[test]
    fn the_merge_names_every_shard_in_order_and_keeps_its_status() {
        let script = plan().merge_script();
        let command = script.lines().find(|l| l.contains(" merge ")).unwrap();
        assert!(
            command.ends_with(
                "--hidden-visibility after-published \
                 /shared/batch/shard-1 /shared/batch/shard-2 /shared/batch/shard-3"
            ),
            "{command}"
        );
        assert!(
            command.contains("--class '/srv/class one.toml'"),
            "{command}"
        );
        assert!(command.contains("--out /shared/batch/grades"), "{command}");
        assert!(script.contains("echo \"$status\" > /shared/batch/merge-status.txt.partial"));
        assert!(script.trim_end().ends_with("exit \"$status\""));
    }

    #[test]
    fn submit_waits_for_every_task_and_resubmits_only_those_named() {
        let script = plan().submit_script();
        assert!(script.contains("tasks=1-3\n"));
        assert!(script.contains("--array=\"$tasks\" grade.sbatch"));
        assert!(script.contains("--dependency=afterany:\"$grade\" merge.sbatch"));
        assert!(script.contains("rm -f merge-status.txt"));
    }

    #[test]
    fn the_scripts_are_valid_bash() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = plan();
        plan.dir = dir.path().join("batch dir");
        for path in plan.write().unwrap() {
            let status = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .status()
                .unwrap();
            assert!(status.success(), "bash -n {}", path.display());
        }
    }

    #[test]
    fn grade_args_the_script_sets_itself_are_refused() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_grade_args(&args(&["--exercise", "05", "--timeout", "20"])).is_ok());
        for set in [
            &["--seed", "3"][..],
            &["--out=x"],
            &["-j", "2"],
            &["--resume"],
        ] {
            assert!(check_grade_args(&args(set)).is_err(), "{set:?}");
        }
    }

    #[test]
    fn a_task_is_named_by_the_file_it_wrote_first() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(task_of(dir.path()), None);
        fs::write(dir.path().join(TASK_FILE), "1234_2\n").unwrap();
        assert_eq!(task_of(dir.path()).as_deref(), Some("1234_2"));
    }
}
