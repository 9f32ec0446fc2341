//! Non-linear ops: comparisons, clamps, activations and the functions approximated on
//! integers (sigmoid, tanh).

pub mod clip;
pub mod compare;
pub mod leaky_relu;
pub mod maxpool;
pub mod relu;
pub mod sigmoid;
