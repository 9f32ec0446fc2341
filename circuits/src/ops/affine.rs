//! Affine layers with constant weights: Gemm, MatMul (constant right operand) and a folded
//! bias Add, followed by requantisation and an optional fused ReLU.
//!
//! `y[m, n] = requant(bias[n] + Σ_k w[n, k] · x[m, k])`. Weights are circuit constants, so
//! the accumulator is a linear combination and costs no multiplication constraint; each
//! output costs `shift + out_bits` constraints (+1 with the fused ReLU).

use super::{CTensor, CValue, Op, OpError};
use crate::compile::{CompileError, LowerCtx};
use crate::fixed;
use crate::gadgets::{self, fr};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// A dense affine map over the rows of a `[rows, in_len]` input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    pub rows: usize,
    pub in_len: usize,
    pub out_len: usize,
    /// Row-major `[out_len, in_len]` at the weight scale.
    pub weights: Vec<i64>,
    /// `[out_len]` at the accumulator scale (input scale + weight scale).
    pub bias: Vec<i64>,
    /// Bits dropped by requantisation: accumulator scale − output scale.
    pub shift: u32,
    /// Signed bits of the output (its range check).
    pub out_bits: u32,
    /// Whether a ReLU follows (fused: one constraint per output on the sign bit).
    pub relu: bool,
}

impl Affine {
    fn acc(&self, x: &[i64], m: usize, n: usize) -> i128 {
        let w = &self.weights[n * self.in_len..(n + 1) * self.in_len];
        let x = &x[m * self.in_len..(m + 1) * self.in_len];
        let dot: i128 = w.iter().zip(x).map(|(&w, &x)| i128::from(w) * i128::from(x)).sum();
        dot + i128::from(self.bias[n])
    }

    /// The interval of every accumulator given the input interval (for overflow analysis).
    pub fn acc_bounds(&self, lo: i128, hi: i128) -> (i128, i128) {
        let (mut amin, mut amax) = (i128::MAX, i128::MIN);
        for n in 0..self.out_len {
            let (mut a, mut b) = (i128::from(self.bias[n]), i128::from(self.bias[n]));
            for &w in &self.weights[n * self.in_len..(n + 1) * self.in_len] {
                let w = i128::from(w);
                let (p, q) = (w * lo, w * hi);
                a += p.min(q);
                b += p.max(q);
            }
            amin = amin.min(a);
            amax = amax.max(b);
        }
        (amin, amax)
    }
}

impl Op for Affine {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        let x = inputs[0];
        let mut out = Vec::with_capacity(self.rows * self.out_len);
        for m in 0..self.rows {
            for n in 0..self.out_len {
                let (y, _) = fixed::requantize(self.acc(x, m, n), self.shift);
                if !fixed::fits_bits(y, self.out_bits) {
                    let index = m * self.out_len + n;
                    return Err(OpError { index, range: gadgets::RangeError { value: y, bits: self.out_bits } });
                }
                out.push(if self.relu { y.max(0) } else { y } as i64);
            }
        }
        Ok(out)
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let x = inputs[0];
        let xv: Vec<i64> = x.iter().map(|v| v.value as i64).collect();
        let mut out = Vec::with_capacity(self.rows * self.out_len);
        for m in 0..self.rows {
            let xs = &x[m * self.in_len..(m + 1) * self.in_len];
            for n in 0..self.out_len {
                let index = m * self.out_len + n;
                let acc = self.acc(&xv, m, n);
                let w = &self.weights[n * self.in_len..(n + 1) * self.in_len];
                let bias = self.bias[n];
                let y = gadgets::requantize(b, acc, self.shift, self.out_bits, || {
                    let mut lc = Lc::with_capacity(xs.len() + 1);
                    for (xi, &wi) in xs.iter().zip(w) {
                        lc.add_scaled(&xi.lc, fr(i128::from(wi)));
                    }
                    lc.add_constant(fr(i128::from(bias)));
                    lc
                })
                .map_err(|range| OpError { index, range })?;
                out.push(if self.relu {
                    let z = gadgets::relu(b, &y);
                    CValue { lc: z.into(), value: y.value.max(0), range: None }
                } else {
                    CValue { lc: y.var.into(), value: y.value, range: Some(y) }
                });
            }
        }
        Ok(out)
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let (lo, hi) = inputs[0];
        let (amin, amax) = self.acc_bounds(lo, hi);
        super::check_acc(amin, amax)?;
        let w = (fixed::requantize(amin, self.shift).0, fixed::requantize(amax, self.shift).0);
        Ok(if self.relu { (w.0.max(0), w.1.max(0)) } else { w })
    }
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
    let (out_len, in_len) = if trans_b { (w.shape[0], w.shape[1]) } else { (w.shape[1], w.shape[0]) };
    let weights: Vec<f64> = (0..out_len)
        .flat_map(|n| (0..in_len).map(move |k| (n, k)))
        .map(|(n, k)| alpha * if trans_b { w.data[n * in_len + k] } else { w.data[k * out_len + n] })
        .collect();
    let bias = match ctx.optional_const_input(2)? {
        Some(c) => Some(broadcast_bias(ctx, &c.data, out_len)?.into_iter().map(|v| beta * v).collect::<Vec<f64>>()),
        None => None,
    };
    build(ctx, x, in_len, out_len, &weights, bias.as_deref(), "Gemm")
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
    let weights: Vec<f64> =
        (0..out_len).flat_map(|n| (0..in_len).map(move |k| (n, k))).map(|(n, k)| w.data[k * out_len + n]).collect();
    build(ctx, x, in_len, out_len, &weights, None, "MatMul")
}

