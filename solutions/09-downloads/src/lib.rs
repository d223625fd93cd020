//! Placeholder for solution 09; replaced by the real crate.
