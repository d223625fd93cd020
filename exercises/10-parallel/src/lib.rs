//! Placeholder for exercise 10; replaced by the real crate.
