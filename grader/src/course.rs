//! The course as the grader sees it: which exercises exist, where their
//! hidden suites and points tables are, and which dependencies a scratch
//! crate for each of them needs.
//!
//! Everything is found by name, as `grader/AUTHORING.md` lays out: exercise
//! `NN` is the folder `exercises/NN-topic`, its solution `solutions/NN-topic`,
//! and the grader's side of it one folder, `grader/suites/NN-topic/`: the
//! hidden suite `hidden.rs`, the points table `points.toml` and the mutants
//! `mutants/<bug>.patch`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::mutant::Mutant;
use crate::prepare::Source;

/// The hidden suite's file in `grader/suites/NN-topic/`.
pub const SUITE_FILE: &str = "hidden.rs";
/// The points table's file in `grader/suites/NN-topic/`.
pub const POINTS_FILE: &str = "points.toml";
/// The mutants' folder in `grader/suites/NN-topic/`.
pub const MUTANTS_DIR: &str = "mutants";
/// The folder of an exercise's grader side that holds its reference
/// variants: other correct solutions (on `std` primitives, say), as patches
/// against the solution, that must score full marks.
pub const REFERENCES_DIR: &str = "references";

/// The course workspace.
#[derive(Debug, Clone)]
pub struct Course {
    /// The workspace root (the folder holding `Cargo.toml`, `exercises/`, `grader/`).
    pub root: PathBuf,
    /// The Rust edition scratch crates are built with.
    pub edition: String,
    /// Every exercise, in number order.
    pub exercises: Vec<Exercise>,
}

/// One exercise of the course.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// Two digits, e.g. `05`.
    pub number: String,
    /// The folder name, e.g. `05-event`.
    pub topic: String,
    /// `exercises/NN-topic`: the stub, the lesson and the visible tests.
    pub dir: PathBuf,
    /// `grader/suites/NN-topic/hidden.rs`.
    pub suite: PathBuf,
    /// Points and hints from `grader/suites/NN-topic/points.toml`.
    pub points: PointsTable,
    /// The CPU time each test needs, from `grader/suites/NN-topic/cpu.toml`.
    pub budgets: crate::budget::Budgets,
    /// The test functions the suite's source declares (`#[test] fn name`),
    /// used when the suite cannot be built and listed.
    pub declared_tests: Vec<String>,
    /// `[dependencies]` of the scratch crate, each rendered as `name = value`.
    pub dependencies: BTreeMap<String, toml::Value>,
    /// `[dev-dependencies]` of the scratch crate (what the suite and the
    /// visible tests use).
    pub dev_dependencies: BTreeMap<String, toml::Value>,
}

impl Exercise {
    /// The package name of the scratch crate, e.g. `exercise-05`.
    pub fn package(&self) -> String {
        format!("exercise-{}", self.number)
    }

    /// `solutions/NN-topic/src`.
    pub fn solution_src(&self, course: &Course) -> PathBuf {
        course.root.join("solutions").join(&self.topic).join("src")
    }

    /// `exercises/NN-topic/src`: the stub.
    pub fn stub_src(&self) -> PathBuf {
        self.dir.join("src")
    }

    /// The known-buggy variants (`grader/suites/NN-topic/mutants/*.patch`),
    /// sorted by name.
    pub fn mutants(&self, course: &Course) -> Vec<Mutant> {
        Mutant::find(&course.root.join(self.grader_dir()).join(MUTANTS_DIR))
    }

    /// The reference variants (`grader/suites/NN-topic/references/*.patch`),
    /// sorted by name.
    pub fn references(&self, course: &Course) -> Vec<Mutant> {
        Mutant::find(&course.root.join(self.grader_dir()).join(REFERENCES_DIR))
    }

    /// The code of a mutant: the solution's `lib.rs` with its patch applied,
    /// or why the patch does not apply.
    pub fn mutant_source(&self, course: &Course, mutant: &Mutant) -> Result<Source, String> {
        let lib = self.solution_src(course).join("lib.rs");
        let solution = fs::read_to_string(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
        let mutated = mutant.apply(&solution)?;
        Ok(Source::Files(BTreeMap::from([(
            PathBuf::from("lib.rs"),
            mutated.into_bytes(),
        )])))
    }

    /// `grader/suites/NN-topic`, relative to the course root: the grader's
    /// side of the exercise.
    pub fn grader_dir(&self) -> PathBuf {
        PathBuf::from("grader/suites").join(&self.topic)
    }

    /// The points table's path, relative to the course root (for messages).
    pub fn points_path(&self) -> PathBuf {
        self.grader_dir().join(POINTS_FILE)
    }

    /// Points and hint of one hidden test (1 point and no hint if the table
    /// does not list it).
    pub fn test_points(&self, name: &str) -> (u32, Option<String>) {
        match self.points.tests.get(name) {
            Some(entry) => (entry.points, entry.hint.clone()),
            None => (1, None),
        }
    }
}

/// `grader/suites/NN-topic/points.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsTable {
    /// One entry per hidden test, by test function name.
    #[serde(default)]
    pub tests: BTreeMap<String, TestPoints>,
}

