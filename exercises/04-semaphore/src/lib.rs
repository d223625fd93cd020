//! Placeholder for exercise 04; replaced by the real crate.
