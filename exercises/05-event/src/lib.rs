//! Placeholder for exercise 05; replaced by the real crate.
