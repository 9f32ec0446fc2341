//! Affine layers with constant weights: `y = requant(bias[channel] + Σ w · x)` followed by an
//! optional fused ReLU, for every constant linear map ([`LinearMap`]): Gemm, MatMul (constant
//! right operand), Conv, AveragePool, BatchNormalization, Mul by a constant.
//!
//! Weights are circuit constants, so the accumulator is a linear combination and costs no
//! multiplication constraint; each output costs `shift + out_bits` constraints (+1 with the
//! fused ReLU), whatever the map. There is one requantisation path ([`gadgets::requantize`])
//! and one ReLU path ([`gadgets::relu`]) for all of them.

use crate::fixed;
use crate::gadgets::{self, fr};
use crate::graph::TensorId;
use crate::lower::{CompileError, FloatParams, LowerCtx};
use crate::ops::linear_map::LinearMap;
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// A constant linear map plus a per-channel bias, requantised to `out_bits` signed bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    pub map: LinearMap,
    /// `[map.channels()]` at the accumulator scale (input scale + the map's weight scale).
    pub bias: Vec<i64>,
    /// Bits dropped by requantisation: accumulator scale − output scale.
    pub shift: u32,
    /// Signed bits of the output (its range check).
    pub out_bits: u32,
    /// Whether a ReLU follows (fused: one constraint per output on the sign bit).
    pub relu: bool,
}

impl Affine {
    /// The exact accumulator of output `o` (`x` read through `value`).
    fn acc(&self, o: usize, value: impl Fn(usize) -> i128) -> i128 {
        let mut acc = i128::from(self.bias[self.map.channel(o)]);
        self.map
            .for_each_term(o, |i, w| acc += i128::from(w) * value(i));
        acc
    }

    /// The interval of every accumulator given the input interval (for overflow analysis).
    /// Only the first batch block is visited: the others repeat its weights.
    pub fn acc_bounds(&self, lo: i128, hi: i128) -> (i128, i128) {
        let (mut amin, mut amax) = (i128::MAX, i128::MIN);
        for o in 0..self.map.block_len() {
            let bias = i128::from(self.bias[self.map.channel(o)]);
            let (mut a, mut b) = (bias, bias);
            self.map.for_each_term(o, |_, w| {
                let (p, q) = (i128::from(w) * lo, i128::from(w) * hi);
                a += p.min(q);
                b += p.max(q);
            });
            amin = amin.min(a);
            amax = amax.max(b);
        }
        (amin, amax)
    }
}

impl Op for Affine {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        let x = inputs[0];
        (0..self.map.out_len())
            .map(|o| {
                let (y, _) = fixed::requantize(self.acc(o, |i| i128::from(x[i])), self.shift);
                if !fixed::fits_bits(y, self.out_bits) {
                    return Err(OpError {
                        index: o,
                        range: gadgets::RangeError {
                            value: y,
                            bits: self.out_bits,
                        },
                    });
                }
                Ok(if self.relu { y.max(0) } else { y } as i64)
            })
            .collect()
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let x = inputs[0];
        let mut out = Vec::with_capacity(self.map.out_len());
        for o in 0..self.map.out_len() {
            let acc = self.acc(o, |i| x[i].value);
            let bias = self.bias[self.map.channel(o)];
            let y = gadgets::requantize(b, acc, self.shift, self.out_bits, || {
                let mut lc = Lc::zero();
                self.map
                    .for_each_term(o, |i, w| lc.add_scaled(&x[i].lc, fr(i128::from(w))));
                lc.add_constant(fr(i128::from(bias)));
                lc
            })
            .map_err(|range| OpError { index: o, range })?;
            out.push(if self.relu {
                let z = gadgets::relu(b, &y);
                CValue {
                    lc: z.into(),
                    value: y.value.max(0),
                    range: None,
                }
            } else {
                CValue {
                    lc: y.var.into(),
                    value: y.value,
                    range: Some(y),
                }
            });
        }
        Ok(out)
    }

    fn error_bound(&self, inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // In accumulator units (input units × weight units): each term's input error times its
        // weight, plus each weight's rounding (≤ half a weight unit) times the input, plus the
        // bias's rounding (≤ half a unit); then the shift, then the output's own rounding. A
        // fused ReLU is 1-Lipschitz and adds nothing.
        let x = crate::ops::max_abs(inputs[0]);
        let mut worst = 0f64;
        for o in 0..self.map.block_len() {
            let (mut w_abs, mut terms) = (0f64, 0f64);
            self.map.for_each_term(o, |_, w| {
                w_abs += (w as f64).abs();
                terms += 1.0;
            });
            worst = worst.max(w_abs * errors[0] + 0.5 * terms * x + 0.5);
        }
        worst / 2f64.powi(self.shift as i32) + 0.5
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let (lo, hi) = inputs[0];
        let (amin, amax) = self.acc_bounds(lo, hi);
        crate::ops::check_acc(amin, amax)?;
        let w = (
            fixed::requantize(amin, self.shift).0,
            fixed::requantize(amax, self.shift).0,
        );
        Ok(if self.relu {
            (w.0.max(0), w.1.max(0))
        } else {
            w
        })
    }
}

