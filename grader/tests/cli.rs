//! The grader's command line, driven as a student's or an instructor's shell
//! would: real submissions, real builds, real test processes.
//!
//! Submissions are made at run time from the course's own stubs and
//! solutions (a stub with `todo!` redefined to hang, to exit, ...), so these
//! tests follow the course as it changes.

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::*;
use predicates::prelude::*;

/// The exercise most tests use.
const NN: &str = "02";

#[test]
fn solutions_score_full_marks_stubs_zero_and_every_report_is_written() {
    let out = tempfile::tempdir().unwrap();
    let solution = course().join("solutions").join(topic(NN));
    let stub = exercise_dir(NN);
    let output = grader()
        .arg("grade")
        .arg(&solution)
        .arg(&stub)
        .args(["--format", "json", "--seed", "4242", "--out"])
        .arg(out.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let run = parse_run(&output.stdout);
    assert_eq!(run["seed"], 4242);

    // The solution: every hidden and visible test passes, full marks.
    let solved = exercise(&run, 0, NN);
    assert_eq!(solved["status"]["kind"], "graded");
    assert!(solved["max_score"].as_u64().unwrap() > 0);
    assert_eq!(solved["score"], solved["max_score"]);
    for test in solved["tests"].as_array().unwrap() {
        assert_eq!(test["outcome"]["kind"], "passed", "solution fails {test}");
    }
    // The stub: it compiles, every hidden test runs and fails.
    let stubbed = exercise(&run, 1, NN);
    assert_eq!(stubbed["status"]["kind"], "graded");
    assert_eq!(stubbed["score"], 0);
    assert_eq!(stubbed["max_score"], solved["max_score"]);
    for test in hidden_tests(stubbed) {
        assert_eq!(test["outcome"]["kind"], "failed", "stub passes {test}");
        assert_eq!(test["score"], 0);
    }

    // gradebook.csv: one row per student, a column per exercise, the total.
    let gradebook = fs::read_to_string(out.path().join("gradebook.csv")).unwrap();
    let rows: Vec<&str> = gradebook.lines().collect();
    let max = solved["max_score"].as_u64().unwrap();
    assert_eq!(rows[0], format!("student,{},total,max_total", topic(NN)));
    assert_eq!(rows[1], format!("{},{max},{max},{max}", topic(NN)));
    assert_eq!(rows[2], format!("{}-2,0,0,{max}", topic(NN)));

    // results.json in Gradescope's format, with the right types.
    let student = out.path().join(topic(NN));
    let results: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(student.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["score"].as_u64(), Some(max));
    assert_eq!(results["max_score"].as_u64(), Some(max));
    assert!(results["execution_time"].is_number());
    assert!(results["output"].is_string());
    let tests = results["tests"].as_array().unwrap();
    assert_eq!(tests.len(), solved["tests"].as_array().unwrap().len());
    for test in tests {
        assert!(test["name"].is_string());
        assert!(test["number"].is_string());
        assert!(test["score"].is_number());
        assert!(test["max_score"].is_number());
        assert_eq!(test["status"], "passed");
        assert!(test["output"].is_string());
        assert!(
            ["visible", "hidden", "after_due_date", "after_published"]
                .contains(&test["visibility"].as_str().unwrap())
        );
        assert!(
            test["tags"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t.is_string())
        );
    }
    let points: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
    assert_eq!(points, max);

    // junit.xml parses, with one case per test and no failure.
    let xml = fs::read_to_string(student.join("junit.xml")).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("junit.xml is well-formed");
    assert_eq!(report.tests, tests.len());
    assert_eq!(report.failures + report.errors, 0);
    let stub_xml = fs::read_to_string(
        out.path()
            .join(format!("{}-2", topic(NN)))
            .join("junit.xml"),
    )
    .unwrap();
    let stub_report =
        quick_junit::Report::deserialize_from_str(&stub_xml).expect("junit.xml is well-formed");
    assert_eq!(stub_report.failures, stub_report.tests);

    // feedback.md: the score, the seed to replay, and for the stub what failed.
    let feedback = fs::read_to_string(student.join("feedback.md")).unwrap();
    assert!(feedback.contains(&format!("{max} / {max} points")));
    assert!(feedback.contains("4242"));
    let stub_feedback = fs::read_to_string(
        out.path()
            .join(format!("{}-2", topic(NN)))
            .join("feedback.md"),
    )
    .unwrap();
    assert!(
        stub_feedback.contains("not yet implemented"),
        "{stub_feedback}"
    );
    assert!(stub_feedback.contains("--seed 4242"));

    // report.html: one self-contained page about the class, linking each
    // student's feedback; the stub fails every hidden test, so the failure
    // table's first row is a test failed by 1 of the 2 students.
    let html = fs::read_to_string(out.path().join("report.html")).unwrap();
    for needle in [
        format!("href=\"{}/feedback.md\"", topic(NN)),
        format!("href=\"{}-2/feedback.md\"", topic(NN)),
        "50% (1/2)".to_string(),
        "4242".to_string(),
        "<svg".to_string(),
    ] {
        assert!(html.contains(&needle), "report.html lacks {needle}");
    }
    assert!(!html.contains("<script") && !html.contains("<link"));
    let without_svg_namespace = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !without_svg_namespace.contains("http"),
        "report.html reaches out"
    );
}

