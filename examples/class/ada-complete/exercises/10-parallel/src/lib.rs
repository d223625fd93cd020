//! Exercise 10, CPU-bound work in parallel: reference solution.
//!
//! The lesson is in `exercises/10-parallel/README.md`.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;

/// Panics with the message every function here uses for `threads == 0`.
fn require_threads(threads: usize) {
    assert!(threads >= 1, "threads must be at least 1, got {threads}");
}

/// Splits `0..len` into `parts` contiguous runs whose lengths differ by at
/// most one: the first `len % parts` runs get one item more. No parts, no runs.
fn split(len: usize, parts: usize) -> Vec<Range<usize>> {
    if parts == 0 {
        return Vec::new();
    }
    let (base, extra) = (len / parts, len % parts);
    let mut runs = Vec::with_capacity(parts);
    let mut start = 0;
    for part in 0..parts {
        let end = start + base + usize::from(part < extra);
        runs.push(start..end);
        start = end;
    }
    runs
}

/// Joins a scoped thread, passing its panic (if any) on to the caller.
fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

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
    require_threads(threads);
    let parts = threads.min(values.len());
    thread::scope(|scope| {
        let handles: Vec<_> = split(values.len(), parts)
            .into_iter()
            .map(|run| {
                let part = &values[run];
                scope.spawn(move || part.iter().sum::<u64>())
            })
            .collect();
        handles.into_iter().map(join).sum()
    })
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
    require_threads(threads);
    let parts = threads.min(items.len());
    let f = &f;
    thread::scope(|scope| {
        let handles: Vec<_> = split(items.len(), parts)
            .into_iter()
            .map(|run| {
                let part = &items[run];
                scope.spawn(move || part.iter().map(f).collect::<Vec<U>>())
            })
            .collect();
        // Joining in the order the parts were made puts the results in input
        // order, whichever thread finishes first.
        let mut results = Vec::with_capacity(items.len());
        for handle in handles {
            results.extend(join(handle));
        }
        results
    })
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
    require_threads(threads);
    assert!(
        chunk_size >= 1,
        "chunk_size must be at least 1, got {chunk_size}"
    );
    let chunks = items.len().div_ceil(chunk_size);
    // The index of the next chunk nobody has claimed. `fetch_add` hands every
    // index to exactly one thread; indices past the end mean "no work left".
    let next = AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(chunks))
            .map(|_| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let chunk = next.fetch_add(1, Ordering::Relaxed);
                        if chunk >= chunks {
                            return done;
                        }
                        let start = chunk * chunk_size;
                        let end = (start + chunk_size).min(items.len());
                        done.push((chunk, items[start..end].iter().map(f).collect::<Vec<U>>()));
                    }
                })
            })
            .collect();
        // Put every chunk's results back in its place.
        let mut slots: Vec<Option<Vec<U>>> = (0..chunks).map(|_| None).collect();
        for handle in handles {
            for (chunk, results) in join(handle) {
                slots[chunk] = Some(results);
            }
        }
        slots.into_iter().flatten().flatten().collect()
    })
}

/// How many numbers each claim in [`count_primes`] covers.
const BLOCK: u64 = 2048;

/// Whether `n` is prime, by trial division: cheap for small `n`, dearer as
/// `n` grows, which is what makes equal-sized ranges uneven work.
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut divisor = 3;
    while divisor * divisor <= n {
        if n.is_multiple_of(divisor) {
            return false;
        }
        divisor += 2;
    }
    true
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
    require_threads(threads);
    // Blocks cover 0..=limit; block b is b*BLOCK ..= min((b+1)*BLOCK - 1, limit).
    let blocks = limit / BLOCK + 1;
    // The next unclaimed block, shared by all the threads.
    let next = AtomicU64::new(0);
    let next = &next;
    let workers = usize::try_from(blocks).map_or(threads, |b| threads.min(b));
    thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(move || {
                    let mut found = 0;
                    loop {
                        let block = next.fetch_add(1, Ordering::Relaxed);
                        if block >= blocks {
                            return found;
                        }
                        let start = block * BLOCK;
                        let end = (start + BLOCK - 1).min(limit);
                        found += (start..=end).filter(|&n| is_prime(n)).count() as u64;
                    }
                })
            })
            .collect();
        handles.into_iter().map(join).sum()
    })
}
