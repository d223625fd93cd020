//! Helpers shared by the grader's integration tests: the course's paths, the
//! `grader` binary, and submissions made from the course's own stubs.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// The course workspace (the folder above `grader/`).
pub fn course() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ has a parent")
        .to_path_buf()
}

/// The `exercises/NN-topic` folder of exercise `nn`.
pub fn exercise_dir(nn: &str) -> PathBuf {
    let exercises = course().join("exercises");
    let mut found: Vec<PathBuf> = fs::read_dir(&exercises)
        .expect("exercises/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{nn}-")))
        })
        .collect();
    assert_eq!(found.len(), 1, "exactly one exercises/{nn}-* folder");
    found.remove(0)
}

/// The folder name of exercise `nn`, e.g. `02-lock`.
pub fn topic(nn: &str) -> String {
    exercise_dir(nn)
        .file_name()
        .expect("a folder name")
        .to_string_lossy()
        .into_owned()
}

/// The `grader` binary, run from the course root, with a generous limit so
/// a grader bug fails the test instead of hanging it. The limit allows for a
/// busy machine: `verify` takes about 7 minutes alone here and 25 at a load
/// of 11 to 40 (measured); 15 minutes failed it there.
pub fn grader() -> Command {
    let mut command = assert_cmd::cargo::cargo_bin_cmd!("grader");
    command
        .current_dir(course())
        .timeout(Duration::from_secs(2700));
    command
}

/// The stub of exercise `nn` with `extra` inserted after its leading inner
/// attributes and doc comments (where items may start), and `tail` appended.
pub fn patched_stub(nn: &str, extra: &str, tail: &str) -> String {
    let stub =
        fs::read_to_string(exercise_dir(nn).join("src/lib.rs")).expect("the stub is readable");
    let lines: Vec<&str> = stub.lines().collect();
    let mut at = 0;
    let mut in_attribute = false;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if in_attribute {
            if trimmed.ends_with(']') {
                in_attribute = false;
            }
            at = i + 1;
            continue;
        }
        if trimmed.starts_with("//!") || trimmed.is_empty() {
            at = i + 1;
        } else if trimmed.starts_with("#![") {
            in_attribute = !trimmed.ends_with(']');
            at = i + 1;
        } else {
            break;
        }
    }
    let mut text = lines[..at].join("\n");
    text.push('\n');
    text.push_str(extra);
    text.push('\n');
    text.push_str(&lines[at..].join("\n"));
    text.push('\n');
    text.push_str(tail);
    text
}

/// Writes `lib_rs` as exercise `nn` of the workspace-shaped submission `root`.
pub fn write_exercise(root: &Path, nn: &str, lib_rs: &str) {
    let src = root.join("exercises").join(topic(nn)).join("src");
    fs::create_dir_all(&src).expect("create the submission's src/");
    fs::write(src.join("lib.rs"), lib_rs).expect("write lib.rs");
}

/// Parses the JSON that `grade --format json` prints.
pub fn parse_run(stdout: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout).expect("grade --format json prints JSON")
}

/// The exercise `nn` of submission `index` in a parsed run.
pub fn exercise<'a>(run: &'a serde_json::Value, index: usize, nn: &str) -> &'a serde_json::Value {
    run["submissions"][index]["exercises"]
        .as_array()
        .expect("exercises is an array")
        .iter()
        .find(|e| e["number"] == nn)
        .unwrap_or_else(|| panic!("exercise {nn} is in the results"))
}

/// The hidden tests of an exercise result.
pub fn hidden_tests(exercise: &serde_json::Value) -> Vec<&serde_json::Value> {
    exercise["tests"]
        .as_array()
        .expect("tests is an array")
        .iter()
        .filter(|t| t["visibility"] == "hidden")
        .collect()
}
