//! Placeholder for exercise 01; replaced by the real crate.