/// Points and hint of one hidden test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestPoints {
    /// A positive integer.
    pub points: u32,
    /// One or two sentences for a student who failed the test.
    pub hint: Option<String>,
}

impl Course {
    /// The files the exercises' visible tests share (`exercises/*.rs`, such
    /// as `within.rs`, taken in with `#[path = "../../within.rs"]`), by name.
    /// A scratch workspace puts them one folder above its crates, where that
    /// path finds them.
    pub fn shared_test_files(&self) -> Result<BTreeMap<PathBuf, Vec<u8>>, Error> {
        let dir = self.root.join("exercises");
        let entries = fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut files = BTreeMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
                let content = fs::read(&path).map_err(|e| Error::io(&path, e))?;
                files.insert(PathBuf::from(entry.file_name()), content);
            }
        }
        Ok(files)
    }

    /// Loads the course rooted at `root`.
    pub fn load(root: &Path) -> Result<Course, Error> {
        let root = root
            .canonicalize()
            .map_err(|e| Error::new(format!("course folder {}: {e}", root.display())))?;
        let workspace = Workspace::read(&root)?;
        let suite_deps = suite_dependencies(&workspace)?;
        let mut exercises = Vec::new();
        let entries = fs::read_dir(root.join("exercises"))
            .map_err(|e| Error::new(format!("{}/exercises: {e}", root.display())))?;
        for entry in entries.flatten() {
            if let Some(exercise) = load_exercise(&workspace, &entry.path(), &suite_deps)? {
                exercises.push(exercise);
            }
        }
        exercises.sort_by(|a, b| a.topic.cmp(&b.topic));
        if exercises.is_empty() {
            return Err(Error::new(format!(
                "{} has no exercises (folders exercises/NN-topic with a suite grader/suites/NN-topic/hidden.rs)",
                root.display()
            )));
        }
        Ok(Course {
            root,
            edition: workspace.edition,
            exercises,
        })
    }

    /// Finds the course: `explicit` if given, else the nearest folder at or
    /// above the current directory that holds `grader/suites`, else the
    /// workspace this binary was built from.
    pub fn locate(explicit: Option<&Path>) -> Result<Course, Error> {
        if let Some(path) = explicit {
            return Course::load(path);
        }
        if let Ok(mut dir) = std::env::current_dir() {
            loop {
                if dir.join("grader/suites").is_dir() && dir.join("Cargo.toml").is_file() {
                    return Course::load(&dir);
                }
                if !dir.pop() {
                    break;
                }
            }
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Course::load(&built_from)
    }

    /// The exercise with number `number` (`5`, `05` and `05-event` all work).
    pub fn exercise(&self, number: &str) -> Option<&Exercise> {
        let wanted = exercise_number(number)
            .map(str::to_string)
            .or_else(|| number.parse::<u32>().ok().map(|n| format!("{n:02}")))?;
        self.exercises.iter().find(|e| e.number == wanted)
    }

    /// The exercises selected by `--exercise` (all when `selection` is empty).
    pub fn select(&self, selection: &[String]) -> Result<Vec<&Exercise>, Error> {
        if selection.is_empty() {
            return Ok(self.exercises.iter().collect());
        }
        let mut chosen = Vec::new();
        for wanted in selection {
            let exercise = self.exercise(wanted).ok_or_else(|| {
                Error::new(format!(
                    "no exercise {wanted:?} in this course (it has {})",
                    self.exercises
                        .iter()
                        .map(|e| e.number.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if !chosen
                .iter()
                .any(|e: &&Exercise| e.number == exercise.number)
            {
                chosen.push(exercise);
            }
        }
        chosen.sort_by(|a, b| a.topic.cmp(&b.topic));
        Ok(chosen)
    }

    /// The shared target directory every scratch build uses.
    pub fn grading_dir(&self) -> PathBuf {
        self.root.join("target").join("grading")
    }
}

/// The two leading digits of a folder name like `05-event` (or `05`).
pub fn exercise_number(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    if bytes.len() >= 2
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && (bytes.len() == 2 || bytes[2] == b'-')
    {
        Some(&name[..2])
    } else {
        None
    }
}

/// The names of the test functions in a suite's source: every `fn name`
/// that follows a `#[test]` attribute (other attributes and doc comments may
/// come between them).
pub fn declared_tests(source: &str) -> Vec<String> {
    let mut tests = Vec::new();
    let mut pending = false;
    for line in source.lines() {
        let line = line.trim();
        if line == "#[test]" {
            pending = true;
            continue;
        }
        if !pending {
            continue;
        }
        if line.starts_with("#[") || line.starts_with("///") || line.starts_with("//") {
            continue;
        }
        let rest = line.strip_prefix("pub ").unwrap_or(line);
        if let Some(rest) = rest.strip_prefix("fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                tests.push(name);
            }
        }
        pending = false;
    }
    tests
}

/// What the root manifest says that scratch crates need.
struct Workspace {
    root: PathBuf,
    edition: String,
    dependencies: toml::Table,
}

impl Workspace {
    fn read(root: &Path) -> Result<Workspace, Error> {
        let manifest = read_toml(&root.join("Cargo.toml"))?;
        let workspace = manifest
            .get("workspace")
            .and_then(|w| w.as_table())
            .ok_or_else(|| {
                Error::new(format!("{}/Cargo.toml has no [workspace]", root.display()))
            })?;
        let edition = workspace
            .get("package")
            .and_then(|p| p.get("edition"))
            .and_then(|e| e.as_str())
            .unwrap_or("2024")
            .to_string();
        let dependencies = workspace
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        Ok(Workspace {
            root: root.to_path_buf(),
            edition,
            dependencies,
        })
    }

    /// The `[section]` dependencies of the manifest in `dir`, resolved.
    fn dependencies_of(
        &self,
        manifest: &toml::Table,
        section: &str,
        dir: &Path,
    ) -> Result<BTreeMap<String, toml::Value>, Error> {
        let mut resolved = BTreeMap::new();
        if let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) {
            for (name, spec) in deps {
                let spec = resolve_dependency(name, spec, dir, &self.dependencies, &self.root)?;
                resolved.insert(name.clone(), spec);
            }
        }
        Ok(resolved)
    }
}

/// What the hidden suites may use: the grader's dev-dependencies, minus the
/// solution crates it renames to `exercise_NN`.
fn suite_dependencies(workspace: &Workspace) -> Result<BTreeMap<String, toml::Value>, Error> {
    let grader_dir = workspace.root.join("grader");
    let manifest = read_toml(&grader_dir.join("Cargo.toml"))?;
    let mut deps = workspace.dependencies_of(&manifest, "dev-dependencies", &grader_dir)?;
    deps.retain(|name, spec| {
        let package = spec.get("package").and_then(|p| p.as_str()).unwrap_or("");
        !name.starts_with("exercise_") && !package.starts_with("solution-")
    });
    Ok(deps)
}

/// The exercise in folder `dir`, if it is one (`NN-topic`, with a manifest
/// and a hidden suite).
fn load_exercise(
    workspace: &Workspace,
    dir: &Path,
    suite_deps: &BTreeMap<String, toml::Value>,
) -> Result<Option<Exercise>, Error> {
    let topic = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(number) = exercise_number(&topic) else {
        return Ok(None);
    };
    let suite_dir = workspace.root.join("grader/suites").join(&topic);
    let suite = suite_dir.join(SUITE_FILE);
    if !dir.join("Cargo.toml").is_file() || !suite.is_file() {
        return Ok(None);
    }
    let points = read_points(&suite_dir.join(POINTS_FILE))?;
    let budgets = crate::budget::Budgets::read(&suite_dir.join(crate::budget::BUDGET_FILE))?;
    let source =
        fs::read_to_string(&suite).map_err(|e| Error::new(format!("{}: {e}", suite.display())))?;
    let manifest = read_toml(&dir.join("Cargo.toml"))?;
    let dependencies = workspace.dependencies_of(&manifest, "dependencies", dir)?;
    let mut dev_dependencies = workspace.dependencies_of(&manifest, "dev-dependencies", dir)?;
    for (name, spec) in suite_deps {
        if !dependencies.contains_key(name) {
            dev_dependencies.insert(name.clone(), spec.clone());
        }
    }
    Ok(Some(Exercise {
        number: number.to_string(),
        topic: topic.clone(),
        dir: dir.to_path_buf(),
        declared_tests: declared_tests(&source),
        suite,
        points,
        budgets,
        dependencies,
        dev_dependencies,
    }))
}

/// A points table (empty if the file is missing); every entry's points
/// must be positive.
fn read_points(path: &Path) -> Result<PointsTable, Error> {
    if !path.is_file() {
        return Ok(PointsTable::default());
    }
    let text =
        fs::read_to_string(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let table: PointsTable =
        toml::from_str(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    for (name, entry) in &table.tests {
        if entry.points == 0 {
            return Err(Error::new(format!(
                "{}: test `{name}` has 0 points (points must be positive)",
                path.display()
            )));
        }
    }
    Ok(table)
}

fn read_toml(path: &Path) -> Result<toml::Table, Error> {
    let text =
        fs::read_to_string(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    text.parse::<toml::Table>()
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Turns a dependency as written in a member manifest into one a scratch
/// crate elsewhere can use: `workspace = true` is replaced by the workspace's
/// entry (keeping `features` and `optional` from the member), and relative
/// paths become absolute.
fn resolve_dependency(
    name: &str,
    spec: &toml::Value,
    manifest_dir: &Path,
    workspace_deps: &toml::Table,
    root: &Path,
) -> Result<toml::Value, Error> {
    let Some(table) = spec.as_table() else {
        return Ok(spec.clone());
    };
    let mut resolved = toml::Table::new();
    let mut base = manifest_dir.to_path_buf();
    if table.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
        let inherited = workspace_deps.get(name).ok_or_else(|| {
            Error::new(format!(
                "{}: `{name}` says `workspace = true` but [workspace.dependencies] has no `{name}`",
                manifest_dir.join("Cargo.toml").display()
            ))
        })?;
        match inherited {
            toml::Value::String(version) => {
                resolved.insert("version".into(), toml::Value::String(version.clone()));
            }
            toml::Value::Table(entries) => resolved.extend(entries.clone()),
            other => {
                return Err(Error::new(format!(
                    "[workspace.dependencies] `{name}` is not a version or a table: {other}"
                )));
            }
        }
        base = root.to_path_buf();
        for (key, value) in table {
            if key == "features" {
                let mut features = resolved
                    .get("features")
                    .and_then(|f| f.as_array())
                    .cloned()
                    .unwrap_or_default();
                features.extend(value.as_array().cloned().unwrap_or_default());
                resolved.insert(key.clone(), toml::Value::Array(features));
            } else if key != "workspace" {
                resolved.insert(key.clone(), value.clone());
            }
        }
    } else {
        resolved.extend(table.clone());
    }
    absolutize(&mut resolved, &base);
    Ok(toml::Value::Table(resolved))
}

fn absolutize(table: &mut toml::Table, base: &Path) {
    if let Some(toml::Value::String(path)) = table.get("path") {
        let path = base.join(path);
        let path = path.canonicalize().unwrap_or(path);
        table.insert(
            "path".to_string(),
            toml::Value::String(path.to_string_lossy().into_owned()),
        );
    }
}

/// Renders a dependency value inline, as it appears after `name = ` in a
/// manifest.
pub fn render_inline(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => serde_json::to_string(text).expect("a string serializes"),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(render_inline)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        toml::Value::Table(entries) => {
            if entries.is_empty() {
                return "{}".to_string();
            }
            let fields: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} = {}", render_key(k), render_inline(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}

fn render_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        serde_json::to_string(key).expect("a string serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_functions_are_read_from_a_suite() {
        let source = "use x;\n#[test]\n/// doc\n#[cfg(unix)]\nfn first_test() {}\n\nfn helper() {}\n#[test]\npub fn second() {}\n";
        assert_eq!(declared_tests(source), ["first_test", "second"]);
    }

    #[test]
    fn exercise_numbers_come_from_folder_names() {
        assert_eq!(exercise_number("05-event"), Some("05"));
        assert_eq!(exercise_number("05"), Some("05"));
        assert_eq!(exercise_number("5-event"), None);
        assert_eq!(exercise_number("055"), None);
        assert_eq!(exercise_number("target"), None);
    }

    /// Issue 13: a correct solution written on `std` must score full marks,
    /// so every exercise whose solution locks through `parking_lot` has a
    /// `std` reference for `verify` to grade (one whose solution is already
    /// `std` only, such as 10, is its own).
    #[test]
    fn every_parking_lot_solution_has_a_std_reference() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let course = Course::load(&root).expect("the course loads");
        let missing: Vec<&str> = course
            .exercises
            .iter()
            .filter(|e| {
                let lib = fs::read_to_string(e.solution_src(&course).join("lib.rs"));
                lib.expect("the solution reads").contains("parking_lot")
            })
            .filter(|e| e.references(&course).is_empty())
            .map(|e| e.topic.as_str())
            .collect();
        assert!(missing.is_empty(), "no std reference for {missing:?}");
    }

    #[test]
    fn dependencies_render_inline() {
        let spec: toml::Value = toml::from_str::<toml::Table>(
            "d = { version = \"1\", features = [\"derive\"], path = \"/a b\" }",
        )
        .unwrap()["d"]
            .clone();
        assert_eq!(
            render_inline(&spec),
            "{ features = [\"derive\"], path = \"/a b\", version = \"1\" }"
        );
    }
}
