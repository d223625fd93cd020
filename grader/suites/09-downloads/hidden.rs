//! Hidden suite for exercise 09: the pool behind `download_all`.
//!
//! No network: every test hands `download_all` a fake `fetch` that records
//! what the pool did with it: how many calls ran at once (a `Meter`, plus a
//! rendezvous that proves the pool reaches its full width), on which threads,
//! how often each URL was fetched, and in what order results came back.

use exercise_09::download_all;
use harness::{LIMIT, Meter, check, measure};
use parking_lot::{Condvar, Mutex};
use rand::RngExt;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `count` distinct URLs, each naming its index.
fn make_urls(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("http://example.test/{i}"))
        .collect()
}

fn as_strs(urls: &[String]) -> Vec<&str> {
    urls.iter().map(String::as_str).collect()
}

/// The body a fake fetch returns for `url`.
fn body(url: &str) -> Vec<u8> {
    format!("body of {url}").into_bytes()
}

/// A rendezvous for the first `width` fetches: each waits until `width`
/// fetches have arrived (or a shared deadline passes), so a pool of `width`
/// workers is proven to run `width` fetches at the same moment.
struct Rendezvous {
    width: usize,
    arrived: Mutex<usize>,
    all_here: Condvar,
    deadline: Instant,
}

impl Rendezvous {
    fn new(width: usize) -> Rendezvous {
        Rendezvous {
            width,
            arrived: Mutex::new(0),
            all_here: Condvar::new(),
            deadline: Instant::now() + harness::scaled(Duration::from_secs(3)),
        }
    }

    fn arrive(&self) {
        let mut arrived = self.arrived.lock();
        *arrived += 1;
        if *arrived == self.width {
            self.all_here.notify_all();
        }
        while *arrived < self.width {
            if self
                .all_here
                .wait_until(&mut arrived, self.deadline)
                .timed_out()
            {
                return;
            }
        }
    }
}

/// With more URLs than workers, exactly `max_workers` fetches run at once:
/// never more, and the pool does reach that width (a rendezvous of
/// `max_workers` fetches completes). Catches a thread per URL, and a worker
/// that holds the queue's lock while it fetches (which makes the pool serial).
#[test]
fn runs_exactly_max_workers_fetches_at_once_when_there_is_more_work() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let workers = rng.random_range(2..7);
        let urls = make_urls(workers * rng.random_range(3..6) + rng.random_range(0..workers));
        let meter = Meter::new();
        let rendezvous = Rendezvous::new(workers);
        let delays: Vec<u64> = (0..urls.len()).map(|_| rng.random_range(0..4)).collect();
        let results = download_all(&as_strs(&urls), workers, |url| {
            let _inside = meter.enter();
            rendezvous.arrive();
            let i: usize = url.rsplit('/').next().unwrap().parse().unwrap();
            thread::sleep(ms(delays[i]));
            Ok(body(url))
        });
        assert_eq!(results.len(), urls.len());
        assert_eq!(
            meter.max(),
            workers,
            "most fetches at once with max_workers = {workers} and {} URLs",
            urls.len()
        );
    });
}

/// With fewer URLs than workers, every URL is fetched at the same time.
#[test]
fn fetches_every_url_at_once_when_workers_outnumber_urls() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let count = rng.random_range(2..6);
        let workers = count + rng.random_range(1..4);
        let urls = make_urls(count);
        let meter = Meter::new();
        let rendezvous = Rendezvous::new(count);
        download_all(&as_strs(&urls), workers, |url| {
            let _inside = meter.enter();
            rendezvous.arrive();
            Ok(body(url))
        });
        assert_eq!(
            meter.max(),
            count,
            "{count} URLs with max_workers = {workers} must all be fetched at once"
        );
    });
}

