//! The course tool as a student uses it: on a repository that `grader
//! export` wrote, with solved, unsolved and deliberately broken exercises.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn course_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh students' repository, named for the test.
fn export(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("student-{name}"));
    let _ = fs::remove_dir_all(&dir);
    let course = grader::course::Course::load(&course_root()).unwrap();
    grader::export::export(&course, &dir).unwrap();
    dir
}

fn tool(repo: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_course"));
    command
        .current_dir(repo)
        // Shared by every test's repository, so dependencies build once.
        .env(
            "CARGO_TARGET_DIR",
            course_root().join("target/course-tests"),
        )
        .env("NO_COLOR", "1")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    command
}

fn run(repo: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output: Output = tool(repo).args(args).stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

fn solution(topic: &str) -> String {
    fs::read_to_string(
        course_root()
            .join("solutions")
            .join(topic)
            .join("src/lib.rs"),
    )
    .unwrap()
}

/// The solution with one piece of code replaced (which must be there).
fn broken(topic: &str, from: &str, to: &str) -> String {
    let code = solution(topic);
    assert!(
        code.contains(from),
        "solutions/{topic} no longer contains {from:?}"
    );
    code.replacen(from, to, 1)
}

fn write_src(repo: &Path, topic: &str, code: &str) {
    fs::write(repo.join("exercises").join(topic).join("src/lib.rs"), code).unwrap();
}

fn line_of<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{text}"))
}

