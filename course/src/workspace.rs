//! Where things are: the course folder, its exercises, the shipped stubs and
//! the schedule-perturbing `parking_lot` stand-in.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The course the tool works on: a Cargo workspace with `exercises/`.
#[derive(Debug, Clone)]
pub struct Course {
    /// The workspace root.
    pub root: PathBuf,
    /// The exercises, in course order.
    pub exercises: Vec<Exercise>,
}

/// One exercise folder, `exercises/NN-topic`.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// `04`.
    pub number: String,
    /// `04-semaphore`.
    pub topic: String,
    /// The lesson's title, from the first line of its README.
    pub title: String,
    /// The folder.
    pub dir: PathBuf,
}

impl Exercise {
    /// The folder the student edits.
    pub fn src(&self) -> PathBuf {
        self.dir.join("src")
    }

    /// The Cargo package, `exercise-04`.
    pub fn package(&self) -> String {
        format!("exercise-{}", self.number)
    }

    /// The `src/` folder as a student names it, `exercises/04-semaphore/src`.
    pub fn shown_src(&self) -> String {
        format!("exercises/{}/src", self.topic)
    }
}

impl Course {
    /// The course that holds `start` (or one of its parents).
    pub fn find(start: &Path) -> Result<Course, Error> {
        let mut dir = Some(start);
        while let Some(candidate) = dir {
            if candidate.join("Cargo.toml").is_file() && candidate.join("exercises").is_dir() {
                return Course::load(candidate);
            }
            dir = candidate.parent();
        }
        Err(Error::new(format!(
            "{} is not inside the course: run this from the course folder (the one with exercises/)",
            start.display()
        )))
    }

    /// The course rooted at `root`.
    pub fn load(root: &Path) -> Result<Course, Error> {
        let folder = root.join("exercises");
        let mut exercises = Vec::new();
        for entry in fs::read_dir(&folder)
            .map_err(|e| Error::io(&folder, e))?
            .flatten()
        {
            let dir = entry.path();
            let topic = entry.file_name().to_string_lossy().into_owned();
            let Some((number, _)) = topic.split_once('-') else {
                continue;
            };
            if number.len() != 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if !dir.join("Cargo.toml").is_file() {
                continue;
            }
            exercises.push(Exercise {
                number: number.to_string(),
                title: lesson_title(&dir).unwrap_or_else(|| topic.clone()),
                topic,
                dir,
            });
        }
        exercises.sort_by(|a, b| a.topic.cmp(&b.topic));
        Ok(Course {
            root: root.to_path_buf(),
            exercises,
        })
    }

    /// The exercise a student names as `4`, `04` or `04-semaphore`.
    pub fn exercise(&self, name: &str) -> Result<&Exercise, Error> {
        let wanted = match name.parse::<u32>() {
            Ok(n) => format!("{n:02}"),
            Err(_) => name.split('-').next().unwrap_or(name).to_string(),
        };
        self.exercises
            .iter()
            .find(|e| e.number == wanted || e.topic == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.exercises.iter().map(|e| e.number.as_str()).collect();
                Error::new(format!(
                    "no exercise {name}; the exercises are {}",
                    known.join(", ")
                ))
            })
    }

    /// The schedule-perturbing stand-in for `parking_lot`: `course/chaos` in a
    /// students' repository, `grader/chaos` in the course's own workspace.
    pub fn chaos_dir(&self) -> Result<PathBuf, Error> {
        ["course/chaos", "grader/chaos"]
            .iter()
            .map(|rel| self.root.join(rel))
            .find(|dir| dir.join("Cargo.toml").is_file())
            .ok_or_else(|| {
                Error::new("the course's stand-in for parking_lot (course/chaos) is missing")
            })
    }

    /// The small file that keeps the student's progress.
    pub fn state_path(&self) -> PathBuf {
        self.root.join(".course-state.toml")
    }

    /// Where `check` writes its copies of the exercises.
    pub fn scratch_dir(&self) -> PathBuf {
        self.root.join("target").join("course")
    }

    /// Where `check` builds them: beside the course's own build output.
    pub fn scratch_target(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("target"))
            .join("course-check")
    }
}

/// `Semaphores: ...` from `# 04 · Semaphores: ...`.
fn lesson_title(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("README.md")).ok()?;
    let first = text.lines().next()?.trim_start_matches('#').trim();
    let title = first
        .split_once(" · ")
        .or_else(|| first.split_once(" — "))
        .map_or(first, |(_, rest)| rest);
    Some(title.replace('`', ""))
}

/// The files of a folder, by path relative to it (`lib.rs`, `bin/demo.rs`).
pub type Files = BTreeMap<PathBuf, Vec<u8>>;

/// Reads every file under `dir`, sorted by path; an absent folder is empty.
pub fn read_tree(dir: &Path) -> Result<Files, Error> {
    let mut files = Files::new();
    gather(dir, Path::new(""), &mut files)?;
    Ok(files)
}

fn gather(dir: &Path, rel: &Path, files: &mut Files) -> Result<(), Error> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = rel.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            gather(&path, &rel, files)?;
        } else if kind.is_file() {
            files.insert(rel, fs::read(&path).map_err(|e| Error::io(&path, e))?);
        }
    }
    Ok(())
}

/// Makes `dir` hold exactly `files`: writes those that differ (so Cargo sees
/// unchanged files as unchanged) and removes the others.
pub fn sync_tree(dir: &Path, files: &Files) -> Result<(), Error> {
    let present = read_tree(dir)?;
    for rel in present.keys().filter(|rel| !files.contains_key(*rel)) {
        let path = dir.join(rel);
        fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    for (rel, content) in files {
        if present.get(rel) != Some(content) {
            write_file(&dir.join(rel), content)?;
        }
    }
    Ok(())
}

/// Writes a file, creating its folder.
pub fn write_file(path: &Path, content: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    fs::write(path, content).map_err(|e| Error::io(path, e))
}

/// The stub of `exercise` as shipped: the copy kept in `course/stubs/` of a
/// students' repository, or else the last committed version in git.
pub fn shipped_stub(course: &Course, exercise: &Exercise) -> Result<Files, Error> {
    let kept = course
        .root
        .join("course/stubs")
        .join(&exercise.topic)
        .join("src");
    if kept.is_dir() {
        return read_tree(&kept);
    }
    stub_from_git(course, exercise)
}

fn stub_from_git(course: &Course, exercise: &Exercise) -> Result<Files, Error> {
    let prefix = format!("exercises/{}/src/", exercise.topic);
    let listing = git(
        course,
        &["ls-tree", "-r", "--name-only", "HEAD", "--", &prefix],
    )?;
    let mut files = Files::new();
    for path in String::from_utf8_lossy(&listing).lines() {
        let content = git(course, &["show", &format!("HEAD:{path}")])?;
        files.insert(PathBuf::from(&path[prefix.len()..]), content);
    }
    if files.is_empty() {
        return Err(Error::new(format!(
            "the shipped stub of {} is not in course/stubs/ nor in git",
            exercise.topic
        )));
    }
    Ok(files)
}

fn git(course: &Course, args: &[&str]) -> Result<Vec<u8>, Error> {
    let output = Command::new("git")
        .arg("-C")
        .arg(&course.root)
        .args(args)
        .output()
        .map_err(|e| Error::new(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}
