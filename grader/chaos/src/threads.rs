//! Per-thread state: the noise generator, the locks the thread holds, and what
//! it is blocked on (read by the monitor).

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex as RealMutex;

use crate::config::config;

/// A lock instance's identity: unique for the life of the process (never
/// reused, unlike an address).
pub(crate) type LockId = u64;

static NEXT_LOCK_ID: AtomicU64 = AtomicU64::new(1);

/// Returns the id stored in `slot`, giving it a fresh one on first use.
pub(crate) fn lock_id(slot: &AtomicU64) -> LockId {
    let id = slot.load(Ordering::Relaxed);
    if id != 0 {
        return id;
    }
    let fresh = NEXT_LOCK_ID.fetch_add(1, Ordering::Relaxed);
    match slot.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => fresh,
        Err(existing) => existing,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    Mutex,
    Read,
    Write,
}

impl LockKind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            LockKind::Mutex => "lock",
            LockKind::Read => "read lock",
            LockKind::Write => "write lock",
        }
    }
}

/// One lock a thread holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held {
    pub id: LockId,
    pub kind: LockKind,
    pub at: &'static Location<'static>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitKind {
    /// `lock()` on a mutex or rwlock: blocks until the holder unlocks.
    Lock(LockKind),
    /// `try_lock_for` and friends: gives up at a deadline.
    TimedLock(LockKind),
    /// `Condvar::wait`: blocks until notified.
    Condvar,
    /// `Condvar::wait_for`/`wait_until`.
    TimedCondvar,
}

/// What a thread is blocked on right now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waiting {
    pub kind: WaitKind,
    /// The lock waited for (for a Condvar, the mutex it re-takes).
    pub lock: LockId,
    pub at: Option<&'static Location<'static>>,
    pub since: Instant,
    /// Counts the thread's waits, so the monitor can tell "still the same
    /// wait" from "a new wait on the same lock".
    pub episode: u64,
}

/// The part of a thread's state that other threads (the monitor) read.
#[derive(Debug)]
pub(crate) struct Shared {
    pub serial: usize,
    pub name: Option<String>,
    /// The locks the thread held when it started its current wait (published
    /// only while it waits: the monitor needs no more, and the hot path of
    /// an uncontended lock stays free of shared state).
    pub held: RealMutex<Vec<Held>>,
    pub waiting: RealMutex<Option<Waiting>>,
}

impl Shared {
    /// How a report names this thread.
    pub(crate) fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("thread `{name}`"),
            None => format!("unnamed thread #{}", self.serial),
        }
    }
}

pub(crate) struct Local {
    pub shared: Arc<Shared>,
    /// The locks this thread holds, in acquisition order.
    pub held: RefCell<Vec<Held>>,
    rng: Cell<u64>,
    slept: Cell<Duration>,
    events: Cell<u64>,
    /// Spurious wakeups given to this thread's `std` waits so far.
    std_spurious: Cell<u64>,
    episode: Cell<u64>,
}

static NEXT_SERIAL: AtomicUsize = AtomicUsize::new(1);

/// Every thread that used the stand-in (weak, so exited threads drop out).
pub(crate) static THREADS: RealMutex<Vec<Weak<Shared>>> = RealMutex::new(Vec::new());

