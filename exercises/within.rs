//! The visible tests' time limit on one call, the same for every exercise:
//! each `tests/visible.rs` takes it in with
//! `#[path = "../../within.rs"] mod within;`.
//!
//! A call that outlives its limit is either stuck (its threads asleep: a
//! lock never released, a wakeup missed) or slow (a busy machine, a slow
//! one). The wall clock cannot tell them apart, so the limit counts only the
//! time the test could run: wall time minus the time this process's threads
//! spent runnable but waiting for a CPU, which Linux counts per thread in
//! `/proc/self/task/*/schedstat` (a CPU quota's throttling included).
//! Elsewhere, or without those files, the clock is the wall clock.
//!
//! At its limit a call that has stopped using the CPU fails as blocked. One
//! that still uses it gets up to [`CAP`] times its limit before it fails as
//! too slow, and no call runs past [`WALL_CAP`] times its limit of wall time.
//!
//! A call fails as blocked before its limit when it is blocked for certain:
//! for [`GRACE`], every other thread of the process has been asleep in a
//! `futex` wait with no timeout (what every lock, condition variable,
//! channel and `join` of `std` and `parking_lot` ends in on Linux, as
//! `/proc/self/task/<tid>/syscall` shows), none has used any CPU, and the
//! process has no child processes: nothing is left that could wake them
//! (the grader's stand-in for `parking_lot` watches from a thread of its
//! own, `chaos-monitor`, which only looks).

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How often the clock looks at the process's threads.
const TICK: Duration = Duration::from_millis(100);
/// How far back "still uses the CPU" looks.
const RECENT: Duration = Duration::from_secs(1);
/// CPU time plus run-queue wait in [`RECENT`] above which a call counts as
/// running: 5% of one CPU. This clock's own reads use far less.
const MIN_DEMAND: Duration = Duration::from_millis(50);
/// How many times its limit (of time it could run) a running call may take.
const CAP: u32 = 3;
/// How many times its limit of wall time any call may take.
const WALL_CAP: u32 = 10;
/// How long every other thread must stay blocked for certain before the
/// call fails as blocked, limit or not.
const GRACE: Duration = Duration::from_secs(2);
/// The `futex` system call's number, as `/proc/<pid>/task/<tid>/syscall` shows it.
#[cfg(target_arch = "x86_64")]
const FUTEX: u64 = 202;
#[cfg(not(target_arch = "x86_64"))]
const FUTEX: u64 = 98;

/// Runs `f` on its own thread and returns its result. Fails the test if the
/// call outlives `limit` (stretched by [`slack`]) of the time it could run;
/// a panic in `f` (such as a `todo!()`) is passed on unchanged.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let limit = limit.mul_f64(slack());
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    let mut clock = RunnableClock::start();
    loop {
        match rx.recv_timeout(TICK) {
            Ok(value) => return value,
            Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("the thread sends before it ends"),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => clock.tick(),
        }
        if let Some(verdict) = clock.verdict(limit) {
            panic!("{verdict}");
        }
    }
}

/// Polls `done` every millisecond until it holds, or until `limit`
/// (stretched by [`slack`]) of the time the test could run has passed, by
/// the same rules as [`within`]. Returns whether it held.
#[allow(dead_code)] // Not every exercise's tests poll.
pub fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let limit = limit.mul_f64(slack());
    let mut clock = RunnableClock::start();
    loop {
        let tick_at = clock.last + TICK;
        while Instant::now() < tick_at {
            if done() {
                return true;
            }
            thread::sleep(Duration::from_millis(1));
        }
        clock.tick();
        if clock.verdict(limit).is_some() {
            return done();
        }
    }
}

/// How much slower than an idle machine this one is, as the grader says
/// (`INTERLEAVE_SLACK`, 1 when unset): the limits here stretch by it, and
/// so may a test's own timing bounds.
#[allow(dead_code)] // Most exercises' tests only use it through `within`.
pub fn slack() -> f64 {
    std::env::var("INTERLEAVE_SLACK")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(1.0, |v| v.clamp(1.0, 8.0))
}

/// Wall time less run-queue wait, since the call started.
struct RunnableClock {
    started: Instant,
    last: Instant,
    /// Time the call could run so far.
    counted: Duration,
    /// Each live thread's run-queue wait at the last tick, in nanoseconds.
    waits: Vec<(u64, u64)>,
    /// The process's CPU time at the last tick.
    cpu: Duration,
    /// (when, CPU time plus run-queue wait so far), over the last 2 × [`RECENT`].
    demand: Vec<(Instant, Duration)>,
    demand_total: Duration,
    /// Since when every other thread has been blocked for certain, and
    /// each one's CPU time then.
    still: Option<(Instant, Vec<(u64, u64)>)>,
}

impl RunnableClock {
    fn start() -> Self {
        let now = Instant::now();
        RunnableClock {
            started: now,
            last: now,
            counted: Duration::ZERO,
            waits: thread_waits(),
            cpu: process_cpu(),
            demand: vec![(now, Duration::ZERO)],
            demand_total: Duration::ZERO,
            still: None,
        }
    }

    /// Advances the clock by the wall time since the last tick, less what
    /// the process's threads waited for a CPU meanwhile.
    fn tick(&mut self) {
        let now = Instant::now();
        let waits = thread_waits();
        // A thread that started since the last tick waited all its wait in
        // this interval; one that ended took its wait with it (counted).
        let waited: u64 = waits
            .iter()
            .map(|&(tid, wait)| wait.saturating_sub(self.wait_of(tid)))
            .sum();
        let waited = Duration::from_nanos(waited);
        self.counted += now.duration_since(self.last).saturating_sub(waited);
        let cpu = process_cpu();
        self.demand_total += waited + cpu.saturating_sub(self.cpu);
        self.demand.push((now, self.demand_total));
        self.demand
            .retain(|(at, _)| now.duration_since(*at) <= RECENT * 2);
        (self.last, self.waits, self.cpu) = (now, waits, cpu);
        self.still = match (blocked_forever(), self.still.take()) {
            (Some(picture), Some((since, before))) if picture == before => Some((since, before)),
            (Some(picture), _) => Some((now, picture)),
            (None, _) => None,
        };
    }