/// Stress with small random delays and many sizes: the number of fetches at
/// once never exceeds `max_workers` (including 1: strictly one at a time).
#[test]
fn never_runs_more_than_max_workers_fetches_at_once() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..6 {
            let workers = rng.random_range(1..6);
            let urls = make_urls(rng.random_range(10..40));
            let delays: Vec<u64> = (0..urls.len()).map(|_| rng.random_range(0..3)).collect();
            let meter = Meter::new();
            download_all(&as_strs(&urls), workers, |url| {
                let _inside = meter.enter();
                let i: usize = url.rsplit('/').next().unwrap().parse().unwrap();
                thread::sleep(ms(delays[i]));
                Ok(body(url))
            });
            assert!(
                meter.max() <= workers,
                "{} fetches ran at once with max_workers = {workers}",
                meter.max()
            );
        }
    });
}

/// The fetches run on at most `max_workers` distinct threads, however many
/// URLs there are: a pool, not a thread per URL.
#[test]
fn uses_a_pool_of_at_most_max_workers_threads() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let workers = rng.random_range(1..5);
        let urls = make_urls(rng.random_range(30..60));
        let threads = Mutex::new(HashSet::new());
        download_all(&as_strs(&urls), workers, |url| {
            threads.lock().insert(thread::current().id());
            thread::sleep(Duration::from_micros(500));
            Ok(body(url))
        });
        let used = threads.lock().len();
        assert!(
            used <= workers,
            "{} URLs were fetched on {used} different threads with max_workers = {workers}",
            urls.len()
        );
    });
}

/// Every entry is fetched exactly once, duplicates included (a URL listed
/// three times is fetched three times), and each result matches its entry.
/// Catches URLs taken twice or skipped (a check-then-take race on the queue)
/// and de-duplicated fetching.
#[test]
fn fetches_every_entry_exactly_once_duplicates_included() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        for _ in 0..5 {
            let distinct = make_urls(rng.random_range(3..10));
            let count = rng.random_range(20..60);
            let urls: Vec<String> = (0..count)
                .map(|_| distinct[rng.random_range(0..distinct.len())].clone())
                .collect();
            let workers = rng.random_range(1..6);
            let calls = Mutex::new(HashMap::<String, usize>::new());
            let results = download_all(&as_strs(&urls), workers, |url| {
                *calls.lock().entry(url.to_string()).or_default() += 1;
                thread::yield_now();
                Ok(body(url))
            });
            let mut expected = HashMap::<String, usize>::new();
            for url in &urls {
                *expected.entry(url.clone()).or_default() += 1;
            }
            assert_eq!(
                calls.into_inner(),
                expected,
                "fetch calls per URL (a URL listed k times is fetched k times)"
            );
            let wanted: Vec<Result<Vec<u8>, String>> = urls.iter().map(|u| Ok(body(u))).collect();
            assert_eq!(results, wanted, "results, in input order");
        }
    });
}

/// Many workers hammering the queue with instant fetches: still no entry is
/// fetched twice or skipped. Catches taking the next URL in two steps (read
/// the next index, then write it back), which lets two workers take the same
/// entry.
#[test]
fn no_entry_is_taken_twice_when_workers_race_for_the_queue() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        // 150 rounds, or 2 s, whichever ends first (a thread per URL is slow).
        let budget = Instant::now() + Duration::from_secs(2);
        for _ in 0..150 {
            if Instant::now() > budget {
                break;
            }
            let workers = rng.random_range(4..9);
            // Bare numbers: the cheaper each fetch, the harder the queue is hit.
            let urls: Vec<String> = (0..rng.random_range(500..1500))
                .map(|i| i.to_string())
                .collect();
            let calls: Vec<AtomicUsize> = urls.iter().map(|_| AtomicUsize::new(0)).collect();
            download_all(&as_strs(&urls), workers, |url| {
                let i: usize = url.parse().unwrap();
                calls[i].fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            });
            for (i, count) in calls.iter().enumerate() {
                let count = count.load(Ordering::SeqCst);
                assert_eq!(count, 1, "entry {i} was fetched {count} times");
            }
        }
    });
}

