//! Writing the course out for others: the student repository (`export`) and
//! the Gradescope autograder bundle (`gradescope`).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::Error;
use crate::course::Course;

/// Folder names never copied out of the course.
const SKIPPED: [&str; 3] = ["target", ".git", "node_modules"];

/// Writes the student-facing repository into `dir`: `exercises/` (lessons,
/// stubs, visible tests), the students' guide as its README, the lock file and
/// a workspace `Cargo.toml` of its own. No solutions, no hidden suites, no
/// grader.
pub fn export(course: &Course, dir: &Path) -> Result<(), Error> {
    ensure_empty(dir)?;
    copy_tree(&course.root.join("exercises"), &dir.join("exercises"))?;
    write_student_readme(course, dir)?;
    for file in ["Cargo.lock", ".gitignore", "LICENSE", "rust-toolchain.toml"] {
        let from = course.root.join(file);
        if from.is_file() {
            fs::copy(&from, dir.join(file)).map_err(|e| Error::io(&from, e))?;
        }
    }
    export_course_tool(course, dir)?;
    let manifest = workspace_manifest(course, &["exercises/*", "course", "course/chaos"], true)?;
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "# The Interleave exercises. Work on one with `cargo test -p exercise-01`.\n{manifest}"
        ),
    )
}

/// The file that holds the students' guide. The course's own README links to
/// it; an exported repository has it as its README.
pub const STUDENT_GUIDE: &str = "STUDENTS.md";

/// Writes the students' guide as the exported repository's `README.md`.
fn write_student_readme(course: &Course, dir: &Path) -> Result<(), Error> {
    let from = course.root.join(STUDENT_GUIDE);
    let text = fs::read_to_string(&from).map_err(|e| Error::io(&from, e))?;
    write(&dir.join("README.md"), &text)
}

/// The students' course tool (`cargo course`, through `.cargo/config.toml`)
/// with what its `check` needs: the stand-in for `parking_lot` as
/// `course/chaos`, and the stubs as shipped (for `reset`) in `course/stubs/`.
fn export_course_tool(course: &Course, dir: &Path) -> Result<(), Error> {
    let config = course.root.join(".cargo/config.toml");
    let tool = course.root.join("course");
    if !config.is_file() || !tool.join("Cargo.toml").is_file() {
        return Ok(());
    }
    fs::create_dir_all(dir.join(".cargo")).map_err(|e| Error::io(dir, e))?;
    fs::copy(&config, dir.join(".cargo/config.toml")).map_err(|e| Error::io(&config, e))?;
    copy_tree(&tool.join("src"), &dir.join("course/src"))?;
    write(
        &dir.join("course/Cargo.toml"),
        &course_tool_manifest(&tool.join("Cargo.toml"))?,
    )?;
    let chaos = course.root.join("grader/chaos");
    copy_tree(&chaos.join("src"), &dir.join("course/chaos/src"))?;
    // Its README is the instructors' (how grading uses it): not exported.
    fs::copy(
        chaos.join("Cargo.toml"),
        dir.join("course/chaos/Cargo.toml"),
    )
    .map_err(|e| Error::io(&chaos.join("Cargo.toml"), e))?;
    for exercise in &course.exercises {
        let stubs = dir.join("course/stubs").join(&exercise.topic);
        copy_tree(&exercise.stub_src(), &stubs.join("src"))?;
    }
    Ok(())
}

/// The course tool's manifest with the stand-in where the export puts it,
/// and without its own tests' dependencies (its tests stay in the course).
fn course_tool_manifest(path: &Path) -> Result<String, Error> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut manifest: toml::Table = text
        .parse()
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    manifest.remove("dev-dependencies");
    if let Some(chaos) = manifest
        .get_mut("dependencies")
        .and_then(|d| d.get_mut("chaos"))
        .and_then(|c| c.as_table_mut())
    {
        chaos.insert("path".into(), toml::Value::String("chaos".into()));
    }
    toml::to_string(&manifest).map_err(|e| Error::new(format!("toml: {e}")))
}

