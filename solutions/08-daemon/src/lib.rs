//! Placeholder for solution 08; replaced by the real crate.
