//! The copy of an exercise that `check` builds: the student's `src/` and the
//! visible tests, with `parking_lot` replaced by the course's
//! schedule-perturbing stand-in (the student's code is unchanged: the
//! stand-in is renamed `parking_lot`), as the grader builds submissions.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::workspace::{Course, Exercise, read_tree, sync_tree, write_file};

/// Writes the scratch crate of `exercise` and returns its folder.
pub fn prepare(course: &Course, exercise: &Exercise) -> Result<PathBuf, Error> {
    let root = course.scratch_dir();
    let dir = root.join(&exercise.topic);
    for part in ["src", "tests"] {
        sync_tree(&dir.join(part), &read_tree(&exercise.dir.join(part))?)?;
    }
    copy_shared_test_files(course, &root)?;
    let manifest = manifest(course, exercise)?;
    write_if_changed(&dir.join("Cargo.toml"), manifest.as_bytes())?;
    // The course's lock file: the same dependency versions, no network.
    let lock = course.root.join("Cargo.lock");
    if let Ok(content) = fs::read(&lock) {
        write_if_changed(&dir.join("Cargo.lock"), &content)?;
    }
    Ok(dir)
}

/// Copies the files the visible tests share (`exercises/*.rs`, taken in
/// with `#[path = "../../within.rs"]`) into `root`, one folder above the
/// scratch crates, where that path finds them.
fn copy_shared_test_files(course: &Course, root: &Path) -> Result<(), Error> {
    let dir = course.root.join("exercises");
    let entries = fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
            let content = fs::read(&path).map_err(|e| Error::io(&path, e))?;
            write_if_changed(&root.join(path.file_name().unwrap_or_default()), &content)?;
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), Error> {
    if fs::read(path).ok().as_deref() == Some(content) {
        return Ok(());
    }
    write_file(path, content)
}

/// The exercise's own manifest made to stand alone: workspace-inherited
/// fields and dependencies resolved, `parking_lot` swapped for the stand-in.
fn manifest(course: &Course, exercise: &Exercise) -> Result<String, Error> {
    let root = read_toml(&course.root.join("Cargo.toml"))?;
    let mut own = read_toml(&exercise.dir.join("Cargo.toml"))?;
    let workspace = root
        .get("workspace")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let shared_deps = table(&workspace, "dependencies");
    let chaos = course.chaos_dir()?;
    for section in ["dependencies", "dev-dependencies"] {
        if let Some(deps) = own.get_mut(section).and_then(toml::Value::as_table_mut) {
            for (name, spec) in deps.iter_mut() {
                *spec = resolve_dependency(name, spec, &shared_deps, course, &chaos);
            }
        }
    }
    let package = table(&own, "package");
    let mut fixed = toml::Table::new();
    fixed.insert(
        "name".into(),
        package
            .get("name")
            .cloned()
            .unwrap_or_else(|| exercise.package().into()),
    );
    fixed.insert("version".into(), "0.1.0".into());
    let edition = table(&workspace, "package").get("edition").cloned();
    fixed.insert("edition".into(), edition.unwrap_or_else(|| "2024".into()));
    fixed.insert("publish".into(), false.into());
    own.insert("package".into(), fixed.into());
    if let Some(lints) = workspace.get("lints") {
        own.insert("lints".into(), lints.clone());
    }
    own.insert("workspace".into(), toml::Table::new().into());
    own.insert("profile".into(), fast_locks_profile());
    let text = toml::to_string(&own).map_err(|e| Error::new(format!("toml: {e}")))?;
    Ok(format!(
        "# Written by `cargo course check`: exercises/{}, built against the course's stand-in for parking_lot.\n{text}",
        exercise.topic
    ))
}

/// One dependency of the scratch crate.
fn resolve_dependency(
    name: &str,
    spec: &toml::Value,
    shared: &toml::Table,
    course: &Course,
    chaos: &Path,
) -> toml::Value {
    if name == "parking_lot" {
        let mut stand_in = toml::Table::new();
        stand_in.insert("package".into(), "chaos".into());
        stand_in.insert("path".into(), chaos.to_string_lossy().into_owned().into());
        return stand_in.into();
    }
    let inherited = spec.get("workspace").and_then(toml::Value::as_bool) == Some(true);
    let mut resolved = match (inherited, shared.get(name)) {
        (true, Some(toml::Value::String(version))) => {
            let mut t = toml::Table::new();
            t.insert("version".into(), version.clone().into());
            t
        }
        (true, Some(toml::Value::Table(t))) => t.clone(),
        _ => return spec.clone(),
    };
    if let Some(features) = spec.get("features") {
        resolved.insert("features".into(), features.clone());
    }
    if let Some(path) = resolved.get("path").and_then(toml::Value::as_str) {
        let absolute = course.root.join(path).to_string_lossy().into_owned();
        resolved.insert("path".into(), absolute.into());
    }
    resolved.into()
}

/// Optimized locks (the stand-in and what it wraps): tests under it run
/// about three times faster. No debug info: faster links.
fn fast_locks_profile() -> toml::Value {
    let mut packages = toml::Table::new();
    for name in ["chaos", "parking_lot", "parking_lot_core", "lock_api"] {
        let mut opt = toml::Table::new();
        opt.insert("opt-level".into(), 3.into());
        packages.insert(name.into(), opt.into());
    }
    let mut dev = toml::Table::new();
    dev.insert("debug".into(), false.into());
    dev.insert("package".into(), packages.into());
    let mut profile = toml::Table::new();
    profile.insert("dev".into(), dev.into());
    profile.into()
}

fn read_toml(path: &Path) -> Result<toml::Table, Error> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.parse()
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

fn table(t: &toml::Table, key: &str) -> toml::Table {
    t.get(key)
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default()
}
