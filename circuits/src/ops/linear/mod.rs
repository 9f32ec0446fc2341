//! Linear ops: maps with constant weights (dense, convolution, pooling, per-channel scaling),
//! which cost no multiplication constraint, and products of two activations.

pub mod affine;
pub mod batchnorm;
pub mod conv;
pub mod linear_map;
pub mod matmul;
pub mod mul_const;
pub mod pool_avg;
