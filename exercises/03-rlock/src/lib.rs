//! Placeholder for exercise 03; replaced by the real crate.