/// Quantises and emits an affine node reading tensor `x`: `floats.weights` (in the map's
/// layout; empty for maps with implicit weights) at `weight_scale`, `floats.bias` (one per
/// channel) at the accumulator scale, output at the settings' scale and this node's bits.
/// `map` builds the map from the quantised weights. The float parameters are kept so that a
/// later BatchNormalization can fold into the node and re-quantise from floats.
pub fn emit(
    ctx: &mut LowerCtx,
    op_type: &str,
    x: TensorId,
    shape: Vec<usize>,
    weight_scale: i32,
    floats: FloatParams,
    map: impl FnOnce(Vec<i64>) -> LinearMap,
) -> Result<(), CompileError> {
    let xi = ctx.tensor(x).clone();
    let scale = ctx.settings().scale;
    let acc_scale = xi.scale + weight_scale;
    let shift = acc_scale - scale;
    if shift < 0 {
        return Err(ctx.bad_model(format!(
            "output scale {scale} exceeds the accumulator scale {acc_scale}; lower --scale"
        )));
    }
    let weights = ctx.quantize_all(&floats.weights, weight_scale, "weight")?;
    let map = map(weights);
    if map.in_len() != xi.len()
        || map.out_len() != shape.iter().product::<usize>()
        || floats.bias.len() != map.channels()
    {
        return Err(ctx.bad_model(format!(
            "input of shape {:?} does not match the layer's parameters (output {shape:?}, {} biases)",
            xi.shape,
            floats.bias.len()
        )));
    }
    let bias = ctx.quantize_all(&floats.bias, acc_scale, "bias")?;
    let out_bits = ctx.out_bits();
    let op = Affine {
        map,
        bias,
        shift: shift as u32,
        out_bits,
        relu: false,
    };
    ctx.emit(
        op_type,
        crate::ops::QOp::Affine(op),
        vec![x],
        shape,
        scale,
        out_bits,
    );
    if !floats.weights.is_empty() {
        ctx.set_float_params(floats);
    }
    Ok(())
}

/// ONNX `Gemm`: `alpha · A · op(B) + beta · C` with A the activation and B, C constants.
pub fn lower_gemm(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    if ctx.attr_int("transA", 0) != 0 {
        return Err(ctx.unsupported("transA = 1 on the activation"));
    }
    let trans_b = ctx.attr_int("transB", 0) != 0;
    let alpha = ctx.attr_float("alpha", 1.0);
    let beta = ctx.attr_float("beta", 1.0);
    let w = ctx.const_input(1)?;
    if w.shape.len() != 2 {
        return Err(ctx.bad_model(format!("Gemm weight has shape {:?}, expected 2-D", w.shape)));
    }
    let (out_len, in_len) = if trans_b {
        (w.shape[0], w.shape[1])
    } else {
        (w.shape[1], w.shape[0])
    };
    let weights: Vec<f64> = (0..out_len)
        .flat_map(|n| (0..in_len).map(move |k| (n, k)))
        .map(|(n, k)| {
            alpha
                * if trans_b {
                    w.data[n * in_len + k]
                } else {
                    w.data[k * out_len + n]
                }
        })
        .collect();
    let bias = match ctx.optional_const_input(2)? {
        Some(c) => broadcast_bias(ctx, &c.data, out_len)?
            .into_iter()
            .map(|v| beta * v)
            .collect(),
        None => vec![0.0; out_len],
    };
    build_dense(ctx, x, in_len, out_len, weights, bias, "Gemm")
}

