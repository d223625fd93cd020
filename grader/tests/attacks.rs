//! The attack corpus: hostile submissions graded by the real grader beside
//! honest ones. Each attack is a small file in `tests/attacks/`, hooked into
//! the 05 stub's `Event::new()` (or, for `whole_*` files, the whole
//! `lib.rs`). Every attacker must score 0, every victim its true score, and
//! nothing outside the grader's out dir may change or outlive the run.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

/// A string every attack leaves in the files and processes it makes.
const MARKER: &str = "interleave-attack-5e1f";
/// A value of the grader's environment that must not leak.
const TOKEN: &str = "token-9d2b7c";
const NN: &str = "05";

fn attacks() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attacks");
    let mut found: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("tests/attacks is readable")
        .flatten()
        .map(|e| {
            let name = e
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .replace('_', "-");
            (name, fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    found.sort();
    found
}

/// The attacker's `lib.rs`: the stub with `attack()` called first thing in
/// `Event::new()`, or the fixture itself for `whole-*` attacks.
fn attacker(name: &str, fixture: &str, places: &BTreeMap<&str, String>) -> String {
    let mut text = fixture.to_string();
    for (place, value) in places {
        text = text.replace(place, value);
    }
    if name.starts_with("whole-") {
        return text;
    }
    let (inner, items): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with("#!["));
    let hook = "todo!(\"Event::new: an event whose flag starts lowered\")";
    let stub = patched_stub(NN, &inner.join("\n"), &items.join("\n"));
    assert!(stub.contains(hook), "the 05 stub's Event::new changed");
    stub.replace(hook, &format!("{{ attack(); {hook} }}"))
}

/// Every file under `dirs` with its content.
fn snapshot(dirs: &[PathBuf]) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, into);
            } else if let Ok(bytes) = fs::read(&path) {
                into.insert(path, bytes);
            }
        }
    }
    let mut all = BTreeMap::new();
    for dir in dirs {
        walk(dir, &mut all);
    }
    all
}

/// Processes whose command line holds the marker.
fn marked_processes() -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(MARKER) && !text.contains("attacks-") {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

fn marked_tmp_files() -> Vec<String> {
    fs::read_dir("/tmp")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(MARKER))
        .collect()
}

/// Removes what an earlier run left (one with `--no-sandbox`, say), so the
/// checks below see only this run's damage.
fn clear_earlier_damage() {
    for name in marked_tmp_files() {
        let path = Path::new("/tmp").join(name);
        let _ = fs::remove_dir_all(&path);
        let _ = fs::remove_file(&path);
    }
}

