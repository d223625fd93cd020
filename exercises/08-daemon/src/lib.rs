//! Placeholder for exercise 08; replaced by the real crate.
