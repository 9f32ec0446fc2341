//! Non-linear ops: comparisons, clamps, activations and the functions approximated on
//! integers (sigmoid, tanh).

pub mod clip;
pub mod compare;
pub mod exp;
pub mod gelu;
pub mod leaky_relu;
pub mod maxpool;
pub mod norm;
pub mod relu;
pub mod sigmoid;
pub mod softmax;
