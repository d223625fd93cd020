//! Hidden suite for exercise 07: `Barrier`, a reusable barrier with an
//! action, timeouts, abort and reset (CPython's `threading.Barrier`).
//!
//! Beyond the visible tests it checks: many generations in a row with a
//! random number of parties (every party released together, distinct
//! indices, no party overtaking into the next generation), the action
//! running exactly once per generation before anyone leaves, `n_waiting`,
//! abort and reset while parties wait, timeouts breaking the barrier for
//! everyone, a panicking action, and waiting without busy-waiting.

use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use exercise_07::{Barrier, BrokenBarrier};
use rand::RngExt;

/// Watchdog limit of every test; a correct run takes well under a second.
use harness::{LIMIT, join_all_within};

/// How long a thread that should finish soon may take on a busy machine.
const PROMPTLY: Duration = Duration::from_secs(4);

/// Threads blocked at once in a busy-wait check.
const SLEEPERS: usize = 4;
/// The most CPU time [`SLEEPERS`] threads blocked for 300 ms may use between
/// them (correct code uses under 1 ms; yielding spinners on a busy machine,
/// over 60 ms).
const SLEEPERS_CPU: Duration = Duration::from_millis(20);

/// Starts `count` threads that each call `f(&barrier)` once.
fn spawn_parties<T: Send + 'static>(
    barrier: &Arc<Barrier>,
    count: usize,
    f: impl Fn(&Barrier) -> T + Send + Sync + Clone + 'static,
) -> Vec<JoinHandle<T>> {
    (0..count)
        .map(|_| {
            let (barrier, f) = (Arc::clone(barrier), f.clone());
            thread::spawn(move || f(&barrier))
        })
        .collect()
}

/// Asserts that `indices` are exactly `0..parties` in some order.
fn assert_distinct_indices(mut indices: Vec<usize>, parties: usize, when: &str) {
    indices.sort_unstable();
    assert!(
        indices == (0..parties).collect::<Vec<_>>(),
        "{when}: the {parties} parties got indices {indices:?}; each must get a distinct \
         index in 0..{parties}"
    );
}

/// Runs one full generation of `parties` threads and checks they all pass
/// with distinct indices.
fn run_full_generation(barrier: &Arc<Barrier>, parties: usize, when: &str) {
    let results = join_all_within(
        spawn_parties(barrier, parties, |b| b.wait()),
        PROMPTLY,
        &format!("{when}: a full generation of parties was never released"),
    );
    let indices = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{when}: a party of a full generation got {e:?}")))
        .collect();
    assert_distinct_indices(indices, parties, when);
}

/// Waits until `n_waiting()` reports `expected` parties blocked.
fn wait_for_waiting(barrier: &Barrier, expected: usize) {
    assert!(
        harness::eventually(PROMPTLY, || barrier.n_waiting() == expected),
        "n_waiting() never reached {expected} (it is {}) although {expected} parties are \
         blocked in wait",
        barrier.n_waiting()
    );
}