/// The course's root manifest with its members replaced. With
/// `drop_path_deps`, workspace dependencies on local paths (the grader's
/// harness) are left out, since the exported tree does not have them.
fn workspace_manifest(
    course: &Course,
    members: &[&str],
    drop_path_deps: bool,
) -> Result<String, Error> {
    let path = course.root.join("Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let mut manifest: toml::Table = text
        .parse()
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let workspace = manifest
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .ok_or_else(|| Error::new(format!("{} has no [workspace]", path.display())))?;
    workspace.insert(
        "members".into(),
        toml::Value::Array(
            members
                .iter()
                .map(|m| toml::Value::String(m.to_string()))
                .collect(),
        ),
    );
    workspace.remove("default-members");
    workspace.remove("exclude");
    if drop_path_deps
        && let Some(deps) = workspace
            .get_mut("dependencies")
            .and_then(|d| d.as_table_mut())
    {
        deps.retain(|_, spec| spec.get("path").is_none());
    }
    toml::to_string(&manifest).map_err(|e| Error::new(format!("toml: {e}")))
}

/// Writes a Gradescope autograder bundle into `dir`: `setup.sh` (installs
/// Rust, builds the grader, warms the build cache), `run_autograder` (grades
/// `/autograder/submission` into `/autograder/results/results.json`) and
/// `course/`, the parts of this workspace the grader needs (no solutions, no
/// mutants). Zip the folder's contents and upload the zip to Gradescope.
pub fn gradescope(course: &Course, dir: &Path) -> Result<(), Error> {
    ensure_empty(dir)?;
    let out = dir.join("course");
    copy_tree(&course.root.join("exercises"), &out.join("exercises"))?;
    let grader = course.root.join("grader");
    for part in ["src", "suites", "harness", "chaos"] {
        if grader.join(part).is_dir() {
            // The mutants (`suites/NN-topic/mutants`) stay with the course.
            copy_tree_except(
                &grader.join(part),
                &out.join("grader").join(part),
                &["mutants"],
            )?;
        }
    }
    let lock = course.root.join("Cargo.lock");
    if lock.is_file() {
        fs::copy(&lock, out.join("Cargo.lock")).map_err(|e| Error::io(&lock, e))?;
    }
    let mut members = vec!["grader", "grader/harness"];
    if grader.join("chaos/Cargo.toml").is_file() {
        members.push("grader/chaos");
    }
    write(
        &out.join("Cargo.toml"),
        &workspace_manifest(course, &members, false)?,
    )?;
    write(
        &out.join("grader/Cargo.toml"),
        &bundle_grader_manifest(&grader.join("Cargo.toml"))?,
    )?;

    let toolchain = rustc_version().unwrap_or_else(|| "stable".to_string());
    write(
        &dir.join("setup.sh"),
        &SETUP_SH.replace("{TOOLCHAIN}", &toolchain),
    )?;
    write(&dir.join("run_autograder"), RUN_AUTOGRADER)?;
    for script in ["setup.sh", "run_autograder"] {
        make_executable(&dir.join(script))?;
    }
    write(&dir.join("README.md"), BUNDLE_README)
}

/// The grader's manifest without what only the course's own tests need (the
/// solution crates renamed `exercise_NN`, and the `[[test]]` targets).
fn bundle_grader_manifest(path: &Path) -> Result<String, Error> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut manifest: toml::Table = text
        .parse()
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    manifest.remove("test");
    if let Some(deps) = manifest
        .get_mut("dev-dependencies")
        .and_then(|d| d.as_table_mut())
    {
        deps.retain(|name, _| !name.starts_with("exercise_"));
    }
    let mut text = toml::to_string(&manifest).map_err(|e| Error::new(format!("toml: {e}")))?;
    text.insert_str(
        0,
        "# The grader, as shipped in the Gradescope bundle (no solutions, no course tests).\n",
    );
    Ok(text)
}

