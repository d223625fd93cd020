//! The detection benchmark of DESIGN.md: four classic student bugs, each a
//! small scenario, run many times under the real behaviour of the locks
//! (`INTERLEAVE_CHAOS=off`) and under the stand-in's features. Prints, per
//! bug and mode, the fraction of runs in which the bug was caught.
//!
//! ```sh
//! cargo run -p chaos --release --example detection -- [RUNS [BUG [MODE]]]
//! ```
//!
//! BUG (`event`, `buffer`, `semaphore`, `abba`) and MODE (`plain`, `noise`,
//! `+spurious`, `+lockdep`, `all`) restrict the table to one row or column;
//! `INTERLEAVE_CHAOS_TUNE` passes on to the runs, and
//! `INTERLEAVE_DETECTION_ROUNDS` sets how often the `event` scenario repeats
//! its racy step (20).
//!
//! One run is one process (a verdict of the stand-in ends the process): the
//! scenario repeats its racy step a few dozen times, as one hidden test would,
//! under a 1 s watchdog. A run catches the bug when it fails an assertion, is
//! reported by the stand-in (lock order or deadlock), or hangs.

use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use chaos::{Condvar, Mutex};

const HANG_EXIT_CODE: i32 = 124;

struct Bug {
    key: &'static str,
    what: &'static str,
    run: fn(),
}

const BUGS: [Bug; 4] = [
    Bug {
        key: "event",
        what: "Event: check flag, unlock, then wait (lost wakeup)",
        run: event_lost_wakeup,
    },
    Bug {
        key: "buffer",
        what: "Bounded buffer: `if` instead of `while`, 2 consumers",
        run: buffer_if_not_while,
    },
    Bug {
        key: "semaphore",
        what: "Semaphore: check and decrement in two critical sections",
        run: semaphore_split,
    },
    Bug {
        key: "abba",
        what: "Two locks taken in opposite orders (ABBA)",
        run: abba,
    },
];

const MODES: [(&str, &str); 5] = [
    ("plain", "off"),
    ("noise", "noise"),
    ("+spurious", "noise,spurious"),
    ("+lockdep", "noise,spurious,lockdep"),
    ("all", "all"),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let bug = BUGS.iter().find(|b| b.key == args[2]).expect("known bug");
        thread::spawn(|| {
            thread::sleep(Duration::from_secs(1));
            std::process::exit(HANG_EXIT_CODE);
        });
        (bug.run)();
        std::process::exit(0);
    }
    let runs: usize = args.get(1).map_or(100, |n| n.parse().expect("RUNS"));
    let only_bug = args.get(2).cloned();
    let only_mode = args.get(3).cloned();
    let modes: Vec<(&str, &str)> = MODES
        .into_iter()
        .filter(|(name, _)| only_mode.as_deref().is_none_or(|m| m == *name))
        .collect();
    let exe = std::env::current_exe().expect("own path");
    println!("chance that one run catches the bug ({runs} runs per cell; seed of run i is i)\n");
    print!("| bug |");
    for (name, _) in &modes {
        print!(" {name} |");
    }
    println!("\n|---|{}", "---|".repeat(modes.len()));
    for bug in BUGS
        .iter()
        .filter(|b| only_bug.as_deref().is_none_or(|k| k == b.key))
    {
        print!("| {} |", bug.what);
        for &(_, chaos) in &modes {
            let start = Instant::now();
            let mut caught = 0;
            for run in 0..runs {
                let status = Command::new(&exe)
                    .args(["child", bug.key])
                    .env(chaos::CHAOS_VAR, chaos)
                    .env(chaos::SEED_VAR, run.to_string())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("run a child");
                if !status.success() {
                    caught += 1;
                }
            }
            let per_run = start.elapsed() / runs as u32;
            print!(
                " {:.0}% ({:.0} ms/run) |",
                100.0 * caught as f64 / runs as f64,
                per_run.as_secs_f64() * 1000.0
            );
        }
        println!();
    }
}

