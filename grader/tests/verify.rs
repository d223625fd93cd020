//! The course holds: `grader verify` passes. Every solution scores full
//! marks on its hidden and visible tests, every stub scores zero on its
//! hidden tests, every mutant (`grader/suites/NN-topic/mutants/*.patch`) applies to its
//! solution and loses points, and the
//! points tables match the suites.
//!
//! This is how `cargo test` at the root runs the course author's check. It
//! sits in its own test binary so it never shares the machine with the other
//! grader tests (Cargo runs test binaries one after another).

mod common;

use predicates::prelude::*;

#[test]
fn verify_passes_on_the_course() {
    common::grader()
        .arg("verify")
        .assert()
        .success()
        .stdout(predicate::str::contains("FAIL").not());
}
