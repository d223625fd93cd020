//! Placeholder for solution 05; replaced by the real crate.
