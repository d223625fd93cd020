//! Placeholder for solution 03; replaced by the real crate.
