//! What the stand-in does, read once from the environment.
//!
//! - `INTERLEAVE_CHAOS`: unset or `on` turns on `noise`, `lockdep` and
//!   `monitor`; `all` adds `spurious`; `off` turns everything off (the
//!   stand-in then behaves like `parking_lot`); otherwise a comma-separated
//!   subset of `noise`, `spurious`, `std-spurious`, `lockdep`, `monitor`.
//!   `std-spurious` (on by default) wakes the `std` twins' Condvar waits and
//!   `park`s early now and then, as `std` allows. Spurious wakeups are
//!   off by default because `parking_lot` promises its `Condvar` has none: a
//!   lone waiter behind `if` is correct under that promise, and grading must
//!   never fail correct code.
//! - `INTERLEAVE_SEED`: the seed of the per-thread noise generators (the same
//!   variable that replays a hidden suite's randomized inputs).
//! - `INTERLEAVE_CHAOS_TUNE`: comma-separated `key=value` overrides of the
//!   numbers below, for measurements (`yield=8,sleep=64,stall=2048,...`,
//!   `wait_stall=0` to turn off the stall before a lock at a wait site).

use std::sync::OnceLock;
use std::time::Duration;

/// Name of the environment variable that switches the stand-in's features.
pub const CHAOS_VAR: &str = "INTERLEAVE_CHAOS";

/// Name of the environment variable that tunes the stand-in's probabilities.
pub const TUNE_VAR: &str = "INTERLEAVE_CHAOS_TUNE";

/// Name of the environment variable that seeds the noise (shared with the
/// hidden suites' `harness::SEED_VAR`).
pub const SEED_VAR: &str = "INTERLEAVE_SEED";

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Random yields, short sleeps and rare long stalls at lock, unlock, wait
    /// and notify.
    pub noise: bool,
    /// Condvar waits that sometimes return without a notification.
    pub spurious: bool,
    /// `std` Condvar waits and `park`s that sometimes return without a
    /// notification (the twins of `std::sync` and `std::thread`: `std`
    /// allows spurious wakeups, so correct `std` code survives them).
    pub std_spurious: bool,
    /// The lock-order graph.
    pub lockdep: bool,
    /// The background thread that reports threads blocked for too long.
    pub monitor: bool,
    /// Base seed of the per-thread generators.
    pub seed: u64,
    /// Yield at one noise point in `yield_one_in`.
    pub yield_one_in: u64,
    /// Sleep a few microseconds at one noise point in `sleep_one_in`.
    pub sleep_one_in: u64,
    /// Longest short sleep, in microseconds.
    pub sleep_max_us: u64,
    /// Stall this thread for milliseconds at one noise point in `stall_one_in`.
    pub stall_one_in: u64,
    /// Longest stall, in microseconds.
    pub stall_max_us: u64,
    /// Noise points after which a thread's noise is half as likely (a third
    /// after twice as many, and so on).
    pub decay: u64,
    /// Most sleeping (short sleeps and stalls) one thread may be given. Kept
    /// small so that a thread that spins on a lock still looks busy to the
    /// suites' CPU-time checks.
    pub sleep_budget: Duration,
    /// One Condvar wait in `spurious_one_in` may return without a notification.
    pub spurious_one_in: u64,
    /// Most spurious wakeups of `std` waits per thread.
    pub std_spurious_max: u64,
    /// How long a spuriously woken wait blocks at most before it returns.
    pub spurious_max_us: u64,
    /// The same for the `std` twins' waits. 0 by default: such a wait
    /// releases the lock, takes it back and returns at once. A wakeup that
    /// comes a little later can stand in for a lost notification and hide a
    /// lost wakeup (a round's new threads each get new spurious wakeups).
    pub std_spurious_max_us: u64,
    /// Before a lock at a site whose guard later went into a Condvar wait,
    /// stall one time in `wait_stall_one_in` (0: never).
    pub wait_stall_one_in: u64,
    /// Longest such stall, in microseconds.
    pub wait_stall_us: u64,
    /// A thread blocked this long is reported by the monitor.
    pub hang_after: Duration,
}

