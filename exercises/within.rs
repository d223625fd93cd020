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
        if counted < limit {
            return None;
        }
        if !self.running() {
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
