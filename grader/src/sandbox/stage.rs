//! Staging: the programs a jail runs, put where its uid can reach them.
//!
//! A jail started as root drops to `nobody` before it runs a test, so the
//! test binary must be reachable by `nobody`: every folder above it
//! enterable. A course checked out below a folder only root may enter
//! (`/root`, mode 0700) is not. So, running as root, the grader links (or,
//! across filesystems, copies) each test binary and the crate's programs
//! into a staging folder of its own below the sandboxes' folder (mode
//! 0711: enterable, not listable), under a name no one can guess, and the
//! jail runs that. Where the checkout is does not matter then.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::model::Fault;

/// What identifies one build of a file at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Build {
    dev: u64,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
    size: u64,
}

impl Build {
    fn of(meta: &std::fs::Metadata) -> Build {
        Build {
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            size: meta.size(),
        }
    }
}

/// The staging folder of one grading run and what it holds.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    staged: Mutex<HashMap<PathBuf, (Build, PathBuf)>>,
}

impl Staging {
    /// A staging folder below `boxes` (mode 0711, a random name).
    pub fn new(boxes: &Path) -> std::io::Result<Staging> {
        let dir = boxes.join(format!("stage-{:016x}", harness::rand::random::<u64>()));
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))?;
        Ok(Staging {
            dir,
            staged: Mutex::new(HashMap::new()),
        })
    }

    /// The staged copy of `program`, made now unless this very build of it
    /// is staged already (a rebuild at the same path replaces the copy).
    pub fn stage(&self, program: &Path) -> Result<PathBuf, Fault> {
        let unreadable = |detail: String| Fault::BinaryUnreadable {
            path: program.display().to_string(),
            detail,
        };
        let meta = std::fs::metadata(program).map_err(|e| unreadable(e.to_string()))?;
        if !meta.is_file() {
            return Err(unreadable("not a file".to_string()));
        }
        let build = Build::of(&meta);
        let mut staged = self.staged.lock().expect("staging lock");
        if let Some((known, path)) = staged.get(program) {
            if *known == build {
                return Ok(path.clone());
            }
            let _ = std::fs::remove_file(path);
        }
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = self
            .dir
            .join(format!("{:016x}-{name}", harness::rand::random::<u64>()));
        place(program, &path, meta.permissions().mode()).map_err(|e| unreadable(e.to_string()))?;
        staged.insert(program.to_path_buf(), (build, path.clone()));
        Ok(path)
    }
}

/// Links `from` at `to` (copies it across filesystems), readable and
/// executable by every uid.
fn place(from: &Path, to: &Path, mode: u32) -> std::io::Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)?;
    }
    if mode & 0o005 != 0o005 {
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode | 0o555))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuild_at_the_same_path_is_staged_again_and_a_missing_file_is_a_fault() {
        let boxes = tempfile::tempdir().unwrap();
        let source = tempfile::tempdir().unwrap();
        let staging = Staging::new(boxes.path()).unwrap();
        let program = source.path().join("test-hidden");
        std::fs::write(&program, "first").unwrap();
        let first = staging.stage(&program).unwrap();
        assert_eq!(staging.stage(&program).unwrap(), first);
        std::fs::remove_file(&program).unwrap();
        std::fs::write(&program, "second build").unwrap();
        let second = staging.stage(&program).unwrap();
        assert_ne!(second, first);
        assert!(!first.exists());
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "second build");
        std::fs::remove_file(&program).unwrap();
        assert!(matches!(
            staging.stage(&program),
            Err(Fault::BinaryUnreadable { .. })
        ));
    }
}