/// Several barriers with a random number of parties each run many
/// generations in a row, with random delays and one party that never
/// pauses. In every generation all parties must have arrived before any
/// leaves, the action must have run exactly once per generation so far, and
/// the indices must be distinct. Catches a count that is never reset, a
/// fast party re-entering the generation that is still emptying (overtaking
/// into the next one), and an action that runs after the release.
#[test]
fn many_generations_release_all_parties_together_with_distinct_indices() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        for trial in 0..3 {
            let parties = rng.random_range(2..=6usize);
            let generations = rng.random_range(30..50usize);
            // Per generation: whether the action lingers 1 ms (widens the
            // window in which a party could leave too early).
            let linger: Arc<Vec<bool>> = Arc::new(
                (0..generations)
                    .map(|_| rng.random_range(0..4) == 0)
                    .collect(),
            );
            // Per party and generation: a pause before arriving (party 0 never pauses).
            let pauses: Vec<Vec<u64>> = (0..parties)
                .map(|p| {
                    (0..generations)
                        .map(|_| if p == 0 { 0 } else { rng.random_range(0..300) })
                        .collect()
                })
                .collect();
            println!("trial {trial}: {parties} parties, {generations} generations");

            let arrived: Arc<Vec<AtomicUsize>> =
                Arc::new((0..=generations).map(|_| AtomicUsize::new(0)).collect());
            let actions = Arc::new(AtomicUsize::new(0));
            let early_action = Arc::new(Mutex::new(None::<String>));
            let barrier = {
                let (arrived, actions, early_action, linger) = (
                    Arc::clone(&arrived),
                    Arc::clone(&actions),
                    Arc::clone(&early_action),
                    Arc::clone(&linger),
                );
                Arc::new(Barrier::with_action(parties, move || {
                    let generation = actions.load(Ordering::SeqCst);
                    let here = arrived[generation.min(generations)].load(Ordering::SeqCst);
                    if here != parties {
                        early_action.lock().unwrap().get_or_insert(format!(
                            "the action of generation {generation} ran when {here} of \
                             {parties} parties had arrived"
                        ));
                    }
                    if linger.get(generation).copied().unwrap_or(false) {
                        thread::sleep(Duration::from_millis(1));
                    }
                    actions.store(generation + 1, Ordering::SeqCst);
                }))
            };
            // The first failed check; the failing party then aborts the
            // barrier so that the others stop too and this message is the
            // one reported.
            let failure = Arc::new(Mutex::new(None::<String>));
            let handles: Vec<_> = pauses
                .into_iter()
                .map(|pauses| {
                    let (barrier, arrived, actions, failure) = (
                        Arc::clone(&barrier),
                        Arc::clone(&arrived),
                        Arc::clone(&actions),
                        Arc::clone(&failure),
                    );
                    thread::spawn(move || {
                        let fail = |message: String| {
                            failure.lock().unwrap().get_or_insert(message);
                            barrier.abort();
                        };
                        let mut indices = Vec::new();
                        for (generation, pause) in pauses.into_iter().enumerate() {
                            if pause > 0 {
                                thread::sleep(Duration::from_micros(pause));
                            }
                            arrived[generation].fetch_add(1, Ordering::SeqCst);
                            let index = match barrier.wait() {
                                Ok(index) => index,
                                Err(e) => {
                                    fail(format!("generation {generation}: wait returned {e:?}"));
                                    return indices;
                                }
                            };
                            let here = arrived[generation].load(Ordering::SeqCst);
                            if here != parties {
                                fail(format!(
                                    "generation {generation}: a party left when only {here} of \
                                     {parties} had arrived (the barrier let it through early)"
                                ));
                                return indices;
                            }
                            let runs = actions.load(Ordering::SeqCst);
                            if runs != generation + 1 {
                                fail(format!(
                                    "generation {generation}: a party left after the action had \
                                     run {runs} times; it must run exactly once per generation, \
                                     before anyone leaves"
                                ));
                                return indices;
                            }
                            indices.push(index);
                        }
                        indices
                    })
                })
                .collect();
            let finished = harness::eventually(PROMPTLY, || {
                failure.lock().unwrap().is_some() || handles.iter().all(|h| h.is_finished())
            });
            // A failed check explains more than the hang it may leave behind.
            if let Some(message) = failure.lock().unwrap().take() {
                panic!("{message}");
            }
            assert!(
                finished,
                "the parties never got through all generations (a generation that never \
                 released: is the arrival count reset for the next generation?)"
            );
            let per_party = join_all_within(handles, PROMPTLY, "joining the parties");
            if let Some(message) = early_action.lock().unwrap().take() {
                panic!("{message}");
            }
            for generation in 0..generations {
                let indices = per_party.iter().map(|p| p[generation]).collect();
                assert_distinct_indices(indices, parties, &format!("generation {generation}"));
            }
            assert!(!barrier.is_broken());
        }
    });
}

/// The action runs exactly once per generation, on the thread of one of
/// the parties, after all have arrived and before any leaves (it lingers
/// 5 ms to make an early release visible). Catches an action run by every
/// party, by a thread of its own, or after the others were released.
#[test]
fn the_action_runs_once_per_generation_on_a_party_before_anyone_leaves() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let parties = rng.random_range(2..=5usize);
        let generations = 12;
        let runs = Arc::new(AtomicUsize::new(0));
        let ran_on = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
        let barrier = {
            let (runs, ran_on) = (Arc::clone(&runs), Arc::clone(&ran_on));
            Arc::new(Barrier::with_action(parties, move || {
                ran_on.lock().unwrap().push(thread::current().id());
                thread::sleep(Duration::from_millis(5));
                runs.fetch_add(1, Ordering::SeqCst);
            }))
        };
        let handles: Vec<_> = (0..parties)
            .map(|_| {
                let (barrier, runs) = (Arc::clone(&barrier), Arc::clone(&runs));
                thread::spawn(move || {
                    for generation in 0..generations {
                        barrier.wait().expect("wait on a healthy barrier");
                        let seen = runs.load(Ordering::SeqCst);
                        assert_eq!(
                            seen,
                            generation + 1,
                            "after generation {generation} a party saw the action run {seen} \
                             times: it must run once per generation, before anyone leaves"
                        );
                    }
                    thread::current().id()
                })
            })
            .collect();
        let party_ids = join_all_within(handles, PROMPTLY, "the parties never finished");
        assert_eq!(runs.load(Ordering::SeqCst), generations);
        for id in ran_on.lock().unwrap().iter() {
            assert!(
                party_ids.contains(id),
                "the action ran on a thread that is not one of the parties"
            );
        }
    });
}

