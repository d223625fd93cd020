//! Placeholder for solution 06; replaced by the real crate.
