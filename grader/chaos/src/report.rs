//! How the stand-in's verdicts reach the grader: written straight to the
//! process's stderr (not through `eprintln!`, which the test harness captures
//! and would lose when the process exits), then the process exits with a code
//! of its own, so that the test fails whatever thread found the problem and
//! whatever student code does with panics.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Exit code of a test process in which the lock-order graph found a cycle
/// (a possible deadlock, reported even when the run did not deadlock).
pub const LOCK_ORDER_EXIT_CODE: i32 = 86;

/// Exit code of a test process in which threads deadlocked for certain (each
/// waits for a lock that another of them holds), or a thread locked a
/// `Mutex` it already held.
pub const DEADLOCK_EXIT_CODE: i32 = 87;

/// First line of every verdict, so the grader can find it in the output.
pub const VERDICT_PREFIX: &str = "INTERLEAVE-CHAOS:";

/// What follows [`VERDICT_PREFIX`] in a note printed after a test's panic
/// (not a verdict of its own: the panic above it is the failure).
pub const PANIC_NOTE: &str = "note on the panic above:";

static FINAL: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stderr, unbuffered and uncaptured.
pub(crate) fn write_stderr(text: &str) {
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Prints a verdict and ends the process with `code`. Only the first verdict
/// is printed; a second thread that finds a problem at the same moment waits
/// for the first one's exit.
pub(crate) fn fail(code: i32, text: &str) -> ! {
    if FINAL.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    write_stderr(&format!(
        "\n{VERDICT_PREFIX} {text}\n(schedule noise seed {}, replay with {}={})\n",
        crate::config::seed(),
        crate::config::SEED_VAR,
        crate::config::seed()
    ));
    std::process::exit(code)
}

/// How many Condvar waits returned without a notification in this process.
pub(crate) static SPURIOUS: AtomicUsize = AtomicUsize::new(0);

/// Installs, once, a panic hook that adds to any panic message a note about
/// the spurious wakeups this process has seen (calling the previous hook
/// first, so the test's own output is unchanged).
pub(crate) fn note_spurious_wakeup() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    SPURIOUS.fetch_add(1, Ordering::Relaxed);
    if std::thread::panicking() || INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    let printed = AtomicBool::new(false);
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        if printed.swap(true, Ordering::SeqCst) {
            return;
        }
        let count = SPURIOUS.load(Ordering::Relaxed);
        write_stderr(&format!(
            "{VERDICT_PREFIX} {PANIC_NOTE} {count} Condvar wait(s) in this run \
             returned without a notification (spurious wakeups, injected on purpose; std's \
             Condvar and Python's Condition allow them). A waiter that does not re-check its \
             condition in a `while` loop after waking goes wrong under them.\n"
        ));
    }));
}
