//! Telling a stuck test from a slow one.
//!
//! A deadlocked or lost-wakeup test has every thread asleep: it neither runs
//! nor waits for a CPU. A test on a busy machine is slow but keeps running,
//! or keeps waiting in the run queue for a CPU. Linux counts both per thread
//! in `/proc/<pid>/task/<tid>/schedstat` (time on a CPU, time runnable but
//! waiting for one); their sum is a thread's *demand*. A test whose demand
//! still grows is making progress, however slowly the machine runs it.
//!
//! The harness's [`Watchdog`](crate::Watchdog) and the grader's per-test
//! limit both use it: at their limit they give a test that is still
//! progressing more time, up to a hard cap, and only call a test that made
//! no progress "stuck".

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

/// How far back [`Progress::recent`] looks.
pub const WINDOW: Duration = Duration::from_secs(2);
/// Demand in a [`WINDOW`] above which a test counts as progressing: 5% of
/// one CPU. A stuck test's only activity is a monitor thread's occasional
/// wakeup, far below it.
pub const MIN_DEMAND: Duration = Duration::from_millis(100);
/// How many times its limit a test that keeps progressing may run.
pub const CAP_FACTOR: u32 = 4;

/// The names of the threads that watch a test rather than run it: the
/// harness's [`Watchdog`](crate::Watchdog) and the chaos stand-in's hang
/// monitor. They wake every few hundred milliseconds whatever the test does,
/// and on a busy machine each wakeup waits in the run queue: counted, that
/// wait made a deadlocked test look as if it still progressed (measured at
/// load 16 on 2 CPUs: a parked test killed after 4.3 and 5.9 s instead of
/// about 2 s past its 1.5 s limit).
pub const HOUSEKEEPING: [&str; 2] = ["watchdog", "chaos-monitor"];

/// One thread's counters: its id, CPU time and run-queue wait, in nanoseconds.
pub type TaskDemand = (i64, u64, u64);

/// What one look at a process's threads found.
#[derive(Debug, Default)]
pub struct Threads {
    /// The counters of the threads that run the test.
    pub tasks: Vec<TaskDemand>,
    /// The CPU time of the [`HOUSEKEEPING`] threads, in nanoseconds (taken
    /// off the process's CPU time).
    pub housekeeping_cpu_ns: u64,
}

/// One thread's scheduler counters, from a `schedstat` file under `/proc`:
/// nanoseconds on a CPU, nanoseconds runnable but waiting for one, and how
/// many times it was put on a CPU. `None` if the file cannot be read.
pub fn schedstat(path: &Path) -> Option<[u64; 3]> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(0));
    Some(std::array::from_fn(|_| fields.next().unwrap_or(0)))
}

/// The counters of every thread of `pid` (`self` for this process) but
/// `skip_tid`, the [`HOUSEKEEPING`] ones apart; `None` without `/proc`.
pub fn demand_of(pid: &str, skip_tid: Option<i64>) -> Option<Threads> {
    let tasks = std::fs::read_dir(Path::new("/proc").join(pid).join("task")).ok()?;
    let mut found = Threads::default();
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i64>().ok())
        else {
            continue;
        };
        if Some(tid) == skip_tid {
            continue;
        }
        let Some([cpu, wait, _]) = schedstat(&task.path().join("schedstat")) else {
            continue;
        };
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if HOUSEKEEPING.contains(&name.trim_end()) {
            found.housekeeping_cpu_ns += cpu;
        } else {
            found.tasks.push((tid, cpu, wait));
        }
    }
    Some(found)
}

/// `pid` and every process below it, from `/proc/<pid>/task/*/children`.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() && tree.len() < 4096 {
        let parent = tree[next];
        next += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
                tree.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    tree
}

/// Samples of a process's demand over time, to ask whether it grew lately.
///
/// Threads come and go (a test may start hundreds of short ones, each gone
/// before the next sample), so CPU time comes from the process's own
/// counter, which keeps the time of its ended threads; the run-queue wait,
/// which only threads that are still there can be waiting, is accumulated
/// thread by thread.
#[derive(Debug, Default)]
pub struct Progress {
    samples: VecDeque<(Instant, u64)>,
    /// Each live thread's run-queue wait at the last sample.
    waits: std::collections::HashMap<i64, u64>,
    demand: u64,
    /// The CPU time seen so far, in nanoseconds (for "used N s of CPU").
    pub cpu_ns: u64,
}

