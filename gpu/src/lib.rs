//! zkinfer gpu
