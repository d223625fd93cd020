//! Mutants: known-buggy variants of a solution, each stored as a small
//! patch against it.
//!
//! A mutant of exercise `NN` is `grader/suites/NN-topic/mutants/<bug>.patch`:
//! a first line `BUG: <one sentence naming the bug>`, then a unified diff
//! (as `diff -u` writes it) against `solutions/NN-topic/src/lib.rs`. The
//! grader applies it in memory with [`diffy`] when `verify`, `verify
//! --repeat`, `bench` or the sample class needs the mutant; a patch that no
//! longer applies to its solution is reported, naming the patch.

use std::fs;
use std::path::{Path, PathBuf};

/// The prefix of a patch's header line that names its bug.
pub const BUG_PREFIX: &str = "BUG:";

/// One mutant, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mutant {
    /// The bug's name: the patch's file name without `.patch`.
    pub name: String,
    /// `grader/suites/NN-topic/mutants/<name>.patch`.
    pub patch: PathBuf,
}

impl Mutant {
    /// The mutants in `dir` (`*.patch`), sorted by name.
    pub fn find(dir: &Path) -> Vec<Mutant> {
        let mut found: Vec<Mutant> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let name = path.file_name()?.to_str()?.strip_suffix(".patch")?;
                Some(Mutant {
                    name: name.to_string(),
                    patch: path.clone(),
                })
            })
            .collect();
        found.sort();
        found
    }

    /// The sentence after `BUG:` on the patch's first line, if it has one.
    pub fn bug(&self) -> Result<String, String> {
        let text = self.read()?;
        let (header, _) = split_header(&text);
        header
            .lines()
            .next()
            .and_then(|line| line.strip_prefix(BUG_PREFIX))
            .map(|bug| bug.trim().to_string())
            .filter(|bug| !bug.is_empty())
            .ok_or_else(|| {
                format!(
                    "{} does not start with a `{BUG_PREFIX} ...` line naming its bug",
                    self.patch.display()
                )
            })
    }

    /// The solution's `lib.rs` with this mutant's patch applied, or why the
    /// patch does not apply (naming it).
    pub fn apply(&self, solution: &str) -> Result<String, String> {
        let text = self.read()?;
        let (_, diff) = split_header(&text);
        let patch = diffy::Patch::from_str(diff)
            .map_err(|e| format!("{} is not a unified diff: {e}", self.patch.display()))?;
        if patch.hunks().is_empty() {
            return Err(format!("{} changes nothing", self.patch.display()));
        }
        diffy::apply(solution, &patch).map_err(|e| {
            format!(
                "{} no longer applies to its solution ({e}); make the change again on the \
                 solution and rewrite the patch with `diff -u` (grader/AUTHORING.md)",
                self.patch.display()
            )
        })
    }

    fn read(&self) -> Result<String, String> {
        fs::read_to_string(&self.patch).map_err(|e| format!("{}: {e}", self.patch.display()))
    }
}

/// Splits a patch file into its header (the lines before the first `--- `
/// line) and the unified diff that follows.
fn split_header(text: &str) -> (&str, &str) {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("--- ") {
            break;
        }
        at += line.len();
    }
    text.split_at(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = "fn a() {}\nfn b() {\n    while x {}\n}\nfn c() {}\n";

    fn mutant(dir: &Path, text: &str) -> Mutant {
        let patch = dir.join("if-not-while.patch");
        fs::write(&patch, text).unwrap();
        Mutant::find(dir).remove(0)
    }

    #[test]
    fn a_patch_with_a_bug_line_applies_to_its_solution() {
        let dir = tempfile::tempdir().unwrap();
        let m = mutant(
            dir.path(),
            "BUG: `if` instead of `while`\n--- a/lib.rs\n+++ b/lib.rs\n@@ -2,3 +2,3 @@\n fn b() {\n-    while x {}\n+    if x {}\n }\n",
        );
        assert_eq!(m.name, "if-not-while");
        assert_eq!(m.bug().unwrap(), "`if` instead of `while`");
        assert_eq!(
            m.apply(SOLUTION).unwrap(),
            "fn a() {}\nfn b() {\n    if x {}\n}\nfn c() {}\n"
        );
    }

    #[test]
    fn a_patch_that_no_longer_applies_or_names_no_bug_is_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let m = mutant(
            dir.path(),
            "--- a/lib.rs\n+++ b/lib.rs\n@@ -2,3 +2,3 @@\n fn b() {\n-    loop {}\n+    if x {}\n }\n",
        );
        assert!(m.bug().unwrap_err().contains("if-not-while.patch"));
        let error = m.apply(SOLUTION).unwrap_err();
        assert!(error.contains("if-not-while.patch") && error.contains("no longer applies"));
    }
}