impl Config {
    fn from_env() -> Config {
        let mut config = Config {
            noise: true,
            spurious: false,
            std_spurious: true,
            lockdep: true,
            monitor: true,
            seed: 0,
            yield_one_in: 2,
            sleep_one_in: 6,
            sleep_max_us: 200,
            stall_one_in: 1000,
            stall_max_us: 4000,
            decay: 1024,
            sleep_budget: Duration::from_millis(40),
            spurious_one_in: 4,
            std_spurious_max: 2,
            spurious_max_us: 1000,
            std_spurious_max_us: 0,
            wait_stall_one_in: 2,
            wait_stall_us: 1000,
            hang_after: Duration::from_millis(1500),
        };
        match std::env::var(CHAOS_VAR).as_deref().map(str::trim) {
            Err(_) | Ok("") | Ok("on") | Ok("1") => {}
            Ok("all") => config.spurious = true,
            Ok("off") | Ok("0") => {
                config.noise = false;
                config.spurious = false;
                config.std_spurious = false;
                config.lockdep = false;
                config.monitor = false;
            }
            Ok(list) => {
                config.noise = false;
                config.spurious = false;
                config.std_spurious = false;
                config.lockdep = false;
                config.monitor = false;
                for item in list.split(',').map(str::trim) {
                    match item {
                        "noise" => config.noise = true,
                        "spurious" => config.spurious = true,
                        "std-spurious" => config.std_spurious = true,
                        "lockdep" => config.lockdep = true,
                        "monitor" => config.monitor = true,
                        "" => {}
                        other => panic!(
                            "{CHAOS_VAR}: unknown feature {other:?} \
                             (use on, off, or a list of noise,spurious,std-spurious,lockdep,monitor)"
                        ),
                    }
                }
            }
        }
        if let Ok(tune) = std::env::var(TUNE_VAR) {
            for item in tune.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (key, value) = item
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{TUNE_VAR}: expected key=value, got {item:?}"));
                let value: u64 = value.trim().parse().unwrap_or_else(|_| {
                    panic!("{TUNE_VAR}: {key} must be an unsigned integer, got {value:?}")
                });
                match key.trim() {
                    "yield" => config.yield_one_in = value,
                    "sleep" => config.sleep_one_in = value,
                    "sleep_us" => config.sleep_max_us = value,
                    "stall" => config.stall_one_in = value,
                    "stall_us" => config.stall_max_us = value,
                    "decay" => config.decay = value.max(1),
                    "budget_ms" => config.sleep_budget = Duration::from_millis(value),
                    "spurious" => config.spurious_one_in = value,
                    "spurious_us" => config.spurious_max_us = value,
                    "std_spurious_max" => config.std_spurious_max = value,
                    "std_spurious_us" => config.std_spurious_max_us = value,
                    "hang_ms" => config.hang_after = Duration::from_millis(value),
                    "wait_stall" => config.wait_stall_one_in = value,
                    "wait_stall_us" => config.wait_stall_us = value,
                    other => panic!("{TUNE_VAR}: unknown key {other:?}"),
                }
            }
        }
        config.seed = match std::env::var(SEED_VAR) {
            Ok(text) => text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{SEED_VAR} must be an unsigned integer, got {text:?}")),
            Err(_) => fresh_seed(),
        };
        config
    }

    /// Whether any bookkeeping at all is needed.
    pub fn any(&self) -> bool {
        self.noise || self.spurious || self.std_spurious || self.lockdep || self.monitor
    }
}

/// A seed that differs from run to run, without a dependency.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

pub(crate) fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(Config::from_env)
}

/// The seed the noise generators of this process were derived from.
pub fn seed() -> u64 {
    config().seed
}
