//! Ops of the quantised graph. Each op is one module implementing [`Op`]: integer
//! evaluation and constraints side by side, sharing one definition of the arithmetic
//! (`crate::fixed`, `crate::gadgets`), so the trace always satisfies the circuit.
//! Lowering from ONNX lives beside each op (`lower_*`); [`registry`] maps ONNX op types
//! to those functions.

pub mod affine;
pub mod registry;
pub mod relu;
pub mod reshape;

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
}

/// The quantised ops (serialised in `.zkc` files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QOp {
    Affine(affine::Affine),
    Relu(relu::Relu),
    Reshape(reshape::Reshape),
}

impl QOp {
    /// The op as its trait object.
    pub fn as_op(&self) -> &dyn Op {
        match self {
            QOp::Affine(o) => o,
            QOp::Relu(o) => o,
            QOp::Reshape(o) => o,
        }
    }
}
