//! The one table from ONNX op type to the op module that lowers it. Adding an op is a new
//! module in `ops/` and one line here.

use crate::lower::{CompileError, LowerCtx};

/// A function that lowers the current ONNX node into quantised nodes.
pub type LowerFn = fn(&mut LowerCtx) -> Result<(), CompileError>;

/// The lowering for `op_type`, or `None` when zkinfer does not support it.
pub fn lookup(op_type: &str) -> Option<LowerFn> {
    use super::*;
    Some(match op_type {
        "Gemm" => affine::lower_gemm,
        "MatMul" => linear::matmul::lower,
        "Softmax" => nonlinear::softmax::lower,
        "Where" => array::where_const::lower,
        "Conv" => conv::lower,
        "AveragePool" => pool_avg::lower,
        "GlobalAveragePool" => pool_avg::lower_global,
        "BatchNormalization" => batchnorm::lower,
        "Mul" => elementwise::mul::lower,
        "Add" => add::lower_add,
        "Sub" => add::lower_sub,
        "MaxPool" => maxpool::lower,
        "Clip" => clip::lower,
        "LeakyRelu" => leaky_relu::lower,
        "Sigmoid" => sigmoid::lower_sigmoid,
        "Tanh" => sigmoid::lower_tanh,
        "Concat" => gather::lower_concat,
        "Transpose" => gather::lower_transpose,
        "Pad" => gather::lower_pad,
        "Squeeze" => squeeze::lower_squeeze,
        "Unsqueeze" => squeeze::lower_unsqueeze,
        "Relu" => relu::lower,
        "Flatten" => reshape::lower_flatten,
        "Reshape" => reshape::lower_reshape,
        "Identity" => reshape::lower_identity,
        "Cast" => reshape::lower_cast,
        "Gather" => array::slice::lower_gather,
        "Slice" => array::slice::lower_slice,
        "Split" => array::slice::lower_split,
        "Expand" => array::slice::lower_expand,
        "Neg" => add::lower_neg,
        "Div" => mul_const::lower_div,
        "LayerNormalization" => nonlinear::norm::lower_layer_norm,
        "RMSNormalization" => nonlinear::norm::lower_rms_norm,
        "Gelu" => nonlinear::gelu::lower_gelu,
        "Silu" => nonlinear::gelu::lower_silu,
        _ => return None,
    })
}

/// ONNX op types that [`lookup`] supports (for error messages and docs).
pub const SUPPORTED: &[&str] = &[
    "Gemm",
    "MatMul",
    "Softmax",
    "Where",
    "Conv",
    "AveragePool",
    "GlobalAveragePool",
    "BatchNormalization",
    "Mul",
    "Add",
    "Relu",
    "Flatten",
    "Reshape",
    "Identity",
    "Sub",
    "MaxPool",
    "Clip",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Concat",
    "Transpose",
    "Pad",
    "Squeeze",
    "Unsqueeze",
    "Cast",
    "Gather",
    "Slice",
    "Split",
    "Expand",
    "Neg",
    "Div",
    "LayerNormalization",
    "RMSNormalization",
    "Gelu",
    "Silu",
];