/// Results come back in input order whatever order the fetches finish in
/// (random delays, errors mixed in). Catches results pushed in completion
/// order.
#[test]
fn returns_results_in_input_order_whatever_the_finishing_order() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let urls = make_urls(rng.random_range(12..30));
        let delays: Vec<u64> = (0..urls.len()).map(|_| rng.random_range(0..25)).collect();
        let failing: Vec<bool> = (0..urls.len()).map(|_| rng.random_bool(0.25)).collect();
        let workers = rng.random_range(2..6);
        let results = download_all(&as_strs(&urls), workers, |url| {
            let i: usize = url.rsplit('/').next().unwrap().parse().unwrap();
            thread::sleep(ms(delays[i]));
            if failing[i] {
                Err(format!("{url}: connection reset"))
            } else {
                Ok(body(url))
            }
        });
        let expected: Vec<Result<Vec<u8>, String>> = urls
            .iter()
            .zip(&failing)
            .map(|(url, &fails)| {
                if fails {
                    Err(format!("{url}: connection reset"))
                } else {
                    Ok(body(url))
                }
            })
            .collect();
        assert_eq!(results, expected);
    });
}

/// A failing fetch stops nothing: even with a single worker and most URLs
/// failing, every URL is still fetched and keeps its own result.
#[test]
fn a_failing_fetch_stops_nothing() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let urls = make_urls(rng.random_range(8..20));
        let calls = Mutex::new(0usize);
        let results = download_all(&as_strs(&urls), 1, |url| {
            *calls.lock() += 1;
            let i: usize = url.rsplit('/').next().unwrap().parse().unwrap();
            if i % 3 == 2 {
                Ok(body(url))
            } else {
                Err(format!("{url}: HTTP 503"))
            }
        });
        assert_eq!(*calls.lock(), urls.len(), "every URL must be fetched");
        for (i, (url, result)) in urls.iter().zip(&results).enumerate() {
            if i % 3 == 2 {
                assert_eq!(result, &Ok(body(url)));
            } else {
                assert_eq!(result, &Err(format!("{url}: HTTP 503")));
            }
        }
    });
}

/// A panic inside `fetch` becomes that URL's `Err` containing the panic's
/// message; the worker goes on, every other URL is fetched, and no more than
/// `max_workers` threads are used. Catches an uncaught panic (which kills a
/// worker, or the whole call).
#[test]
fn a_panicking_fetch_becomes_an_error_with_its_message() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let token = rng.random_range(0..1_000_000u32);
        let urls = make_urls(rng.random_range(8..16));
        let panicking: Vec<bool> = (0..urls.len())
            .map(|i| i == 1 || rng.random_bool(0.3))
            .collect();
        let workers = rng.random_range(1..4);
        let threads = Mutex::new(HashSet::new());
        let calls = Mutex::new(0usize);
        let results = catch_unwind(AssertUnwindSafe(|| {
            download_all(&as_strs(&urls), workers, |url| {
                threads.lock().insert(thread::current().id());
                *calls.lock() += 1;
                let i: usize = url.rsplit('/').next().unwrap().parse().unwrap();
                if panicking[i] {
                    panic!("fetch {i} blew up ({token})");
                }
                Ok(body(url))
            })
        }))
        .expect("a panic inside fetch must not escape download_all");
        assert_eq!(*calls.lock(), urls.len(), "every URL must be fetched once");
        assert!(
            threads.lock().len() <= workers,
            "more threads than max_workers"
        );
        for (i, (url, result)) in urls.iter().zip(&results).enumerate() {
            if panicking[i] {
                let wanted = format!("fetch {i} blew up ({token})");
                assert!(
                    matches!(result, Err(text) if text.contains(&wanted)),
                    "result {i} should be an Err containing {wanted:?}, got {result:?}"
                );
            } else {
                assert_eq!(result, &Ok(body(url)));
            }
        }
    });
}

