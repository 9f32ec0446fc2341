//! ONNX `Conv` (2-D, NCHW): an affine layer whose linear map is a convolution
//! ([`LinearMap::Conv2d`]), so it shares requantisation, fused ReLU, bias and
//! BatchNormalization folding with Gemm. Each output costs `shift + out_bits` constraints
//! (+1 with a fused ReLU); the `.zkc` stores the kernel, not expanded rows.
//!
//! Supported: any kernel size, strides, explicit `pads` (`auto_pad` NOTSET or VALID),
//! dilation 1, group 1 and depthwise (group = input channels). Anything else is refused
//! with an "unsupported" error naming the node.

use crate::lower::{CompileError, FloatParams, LowerCtx};
use crate::ops::affine;
use crate::ops::linear_map::{LinearMap, Window2d};

/// Lowers an ONNX `Conv` node with constant weights (and optional constant bias).
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let xs = ctx.tensor(x).shape.clone();
    let &[batch, c_in, h, w] = xs.as_slice() else {
        return Err(ctx.unsupported(&format!(
            "a {}-D convolution (input shape {xs:?}); zkinfer supports 2-D",
            xs.len().saturating_sub(2)
        )));
    };
    let wt = ctx.const_input(1)?;
    let &[c_out, cin_g, kh, kw] = wt.shape.as_slice() else {
        return Err(ctx.bad_model(format!(
            "Conv weight has shape {:?}, expected [C_out, C_in/group, kH, kW]",
            wt.shape
        )));
    };
    if let Some(k) = ctx.attr_ints("kernel_shape") {
        if k != [kh as i64, kw as i64] {
            return Err(ctx.bad_model(format!(
                "kernel_shape {k:?} disagrees with the weight shape {:?}",
                wt.shape
            )));
        }
    }
    match ctx.attr_str("auto_pad").as_deref() {
        None | Some("NOTSET") | Some("VALID") => {}
        Some(other) => {
            return Err(ctx.unsupported(&format!("auto_pad = {other} (give explicit pads)")))
        }
    }
    if let Some(d) = ctx.attr_ints("dilations") {
        if d.iter().any(|&d| d != 1) {
            return Err(ctx.unsupported(&format!("dilations {d:?} (zkinfer supports dilation 1)")));
        }
    }
    let group = ctx.attr_int("group", 1);
    if group < 1
        || c_in % group as usize != 0
        || c_out % group as usize != 0
        || cin_g != c_in / group as usize
    {
        return Err(ctx.bad_model(format!(
            "group {group} with {c_in} input channels and a weight of shape {:?}",
            wt.shape
        )));
    }
    let group = group as usize;
    if group != 1 && group != c_in {
        return Err(ctx.unsupported(&format!(
            "group = {group} of {c_in} input channels (zkinfer supports group 1 and depthwise, group = channels)"
        )));
    }
    let strides = pair(ctx, "strides")?;
    let pads = if ctx.attr_str("auto_pad").as_deref() == Some("VALID") {
        [0; 4]
    } else {
        pads(ctx)?
    };
    let geom = Window2d::new([batch, c_in, h, w], [kh, kw], strides, pads).ok_or_else(|| {
        ctx.bad_model(format!(
            "kernel {kh}×{kw} with strides {strides:?} and pads {pads:?} on a {h}×{w} input"
        ))
    })?;
    let bias = match ctx.optional_const_input(2)? {
        Some(b) if b.data.len() == c_out => b.data,
        Some(b) => {
            return Err(ctx.bad_model(format!(
                "bias of {} values for {c_out} output channels",
                b.data.len()
            )))
        }
        None => vec![0.0; c_out],
    };
    let shape = vec![batch, c_out, geom.out_h, geom.out_w];
    let ws = ctx.settings().weight_scale;
    let floats = FloatParams {
        weights: wt.data,
        bias,
    };
    affine::emit(ctx, "Conv", x, shape, ws, floats, |weights| {
        LinearMap::Conv2d {
            geom,
            c_out,
            group,
            weights,
        }
    })
}

/// A two-value positive integer attribute (strides), default `[1, 1]`.
pub(crate) fn pair(ctx: &LowerCtx, name: &str) -> Result<[usize; 2], CompileError> {
    match ctx.attr_ints(name) {
        None => Ok([1, 1]),
        Some(v) if v.len() == 2 && v.iter().all(|&s| s >= 1) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => Err(ctx.bad_model(format!("{name} {v:?}, expected 2 positive values"))),
    }
}

/// ONNX pads `[top, left, bottom, right]` (attribute `pads`, default zeros).
pub(crate) fn pads(ctx: &LowerCtx) -> Result<[usize; 4], CompileError> {
    match ctx.attr_ints("pads") {
        None => Ok([0; 4]),
        Some(p) if p.len() == 4 && p.iter().all(|&v| v >= 0) => {
            Ok([p[0], p[1], p[2], p[3]].map(|v| v as usize))
        }
        Some(p) => Err(ctx.bad_model(format!("pads {p:?}, expected 4 non-negative values"))),
    }
}