fn rustc_version() -> Option<String> {
    let output = Command::new("rustc").arg("--version").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    text.split_whitespace().nth(1).map(str::to_string)
}

const SETUP_SH: &str = r#"#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends curl ca-certificates build-essential
if ! command -v cargo >/dev/null; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --profile minimal --default-toolchain {TOOLCHAIN}
fi
source "$HOME/.cargo/env"
cd "${AUTOGRADER_ROOT:-/autograder}/source/course"
cargo build --release -p grader
# Grade the stubs once, so the scratch crates' dependencies are compiled into
# the image and each submission only compiles student code.
./target/release/grader --course . grade exercises --out /tmp/warm-up > /dev/null
"#;

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# Gradescope runs this for each submission. Two variables are for trying the
# bundle outside Gradescope: AUTOGRADER_ROOT (default /autograder) is the
# folder holding source/, submission/ and results/, and GRADER_BIN (default:
# the grader setup.sh built) the grader binary to run.
set -uo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
source "${HOME:-/root}/.cargo/env" 2>/dev/null || true
course="$root/source/course"
grader="${GRADER_BIN:-$course/target/release/grader}"
results="$root/results"
mkdir -p "$results"

# The grader itself could not work: write a zero score that says why, instead
# of leaving Gradescope without a result (details in results/grader.log).
give_up() {
    local why="${1//\\/\\\\}"
    why="${why//\"/\\\"}"
    printf '{"score": 0, "execution_time": 0, "output": "The autograder could not grade this submission: %s. Please tell your instructor.", "output_format": "md", "test_output_format": "md", "visibility": "visible", "stdout_visibility": "hidden", "extra_data": {"grader_failed": true}, "tests": []}\n' \
        "$why" > "$results/results.json"
    echo "autograder: $1" >&2
    exit 0
}

[ -d "$root/submission" ] || give_up "no submission folder at $root/submission"
[ -x "$grader" ] || give_up "the grader is not built ($grader is missing; did setup.sh run?)"
"$grader" --course "$course" grade "$root/submission" --out "$results/grades" \
    > "$results/grader.log" 2>&1
status=$?
if [ "$status" -ne 0 ]; then
    tail -n 50 "$results/grader.log"
    give_up "the grader stopped with exit status $status"
fi
cp "$results/grades/submission/results.json" "$results/results.json" ||
    give_up "the grader wrote no results.json"
"#;

const BUNDLE_README: &str = "# Interleave autograder bundle for Gradescope

Zip the contents of this folder (not the folder itself) and upload the zip as the
assignment's autograder:

    cd <this folder> && zip -r ../interleave-autograder.zip .

Students submit their whole repository (from GitHub, or a zip of it): the grader takes
`exercises/NN-topic/src/**/*.rs` of each exercise and nothing else. Each test appears in
Gradescope as `NN-topic: test_name` with its points; the visible tests are listed with 0
points.
";

fn ensure_empty(dir: &Path) -> Result<(), Error> {
    if dir.exists()
        && fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some()
    {
        return Err(Error::new(format!(
            "{} is not empty; give a new or empty folder",
            dir.display()
        )));
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Copies a folder, skipping build output and version control.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    copy_tree_except(from, to, &[])
}

/// [`copy_tree`], also leaving out folders and files named in `except`.
fn copy_tree_except(from: &Path, to: &Path, except: &[&str]) -> Result<(), Error> {
    fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in fs::read_dir(from)
        .map_err(|e| Error::io(from, e))?
        .flatten()
    {
        let name = entry.file_name();
        if SKIPPED.iter().chain(except).any(|s| name == *s) {
            continue;
        }
        let path = entry.path();
        let target = to.join(&name);
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            copy_tree_except(&path, &target, except)?;
        } else if kind.is_file() {
            fs::copy(&path, &target).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn make_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .permissions();
    permissions.set_mode(0o755);
    fs::set_permissions(path, permissions).map_err(|e| Error::io(path, e))
}
