//! Shape-only ops: Flatten, Reshape, Identity. Values are unchanged (row-major order is
//! kept), so they cost no constraint.

use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, Op, OpError};
use crate::r1cs::Builder;
use serde::{Deserialize, Serialize};

/// A view of the input with another shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reshape;

impl Op for Reshape {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        Ok(inputs[0].to_vec())
    }

    fn synthesize(&self, _b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        Ok(inputs[0].clone())
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        Ok(inputs[0])
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        errors[0]
    }
}

/// ONNX `Identity`.
pub fn lower_identity(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    ctx.alias_output(x);
    Ok(())
}

/// ONNX `Cast` of an activation to a floating-point type: the quantised values stand for the
/// same reals (the float model's rounding to that type is not modelled). A cast to an integer
/// or boolean type changes values and is refused.
pub fn lower_cast(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    use tract_onnx::pb::tensor_proto::DataType;
    let to = ctx.attr_int("to", 0) as i32;
    match DataType::try_from(to) {
        Ok(DataType::Float | DataType::Double | DataType::Float16 | DataType::Bfloat16) => {
            lower_identity(ctx)
        }
        _ => Err(ctx.unsupported(&format!(
            "Cast of an activation to ONNX type {to}, which changes its values (only casts to \
             floating-point types are value-preserving)"
        ))),
    }
}

/// ONNX `Flatten` (axis attribute, default 1).
pub fn lower_flatten(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let rank = info.shape.len() as i64;
    let mut axis = ctx.attr_int("axis", 1);
    if axis < 0 {
        axis += rank;
    }
    if !(0..=rank).contains(&axis) {
        return Err(ctx.bad_model(format!("Flatten axis {axis} for a rank-{rank} tensor")));
    }
    let outer: usize = info.shape[..axis as usize].iter().product();
    let shape = vec![outer, info.len() / outer.max(1)];
    emit(ctx, x, shape)
}

/// ONNX `Reshape` with a constant shape (0 copies a dimension, -1 is inferred).
pub fn lower_reshape(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let target = ctx.const_input(1)?;
    let mut shape = Vec::with_capacity(target.data.len());
    let mut infer = None;
    for (i, &d) in target.data.iter().enumerate() {
        let d = d as i64;
        match d {
            0 => shape.push(
                *info
                    .shape
                    .get(i)
                    .ok_or_else(|| ctx.bad_model("Reshape copies a missing dimension".into()))?,
            ),
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            d if d > 0 => shape.push(d as usize),
            _ => return Err(ctx.bad_model(format!("Reshape to {:?}", target.data))),
        }
    }
    let known: usize = shape.iter().product();
    if let Some(i) = infer {
        if known == 0 || !info.len().is_multiple_of(known) {
            return Err(ctx.bad_model(format!(
                "cannot reshape {:?} to {:?}",
                info.shape, target.data
            )));
        }
        shape[i] = info.len() / known;
    }
    if shape.iter().product::<usize>() != info.len() {
        return Err(ctx.bad_model(format!("cannot reshape {:?} to {:?}", info.shape, shape)));
    }
    emit(ctx, x, shape)
}

/// Emits a shape-only node viewing tensor `x` as `shape` (values, scale and bits unchanged).
pub(crate) fn emit(ctx: &mut LowerCtx, x: usize, shape: Vec<usize>) -> Result<(), CompileError> {
    let info = ctx.tensor(x).clone();
    let op_type = ctx.op_type().to_string();
    ctx.emit(
        &op_type,
        crate::ops::QOp::Reshape(Reshape),
        vec![x],
        shape,
        info.scale,
        info.bits,
    );
    Ok(())
}
