//! `grader verify --repeat`: the measuring mode of the course author's
//! check. In its own test binary, like `verify.rs`, so that it never shares
//! the machine with the other grader tests.

mod common;

use predicates::prelude::*;

/// The rows `verify --repeat --json FILE` wrote.
fn rows(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("the JSON is written");
    let rows: serde_json::Value = serde_json::from_str(&text).expect("the JSON parses");
    rows.as_array().expect("a list of rows").clone()
}

/// `verify --repeat N` runs each suite N times against the solution, its
/// std reference and each mutant and writes one row per subject: neither
/// correct one loses a run, and every mutant of the exercise is measured.
/// (Its catch rate is what the command measures, so `--min-catch 0` keeps
/// this test from judging it.)
#[test]
fn verify_repeat_measures_the_solution_and_every_mutant() {
    let json = tempfile::NamedTempFile::new().expect("a temporary file");
    common::grader()
        .args([
            "verify",
            "--repeat",
            "2",
            "--min-catch",
            "0",
            "--exercise",
            "02",
        ])
        .arg("--json")
        .arg(json.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "solutions lost points in 0 of 4 runs",
        ));
    let rows = rows(json.path());
    let count = |folder: &str| {
        std::fs::read_dir(
            common::course()
                .join("grader/suites")
                .join(common::topic("02"))
                .join(folder),
        )
        .expect("02 has mutants and a reference")
        .count()
    };
    let (references, mutants) = (count("references"), count("mutants"));
    assert_eq!(references, 1, "02 has one std reference");
    assert_eq!(
        rows.len(),
        1 + references + mutants,
        "the solution, the reference and each mutant"
    );
    let correct =
        |row: &serde_json::Value| row["subject"] == "solution" || row["subject"] == "std-solution";
    assert_eq!(rows.iter().filter(|row| correct(row)).count(), 2);
    for row in rows {
        assert_eq!(row["runs"], 2, "{row}");
        if correct(&row) {
            assert_eq!(row["lost"], 0, "{row}");
        }
    }
}

/// `--mutant NAME` measures that mutant alone: one row, caught in its run
/// (its bug, a prime limit left uncounted, fails a fixed input, so every run
/// catches it), and a name that no selected exercise has is refused with a
/// message.
#[test]
fn verify_repeat_measures_only_the_named_mutant() {
    let json = tempfile::NamedTempFile::new().expect("a temporary file");
    common::grader()
        .args([
            "verify",
            "--repeat",
            "1",
            "--only",
            "mutants",
            "--exercise",
            "10",
            "--mutant",
            "count-primes-excludes-limit",
        ])
        .arg("--json")
        .arg(json.path())
        .assert()
        .success();
    let rows = rows(json.path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["subject"], "count-primes-excludes-limit");
    assert_eq!(rows[0]["lost"], 1, "{}", rows[0]);

    common::grader()
        .args(["verify", "--repeat", "1", "--exercise", "10"])
        .args(["--mutant", "no-such-bug"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "no mutant named no-such-bug in the selected exercises",
        ));
}