/// Parties arrive one at a time; `n_waiting()` must count exactly those
/// blocked, the last arrival releases them all, and the count returns to 0.
#[test]
fn n_waiting_counts_the_parties_blocked_in_wait() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let parties = rng.random_range(3..=6usize);
        let barrier = Arc::new(Barrier::new(parties));
        assert_eq!(barrier.parties(), parties);
        assert_eq!(barrier.n_waiting(), 0);
        let mut handles = Vec::new();
        for blocked in 1..parties {
            handles.extend(spawn_parties(&barrier, 1, |b| b.wait()));
            wait_for_waiting(&barrier, blocked);
        }
        thread::sleep(Duration::from_millis(20));
        assert!(
            handles.iter().all(|h| !h.is_finished()),
            "a party left before the last one arrived"
        );
        let last = barrier.wait().expect("the last party must pass");
        let mut indices = vec![last];
        for result in join_all_within(
            handles,
            PROMPTLY,
            "the last arrival did not release everyone",
        ) {
            indices.push(result.expect("a released party must get Ok"));
        }
        assert_distinct_indices(indices, parties, "one generation");
        wait_for_waiting(&barrier, 0);
    });
}

/// Parties blocked in `wait()` or `wait_timeout()` for 300 ms must use
/// almost no CPU time: [`SLEEPERS`] of each, less than [`SLEEPERS_CPU`]
/// between them, and be rarely even runnable (`Cost::busy_waited`). Catches a
/// barrier that spins (re-checking a counter in a loop, yielding) instead of
/// waiting on a condition variable, also on a loaded machine, where a
/// yielding spinner gets little CPU but is always waiting for one.
#[test]
fn waiting_parties_do_not_busy_wait() {
    harness::check(LIMIT, || {
        let barrier = Arc::new(Barrier::new(2 * SLEEPERS + 1));
        let plain = spawn_parties(&barrier, SLEEPERS, |b| harness::measure(|| b.wait()));
        let timed = spawn_parties(&barrier, SLEEPERS, |b| {
            harness::measure(|| b.wait_timeout(Duration::from_secs(30)))
        });
        thread::sleep(Duration::from_millis(300));
        barrier.wait().expect("the last party must pass");
        for (kind, handles) in [("wait()", plain), ("wait_timeout()", timed)] {
            let mut cost = harness::Cost::default();
            for (result, used) in join_all_within(handles, PROMPTLY, "parties not released") {
                assert!(result.is_ok(), "{kind} returned {result:?}");
                cost += used;
            }
            println!("{SLEEPERS} parties in {kind} blocked, {cost}");
            assert!(
                !cost.busy_waited(SLEEPERS_CPU),
                "{SLEEPERS} parties blocked in {kind} cost between them {cost}: they busy-wait \
                 instead of sleeping on a condition variable"
            );
        }
    });
}

/// `abort()` wakes every waiting party with `Err(BrokenBarrier)`; from then
/// on `wait` and `wait_timeout` fail at once, until `reset()` makes the
/// barrier work again. Catches an abort that does not wake the waiters or
/// does not stick.
#[test]
fn abort_breaks_waiting_parties_and_every_later_wait_until_reset() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let parties = rng.random_range(3..=5usize);
        let barrier = Arc::new(Barrier::new(parties));
        let waiters = spawn_parties(&barrier, parties - 1, |b| b.wait());
        wait_for_waiting(&barrier, parties - 1);
        assert!(!barrier.is_broken());
        barrier.abort();
        for result in join_all_within(
            waiters,
            PROMPTLY,
            "abort() did not wake every waiting party",
        ) {
            assert_eq!(
                result,
                Err(BrokenBarrier),
                "a party woken by abort must get Err"
            );
        }
        assert!(barrier.is_broken());
        let later = spawn_parties(&barrier, 1, |b| {
            (b.wait(), b.wait_timeout(Duration::from_secs(30)))
        });
        let [(plain, timed)] = join_all_within(
            later,
            PROMPTLY,
            "wait() on an aborted barrier blocked instead of failing at once",
        )
        .try_into()
        .unwrap();
        assert_eq!(plain, Err(BrokenBarrier), "wait() after abort must fail");
        assert_eq!(
            timed,
            Err(BrokenBarrier),
            "wait_timeout() after abort must fail"
        );
        assert!(
            barrier.is_broken(),
            "the barrier must stay broken until reset"
        );
        barrier.reset();
        assert!(!barrier.is_broken(), "reset() must repair a broken barrier");
        run_full_generation(&barrier, parties, "after abort and reset");
        run_full_generation(&barrier, parties, "the second generation after reset");
    });
}