/// Starts `n` threads running `f(i)` at once and joins them.
fn together(n: usize, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let start = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (f, start) = (Arc::clone(&f), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                f(i)
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a scenario thread panicked");
    }
}

/// How many times the event scenario repeats its racy step:
/// `INTERLEAVE_DETECTION_ROUNDS`, 20 by default (fewer leave room to compare
/// schedules that all catch it at 20).
fn rounds() -> usize {
    std::env::var("INTERLEAVE_DETECTION_ROUNDS").map_or(20, |n| n.parse().expect("a count"))
}

/// An Event whose `wait` checks the flag in one critical section and waits in
/// another: a `set` in between is missed and the waiter sleeps forever.
fn event_lost_wakeup() {
    struct Event {
        flag: Mutex<bool>,
        changed: Condvar,
    }
    for _ in 0..rounds() {
        let event = Arc::new(Event {
            flag: Mutex::new(false),
            changed: Condvar::new(),
        });
        together(2, move |i| {
            if i == 0 {
                let set = *event.flag.lock();
                if !set {
                    let mut flag = event.flag.lock();
                    event.changed.wait(&mut flag);
                    assert!(*flag, "woke up but the event is not set");
                }
            } else {
                *event.flag.lock() = true;
                event.changed.notify_all();
            }
        });
    }
}

/// A bounded buffer whose consumers wait under `if`: a consumer woken after
/// another took the item pops from an empty queue.
fn buffer_if_not_while() {
    struct Buffer {
        items: Mutex<VecDeque<u32>>,
        not_empty: Condvar,
        not_full: Condvar,
    }
    const ITEMS: u32 = 200;
    let buffer = Arc::new(Buffer {
        items: Mutex::new(VecDeque::new()),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    let taken = Arc::new(AtomicUsize::new(0));
    together(3, move |i| {
        if i == 0 {
            for item in 0..ITEMS {
                let mut items = buffer.items.lock();
                while items.len() >= 2 {
                    buffer.not_full.wait(&mut items);
                }
                items.push_back(item);
                buffer.not_empty.notify_one();
            }
        } else {
            while taken.fetch_add(1, Ordering::SeqCst) < ITEMS as usize {
                let mut items = buffer.items.lock();
                if items.is_empty() {
                    buffer.not_empty.wait(&mut items);
                }
                items.pop_front().expect("popped from an empty buffer");
                buffer.not_full.notify_one();
            }
        }
    });
}

/// A semaphore whose acquire checks for a permit in one critical section and
/// takes it in another: two threads can take the last permit.
fn semaphore_split() {
    struct Semaphore {
        permits: Mutex<usize>,
        freed: Condvar,
    }
    let sem = Arc::new(Semaphore {
        permits: Mutex::new(2),
        freed: Condvar::new(),
    });
    let inside = Arc::new(AtomicUsize::new(0));
    together(4, move |_| {
        for _ in 0..30 {
            {
                let mut permits = sem.permits.lock();
                while *permits == 0 {
                    sem.freed.wait(&mut permits);
                }
            }
            {
                let mut permits = sem.permits.lock();
                *permits = permits.checked_sub(1).expect("took a permit that was gone");
            }
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(now <= 2, "{now} threads inside a semaphore of 2");
            thread::yield_now();
            inside.fetch_sub(1, Ordering::SeqCst);
            *sem.permits.lock() += 1;
            sem.freed.notify_one();
        }
    });
}

/// Transfers between two accounts that lock `from` then `to`: opposite
/// transfers can deadlock.
fn abba() {
    let accounts = Arc::new([Mutex::new(100u64), Mutex::new(100u64)]);
    together(2, move |i| {
        let (from, to) = if i == 0 { (0, 1) } else { (1, 0) };
        for _ in 0..50 {
            let mut source = accounts[from].lock();
            let mut target = accounts[to].lock();
            *source -= 1;
            *target += 1;
        }
    });
}
