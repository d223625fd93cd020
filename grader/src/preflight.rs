//! The preflight: before any submission is graded or the course verified,
//! one known-good test runs through the very path a student's test takes
//! (staging, the jail, its uid, namespaces, control group, Landlock,
//! seccomp, the pass record, the verdict). If it does not pass, the sandbox
//! is broken on this machine, every test would fail the same way, and the
//! run stops with exit status 2 and a message that names the cause and the
//! fix, before any score is written.
//!
//! The known-good test is this grader binary in the
//! [`Role::Preflight`](crate::sandbox::Role) role: it takes the pass
//! record's secret and proves its pass, as `harness::check` does.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;
use crate::model::{Outcome, Visibility};
use crate::run::{self, RunSettings, TestJob};
use crate::sandbox::{self, ROLE_VAR};

/// The preflight role's entry point: proves a pass, as a passing hidden
/// test does.
pub fn test_main() -> i32 {
    match harness::proof::take() {
        Some(proof) => {
            proof.record();
            0
        }
        None => {
            eprintln!("preflight: no pass record was handed to the test");
            1
        }
    }
}

/// Runs the known-good test in the run's sandbox; an error that names the
/// cause and the fix when it does not pass. Arms the sandbox's injected
/// faults ([`crate::inject`]) when it does.
pub fn check(settings: &RunSettings) -> Result<(), Error> {
    let binary = sandbox::grader_binary();
    let job = TestJob {
        exercise: "preflight".to_string(),
        binary: binary.clone(),
        name: "preflight".to_string(),
        exact: "preflight".to_string(),
        visibility: Visibility::Hidden,
        dir: PathBuf::from("preflight"),
        env: vec![(ROLE_VAR.to_string(), "preflight".into())],
        exec: Vec::new(),
        until_caught: false,
        cpu_cap: None,
    };
    let settings = RunSettings {
        timeout: settings.timeout.max(Duration::from_secs(10)),
        ..settings.clone()
    };
    let ran = run::run_test(job, &settings);
    if ran.outcome == Outcome::Passed {
        settings.sandbox.arm();
        return Ok(());
    }
    let what = match &ran.outcome {
        Outcome::NotGraded { fault } => fault.to_string(),
        outcome => outcome.verdict(),
    };
    let uid = settings.sandbox.test_uid();
    // The programs are staged where the uid can reach them; its tmps are
    // made below the grader's TMPDIR.
    let cause = unreachable_ancestor(&settings.sandbox.boxes, uid)
        .or_else(|| unreachable_ancestor(&binary, uid))
        .map(|blocked| blocked.sentence(uid))
        .unwrap_or_else(|| {
            "The cause is not one the grader recognizes; the test's output follows. Fix the \
             sandbox (see the Security model in grader/README.md) or, for code you trust only, \
             pass --no-sandbox."
                .to_string()
        });
    Err(Error::new(format!(
        "refusing to grade: a known-good test did not pass in the sandbox ({what}), so every \
         test would fail the same way and no score would mean anything. {cause}{}",
        match ran.output.trim() {
            "" => String::new(),
            output => format!("\n{output}"),
        }
    )))
}

/// A folder the sandbox's uid cannot enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The folder.
    pub dir: PathBuf,
    /// Its permission bits.
    pub mode: u32,
    /// Its owner.
    pub owner: u32,
}

impl Blocked {
    /// The cause and the fix, in a sentence or two.
    pub fn sentence(&self, uid: u32) -> String {
        format!(
            "The cause: the sandbox's uid {uid} cannot enter {} (mode {:04o}, owner uid {}). \
             Fix: let every user enter it (chmod o+x {}), or put the grader's temporary \
             folder (TMPDIR) where every user can enter, e.g. TMPDIR=/tmp.",
            self.dir.display(),
            self.mode & 0o7777,
            self.owner,
            self.dir.display()
        )
    }
}

/// The first folder at or above `path` that `uid` (not a member of its
/// owner's group) may not search, if any.
pub fn unreachable_ancestor(path: &Path, uid: u32) -> Option<Blocked> {
    let mut dirs: Vec<&Path> = path.ancestors().collect();
    dirs.reverse();
    for dir in dirs {
        let Ok(meta) = std::fs::metadata(dir) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let mode = meta.permissions().mode();
        let search = match meta.uid() == uid {
            true => mode & 0o100 != 0,
            false => mode & 0o001 != 0,
        };
        if !search {
            return Some(Blocked {
                dir: dir.to_path_buf(),
                mode,
                owner: meta.uid(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_only_its_owner_may_enter_is_found_and_named() {
        let top = tempfile::tempdir().unwrap();
        let locked = top.path().join("locked");
        let inner = locked.join("course/target");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        let blocked = unreachable_ancestor(&inner, 65534).expect("blocked");
        assert_eq!(blocked.dir, locked);
        assert!(blocked.sentence(65534).contains("chmod o+x"));
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o711)).unwrap();
        assert_eq!(unreachable_ancestor(&inner, 65534), None);
    }
}
