//! Placeholder for solution 01; replaced by the real crate.
