//! Visible tests for exercise 09: `download_all` with fake downloads and with
//! real HTTP from a local server. The hidden tests go further (the exact
//! number of workers, stress, panics, slow downloads).

use exercise_09::{download_all, http_get, serve};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

#[path = "../../within.rs"]
mod within;
use within::{eventually, within};

#[test]
fn results_come_back_in_input_order() {
    let results = within(Duration::from_secs(2), || {
        let urls = ["a", "bb", "ccc", "dddd", "eeeee"];
        // Later URLs finish first.
        download_all(&urls, 3, |url| {
            thread::sleep(Duration::from_millis(60 - 10 * url.len() as u64));
            Ok(url.as_bytes().to_vec())
        })
    });
    let expected: Vec<Result<Vec<u8>, String>> = ["a", "bb", "ccc", "dddd", "eeeee"]
        .iter()
        .map(|url| Ok(url.as_bytes().to_vec()))
        .collect();
    assert_eq!(results, expected);
}

#[test]
fn every_url_is_fetched_exactly_once() {
    let calls = within(Duration::from_secs(2), || {
        let urls: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        let calls = Mutex::new(Vec::new());
        download_all(&urls, 4, |url| {
            calls.lock().push(url.to_string());
            Ok(Vec::new())
        });
        let mut calls = calls.into_inner();
        calls.sort();
        calls
    });
    let mut expected: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
    expected.sort();
    assert_eq!(calls, expected);
}

#[test]
fn never_more_than_max_workers_at_once() {
    let most = within(Duration::from_secs(5), || {
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let calls = AtomicUsize::new(0);
        let urls = ["u"; 12];
        download_all(&urls, 3, |_| {
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // The first download waits (up to 2 s) for a second one to start,
            // so a real pool always shows the overlap, however busy the machine.
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                eventually(Duration::from_secs(2), || most.load(Ordering::SeqCst) >= 2);
            }
            thread::sleep(Duration::from_millis(20));
            inside.fetch_sub(1, Ordering::SeqCst);
            Ok(Vec::new())
        });
        most.load(Ordering::SeqCst)
    });
    assert!(
        most <= 3,
        "{most} downloads ran at once with max_workers = 3"
    );
    assert!(
        most >= 2,
        "the downloads never overlapped: there is no pool"
    );
}

#[test]
fn a_failed_download_does_not_stop_the_others() {
    let results = within(Duration::from_secs(2), || {
        download_all(&["ok1", "bad", "ok2"], 2, |url| {
            if url == "bad" {
                Err(format!("{url}: refused"))
            } else {
                Ok(url.as_bytes().to_vec())
            }
        })
    });
    assert_eq!(
        results,
        vec![
            Ok(b"ok1".to_vec()),
            Err("bad: refused".to_string()),
            Ok(b"ok2".to_vec()),
        ]
    );
}

#[test]
fn no_urls_means_no_results() {
    let results = within(Duration::from_secs(2), || {
        download_all(&[], 4, |url| {
            panic!("nothing to fetch, yet fetch({url}) was called")
        })
    });
    assert!(results.is_empty());
}

#[test]
fn zero_workers_is_refused_but_one_worker_is_fine() {
    let (refused, one_worker) = within(Duration::from_secs(2), || {
        let refused =
            std::panic::catch_unwind(|| download_all(&["u"], 0, |_| Ok(Vec::new()))).is_err();
        let one_worker = download_all(&["u", "v"], 1, |url| Ok(url.as_bytes().to_vec()));
        (refused, one_worker)
    });
    assert!(refused, "download_all must panic when max_workers is 0");
    assert_eq!(one_worker, vec![Ok(b"u".to_vec()), Ok(b"v".to_vec())]);
}

#[test]
fn downloads_real_pages_concurrently_over_http() {
    let (results, elapsed) = within(Duration::from_secs(5), || {
        let pages: Vec<(String, String)> = (1..=6)
            .map(|i| (format!("/url{i}"), format!("page {i}")))
            .collect();
        let pages: Vec<(&str, &str)> = pages
            .iter()
            .map(|(path, body)| (path.as_str(), body.as_str()))
            .collect();
        let mut paths: Vec<&str> = pages.iter().map(|&(path, _)| path).collect();
        paths.push("/missing");
        // Every response is sent 400 ms after its request arrives.
        let server = serve(&pages, Duration::from_millis(400));
        let urls: Vec<String> = paths.iter().map(|path| server.url(path)).collect();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        let start = Instant::now();
        let results = download_all(&urls, 4, http_get);
        (results, start.elapsed())
    });
    for (i, result) in results.iter().take(6).enumerate() {
        assert_eq!(result, &Ok(format!("page {}", i + 1).into_bytes()));
    }
    assert!(
        matches!(&results[6], Err(text) if text.contains("404")),
        "a missing page is an error: {:?}",
        results[6]
    );
    // 7 downloads of 400 ms each: one after another they take at least 2.8 s;
    // four at a time, about 0.8 s. The bound leaves a loaded machine 1.9 s.
    assert!(
        elapsed < Duration::from_millis(2700),
        "7 downloads on 4 workers took {elapsed:?}: they did not overlap"
    );
}

