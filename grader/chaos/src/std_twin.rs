//! `std` with twins in place of its synchronization points.
//!
//! When grading, the grader rewrites a submission's paths that start with
//! `std::sync`, `std::thread` (and `core::sync`, and `use std::{...}` groups)
//! to start with `::parking_lot::std_twin` instead, on the same line (see
//! `grader/chaos/README.md`). This module re-exports all of `std`, except
//! that [`sync`] and [`thread`] hold twins: types and functions with `std`'s
//! exact API and semantics (poisoning, `LockResult`, memory orderings) that
//! add the stand-in's noise, lock-order checking and hang reports. Every
//! item the twins do not replace is `std`'s own, unperturbed.

pub use ::std::*;

pub mod sync;
pub mod thread;