/// ONNX `MatMul` of an activation by a constant `[K, N]` matrix.
pub fn lower_matmul(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if ctx.is_const_input(0) {
        return Err(ctx.unsupported("MatMul with a constant left operand"));
    }
    if !ctx.is_const_input(1) {
        return Err(ctx.unsupported("MatMul of two activations"));
    }
    let x = ctx.activation_input(0)?;
    let w = ctx.const_input(1)?;
    if w.shape.len() != 2 {
        return Err(ctx.unsupported(&format!("MatMul by a {}-D constant", w.shape.len())));
    }
    let (in_len, out_len) = (w.shape[0], w.shape[1]);
    let weights: Vec<f64> = (0..out_len)
        .flat_map(|n| (0..in_len).map(move |k| (n, k)))
        .map(|(n, k)| w.data[k * out_len + n])
        .collect();
    build_dense(
        ctx,
        x,
        in_len,
        out_len,
        weights,
        vec![0.0; out_len],
        "MatMul",
    )
}

fn broadcast_bias(ctx: &LowerCtx, c: &[f64], out_len: usize) -> Result<Vec<f64>, CompileError> {
    match c.len() {
        1 => Ok(vec![c[0]; out_len]),
        n if n == out_len => Ok(c.to_vec()),
        n => Err(ctx.bad_model(format!("bias of {n} values for {out_len} outputs"))),
    }
}

fn build_dense(
    ctx: &mut LowerCtx,
    x: TensorId,
    in_len: usize,
    out_len: usize,
    weights: Vec<f64>,
    bias: Vec<f64>,
    op_type: &str,
) -> Result<(), CompileError> {
    let xi = ctx.tensor(x).clone();
    let last = *xi.shape.last().unwrap_or(&1);
    if last != in_len || in_len == 0 || !xi.len().is_multiple_of(in_len) {
        return Err(ctx.bad_model(format!(
            "input of shape {:?} does not match weights with {in_len} inputs",
            xi.shape
        )));
    }
    let rows = xi.len() / in_len;
    let mut shape = xi.shape.clone();
    *shape.last_mut().expect("non-empty shape") = out_len;
    let ws = ctx.settings().weight_scale;
    emit(
        ctx,
        op_type,
        x,
        shape,
        ws,
        FloatParams { weights, bias },
        |weights| LinearMap::Dense {
            rows,
            in_len,
            out_len,
            weights,
        },
    )
}

/// The per-channel values of a constant added to (or multiplying) the output of `map`, whose
/// tensor has rank `rank`; `None` when the constant does not vary along the map's channels
/// alone (it is then not foldable into the layer).
pub fn per_channel_const(map: &LinearMap, rank: usize, c: &crate::onnx::Const) -> Option<Vec<f64>> {
    let channels = map.channels();
    if c.data.len() == 1 {
        return Some(vec![c.data[0]; channels]);
    }
    if c.shape.len() > rank || c.data.len() != channels {
        return None;
    }
    // The channel axis: last for a dense map, 1 (NCHW) for the others.
    let axis = match map {
        LinearMap::Dense { .. } => rank - 1,
        LinearMap::Conv2d { .. } | LinearMap::AvgPool2d { .. } if rank == 4 => 1,
        _ => return None,
    };
    let pad = rank - c.shape.len();
    let fits = c.shape.iter().enumerate().all(|(i, &d)| {
        if i + pad == axis {
            d == channels
        } else {
            d == 1
        }
    });
    fits.then(|| c.data.clone())
}

