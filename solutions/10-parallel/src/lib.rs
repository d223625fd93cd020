//! Placeholder for solution 10; replaced by the real crate.
