//! Probes shared by Interleave's hidden suites.
//!
//! Every hidden test judges a submission through its public API only. These
//! helpers make that judgement precise and bounded:
//!
//! - [`Watchdog`] turns a hang (deadlock, lost wakeup) into a failure with a
//!   message instead of a stuck test run;
//! - [`rng`] gives a seeded generator whose seed is printed and can be replayed
//!   with the `INTERLEAVE_SEED` environment variable;
//! - [`measure`] tells what a call cost its thread (CPU time, time waiting
//!   for a CPU), which is how the suites detect busy-waiting, on an idle
//!   machine and on a busy one alike ([`Cost::busy_waited`]);
//! - [`Meter`] records the largest number of callbacks running at once;
//! - [`eventually`] polls a condition with a deadline, for "has the thread
//!   blocked yet?" style checks.

use std::any::Any;
use std::io::Write;

pub mod progress;
pub mod proof;
pub mod stuck;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use rand;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Exit code a test process uses when its [`Watchdog`] finds it stuck. The
/// grader reads it as "timed out (possible deadlock or lost wakeup)".
pub const WATCHDOG_EXIT_CODE: i32 = 124;

/// Exit code a test process uses when its [`Watchdog`] stops it at the hard
/// cap while it was still making progress. The grader reads it as "too slow".
pub const TOO_SLOW_EXIT_CODE: i32 = 125;

/// Name of the environment variable that replays a randomized test.
pub const SEED_VAR: &str = "INTERLEAVE_SEED";

/// Name of the environment variable through which the grader says how busy
/// the machine is: a factor of 1 or more that the harness's wall-clock
/// deadlines ([`Watchdog`], [`eventually`], [`slack`]) are stretched by.
pub const SLACK_VAR: &str = "INTERLEAVE_SLACK";

/// How much longer than on an idle machine a wall-clock deadline should be
/// here: [`SLACK_VAR`] if set (the grader measures the machine's load at
/// the start of a run), else 1. Never below 1, never above 8.
pub fn slack() -> f64 {
    std::env::var(SLACK_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(1.0)
        .clamp(1.0, 8.0)
}

/// `deadline` stretched by [`slack`]: use it for every "within N" bound a
/// correct solution meets with room to spare on an idle machine.
pub fn scaled(deadline: Duration) -> Duration {
    deadline.mul_f64(slack())
}

/// Name of the environment variable the grader's sandbox sets when it hands
/// a test process the descriptors of its pass record (see [`proof`]).
pub const PROOF_VAR: &str = "INTERLEAVE_PROOF";

/// Runs one hidden test's body under a [`Watchdog`] of `limit`.
///
/// When the body returns normally, the harness proves it to the grader's
/// sandbox with a one-time secret that it took before the body (and any
/// student code) ran, and that student code cannot read (see [`proof`]).
/// A panic, a hang or an early exit leaves no proof.
///
/// ```
/// use std::time::Duration;
/// harness::check(Duration::from_secs(5), || {
///     assert_eq!(1 + 1, 2);
/// });
/// ```
#[track_caller]
pub fn check<T>(limit: Duration, body: impl FnOnce() -> T) -> T {
    // Taken before any student code runs in this test.
    let proof = proof::take();
    let watchdog = Watchdog::arm(limit, "running the test body");
    let value = body();
    drop(watchdog);
    if let Some(proof) = proof {
        proof.record();
    }
    value
}

/// Ends the whole test process if the guarded scope is stuck past its limit.
///
/// A hang in student code cannot be interrupted from inside the process, so
/// the watchdog prints what was being waited for, then exits. At the limit
/// it first asks whether the test is still making progress (its threads
/// running or waiting for a CPU, see [`progress`]): a test that is only slow,
/// say on a busy machine, gets more time, up to [`progress::CAP_FACTOR`]
/// times the limit, and is then stopped as too slow
/// ([`TOO_SLOW_EXIT_CODE`]); a test that made no progress is stuck
/// ([`WATCHDOG_EXIT_CODE`]). Dropping the guard disarms it.
///
/// ```
/// use std::time::Duration;
/// let _watchdog = harness::Watchdog::arm(Duration::from_secs(10), "joining the workers");
/// // ... test body ...
/// ```
#[must_use = "the watchdog is disarmed as soon as the guard is dropped"]
pub struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
}