#[test]
fn hostile_submissions_earn_nothing_and_damage_nothing() {
    clear_earlier_damage();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let places = BTreeMap::from([
        ("@COURSE@", course().display().to_string()),
        ("@CLASS@", class.path().display().to_string()),
        ("@OUT@", out.path().display().to_string()),
        ("@MARKER@", MARKER.to_string()),
        ("@PORT@", listener.local_addr().unwrap().port().to_string()),
        ("@GRADER_PID@", std::process::id().to_string()),
    ]);
    let solution = fs::read_to_string(
        course()
            .join("solutions")
            .join(topic(NN))
            .join("src/lib.rs"),
    )
    .unwrap();
    write_exercise(&class.path().join("aa-victim"), NN, &solution);
    write_exercise(&class.path().join("zz-victim"), NN, &solution);
    let attacks = attacks();
    for (name, fixture) in &attacks {
        let lib = attacker(name, fixture, &places);
        write_exercise(&class.path().join(format!("attack-{name}")), NN, &lib);
    }
    let watched = [
        course().join("grader/suites"),
        course().join("solutions"),
        course().join("exercises"),
        class.path().to_path_buf(),
    ];
    let before = snapshot(&watched);

    let output = grader()
        .arg("grade")
        .arg(class.path())
        .args(["--exercise", NN, "--format", "json", "--seed", "11"])
        .args(["--build-cpu-limit", "30"])
        // For checking that the test fails without the sandbox (in a
        // throwaway clone: the attacks then do real damage).
        .args(std::env::var("INTERLEAVE_ATTACK_ARGS").ok())
        .arg("--out")
        .arg(out.path())
        .env("INTERLEAVE_ATTACK_TOKEN", TOKEN)
        .assert()
        .success()
        .get_output()
        .clone();
    let run = parse_run(&output.stdout);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();

    // Victims keep their true score; attackers get nothing.
    let submissions = run["submissions"].as_array().unwrap();
    assert_eq!(submissions.len(), attacks.len() + 2);
    for (index, submission) in submissions.iter().enumerate() {
        let student = submission["student"].as_str().unwrap();
        let result = exercise(&run, index, NN);
        if student.ends_with("victim") {
            assert!(result["max_score"].as_u64().unwrap() > 0);
            assert_eq!(result["score"], result["max_score"], "{student}: {result}");
        } else {
            assert_eq!(result["score"], 0, "{student} earned points: {result}");
        }
        assert!(
            out.path().join(student).join("results.json").is_file(),
            "no report for {student}"
        );
    }
    let verdicts = |name: &str| -> String {
        let index = submissions
            .iter()
            .position(|s| s["student"] == format!("attack-{name}"))
            .unwrap();
        exercise(&run, index, NN).to_string()
    };
    // Limits give verdicts that name them.
    assert!(
        verdicts("thread-bomb").contains("\"tasks\""),
        "{}",
        verdicts("thread-bomb")
    );
    assert!(
        verdicts("process-bomb").contains("\"tasks\""),
        "{}",
        verdicts("process-bomb")
    );
    assert!(
        verdicts("memory-hog").contains("\"memory\""),
        "{}",
        verdicts("memory-hog")
    );
    // Eight processes, each under the per-process limit, over it together:
    // the test's control group holds the whole tree to the limit.
    assert!(
        verdicts("memory-bomb").contains("\"memory\""),
        "{}",
        verdicts("memory-bomb")
    );
    assert!(
        verdicts("disk-fill").contains("\"file_size\""),
        "{}",
        verdicts("disk-fill")
    );
    assert!(verdicts("const-loop").contains("CPU time, the build's limit"));
    for name in ["include-files", "whole-path-to-solution"] {
        let verdict = verdicts(name);
        assert!(
            verdict.contains("compile_error") || verdict.contains("rejected"),
            "{name}: {verdict}"
        );
    }
    // Nothing secret, no control character and no more than the caps of a
    // submission's own text reached a report.
    let reports = snapshot(&[out.path().to_path_buf()]);
    for (path, bytes) in &reports {
        let student = path.strip_prefix(out.path()).unwrap().components().next();
        if student.is_some_and(|s| s.as_os_str().to_string_lossy().starts_with("attack-")) {
            assert!(
                bytes.len() < 128 * 1024,
                "{} holds {} bytes",
                path.display(),
                bytes.len()
            );
        }
    }
    for (path, bytes) in reports
        .iter()
        .map(|(p, b)| (p.clone(), b.clone()))
        .chain([(PathBuf::from("stdout"), text.clone().into_bytes())])
    {
        let content = String::from_utf8_lossy(&bytes);
        let raw = content
            .chars()
            .find(|&c| c.is_control() && c != '\n' && c != '\t' && c != '\r');
        assert!(raw.is_none(), "{} holds {raw:?}", path.display());
        for escaped in ["\\u001b", "\\u0007", "\\u009b", "&#x1b;", "&#27;"] {
            assert!(
                !content.contains(escaped),
                "{} holds {escaped}",
                path.display()
            );
        }
        for secret in ["root:x:0:0", "harness::check(", TOKEN] {
            assert!(
                !content.contains(secret),
                "{} shows {secret}",
                path.display()
            );
        }
    }

    // Nothing outside the out dir changed, nothing reached the host.
    assert!(
        before == snapshot(&watched),
        "the course or the class changed"
    );
    assert!(marked_tmp_files().is_empty(), "{:?}", marked_tmp_files());
    assert!(
        listener.accept().is_err(),
        "a test connected to the host's loopback"
    );
    // Nothing outlives the run, even a few seconds later.
    let gradebook = fs::read(out.path().join("gradebook.csv")).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        fs::read(out.path().join("gradebook.csv")).unwrap(),
        gradebook
    );
    assert!(marked_processes().is_empty(), "{:?}", marked_processes());
}
