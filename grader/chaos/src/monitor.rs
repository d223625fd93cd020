//! The hang monitor: a background thread, started the first time any thread
//! blocks, that looks every 100 ms at what each thread waits for and holds.
//!
//! - Threads that wait, each in a plain `lock()`, for a lock that the next
//!   one holds, around a cycle, and are still in the same waits 100 ms later,
//!   are deadlocked for certain: the monitor prints the cycle and ends the
//!   process with [`DEADLOCK_EXIT_CODE`](crate::DEADLOCK_EXIT_CODE).
//! - A thread blocked in an untimed `lock()` or `Condvar::wait` for longer
//!   than the hang threshold is not certainly stuck (it may be woken later),
//!   so the monitor only prints what every blocked thread waits for, once,
//!   before the test's watchdog would give a bare timeout.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::config::config;
use crate::report;
use crate::threads::{Held, LockId, LockKind, Shared, THREADS, WaitKind, Waiting};

pub(crate) fn ensure_started() {
    static STARTED: Once = Once::new();
    if !config().monitor {
        return;
    }
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            // A name the progress probes know (`harness::progress::HOUSEKEEPING`):
            // this thread's wakeups are not the test's progress.
            .name("chaos-monitor".into())
            .spawn(run);
    });
}

struct Seen {
    thread: Arc<Shared>,
    held: Vec<Held>,
    waiting: Option<Waiting>,
}

fn snapshot() -> Vec<Seen> {
    let threads: Vec<Arc<Shared>> = THREADS.lock().iter().filter_map(|t| t.upgrade()).collect();
    threads
        .into_iter()
        .map(|thread| {
            let waiting = *thread.waiting.lock();
            let held = thread.held.lock().clone();
            Seen {
                thread,
                held,
                waiting,
            }
        })
        .collect()
}

fn run() {
    let mut last_cycle: Option<Vec<(usize, u64)>> = None;
    let mut reported: HashSet<(usize, u64)> = HashSet::new();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let seen = snapshot();
        let cycle = deadlock_cycle(&seen);
        if let Some(cycle) = &cycle {
            let key: Vec<(usize, u64)> = cycle
                .iter()
                .map(|&i| {
                    (
                        seen[i].thread.serial,
                        seen[i].waiting.map_or(0, |w| w.episode),
                    )
                })
                .collect();
            if last_cycle.as_ref() == Some(&key) {
                report::fail(report::DEADLOCK_EXIT_CODE, &describe_cycle(&seen, cycle));
            }
            last_cycle = Some(key);
        } else {
            last_cycle = None;
        }
        let now = Instant::now();
        let stuck: Vec<(usize, u64)> = seen
            .iter()
            .filter_map(|s| {
                let w = s.waiting?;
                let untimed = matches!(w.kind, WaitKind::Lock(_) | WaitKind::Condvar);
                (untimed && now.duration_since(w.since) >= config().hang_after)
                    .then_some((s.thread.serial, w.episode))
            })
            .collect();
        if !stuck.is_empty() && stuck.iter().any(|key| !reported.contains(key)) {
            reported.extend(stuck.iter().copied());
            report::write_stderr(&format!(
                "\n{} {}\n",
                report::VERDICT_PREFIX,
                describe_blocked(&seen, now)
            ));
        }
    }
}

/// Which threads hold `lock` exclusively (or, for a writer, at all).
fn holders(seen: &[Seen], lock: LockId, wanted: LockKind) -> Vec<usize> {
    seen.iter()
        .enumerate()
        .filter(|(_, s)| {
            s.held
                .iter()
                .any(|h| h.id == lock && (wanted == LockKind::Write || h.kind != LockKind::Read))
        })
        .map(|(i, _)| i)
        .collect()
}