/// `reset()` while parties wait wakes them with `Err(BrokenBarrier)` and
/// leaves the barrier usable: later generations pass normally. Catches a
/// reset that only clears a counter (the waiters then sleep forever or are
/// counted in the next generation).
#[test]
fn reset_breaks_current_waiters_and_the_barrier_works_again() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let parties = rng.random_range(3..=5usize);
        let blocked = rng.random_range(1..parties);
        let barrier = Arc::new(Barrier::new(parties));
        let waiters = spawn_parties(&barrier, blocked, |b| b.wait());
        wait_for_waiting(&barrier, blocked);
        barrier.reset();
        for result in join_all_within(
            waiters,
            PROMPTLY,
            "reset() did not wake every waiting party",
        ) {
            assert_eq!(
                result,
                Err(BrokenBarrier),
                "a party woken by reset must get Err"
            );
        }
        assert!(
            !barrier.is_broken(),
            "after reset the barrier is not broken"
        );
        for generation in 0..3 {
            run_full_generation(
                &barrier,
                parties,
                &format!("generation {generation} after reset"),
            );
        }
    });
}

/// One party calls `wait_timeout(t)` while the others call `wait()` and the
/// last never comes: the timed-out party gets `Err` no earlier than `t`, and
/// the timeout breaks the barrier for every other party too. Catches a
/// timeout that only fails its own caller (the others then wait forever).
#[test]
fn a_timed_out_wait_breaks_the_barrier_for_every_party() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let parties = rng.random_range(3..=5usize);
        let timeout = Duration::from_millis(rng.random_range(100..200));
        let barrier = Arc::new(Barrier::new(parties));
        let others = spawn_parties(&barrier, parties - 2, |b| b.wait());
        wait_for_waiting(&barrier, parties - 2);
        let timed = spawn_parties(&barrier, 1, move |b| {
            let start = Instant::now();
            (b.wait_timeout(timeout), start.elapsed())
        });
        let [(result, waited)] = join_all_within(timed, PROMPTLY, "wait_timeout never returned")
            .try_into()
            .unwrap();
        assert_eq!(
            result,
            Err(BrokenBarrier),
            "an expired wait_timeout must fail"
        );
        assert!(
            waited >= timeout,
            "wait_timeout({timeout:?}) gave up after only {waited:?}"
        );
        for result in join_all_within(
            others,
            PROMPTLY,
            "a timeout did not wake the other waiting parties (it must break the barrier)",
        ) {
            assert_eq!(
                result,
                Err(BrokenBarrier),
                "a timeout must break the barrier for all"
            );
        }
        assert!(
            barrier.is_broken(),
            "a timeout must leave the barrier broken"
        );
        assert_eq!(barrier.wait(), Err(BrokenBarrier));
    });
}

/// A barrier made with `with_timeout` applies that timeout to plain
/// `wait()`: an incomplete generation breaks after it. A generation that
/// fills in time passes, even with timeouts set, and does not break.
#[test]
fn with_timeout_sets_the_default_timeout_of_wait() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let parties = rng.random_range(2..=4usize);
        let timeout = Duration::from_millis(rng.random_range(100..200));
        // Generous timeouts where a generation must fill in time, so a slow
        // thread start on a busy machine cannot break a correct barrier.
        let patient = Arc::new(Barrier::with_timeout(parties, Duration::from_secs(5)));
        assert_eq!(patient.parties(), parties);
        run_full_generation(&patient, parties, "a generation that fills in time");
        run_full_generation(&patient, parties, "a second generation that fills in time");
        assert!(!patient.is_broken());

        let roomy = Arc::new(Barrier::new(parties));
        let results = join_all_within(
            spawn_parties(&roomy, parties, |b| b.wait_timeout(Duration::from_secs(5))),
            PROMPTLY,
            "parties with a long wait_timeout were never released",
        );
        let indices = results
            .into_iter()
            .map(|r| r.expect("a generation that fills in time must not break"))
            .collect();
        assert_distinct_indices(indices, parties, "wait_timeout with time to spare");
        assert!(!roomy.is_broken());

        let barrier = Arc::new(Barrier::with_timeout(parties, timeout));
        // Measured from before any party starts: the first to arrive times
        // out no earlier than `timeout` from here, and it breaks the barrier
        // for the others, so none of them may return before that either.
        let start = Instant::now();
        let short = spawn_parties(&barrier, parties - 1, move |b| (b.wait(), start.elapsed()));
        for (result, waited) in join_all_within(
            short,
            PROMPTLY,
            "wait() on a barrier made with_timeout never gave up",
        ) {
            assert_eq!(result, Err(BrokenBarrier), "wait() must time out");
            assert!(
                waited >= timeout,
                "wait() with a default timeout of {timeout:?} gave up {waited:?} after the \
                 parties started"
            );
        }
        assert!(barrier.is_broken());
    });
}

