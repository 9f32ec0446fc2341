//! Shared helpers for zkinfer benches.
