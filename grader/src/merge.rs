//! `grader merge`: joins the `--out` folders of `grade --shard` runs into one
//! run. Given the class (`--class`), it also knows which students each
//! shard was to grade, so a shard that wrote nothing, or only some of its
//! students, leaves those students not graded ([`Fault::ShardMissing`])
//! instead of missing from the gradebook.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::model::{Fault, GradingRun, SubmissionResult, Timings};
use crate::report;

/// What one shard folder held.
struct ShardFolder {
    /// Its `--out` folder.
    dir: PathBuf,
    /// Its `run.json`, written when the shard's run ended.
    run: Option<GradingRun>,
    /// The students it graded (from `run.json`, else those whose reports a
    /// run that did not end had written already).
    students: Vec<SubmissionResult>,
}

/// Shard `k` of `n` (1-based) is the one that grades the student at
/// `position` in student order: every `n`-th, from the `k`-th.
pub fn shard_of(position: usize, n: usize) -> usize {
    position % n + 1
}

/// Joins the shard folders `dirs`, given in shard order. With `class`, the
/// ids of every student of the class: those a shard should have graded and
/// did not are added as not graded. Without it, every folder must hold a
/// finished run.
pub fn merge(dirs: &[PathBuf], class: Option<&[String]>) -> Result<GradingRun, Error> {
    let shards = dirs
        .iter()
        .map(|dir| read_shard(dir, class.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    // With the class, the shards are one run split N ways (as `grader
    // slurm` writes them): in shard order, of one seed. Without it they may
    // be any gradings (each student's seed is in their own results).
    if class.is_some() {
        check_order(&shards)?;
        common_seed(&shards)?;
    }
    let seed = shards
        .iter()
        .flat_map(|s| &s.students)
        .map(|s| s.seed)
        .next();
    let mut run = base_run(&shards, seed);
    for shard in shards.iter() {
        join_students(&mut run, shard)?;
    }
    if let Some(class) = class {
        add_missing(&mut run, &shards, class);
    }
    run.submissions.sort_by(|a, b| a.student.cmp(&b.student));
    run.shard = None;
    Ok(run)
}

/// Reads one shard folder; a missing `run.json` is an error unless the
/// class says what the folder should have held (`partial_ok`).
fn read_shard(dir: &Path, partial_ok: bool) -> Result<ShardFolder, Error> {
    let path = dir.join("run.json");
    let run = match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            serde_json::from_str::<GradingRun>(&text)
                .map_err(|e| Error::new(format!("{}: {e}", path.display())))?,
        ),
        Err(e) if partial_ok && e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    let students = match &run {
        Some(run) => run.submissions.clone(),
        None => report::read_students(dir)?,
    };
    Ok(ShardFolder {
        dir: dir.to_path_buf(),
        run,
        students,
    })
}

/// Refuses shard folders given in another order than their shards (or of
/// another split) when the class is known: it would then blame the wrong
/// shard for a missing student. (Without it the order does not matter, so
/// `merge shard-*` works with shard-10 before shard-2.)
fn check_order(shards: &[ShardFolder]) -> Result<(), Error> {
    let n = shards.len();
    for (i, shard) in shards.iter().enumerate() {
        let Some(written) = shard.run.as_ref().and_then(|r| r.shard.as_deref()) else {
            continue;
        };
        let expected = format!("{}/{n}", i + 1);
        if written != expected {
            return Err(Error::new(format!(
                "{} holds shard {written}, but comes at place {expected}: give the shard \
                 folders in shard order, all of them",
                shard.dir.display()
            )));
        }
    }
    Ok(())
}

/// Refuses shards of different seeds: they are no single run.
fn common_seed(shards: &[ShardFolder]) -> Result<(), Error> {
    let mut seed: Option<(u64, &Path)> = None;
    for shard in shards {
        let seeds = shard.run.iter().map(|r| r.seed);
        for found in seeds.chain(shard.students.iter().map(|s| s.seed)) {
            match seed {
                None => seed = Some((found, &shard.dir)),
                Some((first, dir)) if first != found => {
                    return Err(Error::new(format!(
                        "{} graded with seed {first} but {} with seed {found}: merge only \
                         shards of one run (grade every shard with the same --seed)",
                        dir.display(),
                        shard.dir.display()
                    )));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The merged run before any student joins: the first finished shard's
/// settings, its start the earliest, its time the sum of the shards'.
fn base_run(shards: &[ShardFolder], seed: Option<u64>) -> GradingRun {
    let runs: Vec<&GradingRun> = shards.iter().filter_map(|s| s.run.as_ref()).collect();
    let mut run = match runs.first() {
        Some(first) => (*first).clone(),
        None => GradingRun {
            seed: seed.unwrap_or(0),
            timeout_secs: crate::grade::DEFAULT_TIMEOUT_SECS as f64,
            shard: None,
            protections: Vec::new(),
            submissions: Vec::new(),
            grader_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: String::new(),
            elapsed_secs: 0.0,
        },
    };
    run.submissions.clear();
    run.elapsed_secs = runs.iter().map(|r| r.elapsed_secs).sum();
    run.started_at = runs
        .iter()
        .map(|r| r.started_at.clone())
        .filter(|s| !s.is_empty())
        .min()
        .unwrap_or_default();
    run
}

/// Adds a shard's students; a student in two shards is refused.
fn join_students(run: &mut GradingRun, shard: &ShardFolder) -> Result<(), Error> {
    for submission in &shard.students {
        if run
            .submissions
            .iter()
            .any(|s| s.student == submission.student)
        {
            return Err(Error::new(format!(
                "student {} appears in more than one shard ({})",
                submission.student,
                shard.dir.display()
            )));
        }
        run.submissions.push(submission.clone());
    }
    Ok(())
}

/// Every student of `class` no shard graded, as not graded by the shard
/// that was to grade them.
fn add_missing(run: &mut GradingRun, shards: &[ShardFolder], class: &[String]) {
    let mut students = class.to_vec();
    students.sort();
    let max_score = run.submissions.iter().map(|s| s.max_score).max();
    for (position, student) in students.into_iter().enumerate() {
        if run.submissions.iter().any(|s| s.student == student) {
            continue;
        }
        let k = shard_of(position, shards.len());
        let dir = &shards[k - 1].dir;
        let fault = Fault::ShardMissing {
            shard: k,
            of: shards.len(),
            dir: dir.display().to_string(),
            task: crate::slurm::task_of(dir),
        };
        run.submissions
            .push(not_graded(student, run.seed, max_score, fault));
    }
}

/// A student with no result, only the fault that kept them from one.
fn not_graded(
    student: String,
    seed: u64,
    max_score: Option<u32>,
    fault: Fault,
) -> SubmissionResult {
    SubmissionResult {
        student,
        source: String::new(),
        seed,
        score: 0,
        max_score: max_score.unwrap_or(0),
        elapsed_secs: 0.0,
        timings: Timings::default(),
        protections: Vec::new(),
        exercises: Vec::new(),
        not_graded: Some(fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student(name: &str, seed: u64) -> SubmissionResult {
        let mut result = not_graded(
            name.to_string(),
            seed,
            Some(10),
            Fault::Build {
                detail: String::new(),
            },
        );
        result.not_graded = None;
        result.score = 7;
        result
    }

    /// Writes a finished shard `k/n` holding `students` into `dir`.
    fn finished_shard(dir: &Path, k: usize, n: usize, seed: u64, students: &[&str]) {
        let mut run = base_run(&[], Some(seed));
        run.shard = Some(format!("{k}/{n}"));
        run.submissions = students.iter().map(|s| student(s, seed)).collect();
        report::write_all(&run, dir, report::GradescopeVisibility::default()).unwrap();
    }

    fn class() -> Vec<String> {
        ["ada", "ben", "cleo", "dev", "eli"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn shards_split_the_class_in_student_order() {
        let shards: Vec<usize> = (0..5).map(|i| shard_of(i, 3)).collect();
        assert_eq!(shards, [1, 2, 3, 1, 2]);
    }

    #[test]
    fn a_shard_that_wrote_nothing_leaves_its_students_not_graded_naming_its_task() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (1..=3)
            .map(|k| root.path().join(format!("shard-{k}")))
            .collect();
        finished_shard(&dirs[0], 1, 3, 9, &["ada", "dev"]);
        std::fs::create_dir_all(&dirs[1]).unwrap();
        std::fs::write(dirs[1].join(crate::slurm::TASK_FILE), "77_2\n").unwrap();
        finished_shard(&dirs[2], 3, 3, 9, &["cleo"]);
        let run = merge(&dirs, Some(&class())).unwrap();
        let names: Vec<&str> = run.submissions.iter().map(|s| s.student.as_str()).collect();
        assert_eq!(names, ["ada", "ben", "cleo", "dev", "eli"]);
        for missing in ["ben", "eli"] {
            let result = run
                .submissions
                .iter()
                .find(|s| s.student == missing)
                .unwrap();
            let fault = result.fault().expect("not graded").to_string();
            assert!(
                fault.contains("shard 2/3 (Slurm task 77_2) wrote no results"),
                "{fault}"
            );
            assert_eq!(result.max_score, 10);
        }
        let csv = report::gradebook_csv(&run).unwrap();
        assert!(
            csv.contains("ben,not graded: shard 2/3 (Slurm task 77_2)"),
            "{csv}"
        );
    }

    #[test]
    fn a_shard_cut_short_keeps_the_students_it_finished() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (1..=2)
            .map(|k| root.path().join(format!("shard-{k}")))
            .collect();
        finished_shard(&dirs[0], 1, 2, 9, &["ada", "cleo", "eli"]);
        finished_shard(&dirs[1], 2, 2, 9, &["ben", "dev"]);
        std::fs::remove_file(dirs[1].join("run.json")).unwrap();
        std::fs::remove_dir_all(dirs[1].join("dev")).unwrap();
        let run = merge(&dirs, Some(&class())).unwrap();
        let ben = run.submissions.iter().find(|s| s.student == "ben").unwrap();
        assert!(ben.fault().is_none());
        let dev = run.submissions.iter().find(|s| s.student == "dev").unwrap();
        let fault = dev.fault().expect("not graded").to_string();
        assert!(fault.contains("shard 2/2 (no task started)"), "{fault}");
        assert!(
            merge(&dirs, None).is_err(),
            "without the class, a missing run.json is an error"
        );
    }

    #[test]
    fn with_the_class_shards_out_of_order_or_of_different_seeds_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let one = root.path().join("one");
        let two = root.path().join("two");
        finished_shard(&one, 1, 2, 9, &["ada"]);
        finished_shard(&two, 2, 2, 9, &["ben"]);
        let class = ["ada", "ben"].map(String::from);
        let swapped = [two.clone(), one.clone()];
        let error = merge(&swapped, Some(&class)).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("holds shard 2/2, but comes at place 1/2")
        );
        assert!(
            merge(&swapped, None).is_ok(),
            "without the class, order is free"
        );
        finished_shard(&two, 2, 2, 8, &["ben"]);
        let error = merge(&[one.clone(), two.clone()], Some(&class)).unwrap_err();
        assert!(error.to_string().contains("with seed 8"), "{error}");
        assert!(
            merge(&[one, two], None).is_ok(),
            "without the class, any gradings join"
        );
    }
}