/// Folds `Add(affine_output, constant)` into the affine layer's bias when that is exact (the
/// constant is one value per channel of the layer). Returns `false` (and changes nothing)
/// when the Add is not of that form.
pub fn try_fold_bias(ctx: &mut LowerCtx) -> Result<bool, CompileError> {
    let (act, cst) = match (ctx.is_const_input(0), ctx.is_const_input(1)) {
        (false, true) => (0, 1),
        (true, false) => (1, 0),
        _ => return Ok(false),
    };
    let x = ctx.activation_input(act)?;
    let Some(node) = ctx.sole_producer(x) else {
        return Ok(false);
    };
    let c = ctx.const_input(cst)?;
    let rank = ctx.tensor(x).shape.len();
    let (acc_scale, add) = match &ctx.node(node).op {
        crate::ops::QOp::Affine(a) if !a.relu => {
            let Some(add) = per_channel_const(&a.map, rank, &c) else {
                return Ok(false);
            };
            (ctx.tensor(x).scale + a.shift as i32, add)
        }
        _ => return Ok(false),
    };
    let add_q = ctx.quantize_all(&add, acc_scale, "bias")?;
    if let Some(fp) = ctx.float_params_mut(node) {
        fp.bias.iter_mut().zip(&add).for_each(|(b, v)| *b += v);
    }
    let name = ctx.node_name().to_string();
    let op_type = ctx.op_type().to_string();
    // The tensor now holds the sum, whose range is this node's, not the product's.
    let out_bits = ctx.out_bits();
    let n = ctx.node_mut(node);
    if let crate::ops::QOp::Affine(a) = &mut n.op {
        for (b, v) in a.bias.iter_mut().zip(add_q) {
            *b += v;
        }
        a.out_bits = out_bits;
    }
    n.op_type = format!("{}+{op_type}", n.op_type);
    n.name = format!("{}+{}", n.name, name);
    ctx.tensor_mut(x).bits = out_bits;
    ctx.fuse_output(x);
    Ok(true)
}

/// Folds a per-channel `y = a_c · x + b_c` (BatchNormalization, `op_type`) into the Gemm,
/// MatMul or Conv producing `x` when this node is its only consumer: the layer's float
/// weights of channel `c` are multiplied by `a_c` and its bias becomes `a_c · bias_c + b_c`,
/// then both are re-quantised from floats (one rounding, not two). `channel_axis` is the
/// axis of `x` that `a` and `b` run along. Returns `false` (and changes nothing) otherwise.
pub fn try_fold_per_channel(
    ctx: &mut LowerCtx,
    x: TensorId,
    channel_axis: usize,
    a: &[f64],
    b: &[f64],
) -> Result<bool, CompileError> {
    let Some(node) = ctx.sole_producer(x) else {
        return Ok(false);
    };
    let rank = ctx.tensor(x).shape.len();
    let ok_axis = match &ctx.node(node).op {
        crate::ops::QOp::Affine(af) if !af.relu && af.map.channels() == a.len() => match af.map {
            LinearMap::Dense { .. } => channel_axis + 1 == rank,
            LinearMap::Conv2d { .. } => channel_axis == 1,
            _ => false,
        },
        _ => false,
    };
    if !ok_axis {
        return Ok(false);
    }
    let Some(fp) = ctx.float_params_mut(node) else {
        return Ok(false);
    };
    let per = fp.weights.len() / a.len();
    let weights: Vec<f64> = fp
        .weights
        .iter()
        .enumerate()
        .map(|(i, w)| w * a[i / per])
        .collect();
    let bias: Vec<f64> = fp
        .bias
        .iter()
        .zip(a.iter().zip(b))
        .map(|(bi, (ac, bc))| bi * ac + bc)
        .collect();
    let ws = ctx.settings().weight_scale;
    let shift = match &ctx.node(node).op {
        crate::ops::QOp::Affine(af) => af.shift as i32,
        _ => unreachable!("checked above"),
    };
    let acc_scale = ctx.tensor(x).scale + shift;
    let wq = ctx.quantize_all(&weights, ws, "folded weight")?;
    let bq = ctx.quantize_all(&bias, acc_scale, "folded bias")?;
    let out_bits = ctx.out_bits();
    if let Some(fp) = ctx.float_params_mut(node) {
        *fp = FloatParams { weights, bias };
    }
    let (name, op_type) = (ctx.node_name().to_string(), ctx.op_type().to_string());
    let n = ctx.node_mut(node);
    if let crate::ops::QOp::Affine(af) = &mut n.op {
        *af.map
            .weights_mut()
            .expect("dense and conv maps have weights") = wq;
        af.bias = bq;
        af.out_bits = out_bits;
    }
    n.op_type = format!("{}+{op_type}", n.op_type);
    n.name = format!("{}+{}", n.name, name);
    // The tensor now holds the folded op's output, so it takes that output's bits.
    ctx.tensor_mut(x).bits = out_bits;
    ctx.fuse_output(x);
    Ok(true)
}
