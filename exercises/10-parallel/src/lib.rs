//! Exercise 10, CPU-bound work in parallel: no GIL, so threads really share
//! the cores.
//!
//! Read `README.md` in this folder first: it explains why Python reaches for
//! `multiprocessing` for CPU-bound work, why Rust threads need no such detour,
//! what to build, and the pitfalls the hidden tests catch.
//!
//! Replace every `todo!()` below. You may add private items freely; keep the
//! public API as it is. Every function panics when `threads == 0` (like
//! Python's `Pool(0)`, which raises `ValueError`).

/// The sum of `values`, computed by `min(threads, values.len())` threads,
/// each adding up one contiguous part (an empty slice sums to 0 with no
/// thread started).
///
/// The total must fit in a `u64`, as with `values.iter().sum()`.
///
/// # Panics
///
/// If `threads == 0`.
pub fn parallel_sum(values: &[u64], threads: usize) -> u64 {
    todo!(
        "parallel_sum: add up {} values on {threads} threads, one contiguous part each",
        values.len()
    )
}

/// `items.iter().map(f).collect()`, computed in parallel: the items are
/// split over exactly `min(threads, items.len())` threads, all running at
/// the same time, each given `⌊n / threads⌋` or `⌈n / threads⌉` of the `n`
/// items (so with fewer items than threads, every item gets its own thread,
/// and an empty slice starts no thread). `f` is called once per item; the
/// result keeps the input order.
///
/// # Panics
///
/// If `threads == 0`; and if `f` panics (after every thread has finished).
pub fn parallel_map<T, U, F>(items: &[T], threads: usize, f: F) -> Vec<U>
where
    T: Sync,
    U: Send,
    F: Fn(&T) -> U + Sync,
{
    let _ = f;
    todo!(
        "parallel_map: split {} items over {threads} threads running at once, results in input order",
        items.len()
    )
}

/// `items.iter().map(f).collect()` with dynamic chunking, like Python's
/// `Pool(threads).map(f, items, chunksize=chunk_size)`.
///
/// The items are cut into chunks of `chunk_size` consecutive items (the last
/// may be shorter). `min(threads, number of chunks)` threads run at the same
/// time; each repeatedly claims the next chunk nobody has claimed yet and
/// calls `f` on its items, in order, until no chunk is left. A thread that
/// drew cheap chunks therefore takes more of them, and one slow item holds up
/// only the rest of its own chunk. `f` is called once per item; the result
/// keeps the input order.
///
/// # Panics
///
/// If `threads == 0` or `chunk_size == 0`; and if `f` panics (after every
/// thread has finished).
pub fn pool_map<T, U, F>(items: &[T], threads: usize, chunk_size: usize, f: F) -> Vec<U>
where
    T: Sync,
    U: Send,
    F: Fn(&T) -> U + Sync,
{
    let _ = f;
    todo!(
        "pool_map: {threads} threads claim chunks of {chunk_size} of the {} items one by one, results in input order",
        items.len()
    )
}

/// The number of primes `p` with `p <= limit`, counted by up to `threads` threads
/// that claim blocks of numbers dynamically (a thread that finishes a block
/// takes the next unclaimed one), so the dearer blocks near `limit` do not
/// all land on one thread.
///
/// # Panics
///
/// If `threads == 0`.
pub fn count_primes(limit: u64, threads: usize) -> u64 {
    todo!(
        "count_primes: count the primes <= {limit} on {threads} threads that claim blocks of numbers dynamically"
    )
}
