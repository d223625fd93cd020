//! Placeholder for exercise 02; replaced by the real crate.
