//! Placeholder for solution 07; replaced by the real crate.