#[test]
fn check_reports_the_graders_verdicts_and_list_shows_where_the_student_stands() {
    let repo = export("check");
    // 02 takes its two locks in the order of the transfer (A->B and B->A).
    let abba = broken(
        "02-lock",
        "let mut low = self.accounts[from.min(to)].lock();\n        let mut high = self.accounts[from.max(to)].lock();\n        let (source, target) = if from < to {",
        "let mut low = self.accounts[from].lock();\n        let mut high = self.accounts[to].lock();\n        let (source, target) = if true {",
    );
    write_src(&repo, "02-lock", &abba);
    // 04: a dropped permit comes back without waking anyone.
    let silent_drop = broken(
        "04-semaphore",
        "let _ = self.semaphore.give_back();",
        "let mut permits = self.semaphore.permits.lock();\n        if *permits < self.semaphore.limit {\n            *permits += 1;\n        }",
    );
    write_src(&repo, "04-semaphore", &silent_drop);
    write_src(&repo, "05-event", &solution("05-event"));
    let stub = repo.join("exercises/06-condition/src/lib.rs");
    let edited = fs::read_to_string(&stub).unwrap() + "\n// started\n";
    fs::write(&stub, edited).unwrap();

    let (code, out) = run(&repo, &["check", "02"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("possible deadlock (locks taken in opposite orders)"),
        "{out}"
    );
    assert!(
        out.contains("exercises/02-lock/src/lib.rs:"),
        "the student's lines:\n{out}"
    );
    let seed = line_of(&out, "replay this run's schedule noise:");
    assert!(seed.contains("cargo course check 02 --seed "), "{out}");
    assert!(out.contains("next:"), "{out}");

    let (code, out) = run(&repo, &["check", "4"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("dropping_a_permit_on_another_thread_wakes_a_blocked_acquire"),
        "{out}"
    );
    assert!(out.contains("has not been notified"), "{out}");
    assert!(out.contains("is a lost wakeup"), "{out}");

    let (code, out) = run(&repo, &["check", "05-event", "--seed", "7"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("seed 7"), "{out}");
    assert!(
        out.contains("all ") && out.contains("visible tests of 05-event pass"),
        "{out}"
    );

    let start = Instant::now();
    let (code, out) = run(&repo, &["list"]);
    let took = start.elapsed();
    assert_eq!(code, Some(0), "{out}");
    assert!(took < Duration::from_secs(2), "list took {took:?}");
    assert!(line_of(&out, "01").contains("not started"), "{out}");
    assert!(line_of(&out, "02").contains("failing"), "{out}");
    assert!(line_of(&out, "04").contains("failing"), "{out}");
    assert!(line_of(&out, "05").contains("passing"), "{out}");
    assert!(line_of(&out, "06").contains("edited, not checked"), "{out}");
    assert!(out.contains("1 of 10 exercises pass"), "{out}");
    assert!(line_of(&out, "next:").contains("exercise 01"), "{out}");

    // A fix made after the check is not taken for the checked code.
    write_src(&repo, "02-lock", &solution("02-lock"));
    let (_, out) = run(&repo, &["list"]);
    assert!(line_of(&out, "02").contains("edited, not checked"), "{out}");
}

/// The hint levels a `hint` output shows, e.g. `["hint 1 of 4", "hint 2 of 4"]`.
fn levels(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("hint ")).collect()
}

#[test]
fn hint_reveals_one_more_level_each_time() {
    let repo = export("hint");
    let (code, first) = run(&repo, &["hint", "03"]);
    assert_eq!(code, Some(0), "{first}");
    assert_eq!(levels(&first), ["hint 1 of 4"], "{first}");
    assert!(first.contains("again for hint 2 of 4"), "{first}");
    let (_, second) = run(&repo, &["hint", "3"]);
    assert_eq!(levels(&second), ["hint 1 of 4", "hint 2 of 4"], "{second}");
    for _ in 0..3 {
        run(&repo, &["hint", "03"]);
    }
    let (_, last) = run(&repo, &["hint", "03"]);
    assert_eq!(levels(&last).len(), 4, "{last}");
    assert!(last.contains("that was the last hint"), "{last}");
    let (_, other) = run(&repo, &["hint", "04"]);
    assert_eq!(
        levels(&other),
        ["hint 1 of 4"],
        "hints are counted per exercise:\n{other}"
    );
}

#[test]
fn reset_restores_the_stub_as_shipped_after_a_confirmation() {
    let repo = export("reset");
    let lib = repo.join("exercises/01-lifecycle/src/lib.rs");
    let shipped = fs::read_to_string(&lib).unwrap();
    fs::write(&lib, "// my attempt\n").unwrap();
    fs::write(
        repo.join("exercises/01-lifecycle/src/extra.rs"),
        "// more\n",
    )
    .unwrap();

    let answer = |text: &str| {
        let mut child = tool(&repo)
            .args(["reset", "01"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let out = answer("no\n");
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(fs::read_to_string(&lib).unwrap(), "// my attempt\n");

    let out = answer("yes\n");
    assert!(out.contains("back as shipped"), "{out}");
    assert_eq!(fs::read_to_string(&lib).unwrap(), shipped);
    assert!(!repo.join("exercises/01-lifecycle/src/extra.rs").exists());
    let (_, list) = run(&repo, &["list"]);
    assert!(line_of(&list, "01").contains("not started"), "{list}");
}

#[test]
fn watch_checks_again_when_a_file_in_src_is_saved() {
    let repo = export("watch");
    let mut child = tool(&repo)
        .args(["watch", "05"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, seen) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut transcript = String::new();
    let mut wait_for = |wanted: &str, limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match seen.recv_timeout(left) {
                Ok(line) => {
                    transcript.push_str(&line);
                    transcript.push('\n');
                    if line.contains(wanted) {
                        return Instant::now();
                    }
                }
                Err(_) => panic!("no line with {wanted:?} within {limit:?}:\n{transcript}"),
            }
        }
    };
    // The stub fails; then the tool waits for a save.
    wait_for("visible tests failed", Duration::from_secs(300));
    wait_for("cargo course hint 05", Duration::from_secs(5));
    wait_for("edit and save", Duration::from_secs(5));
    let saved = Instant::now();
    write_src(&repo, "05-event", &solution("05-event"));
    let rerun = wait_for(
        "exercises/05-event/src changed: checking 05 again",
        Duration::from_secs(10),
    );
    assert!(
        rerun - saved < Duration::from_secs(2),
        "the rerun started {:?} after the save",
        rerun - saved
    );
    wait_for("visible tests of 05-event pass", Duration::from_secs(300));
    wait_for(
        "now watching exercises/06-condition/src",
        Duration::from_secs(5),
    );
    child.stdin.take().unwrap().write_all(b"q\n").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
}
