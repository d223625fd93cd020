//! A cache of built scratch crates, keyed by the exact bytes compiled.
//!
//! A scratch crate's test binaries depend on nothing but what is compiled:
//! every file of the crate (the submission's `src/` after the grader's
//! rewrite, the tests, the manifest the grader wrote), the files its tests
//! take in from beside it, the workspace's manifest and lock file, the
//! course's stand-in and harness crates, the toolchain and the grader's own
//! version. The key is a SHA-256 of all of it, so a hit means "these very
//! bytes were built before", and reveals nothing else: the binaries it
//! hands back are the ones those bytes compiled to. It pays where the same
//! bytes come again: a stub left untouched, `verify` run twice, a re-grade.
//!
//! Entries are hard links to the binaries of the build that made them
//! (tests run them read-only, under Landlock), and the cache keeps at most
//! [`MAX_ENTRIES`], dropping the oldest.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::build::Binaries;
use crate::course::Course;

/// The most entries kept (each the test binary and programs of one crate,
/// a few MiB).
pub const MAX_ENTRIES: usize = 200;

/// The cache folder under the grading directory, and the salt every key
/// starts with (toolchain, grader, stand-in, harness).
#[derive(Debug, Clone)]
pub struct BuildCache {
    dir: PathBuf,
    salt: [u8; 32],
}

/// What an entry holds besides its files: the names the binaries go by.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    merged: bool,
    /// Visible test binaries by target name (empty when merged).
    visible: BTreeMap<String, String>,
    /// The crate's programs by name.
    bins: BTreeMap<String, String>,
}

impl BuildCache {
    /// The cache of `grading_dir` for `course`, salted with what every build
    /// depends on.
    pub fn open(grading_dir: &Path, course: &Course) -> Result<BuildCache, Error> {
        let dir = grading_dir.join("cache");
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut salt = Sha256::new();
        salt.update(env!("CARGO_PKG_VERSION"));
        let rustc = crate::build::cargo()
            .args(["--version", "--verbose"])
            .output()
            .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
        salt.update(&rustc.stdout);
        let rustc = std::process::Command::new("rustc").arg("-vV").output();
        salt.update(rustc.map(|o| o.stdout).unwrap_or_default());
        for part in ["grader/chaos", "grader/harness"] {
            hash_tree(&mut salt, &course.root.join(part), Path::new(part))?;
        }
        Ok(BuildCache {
            dir,
            salt: salt.finalize().into(),
        })
    }

    /// The key of the crate in `crate_dir`, a member of `workspace`, built
    /// for `scope` (which test targets).
    pub fn key(&self, workspace: &Path, crate_dir: &Path, scope: &str) -> Result<String, Error> {
        let mut hash = Sha256::new();
        hash.update(self.salt);
        hash.update(scope.as_bytes());
        for file in ["Cargo.toml", "Cargo.lock", "within.rs"] {
            hash_file(&mut hash, &workspace.join(file), Path::new(file))?;
        }
        let name = crate_dir.file_name().unwrap_or_default();
        hash_tree(&mut hash, crate_dir, Path::new(name))?;
        Ok(format!("{:x}", hash.finalize()))
    }

    /// The binaries built before from the bytes of `key`, linked into
    /// `crate_dir/built`, if there are any.
    pub fn get(&self, key: &str, crate_dir: &Path) -> Option<Binaries> {
        let entry_dir = self.dir.join(key);
        let text = fs::read_to_string(entry_dir.join("entry.json")).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        let built = crate_dir.join("built");
        let _ = fs::remove_dir_all(&built);
        fs::create_dir_all(&built).ok()?;
        let link = |name: &str| -> Option<PathBuf> {
            let to = built.join(name);
            fs::hard_link(entry_dir.join(name), &to).ok()?;
            Some(to)
        };
        let mut binaries = Binaries {
            hidden: link("test-hidden")?,
            merged: entry.merged,
            crate_dir: crate_dir.to_path_buf(),
            ..Binaries::default()
        };
        for (target, file) in &entry.visible {
            binaries.visible.insert(target.clone(), link(file)?);
        }
        for (name, file) in &entry.bins {
            binaries.bins.insert(name.clone(), link(file)?);
        }
        // Touched, so that the oldest entries are the least recently used.
        let _ =
            fs::File::open(&entry_dir).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        Some(binaries)
    }

