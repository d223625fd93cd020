//! Placeholder for solution 02; replaced by the real crate.
