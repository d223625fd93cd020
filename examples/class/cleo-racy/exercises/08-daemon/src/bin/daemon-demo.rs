//! The lesson's daemon example in Rust: a daemon prints forever, three
//! workers finish one after another, and the program ends as soon as the
//! workers are done, leaving the daemon behind.

use std::thread;
use std::time::Duration;

fn main() {
    let panics = exercise_08::run_main(|runtime| {
        runtime.spawn_daemon("background", || {
            loop {
                println!("Running in background...");
                thread::sleep(Duration::from_millis(100));
            }
        });
        for n in 1..=3u64 {
            runtime.spawn(format!("worker-{n}"), move || {
                thread::sleep(Duration::from_millis(200 + 100 * n));
                println!("worker {n} done");
            });
        }
    });
    for message in &panics {
        eprintln!("a worker panicked: {message}");
    }
    println!("main done");
    // Returning from `main` ends the process; the daemon's loop dies with it.
    if !panics.is_empty() {
        std::process::exit(1);
    }
}