/// How often the watchdog samples the test's progress.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

impl Watchdog {
    /// Arms a watchdog for `limit`; `what` names the step that may hang.
    pub fn arm(limit: Duration, what: &str) -> Watchdog {
        let (disarm, disarmed) = mpsc::channel::<()>();
        let what = what.to_string();
        let test = thread::current().name().unwrap_or("<unnamed>").to_string();
        thread::Builder::new()
            .name(progress::HOUSEKEEPING[0].into())
            .spawn(move || watch(limit, &disarmed, &test, &what))
            .expect("spawn watchdog thread");
        Watchdog {
            disarm: Some(disarm),
        }
    }
}

/// The watchdog thread: samples progress until disarmed, or until the
/// limit finds the test stuck, or the cap finds it still running.
fn watch(limit: Duration, disarmed: &mpsc::Receiver<()>, test: &str, what: &str) {
    let started = Instant::now();
    let limit = scaled(limit);
    let cap = limit * progress::CAP_FACTOR;
    let mut progress = progress::Progress::default();
    let mut stillness = stuck::Stillness::default();
    let me = stuck::own_tid();
    loop {
        // A message or a closed channel both mean "disarmed".
        match disarmed.recv_timeout(SAMPLE_EVERY) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        progress.record_own();
        let elapsed = started.elapsed();
        // Every thread blocked with no timeout pending: no limit need be
        // waited for, the test can never go on.
        if stillness.sample(me) {
            let _ = writeln!(
                std::io::stderr(),
                "\nWATCHDOG: test `{test}` made no progress for {:?} (every thread asleep, \
                 each waiting with no timeout for another of them) after {:.1} s while \
                 {what}.\nThe likely cause is a deadlock (a lock never released, two locks \
                 taken in opposite orders) or a lost wakeup (a waiter that is never notified).",
                stuck::GRACE,
                elapsed.as_secs_f64(),
            );
            std::process::exit(WATCHDOG_EXIT_CODE);
        }
        if elapsed < limit {
            continue;
        }
        // Straight to the stderr handle: `eprintln!` would go to libtest's
        // capture buffer, which is lost when we exit.
        if !progress.recent() {
            let _ = writeln!(
                std::io::stderr(),
                "\nWATCHDOG: test `{test}` made no progress for {:?} (every thread asleep) \
                 after {limit:?} while {what}.\nThe likely cause is a deadlock (a lock never \
                 released, two locks taken in opposite orders) or a lost wakeup (a waiter \
                 that is never notified).",
                progress::WINDOW,
            );
            std::process::exit(WATCHDOG_EXIT_CODE);
        }
        if elapsed >= cap {
            let _ = writeln!(
                std::io::stderr(),
                "\nWATCHDOG: too slow: test `{test}` used {:.1} s of CPU in {:.1} s while \
                 {what}, and was still running.",
                progress.cpu_ns as f64 / 1e9,
                elapsed.as_secs_f64(),
            );
            std::process::exit(TOO_SLOW_EXIT_CODE);
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(disarm) = self.disarm.take() {
            let _ = disarm.send(());
        }
    }
}

/// The seed for this run: `INTERLEAVE_SEED` if set, otherwise a fresh one.
pub fn seed() -> u64 {
    match std::env::var(SEED_VAR) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR} must be an unsigned integer, got {text:?}")),
        Err(_) => rand::random(),
    }
}

/// A seeded generator for a randomized test. Prints the seed so a failure can
/// be replayed with `INTERLEAVE_SEED=<seed>`.
pub fn rng() -> StdRng {
    let seed = seed();
    println!("seed: {seed} (replay with {SEED_VAR}={seed})");
    StdRng::seed_from_u64(seed)
}

/// CPU time (user + system) used so far by the calling thread.
pub fn thread_cpu_time() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID).expect("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed")
}

