//! A PCT-style schedule, for measurement (`INTERLEAVE_CHAOS_TUNE=pct=D`; off
//! by default). PCT (Burckhardt et al.) runs only the highest-priority thread
//! and lowers the running thread's priority at `D - 1` random steps. The
//! stand-in does not decide who runs, so it approximates that: each thread
//! draws a priority when it first reaches a noise point; at a noise point, a
//! thread that sees a live, unblocked thread of higher priority naps
//! `pct_us` (from the same sleep budget as the other noise); and at the
//! `j`-th change point (a global count of noise points, drawn from the seed
//! in `1..=pct_span`) the thread that reaches it drops below every initial
//! priority.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::config;
use crate::threads::{Shared, THREADS};

/// Noise points reached by all threads so far.
static STEPS: AtomicU64 = AtomicU64::new(0);

/// The priority a new thread starts with: above every demoted one (`0..D`).
pub(crate) fn initial(random: u64) -> u64 {
    config().pct_depth + random % (1 << 32)
}

/// Counts one step of `me`; demotes it at a change point. Returns whether
/// another runnable thread has a higher priority, so `me` should give way.
pub(crate) fn step(me: &Shared) -> bool {
    let config = config();
    let step = STEPS.fetch_add(1, Ordering::Relaxed) + 1;
    for j in 1..config.pct_depth {
        if change_point(config.seed, j, config.pct_span) == step {
            me.priority.store(config.pct_depth - j, Ordering::Relaxed);
        }
    }
    let mine = me.priority.load(Ordering::Relaxed);
    THREADS
        .lock()
        .iter()
        .filter_map(|t| t.upgrade())
        .any(|other| {
            other.serial != me.serial
                && other.priority.load(Ordering::Relaxed) > mine
                && other.waiting.lock().is_none()
        })
}

/// The step at which the `j`-th priority change happens.
fn change_point(seed: u64, j: u64, span: u64) -> u64 {
    let mut z = seed ^ j.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z = (z ^ (z >> 33)).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    1 + (z ^ (z >> 33)) % span.max(1)
}
