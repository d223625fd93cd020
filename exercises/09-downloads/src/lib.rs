//! Placeholder for exercise 09; replaced by the real crate.