/// The time of one of the kernel's CPU-time clocks.
#[allow(unsafe_code)]
pub(crate) fn cpu_clock(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the kernel checks the id.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// What a measured call cost the thread that made it (see [`measure`]).
/// Costs of several threads add up with `+` or `sum()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// CPU time used (user + system).
    pub cpu: Duration,
    /// Time runnable but waiting for a CPU.
    pub queued: Duration,
    /// Wall time.
    pub wall: Duration,
    /// Times the thread was put on a CPU.
    pub slices: u64,
    /// Threads whose costs are added up here.
    pub threads: u32,
}

/// The least time a call must have wanted a CPU, on one or in the run
/// queue, before [`Cost::busy_waited`] judges it by its share of the wall
/// time.
pub const MIN_BUSY: Duration = Duration::from_millis(50);

/// The fewest times per thread a call must have been put on a CPU before
/// [`Cost::busy_waited`] judges it by its share of the wall time. A spinner
/// starved beside 8 busy loops on its CPU was put on it 30 times in 300 ms;
/// a blocked thread is put on a CPU once per wakeup.
pub const MIN_SLICES: u64 = 8;

impl Cost {
    /// Time the thread wanted a CPU: on one, or waiting for one.
    pub fn busy(&self) -> Duration {
        self.cpu + self.queued
    }

    /// Whether a call that should block busy-waited instead: it used
    /// `max_cpu` of CPU or more, or it was runnable, again and again, for
    /// most of its wall time. The second catches a spinner on a busy
    /// machine, which gets little CPU but is always runnable and is put on
    /// a CPU many times. A blocked thread is not runnable until it is
    /// woken; on a throttled CPU it may then wait long for one, but that is
    /// one wait, not [`MIN_SLICES`] of them.
    pub fn busy_waited(&self, max_cpu: Duration) -> bool {
        let runnable = self.busy() >= MIN_BUSY
            && self.busy() * 4 >= self.wall * 3
            && self.slices >= MIN_SLICES * u64::from(self.threads.max(1));
        self.cpu >= max_cpu || runnable
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            cpu: self.cpu + other.cpu,
            queued: self.queued + other.queued,
            wall: self.wall + other.wall,
            slices: self.slices + other.slices,
            threads: self.threads + other.threads,
        }
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Cost) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(costs: I) -> Cost {
        costs.fold(Cost::default(), |a, b| a + b)
    }
}

impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} of wall time, {:?} of CPU, {:?} waiting for a CPU, put on one {} times",
            self.wall, self.cpu, self.queued, self.slices
        )
    }
}

/// Runs `f` on the calling thread and returns its result with what it cost
/// the thread. A blocking call that truly sleeps uses a tiny fraction of
/// its wall time as CPU time and is rarely runnable; a spin loop uses
/// nearly all of it, or on a busy machine waits for a CPU instead.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let before = Stamp::now();
    let value = f();
    (value, Stamp::now().cost_since(before))
}

/// The calling thread's clocks at one moment. Two stamps taken on the same
/// thread give the [`Cost`] of what it did between them, where the code in
/// between is not one call (a callback's thread, read at each callback).
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    cpu: Duration,
    queued: Duration,
    slices: u64,
    at: Instant,
}

impl Stamp {
    /// The calling thread's clocks now.
    pub fn now() -> Stamp {
        // Zeros where the kernel does not say: then only the CPU time judges.
        let [_, queued, slices] =
            progress::schedstat(std::path::Path::new("/proc/thread-self/schedstat"))
                .unwrap_or_default();
        Stamp {
            cpu: thread_cpu_time(),
            queued: Duration::from_nanos(queued),
            slices,
            at: Instant::now(),
        }
    }

    /// What the thread spent from `earlier` (a stamp of the same thread) to this one.
    pub fn cost_since(&self, earlier: Stamp) -> Cost {
        Cost {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            queued: self.queued.saturating_sub(earlier.queued),
            wall: self.at.saturating_duration_since(earlier.at),
            slices: self.slices.saturating_sub(earlier.slices),
            threads: 1,
        }
    }
}