    /// A thread's run-queue wait at the last tick (0 for a new thread).
    fn wait_of(&self, tid: u64) -> u64 {
        self.waits
            .iter()
            .find(|(known, _)| *known == tid)
            .map_or(0, |&(_, wait)| wait)
    }

    /// Whether the process used the CPU (or waited for one) lately.
    fn running(&self) -> bool {
        let Some(&(last_at, last)) = self.demand.last() else {
            return false;
        };
        self.demand
            .iter()
            .find(|(at, _)| last_at.duration_since(*at) <= RECENT)
            .is_some_and(|&(_, first)| last.saturating_sub(first) >= MIN_DEMAND)
    }

    /// Why the call fails now, if it does.
    fn verdict(&self, limit: Duration) -> Option<String> {
        let wall = self.last.duration_since(self.started);
        let counted = self.counted;
        if wall >= limit * WALL_CAP {
            return Some(format!(
                "the call did not return in {wall:?}, {WALL_CAP} times its limit of \
                 {limit:?}: the machine is too busy to run this test, or the call never ends"
            ));
        }
        let stuck = self
            .still
            .as_ref()
            .is_some_and(|(since, _)| self.last.duration_since(*since) >= GRACE);
        if counted < limit && !stuck {
            return None;
        }
        if stuck && counted < limit {
            return Some(format!(
                "the call has not returned after {wall:?}, and every other thread has \
                 waited {GRACE:?} with no timeout pending: blocked for good (a lock never \
                 released, a wakeup missed?)"
            ));
        }
        if stuck || !self.running() {
            return Some(format!(
                "the call did not return within {limit:?} and has stopped using the CPU: \
                 blocked for good (a lock never released, a wakeup missed?)"
            ));
        }
        (counted >= limit * CAP).then(|| {
            format!(
                "the call is still running after {counted:?} of time it could run \
                 ({wall:?} in all), {CAP} times its limit of {limit:?}: far slower than \
                 this test expects, or spinning without end"
            )
        })
    }
}

/// Each thread of this process but the calling one (which only watches) and
/// the nanoseconds it has spent runnable but waiting for a CPU (empty where
/// `/proc` cannot tell). Plain loops: the iterator chains they replace
/// cost each visible test about 0.09 s more of compiling.
fn thread_waits() -> Vec<(u64, u64)> {
    let mut waits = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return waits;
    };
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    let me = std::fs::read_link("/proc/thread-self").ok();
    let me = me
        .as_deref()
        .and_then(|link| number(link.file_name()?.to_str()?));
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(number) else {
            continue;
        };
        if Some(tid) == me {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        if let Some(wait) = stat.split(' ').nth(1).and_then(number) {
            waits.push((tid, wait));
        }
    }
    waits
}

/// Each other thread and its CPU time, when every one of them sleeps in a
/// `futex` wait with no timeout and none has a child process; `None` as
/// soon as one could go on.
fn blocked_forever() -> Option<Vec<(u64, u64)>> {
    let me = std::fs::read_link("/proc/thread-self").ok()?;
    let me = number(me.file_name()?.to_str()?)?;
    let mut picture = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let tid = number(task.file_name().to_str()?)?;
        let children = std::fs::read_to_string(task.path().join("children")).ok()?;
        if !children.trim().is_empty() {
            return None;
        }
        // The grader's schedule-perturbing locks watch the test from a
        // thread of their own, which only sleeps and looks.
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if tid == me || name.trim_end() == "chaos-monitor" {
            continue;
        }
        let call = std::fs::read_to_string(task.path().join("syscall")).ok()?;
        if !waits_forever(&call) {
            return None;
        }
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        picture.push((tid, stat.split(' ').next().and_then(number)?));
    }
    picture.sort_unstable();
    (!picture.is_empty()).then_some(picture)
}

/// Whether a `syscall` file's text, `<nr> <uaddr> <op> <val> <timeout> ...`
/// (the number in decimal, the arguments in hex), is a `FUTEX_WAIT` or
/// `FUTEX_WAIT_BITSET` (whatever its flags) with a null timeout.
fn waits_forever(call: &str) -> bool {
    let mut fields = call.split(' ');
    if fields.next().and_then(number) != Some(FUTEX) {
        return false;
    }
    let mut hex = Vec::new();
    for field in fields.take(4) {
        hex.push(u64::from_str_radix(field.trim().trim_start_matches("0x"), 16).ok());
    }
    let op = hex.get(1).copied().flatten().map(|op| op & 0x7f);
    matches!(op, Some(0) | Some(9)) && hex.get(3) == Some(&Some(0))
}

/// `text` as a whole number, if it is one.
fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// This process's CPU time, ended threads included, from `/proc/self/stat`
/// (zero where it cannot be read).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // "pid (name) state ppid ...": utime and stime are the 12th and 13th
    // fields after the name, in the kernel's user-visible ticks (100 a
    // second on Linux).
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return Duration::ZERO;
    };
    let mut fields = rest.split(' ').skip(11);
    let mut ticks = 0;
    for _ in 0..2 {
        ticks += fields.next().and_then(number).unwrap_or(0);
    }
    Duration::from_millis(ticks * 10)
}