impl Local {
    fn new() -> Local {
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            serial,
            name: std::thread::current().name().map(str::to_string),
            held: RealMutex::new(Vec::new()),
            waiting: RealMutex::new(None),
        });
        {
            let mut threads = THREADS.lock();
            threads.retain(|t| t.strong_count() > 0);
            threads.push(Arc::downgrade(&shared));
        }
        // Each thread's generator: the run's seed mixed with the thread's
        // serial number (threads are numbered in the order they first touch
        // a lock, which the OS decides; a replay is as faithful as it allows).
        let mut state = config().seed ^ (serial as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let _ = splitmix(&mut state);
        Local {
            shared,
            held: RefCell::new(Vec::new()),
            rng: Cell::new(state),
            slept: Cell::new(Duration::ZERO),
            events: Cell::new(0),
            std_spurious: Cell::new(0),
            episode: Cell::new(0),
        }
    }

    pub(crate) fn next(&self) -> u64 {
        let mut state = self.rng.get();
        let value = splitmix(&mut state);
        self.rng.set(state);
        value
    }

    /// True with probability `1 / one_in` (never when `one_in` is 0).
    pub(crate) fn one_in(&self, one_in: u64) -> bool {
        hit(self.next(), one_in)
    }

    /// A value in `0..=max`.
    pub(crate) fn up_to(&self, max: u64) -> u64 {
        self.next() % (max + 1)
    }

    /// Perturbs the schedule at one lock, unlock, wait or notify: sometimes
    /// yields, sometimes sleeps a few microseconds, rarely stalls this thread
    /// for milliseconds (short uniform delays miss bugs that need one thread
    /// starved while the others run on).
    pub(crate) fn noise(&self) {
        let Some(scale) = self.count_point() else {
            return;
        };
        let config = config();
        let roll = self.next();
        let budget_left = self.slept.get() < config.sleep_budget;
        if budget_left && hit(roll, config.stall_one_in * scale) {
            let stall = Duration::from_micros(1000 + self.up_to(config.stall_max_us));
            self.sleep(stall);
        } else if budget_left && hit(roll >> 20, config.sleep_one_in * scale) {
            let nap = Duration::from_micros(1 + self.up_to(config.sleep_max_us));
            self.sleep(nap);
        } else if hit(roll >> 40, config.yield_one_in * scale) {
            std::thread::yield_now();
        }
    }

    /// Noise that never sleeps: a yield, as often as [`Local::noise`]
    /// would do anything. For points inside code that may spin (a
    /// `yield_now` loop must keep using CPU, or the suites' busy-wait
    /// probes would take it for a blocked thread).
    pub(crate) fn yield_noise(&self) {
        let Some(scale) = self.count_point() else {
            return;
        };
        if hit(self.next(), config().yield_one_in * scale) {
            std::thread::yield_now();
        }
    }

    /// Counts one noise point of this thread and returns how much rarer
    /// noise is by now; `None` when noise is off. Threads that lock in a hot
    /// loop get rarer noise as they go (one point in `one_in * (1 + n /
    /// DECAY)` after n points), so a million increments stay fast while the
    /// first thousands are well shaken.
    fn count_point(&self) -> Option<u64> {
        let config = config();
        if !config.noise {
            return None;
        }
        let n = self.events.get() + 1;
        self.events.set(n);
        Some(1 + n / config.decay)
    }

    /// Before a lock at a site whose guard has gone into a Condvar wait:
    /// sometimes a longer stall (see `wait_sites`), from the same sleep
    /// budget as the other noise.
    pub(crate) fn wait_site_stall(&self) {
        let config = config();
        if !config.noise || self.slept.get() >= config.sleep_budget {
            return;
        }
        if self.one_in(config.wait_stall_one_in) {
            let stall = Duration::from_micros(1 + self.up_to(config.wait_stall_us));
            self.sleep(stall);
        }
    }

    /// Whether this `std` Condvar wait or `park` is to wake spuriously, and
    /// after how long: one wait in `spurious_one_in`, at most
    /// `std_spurious_max` times per thread. The cap matters: a spurious
    /// wakeup also rescues a waiter whose notification was lost or went to
    /// the wrong thread, so waking late waits too would hide those bugs,
    /// while one early wakeup is all a lone `if` needs to go wrong.
    pub(crate) fn std_spurious(&self) -> Option<Duration> {
        let config = config();
        if !config.std_spurious || self.std_spurious.get() >= config.std_spurious_max {
            return None;
        }
        if !self.one_in(config.spurious_one_in) {
            return None;
        }
        self.std_spurious.set(self.std_spurious.get() + 1);
        Some(Duration::from_micros(
            self.up_to(config.std_spurious_max_us),
        ))
    }

    fn sleep(&self, time: Duration) {
        self.slept.set(self.slept.get() + time);
        std::thread::sleep(time);
    }

    pub(crate) fn push_held(&self, held: Held) {
        self.held.borrow_mut().push(held);
    }

    /// Forgets the most recent acquisition of `id`; returns it.
    pub(crate) fn pop_held(&self, id: LockId) -> Option<Held> {
        let mut list = self.held.borrow_mut();
        let index = list.iter().rposition(|h| h.id == id)?;
        Some(list.remove(index))
    }

    pub(crate) fn set_waiting(
        &self,
        kind: WaitKind,
        lock: LockId,
        at: Option<&'static Location<'static>>,
    ) {
        let episode = self.episode.get() + 1;
        self.episode.set(episode);
        *self.shared.held.lock() = self.held.borrow().clone();
        *self.shared.waiting.lock() = Some(Waiting {
            kind,
            lock,
            at,
            since: Instant::now(),
            episode,
        });
        crate::monitor::ensure_started();
    }

    pub(crate) fn clear_waiting(&self) {
        *self.shared.waiting.lock() = None;
        self.shared.held.lock().clear();
    }
}

/// True when `value` falls in one case of `one_in` (never when `one_in` is 0).
fn hit(value: u64, one_in: u64) -> bool {
    one_in != 0 && value.is_multiple_of(one_in)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

thread_local! {
    static LOCAL: Local = Local::new();
}

/// One noise point on the calling thread (see [`Local::noise`]).
pub(crate) fn noise() {
    with(|local| local.noise());
}

/// One noise point that never sleeps (see [`Local::yield_noise`]).
pub(crate) fn yield_noise() {
    with(|local| local.yield_noise());
}

/// Runs `f` with this thread's state, unless the stand-in is off or the
/// thread is being torn down (then `None`).
pub(crate) fn with<R>(f: impl FnOnce(&Local) -> R) -> Option<R> {
    if !config().any() {
        return None;
    }
    LOCAL.try_with(f).ok()
}