/// Workers pull from one shared queue: while one worker is stuck on a slow
/// first URL, the others fetch every remaining URL. Catches splitting the
/// URLs among the workers in advance (chunks or round robin).
#[test]
fn a_slow_download_does_not_hold_up_the_others() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let workers = rng.random_range(2..5);
        let urls = make_urls(workers * rng.random_range(3..6));
        let others = urls.len() - 1;
        let fetched = Mutex::new(0usize);
        let all_fetched = Condvar::new();
        let deadline = Instant::now() + harness::scaled(Duration::from_secs(3));
        let started = Instant::now();
        let freed_in_time = AtomicBool::new(true);
        download_all(&as_strs(&urls), workers, |url| {
            if url.ends_with("/0") {
                // The slow download: done only once all the others are.
                let mut done = fetched.lock();
                while *done < others {
                    if all_fetched.wait_until(&mut done, deadline).timed_out() {
                        freed_in_time.store(false, Ordering::SeqCst);
                        break;
                    }
                }
            } else {
                thread::sleep(ms(1));
                let mut done = fetched.lock();
                *done += 1;
                if *done == others {
                    all_fetched.notify_all();
                }
            }
            Ok(body(url))
        });
        assert!(
            freed_in_time.load(Ordering::SeqCst),
            "after {:?}, only {} of the other {others} URLs were fetched while the first one \
             was slow, with {workers} workers",
            started.elapsed(),
            *fetched.lock()
        );
    });
}

/// The caller sleeps while the pool works: blocked for 600 ms on slow
/// fetches, `download_all`'s thread uses almost no CPU and is rarely even
/// runnable (`Cost::busy_waited`). Catches a caller that polls a counter of
/// finished downloads in a loop, also on a loaded machine.
#[test]
fn waiting_for_the_pool_uses_no_cpu() {
    check(LIMIT, || {
        let urls = make_urls(6);
        let (results, cost) = measure(|| {
            download_all(&as_strs(&urls), 2, |url| {
                thread::sleep(ms(200));
                Ok(body(url))
            })
        });
        assert_eq!(results.len(), 6);
        assert!(
            cost.wall >= ms(580),
            "6 fetches of 200 ms on 2 workers took only {:?}",
            cost.wall
        );
        assert!(
            !cost.busy_waited(ms(20)),
            "the caller cost {cost} while it waited (busy-waiting?)"
        );
    });
}

/// No URLs: no fetch, no result, at once (whatever `max_workers` is).
#[test]
fn no_urls_means_no_fetch_and_no_result() {
    check(LIMIT, || {
        let mut rng = harness::rng();
        let calls = Mutex::new(0usize);
        let results = download_all(&[], rng.random_range(1..9), |_| {
            *calls.lock() += 1;
            Ok(Vec::new())
        });
        assert!(results.is_empty());
        assert_eq!(*calls.lock(), 0);
    });
}

/// `max_workers == 0` is refused with a panic (Python's `ValueError`), before
/// anything is fetched, while `max_workers == 1` works.
#[test]
fn zero_workers_is_refused_with_a_panic() {
    check(LIMIT, || {
        let calls = Mutex::new(0usize);
        let urls = make_urls(3);
        let fetch = |url: &str| {
            *calls.lock() += 1;
            Ok(body(url))
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| download_all(&as_strs(&urls), 0, fetch)));
        assert!(
            outcome.is_err(),
            "download_all must panic when max_workers is 0"
        );
        assert_eq!(
            *calls.lock(),
            0,
            "nothing may be fetched when max_workers is 0"
        );
        let results = download_all(&as_strs(&urls), 1, fetch);
        let wanted: Vec<Result<Vec<u8>, String>> = urls.iter().map(|u| Ok(body(u))).collect();
        assert_eq!(results, wanted, "max_workers = 1 is a pool of one worker");
    });
}
