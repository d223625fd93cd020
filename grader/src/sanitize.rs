//! Bounded, inert reports: what a submission's own output can put in them.
//!
//! A submission controls much of the text its reports show: its panic
//! messages and what its tests printed, the compiler's errors about its
//! code, the names of its files. So before any report (`results.json`,
//! `junit.xml`, `feedback.md`, `report.html`, `run.json`, the terminal) sees
//! a result, [`submission`] makes that text
//!
//! - **inert**: control characters other than newline and tab (C0, DEL,
//!   C1, and the bidirectional overrides that reorder what a reader sees)
//!   become visible escapes such as `\x1b`, so no terminal escape sequence,
//!   no carriage-return overwrite and no character XML forbids reaches a
//!   report;
//! - **bounded**: at most [`TEXT_BYTES`] per text (a test's message or
//!   output, an exercise's compiler errors) and [`SUBMISSION_BYTES`] over
//!   the whole submission; past that, a note says what was left out.

use crate::model::{ExerciseStatus, Fault, Outcome, SubmissionResult};

/// Most bytes kept of one text a submission controls.
pub const TEXT_BYTES: usize = 4 * 1024;
/// Most bytes of a submission's own text kept over all its results.
pub const SUBMISSION_BYTES: usize = 32 * 1024;

/// `text` with every control character other than `\n` and `\t` written as
/// a visible escape (`\x1b`, `\r`, `\u{9b}`), a CRLF line end as `\n`.
pub fn inert(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to at most `max` bytes (at a character boundary), with a note
/// when it was cut.
pub fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[... {} more bytes not shown]",
        &text[..end],
        text.len() - end
    )
}

/// What is left of a submission's budget for its own text.
struct Budget {
    left: usize,
}

impl Budget {
    /// `text` made inert and cut to the per-text cap and to what is left.
    fn take(&mut self, text: &str) -> String {
        let inert = inert(text);
        if inert.is_empty() {
            return inert;
        }
        if self.left == 0 {
            return format!(
                "[not shown: this submission's reports already hold {SUBMISSION_BYTES} bytes of \
                 its own output]"
            );
        }
        let kept = capped(&inert, TEXT_BYTES.min(self.left));
        self.left = self.left.saturating_sub(kept.len());
        kept
    }

    fn fault(&mut self, fault: &mut Fault) {
        match fault {
            Fault::SandboxStart { detail }
            | Fault::Build { detail }
            | Fault::KilledFromOutside { detail } => *detail = self.take(detail),
            Fault::BinaryUnreadable { path, detail }
            | Fault::ReportsUnwritable { dir: path, detail } => {
                *path = inert(path);
                *detail = self.take(detail);
            }
            Fault::ShardMissing { dir, task, .. } => {
                *dir = inert(dir);
                if let Some(task) = task {
                    *task = inert(task);
                }
            }
        }
    }

    fn outcome(&mut self, outcome: &mut Outcome) {
        match outcome {
            Outcome::Failed { message } => *message = self.take(message),
            Outcome::NotRun { reason } => *reason = self.take(reason),
            Outcome::NotGraded { fault } => self.fault(fault),
            _ => {}
        }
    }
}

/// Makes every text of `result` that its submission controls inert and
/// bounded (see the module's documentation).
pub fn submission(result: &mut SubmissionResult) {
    let mut budget = Budget {
        left: SUBMISSION_BYTES,
    };
    result.student = inert(&result.student);
    result.source = inert(&result.source);
    if let Some(fault) = &mut result.not_graded {
        budget.fault(fault);
    }
    for exercise in &mut result.exercises {
        match &mut exercise.status {
            ExerciseStatus::CompileError { message } => *message = budget.take(message),
            ExerciseStatus::Rejected { reason } => *reason = budget.take(reason),
            ExerciseStatus::Graded | ExerciseStatus::NotSubmitted => {}
        }
        for note in &mut exercise.notes {
            *note = inert(note);
        }
        for test in &mut exercise.tests {
            budget.outcome(&mut test.outcome);
            test.output = budget.take(&test.output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        let shown = inert("red \x1b[31mX\x1b[0m\r\nover\rwrite\x07\x7f\u{9b}2J\u{202e}\tok\n");
        assert_eq!(
            shown,
            "red \\x1b[31mX\\x1b[0m\nover\\rwrite\\x07\\x7f\\u{9b}2J\\u{202e}\tok\n"
        );
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        );
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary_with_a_note() {
        let text = "é".repeat(3000);
        let cut = capped(&text, 4097);
        assert!(cut.starts_with(&"é".repeat(2048)));
        assert!(
            cut.ends_with("[... 1904 more bytes not shown]"),
            "{}",
            &cut[4090..]
        );
        assert_eq!(capped("short", 10), "short");
    }

    #[test]
    fn a_submission_gets_a_budget_not_a_text_per_test() {
        let mut budget = Budget {
            left: SUBMISSION_BYTES,
        };
        let huge = "x".repeat(1 << 20);
        let kept: Vec<String> = (0..20).map(|_| budget.take(&huge)).collect();
        let total: usize = kept.iter().map(String::len).sum();
        assert!(kept[0].len() < TEXT_BYTES + 64);
        assert!(total < SUBMISSION_BYTES + 20 * 120, "{total}");
        assert!(kept[19].starts_with("[not shown"));
    }
}