    /// Keeps a clean build (no visible test that failed to compile, no note)
    /// under `key`.
    pub fn put(&self, key: &str, binaries: &Binaries) -> Result<(), Error> {
        if !binaries.visible_failed.is_empty() || binaries.note.is_some() {
            return Ok(());
        }
        let staging = self.dir.join(format!(".{key}.{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        let link = |from: &Path| -> Result<String, Error> {
            let name = from
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            fs::hard_link(from, staging.join(&name)).map_err(|e| Error::io(from, e))?;
            Ok(name)
        };
        link(&binaries.hidden)?;
        let mut entry = Entry {
            merged: binaries.merged,
            visible: BTreeMap::new(),
            bins: BTreeMap::new(),
        };
        for (target, path) in &binaries.visible {
            entry.visible.insert(target.clone(), link(path)?);
        }
        for (name, path) in &binaries.bins {
            entry.bins.insert(name.clone(), link(path)?);
        }
        let json = serde_json::to_string(&entry).map_err(|e| Error::new(e.to_string()))?;
        let file = staging.join("entry.json");
        fs::write(&file, json).map_err(|e| Error::io(&file, e))?;
        let final_dir = self.dir.join(key);
        if fs::rename(&staging, &final_dir).is_err() {
            // Another grader kept the same bytes first.
            let _ = fs::remove_dir_all(&staging);
        }
        self.evict();
        Ok(())
    }

    /// Drops the oldest entries over [`MAX_ENTRIES`].
    fn evict(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut dated: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if dated.len() <= MAX_ENTRIES {
            return;
        }
        dated.sort();
        for (_, path) in &dated[..dated.len() - MAX_ENTRIES] {
            let _ = fs::remove_dir_all(path);
        }
    }
}

/// Feeds `path` (named `name` in the hash) and its bytes to `hash`; a
/// missing file counts as empty.
fn hash_file(hash: &mut Sha256, path: &Path, name: &Path) -> Result<(), Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(path, e)),
    };
    hash.update(name.to_string_lossy().as_bytes());
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(&bytes);
    Ok(())
}

/// Feeds every file under `dir` but the build's own folders (`built`,
/// `target`), in name order, to `hash`.
fn hash_tree(hash: &mut Sha256, dir: &Path, name: &Path) -> Result<(), Error> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let file_name = entry.file_name();
        if file_name == "built" || file_name == "target" {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if file_type.is_dir() {
            hash_tree(hash, &path, &name.join(&file_name))?;
        } else if file_type.is_file() {
            hash_file(hash, &path, &name.join(&file_name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path) -> BuildCache {
        BuildCache {
            dir: dir.join("cache"),
            salt: [7; 32],
        }
    }

    /// A crate `exercise-05-s0` in a workspace under `root`, with `lib` as
    /// its library and a built test binary.
    fn crate_with(root: &Path, lib: &str) -> PathBuf {
        let crate_dir = root.join("exercise-05-s0");
        fs::create_dir_all(crate_dir.join("src")).unwrap();
        fs::create_dir_all(crate_dir.join("built")).unwrap();
        fs::write(crate_dir.join("src/lib.rs"), lib).unwrap();
        fs::write(
            crate_dir.join("built/test-hidden"),
            format!("binary of {lib}"),
        )
        .unwrap();
        crate_dir
    }

    #[test]
    fn the_same_bytes_find_their_binaries_and_other_bytes_do_not() {
        let root = tempfile::tempdir().unwrap();
        let cache = cache(root.path());
        fs::create_dir_all(&cache.dir).unwrap();
        let crate_dir = crate_with(root.path(), "pub fn a() {}");
        let key = cache.key(root.path(), &crate_dir, "Full").unwrap();
        let built = Binaries {
            hidden: crate_dir.join("built/test-hidden"),
            merged: true,
            ..Binaries::default()
        };
        cache.put(&key, &built).unwrap();
        // The build's own output does not change the key; the scope does.
        fs::write(crate_dir.join("built/other"), "x").unwrap();
        assert_eq!(cache.key(root.path(), &crate_dir, "Full").unwrap(), key);
        assert_ne!(
            cache.key(root.path(), &crate_dir, "HiddenOnly").unwrap(),
            key
        );
        let found = cache.get(&key, &crate_dir).expect("a hit");
        assert!(found.merged);
        assert_eq!(
            fs::read_to_string(&found.hidden).unwrap(),
            "binary of pub fn a() {}"
        );
        // One byte more in the student's code is another key, and a miss.
        fs::write(crate_dir.join("src/lib.rs"), "pub fn a() {} ").unwrap();
        let other = cache.key(root.path(), &crate_dir, "Full").unwrap();
        assert_ne!(other, key);
        assert!(cache.get(&other, &crate_dir).is_none());
    }
}
