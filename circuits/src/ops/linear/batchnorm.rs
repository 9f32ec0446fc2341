//! ONNX `BatchNormalization` (inference mode): `y = a_c · x + b_c` per channel (axis 1) with
//! `a_c = scale_c / sqrt(var_c + ε)` and `b_c = bias_c − mean_c · a_c`.
//!
//! After a Gemm, MatMul or Conv whose output nothing else reads, it is folded into that
//! layer at compile time (weights and bias re-quantised from floats, so it costs no
//! constraint and adds no rounding). Otherwise it is a per-channel affine layer
//! ([`LinearMap::PerChannel`]): `shift + out_bits` constraints per output.

use crate::lower::{CompileError, FloatParams, LowerCtx};
use crate::ops::affine;
use crate::ops::linear_map::LinearMap;

/// Lowers ONNX `BatchNormalization` with constant scale, bias, mean and variance.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if ctx.attr_int("training_mode", 0) != 0 {
        return Err(ctx.unsupported("training_mode = 1 (zkinfer proves inference)"));
    }
    let x = ctx.activation_input(0)?;
    let shape = ctx.tensor(x).shape.clone();
    if shape.len() < 2 {
        return Err(ctx.bad_model(format!(
            "BatchNormalization of a rank-{} tensor",
            shape.len()
        )));
    }
    let channels = shape[1];
    let eps = ctx.attr_float("epsilon", 1e-5);
    let mut params = Vec::with_capacity(4);
    for (i, what) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "var")] {
        let c = ctx.const_input(i)?;
        if c.data.len() != channels {
            return Err(ctx.bad_model(format!(
                "{what} has {} values for {channels} channels",
                c.data.len()
            )));
        }
        params.push(c.data);
    }
    let (gamma, beta, mean, var) = (&params[0], &params[1], &params[2], &params[3]);
    if var
        .iter()
        .any(|&v| !(v + eps).is_finite() || v + eps <= 0.0)
    {
        return Err(
            ctx.bad_model("a variance + epsilon that is not a positive finite number".into())
        );
    }
    let a: Vec<f64> = gamma
        .iter()
        .zip(var)
        .map(|(g, v)| g / (v + eps).sqrt())
        .collect();
    let b: Vec<f64> = beta
        .iter()
        .zip(mean.iter().zip(&a))
        .map(|(be, (m, a))| be - m * a)
        .collect();
    if affine::try_fold_per_channel(ctx, x, 1, &a, &b)? {
        return Ok(());
    }
    let view = [shape[0], channels, shape[2..].iter().product()];
    emit_per_channel(ctx, "BatchNormalization", x, view, a, b)
}

/// Emits `y = a_c · x + b_c` on tensor `x` viewed as `[outer, channels, inner]` (row-major,
/// so the view is free) as a per-channel affine layer with the same shape as `x`: `a` at the
/// weight scale, `b` at the accumulator scale.
pub fn emit_per_channel(
    ctx: &mut LowerCtx,
    op_type: &str,
    x: usize,
    view: [usize; 3],
    a: Vec<f64>,
    b: Vec<f64>,
) -> Result<(), CompileError> {
    let shape = ctx.tensor(x).shape.clone();
    let [outer, channels, inner] = view;
    let ws = ctx.settings().weight_scale;
    let floats = FloatParams {
        weights: a,
        bias: b,
    };
    affine::emit(ctx, op_type, x, shape, ws, floats, |scale| {
        LinearMap::PerChannel {
            outer,
            channels,
            inner,
            scale,
        }
    })
}
