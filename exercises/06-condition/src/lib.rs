//! Placeholder for exercise 06; replaced by the real crate.
