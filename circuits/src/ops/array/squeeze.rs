//! Squeeze and Unsqueeze: shape-only, lowered to [`Reshape`] (row-major order is unchanged),
//! so they cost no constraint.

use crate::lower::{CompileError, LowerCtx};
use crate::ops::gather::norm_axis;

/// The `axes` of the node: a constant int64 input (opset ≥ 13) or the attribute (older).
fn axes(ctx: &LowerCtx) -> Result<Option<Vec<i64>>, CompileError> {
    Ok(match ctx.optional_const_input(1)? {
        Some(c) => Some(c.data.iter().map(|&v| v as i64).collect()),
        None => ctx.attr_ints("axes"),
    })
}

use crate::ops::reshape::emit;

/// ONNX `Squeeze`: removes the given size-1 axes (all size-1 axes when none are given).
pub fn lower_squeeze(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let shape = ctx.tensor(x).shape.clone();
    let rank = shape.len();
    let drop: Vec<usize> = match axes(ctx)? {
        Some(a) => a
            .iter()
            .map(|&a| norm_axis(ctx, a, rank))
            .collect::<Result<_, _>>()?,
        None => (0..rank).filter(|&d| shape[d] == 1).collect(),
    };
    if let Some(&d) = drop.iter().find(|&&d| shape[d] != 1) {
        return Err(ctx.bad_model(format!(
            "Squeeze of axis {d} of size {} in {shape:?}",
            shape[d]
        )));
    }
    let out = (0..rank)
        .filter(|d| !drop.contains(d))
        .map(|d| shape[d])
        .collect();
    emit(ctx, x, out)
}

/// ONNX `Unsqueeze`: inserts size-1 axes at the given positions of the output.
pub fn lower_unsqueeze(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let shape = ctx.tensor(x).shape.clone();
    let a = axes(ctx)?.ok_or_else(|| ctx.bad_model("Unsqueeze without axes".into()))?;
    let rank = shape.len() + a.len();
    let mut insert = a
        .iter()
        .map(|&a| norm_axis(ctx, a, rank))
        .collect::<Result<Vec<_>, _>>()?;
    insert.sort_unstable();
    if insert.windows(2).any(|w| w[0] == w[1]) {
        return Err(ctx.bad_model(format!("Unsqueeze axes {a:?} repeat")));
    }
    let mut rest = shape.iter();
    let out = (0..rank)
        .map(|d| {
            if insert.contains(&d) {
                1
            } else {
                *rest.next().expect("counted")
            }
        })
        .collect();
    emit(ctx, x, out)
}