/// Counts how many callers are inside a region at once, and the maximum seen.
#[derive(Debug, Default)]
pub struct Meter {
    now: AtomicUsize,
    max: AtomicUsize,
    total: AtomicUsize,
}

/// Marks one caller inside a [`Meter`]'s region; leaving is dropping it.
pub struct Inside<'a>(&'a Meter);

impl Meter {
    /// A meter with nobody inside.
    pub const fn new() -> Meter {
        Meter {
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }

    /// Enters the region; the returned guard leaves it when dropped.
    pub fn enter(&self) -> Inside<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        Inside(self)
    }

    /// How many callers are inside right now.
    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// The most callers ever inside at the same time.
    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    /// How many times the region was entered.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Polls `condition` every millisecond until it holds or `limit` (stretched
/// by [`slack`]) passes.
/// Returns whether it held. Use it for "eventually" facts (a thread has
/// blocked, a counter has reached a value), never for "never" facts.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + scaled(limit);
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// The text of a panic payload, as `std` prints it.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// The limit most hidden tests give [`check`]: a correct run takes well
/// under a second, a hang is reported after this.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Joins `handle` if it finishes within `limit`; otherwise fails with `what`.
/// A panic in the thread is passed on with its own message.
/// `limit` is stretched by [`slack`].
pub fn join_within<T>(handle: JoinHandle<T>, limit: Duration, what: &str) -> T {
    join_by(handle, Instant::now() + scaled(limit), limit, what)
}

/// Joins every handle within one shared deadline (see [`join_within`]).
pub fn join_all_within<T>(handles: Vec<JoinHandle<T>>, limit: Duration, what: &str) -> Vec<T> {
    let deadline = Instant::now() + scaled(limit);
    handles
        .into_iter()
        .map(|handle| join_by(handle, deadline, limit, what))
        .collect()
}

/// Joins `handle` if it finishes before `deadline` (`limit` from the start,
/// as the failure says); otherwise fails with `what`.
fn join_by<T>(handle: JoinHandle<T>, deadline: Instant, limit: Duration, what: &str) -> T {
    // Its deadline only ever fails the test, so its sleeps are no timeout
    // that could let the test go on (see `stuck`).
    let poller = stuck::Poller::enter();
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "still blocked after {limit:?}: {what}"
        );
        thread::sleep(Duration::from_millis(1));
    }
    drop(poller);
    match handle.join() {
        Ok(value) => value,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// A meeting point for `need` parties. [`Rendezvous::arrive`] waits until
/// all have arrived and returns true, or gives up after a deadline, breaks
/// the rendezvous for everyone and returns false. It can only succeed if
/// `need` callers are inside it at the same time, which is how a suite
/// proves that threads truly run concurrently, without measuring speed.
pub struct Rendezvous {
    need: usize,
    // (arrived so far, broken)
    state: std::sync::Mutex<(usize, bool)>,
    all_here: std::sync::Condvar,
}

impl Rendezvous {
    /// A rendezvous of `need` parties.
    pub fn new(need: usize) -> Rendezvous {
        Rendezvous {
            need,
            state: std::sync::Mutex::new((0, false)),
            all_here: std::sync::Condvar::new(),
        }
    }

    /// Arrives and waits for the others, at most `limit`; false if they did
    /// not all come (then the rendezvous stays broken for everyone). `limit`
    /// is stretched by [`slack`].
    pub fn arrive(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + scaled(limit);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.1 {
            return false;
        }
        state.0 += 1;
        while state.0 < self.need && !state.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            let (next, _) = self
                .all_here
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            if Instant::now() >= deadline && state.0 < self.need {
                state.1 = true;
            }
        }
        self.all_here.notify_all();
        !state.1
    }
}

