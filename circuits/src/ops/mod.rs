//! Ops of the quantised graph. Each op is one module implementing [`Op`]: integer
//! evaluation and constraints side by side, sharing one definition of the arithmetic
//! (`crate::fixed`, `crate::gadgets`), so the trace always satisfies the circuit.
//! Lowering from ONNX lives beside each op (`lower_*`); [`registry`] maps ONNX op types
//! to those functions. Ops are grouped in families the way tract groups them: `linear`,
//! `nonlinear`, `array`, `elementwise`.

pub mod array;
pub mod elementwise;
pub mod linear;
pub mod nonlinear;
pub mod registry;

// Each op stays reachable as `ops::<name>` whatever its family.
pub use array::{gather, reshape, squeeze};
pub use elementwise::add;
pub use elementwise::mul;
pub use linear::{affine, batchnorm, conv, linear_map, mul_const, pool_avg};
pub use nonlinear::{clip, compare, leaky_relu, maxpool, relu, sigmoid};
pub use nonlinear::{gelu, norm};

use crate::gadgets::{RangeError, Signed};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// A value inside the circuit: its linear combination, its integer value and, when it is
/// already proven to fit a signed range, that proof (ops reuse it instead of re-checking).
#[derive(Clone, Debug)]
pub struct CValue {
    pub lc: Lc,
    pub value: i128,
    pub range: Option<Signed>,
}

/// A tensor inside the circuit (row-major).
pub type CTensor = Vec<CValue>;

/// Why an op could not evaluate or synthesise: a value outside the range it must prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    pub index: usize,
    pub range: RangeError,
}

/// The behaviour every op provides.
pub trait Op {
    /// Integer inference: the output tensor from the input tensors.
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError>;

    /// Constraints proving the output from the inputs; the output values equal [`Op::eval`]'s.
    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError>;

    /// The worst-case interval of the output given the inputs' intervals, before the output
    /// is clamped to its bits. `Err` (a reason) when an intermediate value could exceed
    /// [`ACC_LIMIT_BITS`] bits, i.e. risk wrapping around the field.
    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String>;

    /// A bound on the output's error, in output integer units, against the float op the node
    /// stands for (its float weights and constants, exact real arithmetic) applied to the real
    /// values the inputs approximate, given each input's interval and error bound (in that
    /// input's integer units). It covers the rounding of weights, constants and the output, and
    /// each op's approximation of a non-linear function; the compiler sums it through the graph
    /// ([`crate::compile::LayerReport::error_bound`]).
    fn error_bound(&self, inputs: &[(i128, i128)], errors: &[f64]) -> f64;
}

/// The largest magnitude in an interval, as a float.
pub fn max_abs(r: (i128, i128)) -> f64 {
    r.0.unsigned_abs().max(r.1.unsigned_abs()) as f64
}

/// Checks that every value of an op's input fits the `bits` signed bits its constraints assume,
/// so that integer inference refuses exactly the inputs proving would (an op's plan, e.g. a
/// clamp side dropped as unable to bind, holds only inside that range).
pub fn check_input_bits(x: &[i64], bits: u32) -> Result<(), OpError> {
    match x
        .iter()
        .position(|&v| !crate::fixed::fits_bits(i128::from(v), bits))
    {
        None => Ok(()),
        Some(index) => Err(OpError {
            index,
            range: RangeError {
                value: i128::from(x[index]),
                bits,
            },
        }),
    }
}

/// Largest magnitude (in bits) of any intermediate value: far below the ~254-bit field
/// modulus so that no value wraps, and within `i128` for integer inference.
pub const ACC_LIMIT_BITS: u32 = 100;

/// Checks an accumulator interval against [`ACC_LIMIT_BITS`].
pub fn check_acc(lo: i128, hi: i128) -> Result<(), String> {
    let limit = 1i128 << ACC_LIMIT_BITS;
    if lo <= -limit || hi >= limit {
        return Err(format!(
            "its accumulator could reach 2^{:.0}, beyond the 2^{ACC_LIMIT_BITS} zkinfer allows (the field is 254 bits); \
             lower --scale or --weight-scale",
            (hi.max(-lo) as f64).log2()
        ));
    }
    Ok(())
}

/// Conventions every op follows:
/// - a tensor whose [`crate::TensorInfo::bits`] is `b` holds values in `[-2^(b-1), 2^(b-1))`,
///   either proven by a range check (then [`CValue::range`] carries it) or implied by how the
///   value was built from checked values (a sum of two checked values, a ReLU of one);
/// - an op that needs a sign bit or a proven range calls [`relu::ensure_signed`], which reuses
///   an existing proof when there is one;
/// - values are linear combinations wherever an exact linear expression will do (sums,
///   constant multiples, data movement): they cost no constraint.
pub const CONVENTIONS: () = ();

/// The quantised ops (serialised in `.zkc` files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QOp {
    Affine(affine::Affine),
    Relu(relu::Relu),
    Reshape(reshape::Reshape),
    MaxPool(maxpool::MaxPool),
    Clip(clip::Clip),
    LeakyRelu(leaky_relu::LeakyRelu),
    Sigmoid(sigmoid::Sigmoid),
    Add(add::Add),
    Gather(gather::Gather),
    MatMul(linear::matmul::MatMul),
    Softmax(nonlinear::softmax::Softmax),
    Where(array::where_const::Where),
    Embedding(array::embedding::Embedding),
    Mul(elementwise::mul::Mul),
    Norm(nonlinear::norm::Norm),
    Gelu(nonlinear::gelu::Gelu),
}

impl QOp {
    /// The op as its trait object.
    pub fn as_op(&self) -> &dyn Op {
        match self {
            QOp::Affine(o) => o,
            QOp::Relu(o) => o,
            QOp::Reshape(o) => o,
            QOp::MaxPool(o) => o,
            QOp::Clip(o) => o,
            QOp::LeakyRelu(o) => o,
            QOp::Sigmoid(o) => o,
            QOp::Add(o) => o,
            QOp::Gather(o) => o,
            QOp::MatMul(o) => o,
            QOp::Softmax(o) => o,
            QOp::Where(o) => o,
            QOp::Embedding(o) => o,
            QOp::Mul(o) => o,
            QOp::Norm(o) => o,
            QOp::Gelu(o) => o,
        }
    }
}