#[test]
fn a_deadlocking_submission_times_out_within_the_watchdogs_bound() {
    let submission = tempfile::tempdir().unwrap();
    // Every unfinished function blocks forever, as a deadlock would.
    let hang = "macro_rules! todo {\n    ($($t:tt)*) => {{\n        loop {\n            std::thread::park();\n        }\n    }};\n}";
    write_exercise(submission.path(), NN, &patched_stub(NN, hang, ""));
    let timeout = 1.5;
    let output = grader()
        .arg("grade")
        .arg(submission.path())
        .args([
            "--exercise",
            NN,
            "--format",
            "json",
            "--timeout",
            &timeout.to_string(),
        ])
        // Deadlines as on an idle machine, whatever the load now.
        .env("INTERLEAVE_SLACK", "1")
        .assert()
        .success()
        .get_output()
        .clone();
    let run = parse_run(&output.stdout);
    let result = exercise(&run, 0, NN);
    assert_eq!(result["score"], 0);
    let hidden = hidden_tests(result);
    assert!(!hidden.is_empty());
    for test in hidden {
        assert_eq!(test["outcome"]["kind"], "timed_out", "{test}");
        let took = test["duration_secs"].as_f64().unwrap();
        assert!(took >= timeout - 0.05, "killed before its time: {took} s");
        // Its start-up is progress: on a busy machine the kill may come one
        // progress window after it, never at the cap (4 × the limit).
        let window = harness::progress::WINDOW.as_secs_f64();
        assert!(
            took < timeout + window + 1.0,
            "killed late: {took} s for a {timeout} s limit"
        );
    }
    // The table says why, in words.
    grader()
        .arg("grade")
        .arg(submission.path())
        .args(["--exercise", NN, "--timeout", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "timed out (possible deadlock or lost wakeup)",
        ));
}

