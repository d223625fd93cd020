//! Part of stage 1 ([`prepare`](crate::prepare)): points a submission's
//! `std::sync`, `std::thread` and `core::sync` paths at the twins in the
//! chaos stand-in (`chaos::std_twin`, reached as `::parking_lot::std_twin`
//! because the stand-in is the scratch crate's `parking_lot`), so that code
//! which locks, waits, spawns or uses atomics through `std` is perturbed as
//! `parking_lot` code is.
//!
//! The rewrite works on tokens (`proc-macro2`, which skips comments and
//! string literals) and edits the source text only at the byte range of the
//! `std` or `core` token, so every token stays on its line: compiler messages
//! and panic locations still point at the student's lines (columns further
//! right on a rewritten line move by the length of the inserted text).
//!
//! Rewritten: a path whose first segment is `std` (or `::std`) followed by
//! `sync`, `thread`, a `{...}` group or `*` (`use std::{sync::Mutex, fmt};`),
//! and `core` followed by `sync`, a group or `*`. The twin modules re-export
//! the rest of `std` and `core`, so a group naming other modules still
//! compiles. Not rewritten: paths inside another path (`foo::std::sync`),
//! macro metavariables (`$std`), raw identifiers, and any file that does not
//! lex (the compiler will report it).

use std::ops::Range;
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// What a rewritten `std` path starts with.
pub const STD_TWIN: &str = "::parking_lot::std_twin";
/// What a rewritten `core` path starts with.
pub const CORE_TWIN: &str = "::parking_lot::core_twin";

/// Keywords that may stand right before a path that starts with `::`.
const KEYWORDS: [&str; 22] = [
    "as", "box", "break", "const", "dyn", "else", "for", "if", "impl", "in", "let", "match", "mut",
    "pub", "ref", "return", "static", "type", "unsafe", "use", "where", "while",
];

/// `source` with its `std::sync`, `std::thread` and `core::sync` paths
/// pointed at the twins; `None` when there is nothing to rewrite or the file
/// does not lex.
pub fn rewrite(source: &str) -> Option<String> {
    let tokens = TokenStream::from_str(source).ok()?;
    let mut edits = Vec::new();
    collect(tokens, &mut edits);
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(source.len() + edits.len() * STD_TWIN.len());
    let mut at = 0;
    for (range, text) in edits {
        if range.start < at || !source.is_char_boundary(range.start) {
            return None;
        }
        out.push_str(&source[at..range.start]);
        out.push_str(text);
        at = range.end;
    }
    out.push_str(&source[at..]);
    Some(out)
}

/// Finds the edits in one token stream and, recursively, in its groups.
fn collect(tokens: TokenStream, edits: &mut Vec<(Range<usize>, &'static str)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => collect(group.stream(), edits),
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let Some(twin) = twin_of(&name, tokens.get(index + 3)) else {
                    continue;
                };
                if !is_path_sep(&tokens, index + 1) {
                    continue;
                }
                match path_start(&tokens, index) {
                    Start::Bare => edits.push((ident.span().byte_range(), twin)),
                    Start::Rooted => edits.push((ident.span().byte_range(), &twin[2..])),
                    Start::Inner => {}
                }
            }
            _ => {}
        }
    }
}

/// The twin path for a first segment `name` followed (after `::`) by `next`.
fn twin_of(name: &str, next: Option<&TokenTree>) -> Option<&'static str> {
    let next_ok = |modules: &[&str]| match next {
        Some(TokenTree::Ident(ident)) => modules.contains(&ident.to_string().as_str()),
        Some(TokenTree::Group(group)) => group.delimiter() == Delimiter::Brace,
        Some(TokenTree::Punct(punct)) => punct.as_char() == '*',
        _ => false,
    };
    match name {
        "std" if next_ok(&["sync", "thread"]) => Some(STD_TWIN),
        "core" if next_ok(&["sync"]) => Some(CORE_TWIN),
        _ => None,
    }
}

