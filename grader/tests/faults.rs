//! A fault of the grader or the machine is never a grade: the submission it
//! hits is "not graded" in every report, the run exits with status 3, and
//! `--resume` grades it again. Faults are injected into the jail's start and
//! into the out dir (`INTERLEAVE_INJECT_FAULT`, grader/src/inject.rs); the
//! course checked out below a folder only root may enter is graded in full.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

const NN: &str = "02";
/// `grade`'s status when some submission was not graded.
const NOT_GRADED: i32 = 3;

fn solution() -> String {
    fs::read_to_string(
        course()
            .join("solutions")
            .join(topic(NN))
            .join("src/lib.rs"),
    )
    .unwrap()
}

/// A class of two complete solutions of exercise 02.
fn class() -> tempfile::TempDir {
    let class = tempfile::tempdir().unwrap();
    for student in ["alice", "bob"] {
        write_exercise(&class.path().join(student), NN, &solution());
    }
    class
}

/// `grade` of `class` into `out` with `extra` arguments and `fault` injected.
fn grade(class: &Path, out: &Path, fault: Option<&str>, extra: &[&str]) -> std::process::Output {
    let mut command = grader();
    command
        .args(["grade", "--exercise", NN, "--seed", "7", "--out"])
        .arg(out)
        .args(extra)
        .arg(class)
        .env_remove("INTERLEAVE_INJECT_FAULT");
    if let Some(fault) = fault {
        command.env("INTERLEAVE_INJECT_FAULT", fault);
    }
    command.output().unwrap()
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The gradebook row of `student`.
fn row(out: &Path, student: &str) -> String {
    let book = read(out.join("gradebook.csv"));
    let found = book.lines().find(|l| l.starts_with(&format!("{student},")));
    found
        .unwrap_or_else(|| panic!("no row for {student}:\n{book}"))
        .to_string()
}

fn assert_full_marks(out: &Path, student: &str) {
    let results: serde_json::Value =
        serde_json::from_str(&read(out.join(student).join("results.json"))).unwrap();
    let tests = results["tests"].as_array().expect("graded tests");
    assert!(!tests.is_empty(), "{results}");
    for test in tests {
        assert_eq!(test["score"], test["max_score"], "{test}");
    }
    assert!(
        !row(out, student).contains("not graded"),
        "{}",
        row(out, student)
    );
}

fn assert_not_graded(out: &Path, student: &str, cause: &str) {
    let results = read(out.join(student).join("results.json"));
    assert!(results.contains("not_graded"), "{results}");
    assert!(
        !results.contains("\"tests\""),
        "a not-graded run has no scores: {results}"
    );
    let feedback = read(out.join(student).join("feedback.md"));
    assert!(
        feedback.contains("Not graded") && feedback.contains(cause),
        "{feedback}"
    );
    let row = row(out, student);
    assert!(row.contains("not graded") && row.contains(cause), "{row}");
    let html = read(out.join("report.html"));
    assert!(html.contains("not graded"), "report.html names no fault");
}

#[test]
fn a_jail_that_cannot_start_grades_no_one_and_resume_grades_them() {
    let (class, out) = (class(), tempfile::tempdir().unwrap());
    let failed = grade(class.path(), out.path(), Some("jail-start"), &[]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(NOT_GRADED), "{stderr}");
    assert!(stderr.contains("2 of 2 submissions NOT GRADED"), "{stderr}");
    for student in ["alice", "bob"] {
        assert_not_graded(out.path(), student, "the sandbox could not start a test");
    }
    let resumed = grade(class.path(), out.path(), None, &["--resume"]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(0), "{stderr}");
    for student in ["alice", "bob"] {
        assert_full_marks(out.path(), student);
    }
}

#[test]
fn reports_that_cannot_be_written_leave_that_student_not_graded_and_the_rest_graded() {
    let (class, out) = (class(), tempfile::tempdir().unwrap());
    let failed = grade(class.path(), out.path(), Some("out-dir:alice"), &[]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(NOT_GRADED), "{stderr}");
    assert!(
        stderr.contains("alice: its reports could not be written"),
        "{stderr}"
    );
    assert_full_marks(out.path(), "bob");
    let row = row(out.path(), "alice");
    assert!(
        row.contains("not graded: its reports could not be written"),
        "{row}"
    );
}

/// As root, the course checked out below a folder only root may enter (as
/// `/root` is): the test programs are staged where the sandbox's uid can
/// reach them, so a complete solution still gets full marks. The checkout
/// is bind-mounted there in a private mount namespace (`unshare -m`).
#[test]
fn a_course_below_a_folder_only_root_may_enter_is_graded_in_full() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: the jail keeps the grader's uid, and no folder blocks it");
        return;
    }
    let (class, out) = (class(), tempfile::tempdir().unwrap());
    let locked = tempfile::tempdir().unwrap();
    let checkout = locked.path().join("course");
    fs::create_dir(&checkout).unwrap();
    fs::set_permissions(locked.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_grader"));
    let inside = checkout.join(
        binary
            .strip_prefix(course())
            .expect("the grader is built in the course"),
    );
    let script = format!(
        "mount --bind \"$1\" \"$2\" && cd \"$2\" && exec \"$3\" grade --exercise {NN} --seed 7 \
         --out \"$4\" \"$5\""
    );
    let output = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args([
            course().as_path(),
            &checkout,
            &inside,
            out.path(),
            class.path(),
        ])
        .env_remove("INTERLEAVE_INJECT_FAULT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for student in ["alice", "bob"] {
        assert_full_marks(out.path(), student);
    }
}

/// With the grader's temporary folder below a folder the sandbox's uid
/// cannot enter, nothing can be staged for it: the run is refused before
/// any score is written, naming the folder and the fix.
#[test]
fn a_sandbox_that_cannot_run_a_known_good_test_is_refused_with_the_fix_named() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: the jail keeps the grader's uid, and no folder blocks it");
        return;
    }
    let (class, out) = (class(), tempfile::tempdir().unwrap());
    let locked = tempfile::tempdir().unwrap();
    let tmp = locked.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    fs::set_permissions(locked.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let output = grader()
        .env("TMPDIR", &tmp)
        .args(["grade", "--exercise", NN, "--out"])
        .arg(out.path())
        .arg(class.path())
        .env_remove("INTERLEAVE_INJECT_FAULT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refusing to grade"), "{stderr}");
    assert!(
        stderr.contains(&locked.path().display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("chmod o+x"), "{stderr}");
    assert!(
        !out.path().join("gradebook.csv").exists(),
        "a score was written"
    );
    assert!(
        !out.path().join("alice").exists(),
        "a student's report was written"
    );
}
