//! ONNX `Mul` of an activation by a constant (a scalar, or a tensor varying along one block
//! of adjacent axes, e.g. `[1, C, 1, 1]`): a per-channel affine layer
//! ([`LinearMap::PerChannel`]) with the constant at the weight scale, requantised like Gemm:
//! `shift + out_bits` constraints per output.

use crate::lower::{CompileError, LowerCtx};
use crate::ops::batchnorm::emit_per_channel;

/// Lowers ONNX `Mul` where exactly one operand is a constant that broadcasts to the
/// activation's shape without enlarging it.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    lower_with(ctx, |c| c)
}

/// Lowers ONNX `Div` of an activation by a constant as `Mul` by its reciprocal (a division
/// by zero is a constant that cannot be quantised, and says so).
pub fn lower_div(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if ctx.is_const_input(0) {
        return Err(ctx.unsupported("Div of a constant by an activation (a reciprocal)"));
    }
    if !ctx.is_const_input(1) {
        return Err(ctx.unsupported("Div by an activation"));
    }
    lower_with(ctx, |c| 1.0 / c)
}

fn lower_with(ctx: &mut LowerCtx, value: fn(f64) -> f64) -> Result<(), CompileError> {
    let (act, cst) = match (ctx.is_const_input(0), ctx.is_const_input(1)) {
        (false, true) => (0, 1),
        (true, false) => (1, 0),
        (false, false) => return Err(ctx.unsupported("Mul of two activations")),
        (true, true) => return Err(ctx.unsupported("Mul of two constants (fold it before export)")),
    };
    let x = ctx.activation_input(act)?;
    let c = ctx.const_input(cst)?;
    let shape = ctx.tensor(x).shape.clone();
    if c.shape.len() > shape.len() {
        return Err(ctx.unsupported(&format!(
            "Mul by a constant of shape {:?} that enlarges {shape:?}",
            c.shape
        )));
    }
    // Right-align the constant's shape; the axes where it is not 1 must match the
    // activation and be adjacent, so the constant is one value per "channel" of the
    // activation viewed as [outer, channels, inner].
    let pad = shape.len() - c.shape.len();
    let mut varying = Vec::new();
    for (i, &d) in c.shape.iter().enumerate() {
        if d == 1 {
            continue;
        }
        if d != shape[i + pad] {
            return Err(ctx.unsupported(&format!(
                "Mul by a constant of shape {:?} that enlarges {shape:?}",
                c.shape
            )));
        }
        varying.push(i + pad);
    }
    let view = match (varying.first(), varying.last()) {
        (None, _) | (_, None) => [1, 1, shape.iter().product()],
        (Some(&lo), Some(&hi)) if varying.len() == hi + 1 - lo => [
            shape[..lo].iter().product(),
            shape[lo..=hi].iter().product(),
            shape[hi + 1..].iter().product(),
        ],
        _ => {
            // Varying along non-adjacent axes: element-wise with a broadcast index.
            let mut const_shape = vec![1; pad];
            const_shape.extend_from_slice(&c.shape);
            let data: Vec<f64> = c.data.iter().map(|&v| value(v)).collect();
            let n = data.len();
            let ws = ctx.settings().weight_scale;
            let op_type = ctx.op_type().to_string();
            let floats = crate::lower::FloatParams {
                weights: data,
                bias: vec![0.0; n],
            };
            return crate::ops::affine::emit(
                ctx,
                &op_type,
                x,
                shape.clone(),
                ws,
                floats,
                |scale| crate::ops::linear_map::LinearMap::Broadcast {
                    shape,
                    const_shape,
                    scale,
                },
            );
        }
    };
    if c.data.len() != view[1] {
        return Err(ctx.bad_model(format!(
            "constant of shape {:?} holds {} values",
            c.shape,
            c.data.len()
        )));
    }
    let channels = view[1];
    let op_type = ctx.op_type().to_string();
    let data = c.data.iter().map(|&v| value(v)).collect();
    emit_per_channel(ctx, &op_type, x, view, data, vec![0.0; channels])
}