/// Whether `tokens[at..]` starts with `::`.
fn is_path_sep(tokens: &[TokenTree], at: usize) -> bool {
    matches!(
        (tokens.get(at), tokens.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

/// Where the path whose segment is `tokens[at]` starts.
enum Start {
    /// `std::...`: the segment starts the path.
    Bare,
    /// `::std::...`: the path starts with `::` just before the segment.
    Rooted,
    /// `a::std::...`, `$std`, `x.std`: not a path that names the crate.
    Inner,
}

fn path_start(tokens: &[TokenTree], at: usize) -> Start {
    let before = |back: usize| at.checked_sub(back).and_then(|i| tokens.get(i));
    if at >= 2 && is_path_sep(tokens, at - 2) {
        return match before(3) {
            Some(TokenTree::Ident(ident)) if !KEYWORDS.contains(&ident.to_string().as_str()) => {
                Start::Inner
            }
            // `<T as Trait>::std`, but not `-> ::std` or `=> ::std`.
            Some(TokenTree::Punct(punct)) if punct.as_char() == '>' => match before(4) {
                Some(TokenTree::Punct(arrow))
                    if matches!(arrow.as_char(), '-' | '=')
                        && arrow.spacing() == Spacing::Joint =>
                {
                    Start::Rooted
                }
                _ => Start::Inner,
            },
            _ => Start::Rooted,
        };
    }
    match before(1) {
        Some(TokenTree::Punct(punct)) if matches!(punct.as_char(), '$' | '.') => Start::Inner,
        _ => Start::Bare,
    }
}

/// What the twins cover in `std::sync` and `std::thread`: the items they
/// perturb, and `std`'s own items that synchronize nothing by themselves
/// (`Arc`, the error types, `current`). Any other item named under these
/// modules is `std`'s own in a graded build, and is not perturbed.
const COVERED: [(&str, &[&str]); 2] = [
    (
        "sync",
        &[
            "Arc",
            "Barrier",
            "BarrierWaitResult",
            "Condvar",
            "LazyLock",
            "LockResult",
            "Mutex",
            "MutexGuard",
            "Once",
            "OnceLock",
            "OnceState",
            "PoisonError",
            "RwLock",
            "RwLockReadGuard",
            "RwLockWriteGuard",
            "TryLockError",
            "TryLockResult",
            "WaitTimeoutResult",
            "Weak",
            "atomic",
            "mpsc",
        ],
    ),
    (
        "thread",
        &[
            "AccessError",
            "Builder",
            "JoinHandle",
            "LocalKey",
            "Result",
            "Scope",
            "ScopedJoinHandle",
            "Thread",
            "ThreadId",
            "available_parallelism",
            "current",
            "panicking",
            "park",
            "park_timeout",
            "scope",
            "sleep",
            "spawn",
            "yield_now",
        ],
    ),
];

/// What in `source` the grader's perturbation does not reach, in words, for
/// the feedback: `std::sync` and `std::thread` items the twins do not cover
/// (see `COVERED`), and `std` under another name (`use std as s;`,
/// `extern crate std as s;`), whose paths are not rewritten. Empty when the
/// file does not lex.
pub fn unperturbed(source: &str) -> Vec<String> {
    let Ok(tokens) = TokenStream::from_str(source) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    scan(tokens, &mut found);
    found.sort();
    found.dedup();
    found
}

/// Finds [`unperturbed`] names in one token stream and its groups.
fn scan(tokens: TokenStream, found: &mut Vec<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let ident = |at: usize| match tokens.get(at) {
        Some(TokenTree::Ident(ident)) => Some(ident.to_string()),
        _ => None,
    };
    for (index, token) in tokens.iter().enumerate() {
        if let TokenTree::Group(group) = token {
            scan(group.stream(), found);
            continue;
        }
        if ident(index).as_deref() == Some("std")
            && ident(index + 1).as_deref() == Some("as")
            && let Some(alias) = ident(index + 2)
        {
            found.push(format!(
                "std under another name (`std as {alias}`): its paths reach std itself"
            ));
        }
        let Some(module) = ident(index + 3).filter(|_| ident(index).as_deref() == Some("std"))
        else {
            continue;
        };
        let Some((_, covered)) = COVERED.iter().find(|(name, _)| *name == module) else {
            continue;
        };
        if !is_path_sep(&tokens, index + 1)
            || !is_path_sep(&tokens, index + 4)
            || matches!(path_start(&tokens, index), Start::Inner)
        {
            continue;
        }
        let items: Vec<String> = match tokens.get(index + 6) {
            Some(TokenTree::Ident(item)) => vec![item.to_string()],
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                first_segments(group.stream())
            }
            _ => Vec::new(),
        };
        for item in items {
            if !covered.contains(&item.as_str())
                && item.chars().next().is_some_and(char::is_alphabetic)
            {
                found.push(format!("std::{module}::{item}"));
            }
        }
    }
}

/// The first segment of each path in a `use` group (`{a::b, c as d}`: `a`,
/// `c`), `self` left out.
fn first_segments(group: TokenStream) -> Vec<String> {
    let tokens: Vec<TokenTree> = group.into_iter().collect();
    tokens
        .iter()
        .enumerate()
        .filter_map(|(at, token)| match token {
            TokenTree::Ident(item)
                if item != "self"
                    && (at == 0
                        || matches!(&tokens[at - 1], TokenTree::Punct(p) if p.as_char() == ',')) =>
            {
                Some(item.to_string())
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(source: &str) -> String {
        rewrite(source).unwrap_or_else(|| source.to_string())
    }

    #[test]
    fn sync_and_thread_paths_point_at_the_twins_on_the_same_line() {
        let source = "use std::sync::{Arc, Mutex};\nuse std::thread;\n\
                      static N: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);\n\
                      fn f() -> ::std::sync::Condvar { std::thread::yield_now(); todo!() }\n";
        let out = rewritten(source);
        assert_eq!(out.lines().count(), source.lines().count());
        assert_eq!(
            out.lines().next(),
            Some("use ::parking_lot::std_twin::sync::{Arc, Mutex};")
        );
        assert_eq!(
            out.lines().nth(1),
            Some("use ::parking_lot::std_twin::thread;")
        );
        assert!(out.contains("static N: ::parking_lot::core_twin::sync::atomic::AtomicUsize"));
        assert!(out.contains("fn f() -> ::parking_lot::std_twin::sync::Condvar"));
        assert!(out.contains("{ ::parking_lot::std_twin::thread::yield_now();"));
    }

    #[test]
    fn groups_are_rewritten_and_other_std_paths_are_not() {
        assert_eq!(
            rewritten("use std::{fmt, sync::atomic::Ordering};"),
            "use ::parking_lot::std_twin::{fmt, sync::atomic::Ordering};"
        );
        for untouched in [
            "use std::collections::HashMap;",
            "fn f() { let std = 1; let _ = std; }",
            "use crate::std::sync::Mutex;",
            "macro_rules! m { ($std:ident) => { $std::sync::Mutex::new(0) } }",
            "// std::sync::Mutex in a comment\nconst S: &str = \"std::sync::Mutex\";",
            "extern crate std as s;",
        ] {
            assert_eq!(rewritten(untouched), untouched);
        }
    }

    #[test]
    fn a_file_that_does_not_lex_is_left_alone() {
        assert_eq!(rewrite("use std::sync::Mutex; fn f( {"), None);
    }

    #[test]
    fn items_the_twins_do_not_cover_and_renamed_std_are_found() {
        let source = "use std::sync::{Arc, Mutex, Exclusive};\nuse std::thread::sleep_until;\n\
                      use std::sync::atomic::AtomicUsize;\nextern crate std as s;\n\
                      fn f() { std::thread::spawn(|| {}); let _ = std::sync::mpmc::channel::<u8>(); }";
        assert_eq!(
            unperturbed(source),
            vec![
                "std under another name (`std as s`): its paths reach std itself",
                "std::sync::Exclusive",
                "std::sync::mpmc",
                "std::thread::sleep_until",
            ]
        );
        assert!(
            unperturbed(
                "use std::sync::{self, atomic::{AtomicBool, Ordering}, Mutex as M}; use std::thread;"
            )
            .is_empty()
        );
        // Not std itself, so not std's own either: the same test as the rewrite's.
        assert!(unperturbed("use crate::std::sync::Exclusive;").is_empty());
    }
}
