//! Placeholder for exercise 07; replaced by the real crate.
