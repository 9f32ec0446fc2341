//! Element-wise ops on two activations (with broadcasting).

pub mod add;
pub mod mul;
