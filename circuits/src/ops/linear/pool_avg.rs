//! ONNX `AveragePool` and `GlobalAveragePool`: affine layers whose map sums a window with
//! weight `1/count` ([`LinearMap::AvgPool2d`]), sharing requantisation with Gemm and Conv.
//!
//! Exactness: when every window averages the same power-of-two count `2^p` (e.g. 2×2, 4×4,
//! global pooling over 16 values, no uncounted padding), the weight scale is `p`, the weight
//! is exactly 1 and the only error is the final rounding (≤ half an output unit); such a
//! layer costs `p + out_bits` constraints per output. Otherwise the weight scale is
//! `weight_scale + ceil(log2(max count))` and `1/count` is rounded to it, which adds at most
//! `2^-(weight_scale+1) · max|x|` (real units) to the rounding error.

use crate::lower::{CompileError, FloatParams, LowerCtx};
use crate::ops::affine;
use crate::ops::conv::{pads, pair};
use crate::ops::linear_map::{LinearMap, Window2d};

/// Lowers ONNX `AveragePool` (2-D; kernel, strides, pads, count_include_pad; ceil_mode 0).
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let xs = ctx.tensor(x).shape.clone();
    let &[batch, c, h, w] = xs.as_slice() else {
        return Err(ctx.unsupported(&format!(
            "pooling over {:?} (zkinfer supports 2-D NCHW)",
            xs
        )));
    };
    let kernel = match ctx.attr_ints("kernel_shape") {
        Some(k) if k.len() == 2 && k.iter().all(|&v| v >= 1) => [k[0] as usize, k[1] as usize],
        k => return Err(ctx.bad_model(format!("kernel_shape {k:?}, expected 2 positive values"))),
    };
    if ctx.attr_int("ceil_mode", 0) != 0 {
        return Err(ctx.unsupported("ceil_mode = 1"));
    }
    if ctx
        .attr_ints("dilations")
        .is_some_and(|d| d.iter().any(|&d| d != 1))
    {
        return Err(ctx.unsupported("dilations other than 1"));
    }
    let pads = match ctx.attr_str("auto_pad").as_deref() {
        None | Some("NOTSET") => pads(ctx)?,
        Some("VALID") => [0; 4],
        Some(other) => {
            return Err(ctx.unsupported(&format!("auto_pad = {other} (give explicit pads)")))
        }
    };
    let strides = pair(ctx, "strides")?;
    let count_include_pad = ctx.attr_int("count_include_pad", 0) != 0;
    // pads are [top, left, bottom, right]: a pad as wide as the kernel makes windows of
    // padding alone, which hold no value to average when padding is not counted.
    if !count_include_pad && (0..4).any(|i| pads[i] >= kernel[i % 2]) {
        return Err(ctx.bad_model(format!(
            "pads {pads:?} not smaller than the kernel {kernel:?}: a window of padding alone has \
             nothing to average (count_include_pad = 0)"
        )));
    }
    let geom = Window2d::new([batch, c, h, w], kernel, strides, pads).ok_or_else(|| {
        ctx.bad_model(format!(
            "kernel {kernel:?} with strides {strides:?} and pads {pads:?} on a {h}×{w} input"
        ))
    })?;
    // Without padding (or with padding counted) every window holds kh·kw values.
    let uniform = count_include_pad || pads == [0; 4];
    emit(ctx, "AveragePool", x, geom, count_include_pad, uniform)
}

/// Lowers ONNX `GlobalAveragePool` on `[N, C, spatial...]` (any number of spatial axes).
pub fn lower_global(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let xs = ctx.tensor(x).shape.clone();
    if xs.len() < 3 {
        return Err(ctx.bad_model(format!("GlobalAveragePool of a rank-{} tensor", xs.len())));
    }
    let area: usize = xs[2..].iter().product();
    // The spatial axes are contiguous in NCHW order: one window over a 1×area plane.
    let geom = Window2d::new([xs[0], xs[1], 1, area], [1, area], [1, 1], [0; 4])
        .ok_or_else(|| ctx.bad_model(format!("GlobalAveragePool of an empty tensor {xs:?}")))?;
    let mut shape = xs.clone();
    shape[2..].iter_mut().for_each(|d| *d = 1);
    emit_shaped(ctx, "GlobalAveragePool", x, geom, false, true, shape)
}

fn emit(
    ctx: &mut LowerCtx,
    op: &str,
    x: usize,
    geom: Window2d,
    include_pad: bool,
    uniform: bool,
) -> Result<(), CompileError> {
    let shape = vec![geom.batch, geom.c_in, geom.out_h, geom.out_w];
    emit_shaped(ctx, op, x, geom, include_pad, uniform, shape)
}

fn emit_shaped(
    ctx: &mut LowerCtx,
    op: &str,
    x: usize,
    geom: Window2d,
    count_include_pad: bool,
    uniform: bool,
    shape: Vec<usize>,
) -> Result<(), CompileError> {
    let count = geom.kh * geom.kw;
    let log2 = usize::BITS - (count - 1).leading_zeros(); // ceil(log2(count))
    let weight_scale = if uniform && count.is_power_of_two() {
        log2
    } else {
        ctx.settings().weight_scale as u32 + log2
    };
    let floats = FloatParams {
        weights: Vec::new(),
        bias: vec![0.0; geom.c_in],
    };
    affine::emit(ctx, op, x, shape, weight_scale as i32, floats, |_| {
        LinearMap::AvgPool2d {
            geom,
            count_include_pad,
            weight_scale,
        }
    })
}