/// Waits until `go` reaches `round`, spinning briefly first so that the
/// threads released by one store start their next step at nearly the same
/// instant (a barrier wakes its parties one by one, microseconds apart).
pub fn start_together(go: &AtomicUsize, round: usize) {
    let mut spins = 0_u32;
    while go.load(Ordering::SeqCst) < round {
        spins += 1;
        if spins.is_multiple_of(64) {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_records_peak_concurrency() {
        let meter = Meter::new();
        let a = meter.enter();
        let b = meter.enter();
        assert_eq!((meter.now(), meter.max()), (2, 2));
        drop(a);
        drop(b);
        let _c = meter.enter();
        assert_eq!((meter.now(), meter.max(), meter.total()), (1, 2, 3));
    }

    #[test]
    fn measure_tells_sleeping_from_spinning() {
        let ((), sleep) = measure(|| thread::sleep(Duration::from_millis(100)));
        assert!(sleep.wall >= Duration::from_millis(100));
        assert!(sleep.cpu < Duration::from_millis(50), "sleep cost {sleep}");
        assert!(!sleep.busy_waited(Duration::from_millis(50)), "{sleep}");
        let ((), spin) = measure(|| {
            let start = thread_cpu_time();
            while thread_cpu_time() - start < Duration::from_millis(30) {}
        });
        assert!(spin.cpu >= Duration::from_millis(30), "spin cost {spin}");
        assert!(spin.busy_waited(Duration::from_millis(30)), "{spin}");
    }

    /// A spinner that gets little CPU (here: eight spinners pinned to one
    /// CPU, each yielding) is still caught by its time in the run queue,
    /// while its CPU time alone stays under the limit.
    #[test]
    fn a_spinner_starved_of_cpu_still_busy_waits() {
        // Its spinners would be progress to the process-wide probes' tests.
        let _alone = crate::progress::tests::ALONE.lock().unwrap();
        let costs: Vec<Cost> = thread::scope(|s| {
            let spinners: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        pin_to_one_cpu();
                        let start = Instant::now();
                        measure(|| {
                            while start.elapsed() < Duration::from_millis(400) {
                                thread::yield_now();
                            }
                        })
                        .1
                    })
                })
                .collect();
            spinners.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let total: Cost = costs.iter().copied().sum();
        let starved = costs
            .iter()
            .find(|c| c.cpu < Duration::from_millis(150))
            .expect("eight spinners on one or two CPUs each get at most about a quarter of one");
        assert!(starved.busy_waited(Duration::from_millis(150)), "{starved}");
        assert!(total.busy_waited(Duration::from_secs(10)), "{total}");
    }

    /// The rule itself, on costs as the kernel reported them here: a thread
    /// woken on a throttled CPU that then waited long for it is not a
    /// spinner; one starved beside busy loops is.
    #[test]
    fn busy_waited_tells_a_long_wait_for_a_cpu_from_spinning() {
        let ms = Duration::from_millis;
        let cost = |cpu, queued, wall, slices, threads| Cost {
            cpu: ms(cpu),
            queued: ms(queued),
            wall: ms(wall),
            slices,
            threads,
        };
        let woken_late = cost(1, 900, 1200, 2, 1);
        assert!(!woken_late.busy_waited(ms(20)), "{woken_late}");
        let starved_spinner = cost(1, 311, 312, 30, 1);
        assert!(starved_spinner.busy_waited(ms(20)), "{starved_spinner}");
        let four_woken_late: Cost = [woken_late; 4].into_iter().sum();
        assert!(!four_woken_late.busy_waited(ms(20)), "{four_woken_late}");
        let spinning_on_a_cpu = cost(150, 150, 300, 4000, 1);
        assert!(spinning_on_a_cpu.busy_waited(ms(20)));
        let asleep = cost(0, 0, 300, 1, 1);
        assert!(!asleep.busy_waited(ms(20)));
    }

    /// Binds the calling thread to CPU 0 (or leaves it if the kernel refuses).
    #[allow(unsafe_code)]
    fn pin_to_one_cpu() {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only
        // read and write the set passed to them.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }

    #[test]
    fn eventually_reports_both_outcomes() {
        assert!(eventually(Duration::from_millis(50), || true));
        assert!(!eventually(Duration::from_millis(20), || false));
    }

    #[test]
    fn panic_message_reads_both_payload_kinds() {
        let err = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(&*err), "boom 1");
        let err = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(&*err), "static");
    }
}