#[test]
fn compile_errors_become_verdicts_and_the_other_exercises_still_grade() {
    let submission = tempfile::tempdir().unwrap();
    write_exercise(
        submission.path(),
        NN,
        &patched_stub(
            NN,
            "",
            "pub fn broken() -> u32 {\n    \"not a number\"\n}\n",
        ),
    );
    // Unsafe code is forbidden at the crate root, whatever the file says.
    write_exercise(
        submission.path(),
        "05",
        &patched_stub(
            "05",
            "",
            "#[allow(unsafe_code)]\npub fn sneaky(x: &u8) -> u8 {\n    unsafe { *(x as *const u8) }\n}\n",
        ),
    );
    let stub06 = fs::read_to_string(exercise_dir("06").join("src/lib.rs")).unwrap();
    write_exercise(submission.path(), "06", &stub06);
    let output = grader()
        .arg("grade")
        .arg(submission.path())
        .args(["-e", NN, "-e", "05", "-e", "06", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let run = parse_run(&output.stdout);

    let broken = exercise(&run, 0, NN);
    assert_eq!(broken["status"]["kind"], "compile_error");
    let message = broken["status"]["message"].as_str().unwrap();
    assert!(message.contains("mismatched types"), "{message}");
    assert!(
        message.contains("src/lib.rs:"),
        "paths are the student's: {message}"
    );
    assert!(!message.contains("scratch"), "no grader paths: {message}");
    assert!(
        hidden_tests(broken)
            .iter()
            .all(|t| t["outcome"]["kind"] == "not_run")
    );

    let unsafe_code = exercise(&run, 0, "05");
    assert_eq!(unsafe_code["status"]["kind"], "compile_error");
    let message = unsafe_code["status"]["message"].as_str().unwrap();
    assert!(message.contains("unsafe_code"), "{message}");

    let fine = exercise(&run, 0, "06");
    assert_eq!(fine["status"]["kind"], "graded");
    assert!(!hidden_tests(fine).is_empty());
}

#[test]
fn printing_a_fake_pass_or_exiting_early_scores_nothing() {
    let submission = tempfile::tempdir().unwrap();
    // Every unfinished function claims success and ends the process.
    let forge = "macro_rules! todo {\n    ($($t:tt)*) => {{\n        println!(\"test result: ok. 1 passed; 0 failed; 0 ignored\");\n        std::process::exit(0)\n    }};\n}";
    write_exercise(submission.path(), NN, &patched_stub(NN, forge, ""));
    let output = grader()
        .arg("grade")
        .arg(submission.path())
        .args(["--exercise", NN, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let run = parse_run(&output.stdout);
    let result = exercise(&run, 0, NN);
    assert_eq!(result["status"]["kind"], "graded");
    assert_eq!(result["score"], 0);
    let hidden = hidden_tests(result);
    assert!(!hidden.is_empty());
    for test in hidden {
        assert_eq!(test["score"], 0, "{test}");
        assert_eq!(test["outcome"]["kind"], "exited_early", "{test}");
    }
}

#[test]
fn only_plain_rs_files_under_src_are_taken() {
    let submission = tempfile::tempdir().unwrap();
    let root = submission.path();
    // Exercise NN: the stub, plus files the grader must ignore.
    let stub = fs::read_to_string(exercise_dir(NN).join("src/lib.rs")).unwrap();
    write_exercise(root, NN, &stub);
    let dir = root.join("exercises").join(topic(NN));
    fs::write(dir.join("Cargo.toml"), "this is not a manifest").unwrap();
    fs::write(
        dir.join("build.rs"),
        "fn main() { panic!(\"build scripts never run\") }",
    )
    .unwrap();
    fs::create_dir_all(dir.join("tests")).unwrap();
    fs::write(dir.join("tests/cheat.rs"), "#[test] fn fake() {}").unwrap();
    fs::write(dir.join("src/notes.txt"), "ignored").unwrap();
    // Exercise 05: a symbolic link is refused.
    write_exercise(root, "05", "pub fn f() {}\n");
    let src05 = root.join("exercises").join(topic("05")).join("src");
    symlink("/etc/hostname", src05.join("secret.rs")).unwrap();
    // Exercise 06: a file read from outside src/ is refused.
    write_exercise(
        root,
        "06",
        "pub const S: &str = include_str!(\"../../../../grader/suites/06.rs\");\n",
    );
    // Exercise 07: an oversized file is refused.
    write_exercise(root, "07", &format!("// {}\n", "x".repeat(600 * 1024)));

    let output = grader()
        .arg("grade")
        .arg(root)
        .args([
            "-e", NN, "-e", "05", "-e", "06", "-e", "07", "-e", "01", "--format", "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let run = parse_run(&output.stdout);
    let graded = exercise(&run, 0, NN);
    assert_eq!(graded["status"]["kind"], "graded", "{graded}");
    assert_eq!(graded["score"], 0);
    assert!(
        graded["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "fake")
    );
    for (nn, words) in [
        ("05", "symbolic link"),
        ("06", "outside src/"),
        ("07", "limit"),
    ] {
        let refused = exercise(&run, 0, nn);
        assert_eq!(refused["status"]["kind"], "rejected", "{refused}");
        let reason = refused["status"]["reason"].as_str().unwrap();
        assert!(reason.contains(words), "{nn}: {reason}");
    }
    assert_eq!(exercise(&run, 0, "01")["status"]["kind"], "not_submitted");
}

#[test]
fn shards_of_a_class_merge_into_one_gradebook() {
    let class = tempfile::tempdir().unwrap();
    // Three students: two submitted nothing, one a refused file (no build needed).
    for student in ["ada", "bob", "cy"] {
        fs::create_dir_all(class.path().join(student).join("exercises")).unwrap();
    }
    write_exercise(&class.path().join("bob"), NN, "");
    fs::remove_file(
        class
            .path()
            .join("bob/exercises")
            .join(topic(NN))
            .join("src/lib.rs"),
    )
    .unwrap();
    symlink(
        "/etc/hostname",
        class
            .path()
            .join("bob/exercises")
            .join(topic(NN))
            .join("src/lib.rs"),
    )
    .unwrap();
    let outputs = tempfile::tempdir().unwrap();
    for shard in ["1/2", "2/2"] {
        let out = outputs.path().join(shard.replace('/', "-of-"));
        grader()
            .arg("grade")
            .arg(class.path())
            .args(["--shard", shard, "--out"])
            .arg(&out)
            .assert()
            .success();
    }
    let first = fs::read_to_string(outputs.path().join("1-of-2/gradebook.csv")).unwrap();
    let second = fs::read_to_string(outputs.path().join("2-of-2/gradebook.csv")).unwrap();
    assert_eq!(first.lines().count() + second.lines().count(), 2 + 3);
    let merged = outputs.path().join("merged");
    grader()
        .arg("merge")
        .arg(outputs.path().join("1-of-2"))
        .arg(outputs.path().join("2-of-2"))
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    let gradebook = fs::read_to_string(merged.join("gradebook.csv")).unwrap();
    let students: Vec<&str> = gradebook
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(students, ["ada", "bob", "cy"]);
    for student in students {
        assert!(merged.join(student).join("results.json").is_file());
    }
    // The merged report covers the whole class, with bob's refused files marked.
    let html = fs::read_to_string(merged.join("report.html")).unwrap();
    for student in ["ada", "bob", "cy"] {
        assert!(html.contains(&format!("href=\"{student}/feedback.md\"")));
    }
    assert!(html.contains("rejected"), "{html}");
    // A student in two shards is an error, not a silent double.
    grader()
        .arg("merge")
        .arg(outputs.path().join("1-of-2"))
        .arg(outputs.path().join("1-of-2"))
        .arg("--out")
        .arg(outputs.path().join("twice"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("more than one shard"));
}

#[test]
fn the_grader_fails_loudly_only_when_it_cannot_work() {
    grader()
        .args(["grade", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/definitely/not/here"));
    grader()
        .args(["grade", "--exercise", "99"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no exercise"));
    grader().args(["grade", "--shard", "3/2"]).assert().code(2);
}

#[test]
fn export_builds_on_its_own_and_its_stubs_fail_their_visible_tests() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("student-repo");
    grader().arg("export").arg(&export).assert().success();
    assert!(
        export
            .join("exercises")
            .join(topic(NN))
            .join("src/lib.rs")
            .is_file()
    );
    assert!(!export.join("solutions").exists());
    assert!(!export.join("grader").exists());
    let manifest = fs::read_to_string(export.join("Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("solutions") && !manifest.contains("grader"),
        "{manifest}"
    );
    // The README is the students' guide: it names nothing students lack.
    let readme = fs::read_to_string(export.join("README.md")).unwrap();
    assert!(readme.contains("cargo course list"), "{readme}");
    for absent in [
        "solutions/",
        "grader/",
        "mutants",
        "examples/class",
        "-p grader",
    ] {
        assert!(
            !readme.contains(absent),
            "the README names {absent}:\n{readme}"
        );
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = course().join("target").join("export-check");
    let run = |args: &[&str]| {
        let mut command = assert_cmd::Command::new(&cargo);
        command
            .args(args)
            .current_dir(&export)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .timeout(std::time::Duration::from_secs(600));
        command.assert()
    };
    run(&["build", "--offline", "--workspace", "--tests"]).success();
    run(&["test", "--offline", "-p", &format!("exercise-{NN}")])
        .failure()
        .stdout(predicate::str::contains("not yet implemented"));
    // Every exercise's visible tests fail on its stub.
    let output = run(&["test", "--offline", "--workspace", "--no-fail-fast"])
        .failure()
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let failed_binaries = stdout.matches("test result: FAILED").count();
    let exercises = fs::read_dir(export.join("exercises")).unwrap().count();
    assert!(
        failed_binaries >= exercises,
        "{failed_binaries} failing test binaries for {exercises} exercises:\n{stdout}"
    );
}

#[test]
fn the_gradescope_bundle_holds_the_grader_and_no_solutions() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    grader().arg("gradescope").arg(&bundle).assert().success();
    for script in ["setup.sh", "run_autograder"] {
        let path = bundle.join(script);
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(&path).unwrap().permissions().mode()
        };
        assert!(mode & 0o111 != 0, "{script} is executable");
    }
    let run_autograder = fs::read_to_string(bundle.join("run_autograder")).unwrap();
    // Gradescope's root unless told otherwise (tests/platforms.rs runs it).
    assert!(run_autograder.contains("${AUTOGRADER_ROOT:-/autograder}"));
    let course_copy = bundle.join("course");
    assert!(
        course_copy
            .join("grader/suites")
            .join(topic(NN))
            .join("hidden.rs")
            .is_file()
    );
    assert!(!course_copy.join("solutions").exists());
    // The mutants stay with the course.
    let mutants =
        |root: &std::path::Path| root.join("grader/suites").join(topic(NN)).join("mutants");
    assert!(mutants(&course()).is_dir());
    assert!(!mutants(&course_copy).exists());
    // Its manifests load on their own.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    assert_cmd::Command::new(&cargo)
        .args([
            "metadata",
            "--offline",
            "--no-deps",
            "--format-version",
            "1",
        ])
        .current_dir(&course_copy)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"grader\""));
}

#[test]
fn code_the_chaos_stand_in_cannot_build_is_graded_with_the_real_parking_lot() {
    // The stand-in's RawRwLock is not generic over recursion, the real one is:
    // this compiles only against the real parking_lot.
    let graded = grade_solution_with(
        "02",
        "/// Names a type only the real parking_lot has.\n\
         pub fn read_lock_kind(_: &parking_lot::RawRwLock<false>) {}\n",
    );
    assert_eq!(graded["status"]["kind"], "graded", "{graded}");
    assert_eq!(graded["score"], graded["max_score"], "{graded}");
    let notes = graded["notes"].to_string();
    assert!(
        notes.contains("Graded with the real parking_lot"),
        "{notes}"
    );
}

#[test]
fn std_reached_past_the_twins_is_graded_unperturbed_with_a_note() {
    // `s::sync::Mutex` names std's own Mutex: the twin rewrite does not see
    // through the alias, so the feedback must say so (and cost nothing).
    let graded = grade_solution_with(
        "05",
        "extern crate std as s;\n/// Locks std's own Mutex.\n\
         pub fn untouched() -> s::sync::Mutex<u8> { s::sync::Mutex::new(0) }\n",
    );
    assert_eq!(graded["score"], graded["max_score"], "{graded}");
    let notes = graded["notes"].to_string();
    assert!(
        notes.contains("std under another name (`std as s`)"),
        "{notes}"
    );
}

/// Grades exercise `nn` of a submission holding its solution with `tail`
/// appended; its result in the JSON output.
fn grade_solution_with(nn: &str, tail: &str) -> serde_json::Value {
    let submission = tempfile::tempdir().unwrap();
    let solution = fs::read_to_string(
        course()
            .join("solutions")
            .join(topic(nn))
            .join("src/lib.rs"),
    )
    .unwrap();
    write_exercise(submission.path(), nn, &format!("{solution}\n{tail}"));
    let output = grader()
        .arg("grade")
        .arg(submission.path())
        .args(["-e", nn, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    exercise(&parse_run(&output.stdout), 0, nn).clone()
}