/// The action panics in the second generation: the panic reaches the one
/// party that ran it, every other party gets `Err(BrokenBarrier)`, the
/// barrier is broken, and after `reset()` it works again. Catches a
/// panicking action that leaves the other parties waiting forever.
#[test]
fn a_panicking_action_breaks_the_barrier_and_the_panic_reaches_its_thread() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let parties = rng.random_range(2..=5usize);
        let runs = Arc::new(AtomicUsize::new(0));
        let barrier = {
            let runs = Arc::clone(&runs);
            Arc::new(Barrier::with_action(parties, move || {
                if runs.fetch_add(1, Ordering::SeqCst) == 1 {
                    panic!("the action panics on purpose");
                }
            }))
        };
        run_full_generation(&barrier, parties, "the first generation");
        let outcomes = join_all_within(
            spawn_parties(&barrier, parties, |b| {
                panic::catch_unwind(panic::AssertUnwindSafe(|| b.wait()))
                    .map_err(|payload| harness::panic_message(&*payload))
            }),
            PROMPTLY,
            "a panicking action left parties waiting (it must break the barrier)",
        );
        let panicked: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
        assert_eq!(
            panicked,
            vec!["the action panics on purpose"],
            "the action's panic must reach exactly the one party that ran it"
        );
        for outcome in outcomes.iter().filter_map(|o| o.as_ref().ok()) {
            assert_eq!(
                *outcome,
                Err(BrokenBarrier),
                "the other parties must get Err when the action panics"
            );
        }
        assert!(
            barrier.is_broken(),
            "a panicking action must break the barrier"
        );
        assert_eq!(barrier.wait(), Err(BrokenBarrier));
        barrier.reset();
        run_full_generation(&barrier, parties, "after the panic and reset");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "the action runs once per generation"
        );
    });
}

/// A barrier of one party never blocks: each `wait()` returns `Ok(0)` at
/// once and runs the action. Catches a count that is never reset (the
/// second wait would block) and an action skipped for a lone party.
#[test]
fn a_barrier_of_one_party_never_blocks() {
    harness::check(LIMIT, || {
        let mut rng = harness::rng();
        let rounds = rng.random_range(5..20usize);
        let runs = Arc::new(AtomicUsize::new(0));
        let barrier = {
            let runs = Arc::clone(&runs);
            Arc::new(Barrier::with_action(1, move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }))
        };
        let handle = spawn_parties(&barrier, 1, move |b| {
            (0..rounds).map(|_| b.wait()).collect::<Vec<_>>()
        });
        let [results] =
            join_all_within(handle, PROMPTLY, "wait() on a barrier of one party blocked")
                .try_into()
                .unwrap();
        assert!(
            results.iter().all(|r| *r == Ok(0)),
            "a lone party must get Ok(0) every time, got {results:?}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), rounds);
    });
}

/// A barrier of zero parties is refused with a panic, by every constructor.
#[test]
fn a_barrier_of_zero_parties_is_refused_with_a_panic() {
    harness::check(LIMIT, || {
        // One party is fine, so the panics below are the ones for 0.
        assert_eq!(Barrier::new(1).parties(), 1);
        assert!(
            panic::catch_unwind(|| Barrier::new(0)).is_err(),
            "Barrier::new(0) must panic"
        );
        assert!(
            panic::catch_unwind(|| Barrier::with_action(0, || {})).is_err(),
            "Barrier::with_action(0, ..) must panic"
        );
        assert!(
            panic::catch_unwind(|| Barrier::with_timeout(0, Duration::from_secs(1))).is_err(),
            "Barrier::with_timeout(0, ..) must panic"
        );
    });
}