/// A cycle of threads, each in an untimed lock() for a lock the next holds.
fn deadlock_cycle(seen: &[Seen]) -> Option<Vec<usize>> {
    let waits_for = |i: usize| -> Vec<usize> {
        match seen[i].waiting {
            Some(Waiting {
                kind: WaitKind::Lock(kind),
                lock,
                ..
            }) => holders(seen, lock, kind)
                .into_iter()
                .filter(|&j| j != i)
                .collect(),
            _ => Vec::new(),
        }
    };
    for start in 0..seen.len() {
        // Follow first holders; a cycle shows up as a repeated thread.
        let mut path = vec![start];
        let mut at = start;
        loop {
            let next = waits_for(at);
            let Some(&next) = next.first() else { break };
            if let Some(pos) = path.iter().position(|&p| p == next) {
                return Some(path[pos..].to_vec());
            }
            path.push(next);
            at = next;
        }
    }
    None
}

fn lock_names(seen: &[Seen], ids: impl IntoIterator<Item = LockId>) -> HashMap<LockId, String> {
    let _ = seen;
    let mut names = HashMap::new();
    for id in ids {
        let next = names.len();
        names
            .entry(id)
            .or_insert_with(|| ((b'A' + (next % 26) as u8) as char).to_string());
    }
    names
}

fn describe_cycle(seen: &[Seen], cycle: &[usize]) -> String {
    let locks: Vec<LockId> = cycle
        .iter()
        .filter_map(|&i| seen[i].waiting.map(|w| w.lock))
        .collect();
    let names = lock_names(seen, locks.iter().copied());
    let mut parts = Vec::new();
    for &i in cycle {
        let s = &seen[i];
        let Some(w) = s.waiting else { continue };
        let held_at = s
            .held
            .iter()
            .find(|h| names.contains_key(&h.id) && h.id != w.lock);
        let holding = match held_at {
            Some(h) => format!("holds lock {} (taken at {}) and ", names[&h.id], h.at),
            None => String::new(),
        };
        let at = w.at.map(|a| format!(" at {a}")).unwrap_or_default();
        parts.push(format!(
            "{} {holding}waits for lock {}{at}",
            s.thread.label(),
            names[&w.lock]
        ));
    }
    format!(
        "deadlock: these threads each wait for a lock that another of them holds, so none can \
         go on: {}.\nTake the locks in one fixed global order (for example by account index), \
         or take one lock at a time.",
        parts.join("; ")
    )
}

fn describe_blocked(seen: &[Seen], now: Instant) -> String {
    let mut lines = vec![format!(
        "threads have been blocked for over {:.1} s. If the test times out, this is where they \
         were stuck:",
        config().hang_after.as_secs_f64()
    )];
    let all_locks = seen
        .iter()
        .flat_map(|s| s.held.iter().map(|h| h.id).chain(s.waiting.map(|w| w.lock)));
    let names = lock_names(seen, all_locks);
    for s in seen {
        let Some(w) = s.waiting else { continue };
        let secs = now.duration_since(w.since).as_secs_f64();
        let line = match w.kind {
            WaitKind::Lock(kind) | WaitKind::TimedLock(kind) => {
                let holders: Vec<String> = holders(seen, w.lock, kind)
                    .into_iter()
                    .map(|j| {
                        let at = seen[j]
                            .held
                            .iter()
                            .find(|h| h.id == w.lock)
                            .map(|h| format!(" (taken at {})", h.at))
                            .unwrap_or_default();
                        format!("{}{at}", seen[j].thread.label())
                    })
                    .collect();
                let by = if holders.is_empty() {
                    String::new()
                } else {
                    format!(", held by {}", holders.join(" and "))
                };
                let at = w.at.map(|a| format!(" at {a}")).unwrap_or_default();
                format!(
                    "  {} waits {secs:.1} s for {} {}{at}{by}",
                    s.thread.label(),
                    kind.noun(),
                    names[&w.lock]
                )
            }
            WaitKind::Condvar | WaitKind::TimedCondvar => {
                let at =
                    w.at.map(|a| format!(" (its lock taken at {a})"))
                        .unwrap_or_default();
                format!(
                    "  {} waits {secs:.1} s on a Condvar{at} and has not been notified: a \
                     notify sent before it started waiting, or never sent, is a lost wakeup",
                    s.thread.label()
                )
            }
        };
        lines.push(line);
    }
    lines.join("\n")
}