impl Progress {
    /// Records a sample taken now: the process's CPU time so far, and its
    /// threads' counters.
    pub fn record(&mut self, cpu_ns: u64, tasks: &[TaskDemand]) {
        let mut now_seen = std::collections::HashMap::with_capacity(tasks.len());
        self.demand += cpu_ns.saturating_sub(self.cpu_ns);
        self.cpu_ns = self.cpu_ns.max(cpu_ns);
        for &(tid, _, wait) in tasks {
            let before = self.waits.get(&tid).copied().unwrap_or(wait);
            self.demand += wait.saturating_sub(before);
            now_seen.insert(tid, wait);
        }
        self.waits = now_seen;
        let now = Instant::now();
        self.samples.push_back((now, self.demand));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > WINDOW * 2)
        {
            self.samples.pop_front();
        }
    }

    /// Records a sample of this process's own demand.
    pub fn record_own(&mut self) {
        // SAFETY: gettid has no preconditions.
        #[allow(unsafe_code)]
        let me = unsafe { libc::gettid() } as i64;
        let threads = demand_of("self", Some(me)).unwrap_or_default();
        let cpu = process_cpu_time().as_nanos() as u64;
        self.record(
            cpu.saturating_sub(threads.housekeeping_cpu_ns),
            &threads.tasks,
        );
    }

    /// Whether the demand grew by at least [`MIN_DEMAND`] over the last
    /// [`WINDOW`].
    pub fn recent(&self) -> bool {
        let Some(&(last_at, last)) = self.samples.back() else {
            return false;
        };
        let Some(&(_, first)) = self
            .samples
            .iter()
            .find(|(at, _)| last_at.duration_since(*at) <= WINDOW)
        else {
            return false;
        };
        last.saturating_sub(first) >= MIN_DEMAND.as_nanos() as u64
    }
}

/// This process's CPU time (all threads, ended ones too).
pub fn process_cpu_time() -> Duration {
    crate::cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID).unwrap_or_default()
}

/// CPU time so far, in nanoseconds, of the process `pid` (all its threads,
/// ended ones too), from `/proc/<pid>/stat`.
pub fn process_cpu_of(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // "pid (name) state ppid ...": utime and stime are the 12th and 13th
    // fields after the name.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    // SAFETY: sysconf has no preconditions.
    #[allow(unsafe_code)]
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    fields.iter().sum::<u64>() * (1_000_000_000 / ticks)
}

/// Records a sample of the process `pid` and every process below it.
pub fn record_tree(progress: &mut Progress, pid: u32) {
    let tree = process_tree(pid);
    let cpu: u64 = tree.iter().map(|&p| process_cpu_of(p)).sum();
    let mut tasks = Vec::new();
    let mut housekeeping = 0;
    for threads in tree.iter().filter_map(|p| demand_of(&p.to_string(), None)) {
        tasks.extend(threads.tasks);
        housekeeping += threads.housekeeping_cpu_ns;
    }
    progress.record(cpu.saturating_sub(housekeeping), &tasks);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// These tests measure the whole process: one at a time.
    pub(crate) static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn a_spinning_thread_progresses_and_a_sleeping_one_does_not() {
        let _alone = ALONE.lock().unwrap();
        let mut sleeping = Progress::default();
        for _ in 0..12 {
            sleeping.record_own();
            std::thread::sleep(Duration::from_millis(200));
        }
        sleeping.record_own();
        assert!(
            !sleeping.recent(),
            "a sleeping process counted as progressing"
        );

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinner = {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        };
        let mut spinning = Progress::default();
        for _ in 0..12 {
            spinning.record_own();
            std::thread::sleep(Duration::from_millis(200));
        }
        spinning.record_own();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        assert!(spinning.recent(), "a spinning process counted as stuck");
    }

    #[test]
    fn the_threads_that_watch_a_test_are_not_its_progress() {
        let _alone = ALONE.lock().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinners: Vec<_> = HOUSEKEEPING
            .iter()
            .map(|name| {
                let stop = std::sync::Arc::clone(&stop);
                std::thread::Builder::new()
                    .name(name.to_string())
                    .spawn(move || {
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            std::hint::spin_loop();
                        }
                    })
                    .unwrap()
            })
            .collect();
        let mut watched = Progress::default();
        for _ in 0..12 {
            watched.record_own();
            std::thread::sleep(Duration::from_millis(200));
        }
        watched.record_own();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for spinner in spinners {
            spinner.join().unwrap();
        }
        assert!(
            !watched.recent(),
            "a watchdog or monitor thread counted as the test's progress"
        );
    }

    #[test]
    fn work_done_by_short_lived_threads_is_progress() {
        let _alone = ALONE.lock().unwrap();
        let mut churning = Progress::default();
        for _ in 0..12 {
            churning.record_own();
            // Each thread works for 50 ms and ends before the next sample.
            let worker = std::thread::spawn(|| {
                let started = std::time::Instant::now();
                while started.elapsed() < Duration::from_millis(50) {
                    std::hint::spin_loop();
                }
            });
            worker.join().unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
        churning.record_own();
        assert!(
            churning.recent(),
            "threads that come and go counted as stuck"
        );
    }
}
