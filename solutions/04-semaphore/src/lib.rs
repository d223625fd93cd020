//! Placeholder for solution 04; replaced by the real crate.