fn broadcast_bias(ctx: &LowerCtx, c: &[f64], out_len: usize) -> Result<Vec<f64>, CompileError> {
    match c.len() {
        1 => Ok(vec![c[0]; out_len]),
        n if n == out_len => Ok(c.to_vec()),
        n => Err(ctx.bad_model(format!("bias of {n} values for {out_len} outputs"))),
    }
}

fn build(
    ctx: &mut LowerCtx,
    x: usize,
    in_len: usize,
    out_len: usize,
    weights: &[f64],
    bias: Option<&[f64]>,
    op_type: &str,
) -> Result<(), CompileError> {
    let xi = ctx.tensor(x).clone();
    let last = *xi.shape.last().unwrap_or(&1);
    if last != in_len || xi.len() % in_len != 0 {
        return Err(ctx.bad_model(format!("input of shape {:?} does not match weights with {in_len} inputs", xi.shape)));
    }
    let rows = xi.len() / in_len;
    let s = ctx.settings().clone();
    let acc_scale = xi.scale + s.weight_scale;
    let shift = acc_scale - s.scale;
    if shift < 0 {
        return Err(ctx.bad_model(format!(
            "output scale {} exceeds the accumulator scale {acc_scale}; lower --scale",
            s.scale
        )));
    }
    let weights = ctx.quantize_all(weights, s.weight_scale, "weight")?;
    let bias = match bias {
        Some(b) => ctx.quantize_all(b, acc_scale, "bias")?,
        None => vec![0; out_len],
    };
    let mut shape = xi.shape.clone();
    *shape.last_mut().expect("non-empty shape") = out_len;
    let op = Affine { rows, in_len, out_len, weights, bias, shift: shift as u32, out_bits: s.bits, relu: false };
    ctx.emit(op_type, super::QOp::Affine(op), vec![x], shape, s.scale, s.bits);
    Ok(())
}

/// Folds `Add(affine_output, constant)` into the affine layer's bias when that is exact.
/// Returns `false` (and changes nothing) when the Add is not of that form.
pub fn try_fold_bias(ctx: &mut LowerCtx) -> Result<bool, CompileError> {
    let (act, cst) = match (ctx.is_const_input(0), ctx.is_const_input(1)) {
        (false, true) => (0, 1),
        (true, false) => (1, 0),
        _ => return Ok(false),
    };
    let x = ctx.activation_input(act)?;
    let Some(node) = ctx.sole_producer(x) else { return Ok(false) };
    let (acc_scale, out_len) = match &ctx.node(node).op {
        super::QOp::Affine(a) if !a.relu => {
            let input = ctx.node(node).inputs[0];
            (ctx.tensor(input).scale + ctx.settings().weight_scale, a.out_len)
        }
        _ => return Ok(false),
    };
    let c = ctx.const_input(cst)?;
    let add = broadcast_bias(ctx, &c.data, out_len)?;
    let add = ctx.quantize_all(&add, acc_scale, "bias")?;
    let name = ctx.node_name().to_string();
    let n = ctx.node_mut(node);
    if let super::QOp::Affine(a) = &mut n.op {
        for (b, v) in a.bias.iter_mut().zip(add) {
            *b += v;
        }
    }
    n.op_type.push_str("+Add");
    n.name = format!("{}+{}", n.name, name);
    ctx.alias_output(x);
    Ok(true)
}
