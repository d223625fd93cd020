//! Interleave's grading engine (placeholder until the engine lands).