// Probes of the lesson's classic bugs (its "Pitfalls" section): light
// versions of what the hidden tests check in depth.

/// What a thread spent: CPU time and context switches. A thread that blocks
/// spends almost nothing; one that polls burns CPU on an idle machine and
/// keeps switching on a busy one (each `yield_now` or short sleep), where a
/// blocked thread switches once or twice.
#[derive(Debug, Clone, Copy)]
struct Effort {
    cpu: Duration,
    switches: u64,
}

impl Effort {
    /// Whether this is what a blocked thread spends, not a polling one.
    fn is_asleep(self) -> bool {
        self.cpu < Duration::from_millis(20) && self.switches < 25
    }
}

impl std::ops::Sub for Effort {
    type Output = Effort;
    fn sub(self, earlier: Effort) -> Effort {
        Effort {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            switches: self.switches.saturating_sub(earlier.switches),
        }
    }
}

/// The calling thread's effort so far, where Linux tells it
/// (`/proc/thread-self`); `None` elsewhere.
fn thread_cpu_time() -> Option<Effort> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let cpu = Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?);
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let switches = status
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Some(Effort { cpu, switches })
}

#[test]
fn exactly_max_workers_download_at_once() {
    let most = within(Duration::from_secs(5), || {
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let urls = ["u"; 9];
        download_all(&urls, 3, |_| {
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Wait (up to 2 s) until three downloads overlap: a pool whose
            // workers fetch one at a time (the queue's lock held while
            // fetching) never gets there.
            eventually(Duration::from_secs(2), || most.load(Ordering::SeqCst) >= 3);
            inside.fetch_sub(1, Ordering::SeqCst);
            Ok(Vec::new())
        });
        most.load(Ordering::SeqCst)
    });
    assert_eq!(
        most, 3,
        "with max_workers = 3, three downloads must run at once"
    );
}

#[test]
fn a_panicking_download_becomes_its_error_and_the_others_go_on() {
    let results = within(Duration::from_secs(3), || {
        download_all(&["ok", "boom", "fine"], 2, |url| {
            if url == "boom" {
                panic!("connection reset");
            }
            Ok(url.as_bytes().to_vec())
        })
    });
    assert_eq!(results[0], Ok(b"ok".to_vec()));
    assert_eq!(results[2], Ok(b"fine".to_vec()));
    match &results[1] {
        Err(message) => assert!(
            message.contains("connection reset"),
            "the error must carry the panic's message, got {message:?}"
        ),
        Ok(_) => panic!("a panicking fetch must give an Err"),
    }
}

#[test]
fn one_slow_download_holds_up_nothing_else() {
    // The worker stuck on the slow URL must not own the URLs after it: the
    // free worker takes every next URL from the shared queue.
    let fetched_with_slow = within(Duration::from_secs(5), || {
        let who = Mutex::new(Vec::new());
        let others_done = AtomicUsize::new(0);
        let urls = ["slow", "a", "b", "c", "d", "e"];
        download_all(&urls, 2, |url| {
            who.lock().push((thread::current().id(), url.to_string()));
            if url == "slow" {
                // Slow until the five others are fetched (or 3 s passed).
                eventually(Duration::from_secs(3), || {
                    others_done.load(Ordering::SeqCst) >= 5
                });
            } else {
                thread::sleep(Duration::from_millis(5));
                others_done.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Vec::new())
        });
        let who = who.into_inner();
        let slow_thread = who.iter().find(|(_, url)| url == "slow").map(|(id, _)| *id);
        who.iter()
            .filter(|(id, url)| Some(*id) == slow_thread && url != "slow")
            .map(|(_, url)| url.clone())
            .collect::<Vec<_>>()
    });
    assert!(
        fetched_with_slow.is_empty(),
        "the worker busy with the slow URL also fetched {fetched_with_slow:?}, which the free worker should have taken"
    );
}

#[test]
fn under_contention_every_url_is_taken_exactly_once() {
    let counts = within(Duration::from_secs(5), || {
        let urls: Vec<String> = (0..3_000).map(|i| i.to_string()).collect();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        let counts: Vec<AtomicUsize> = (0..urls.len()).map(|_| AtomicUsize::new(0)).collect();
        download_all(&urls, 4, |url| {
            counts[url.parse::<usize>().unwrap()].fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        });
        counts
            .into_iter()
            .map(AtomicUsize::into_inner)
            .collect::<Vec<_>>()
    });
    let wrong: Vec<_> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != 1)
        .take(5)
        .collect();
    assert!(
        wrong.is_empty(),
        "URLs fetched other than once (index, times): {wrong:?}"
    );
}

#[test]
fn the_caller_sleeps_while_the_workers_download() {
    let used = within(Duration::from_secs(3), || {
        let before = thread_cpu_time();
        download_all(&["a", "b"], 2, |_| {
            thread::sleep(Duration::from_millis(300));
            Ok(Vec::new())
        });
        thread_cpu_time()
            .zip(before)
            .map(|(after, before)| after - before)
    });
    if let Some(used) = used {
        assert!(
            used.is_asleep(),
            "the calling thread spent {used:?} while downloads ran 300 ms: it must block, not poll"
        );
    }
}
