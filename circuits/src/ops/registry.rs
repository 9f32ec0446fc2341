//! The one table from ONNX op type to the op module that lowers it. Adding an op is a new
//! module in `ops/` and one line here.

use crate::compile::{CompileError, LowerCtx};

/// A function that lowers the current ONNX node into quantised nodes.
pub type LowerFn = fn(&mut LowerCtx) -> Result<(), CompileError>;

/// The lowering for `op_type`, or `None` when zkinfer does not support it.
pub fn lookup(op_type: &str) -> Option<LowerFn> {
    use super::*;
    Some(match op_type {
        "Gemm" => affine::lower_gemm,
        "MatMul" => affine::lower_matmul,
        "Add" => lower_add,
        "Relu" => relu::lower,
        "Flatten" => reshape::lower_flatten,
        "Reshape" => reshape::lower_reshape,
        "Identity" => reshape::lower_identity,
        _ => return None,
    })
}

/// ONNX op types that [`lookup`] supports (for error messages and docs).
pub const SUPPORTED: &[&str] = &["Gemm", "MatMul", "Add", "Relu", "Flatten", "Reshape", "Identity"];

fn lower_add(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if super::affine::try_fold_bias(ctx)? {
        return Ok(());
    }
    Err(ctx.unsupported("Add other than a constant bias after Gemm/MatMul"))
}
