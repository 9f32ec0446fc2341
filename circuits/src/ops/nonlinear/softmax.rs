//! Softmax over the last axis, optionally fused with the masking `Where` before it.
//!
//! Per row of `n` unmasked values `x_i` (scale `s_in`), output scale `s` (the settings'):
//! 1. **Max.** `M` is a new variable; `d_i = M - x_i` are linear combinations. Every `d_i ≥ 0`
//!    is proven by the exp's range check of `d_i·L` (step 1 of
//!    [`crate::ops::nonlinear::exp`]), and `Π d_i = 0` (`n - 1` multiplications; the product is
//!    taken in the field, where it is 0 only if a factor is) proves that `M` is one of the
//!    `x_i`: `M` is the maximum.
//! 2. **Exp.** `e_i = exp(-d_i)` at scale `E = s + ⌈log2 n⌉ + 2` ([`ExpNeg`], precision
//!    `p = s + 3`), range-checked; `e ≈ 2^E > 0` where `d = 0`, so the sum `S = Σ e_i` (a linear
//!    combination) is positive.
//! 3. **Division.** `out_i = round(e_i·2^s / S) = floor((e_i·2^(s+1) + S) / 2S)`, proven as
//!    `e_i·2^(s+1) + S = out_i·2S + r_i` (one multiplication) with `0 ≤ r_i < 2S` (two range
//!    checks, of `r_i` and `2S - 1 - r_i`) and `out_i` range-checked to the output's bits
//!    (which makes the quotient unique: nothing wraps around the field).
//!
//! A row with a single unmasked value is exactly `2^s`, a masked position exactly 0: constants,
//! no constraint. Masked positions come from a fused constant-condition `Where`
//! ([`crate::ops::array::where_const`]): they are excluded from the max, the product and the
//! sum, so a causal mask roughly halves the cost of an attention's softmax.
//!
//! **Error bound** ([`Op::error_bound`], output units): `0.5·ε_in·2^(s - s_in)` (softmax is
//! 1/2-Lipschitz in the max norm) `+ 2^s·(2ε + δ·(1.5 + ln n)) + (n+1)·2^(s-E) + 0.5`, with `ε`,
//! `δ` the exp's relative and exponent errors ([`ExpNeg::rel_error`], [`ExpNeg::log2e_error`]);
//! about one output ulp. **Measured** against the float softmax on exact inputs: 0.00193 at
//! scale 8 (half an ulp is 0.00195), 0.00048 at scale 10 (half an ulp 0.00049): the output's
//! rounding dominates.
//! **Cost** per element at scale 8, 16-bit inputs, rows of 16: **144.9 constraints** = 0.94
//! (max) + 93 (exp) + 51 (division: 1 product, a 10-bit output check, two 20-bit remainder
//! checks). A causal 4×4 mask brings a `[1,2,4,4]` softmax to 66 per output.

use super::exp::ExpNeg;
use crate::fixed;
use crate::gadgets::{self, fr, pow2, RangeError};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::array::where_const::{Source, Where};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use ark_bn254::Fr;
use ark_ff::{One, Zero};

use serde::{Deserialize, Serialize};

/// Softmax over the last axis of `shape`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Softmax {
    /// The output's shape; rows run along the last axis.
    pub shape: Vec<usize>,
    /// Signed bits of the (selected) input values: every `d_i` lies in `[0, 2^in_bits)`.
    pub in_bits: u32,
    /// `exp(-d)` to scale `E`.
    pub exp: ExpNeg,
    /// The output's scale `s`: outputs lie in `[0, 2^s]`.
    pub out_scale: i32,
    pub out_bits: u32,
    /// A fused masking Where that selects the input values from the node's inputs (`None`: the
    /// input is read as is).
    pub select: Option<Where>,
}

impl Softmax {
    /// The op for input values of `in_bits` bits at `in_scale`, output at `out_scale` with
    /// `out_bits`, rows of `row_len` (at most that many unmasked values).
    pub fn new(
        shape: Vec<usize>,
        in_scale: i32,
        in_bits: u32,
        out_scale: i32,
        out_bits: u32,
        select: Option<Where>,
    ) -> Result<Softmax, String> {
        let row = *shape.last().ok_or("a softmax of a scalar")?;
        if !(0..=30).contains(&out_scale) {
            return Err(format!("output scale {out_scale}"));
        }
        let log_n = usize::BITS - row.max(1).saturating_sub(1).leading_zeros();
        let e_scale = out_scale as u32 + log_n + 2;
        let exp = ExpNeg::new(in_scale, in_bits, e_scale, out_scale as u32 + 3)?;
        let op = Softmax {
            shape,
            in_bits,
            exp,
            out_scale,
            out_bits,
            select,
        };
        // The division's values: out·2S ≤ 2^(out_bits + rb); far below the field.
        if op.rem_bits() + out_bits + 2 > crate::ops::ACC_LIMIT_BITS {
            return Err("the softmax's division would exceed the accumulator limit".into());
        }
        Ok(op)
    }

    fn row_len(&self) -> usize {
        *self.shape.last().expect("rank ≥ 1")
    }

    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bits of the remainder checks: `2S - 1 < 2·n·2^(E+1)`.
    fn rem_bits(&self) -> u32 {
        let n = self.row_len().max(1) as u128;
        let max_2s = 2 * n * (1u128 << (self.exp.out_bits - 1));
        128 - (max_2s - 1).leading_zeros()
    }

    /// The source of element `i` of the (selected) input.
    fn source(&self, i: usize) -> Source {
        match &self.select {
            Some(w) => w.source(i),
            None => Source::Input {
                input: 0,
                index: i,
                shift: 0,
            },
        }
    }

    /// The input values of row `r`, `None` where masked.
    fn row_values(&self, inputs: &[&[i64]], r: usize) -> Vec<Option<i128>> {
        let n = self.row_len();
        (r * n..(r + 1) * n)
            .map(|i| match self.source(i) {
                Source::Input {
                    input,
                    index,
                    shift,
                } => Some(i128::from(inputs[input][index]) << shift),
                Source::Const(v) => Some(i128::from(v)),
                Source::Masked => None,
            })
            .collect()
    }

    fn check_out(&self, index: usize, v: i128) -> Result<(), OpError> {
        if fixed::fits_bits(v, self.out_bits) {
            Ok(())
        } else {
            Err(OpError {
                index,
                range: RangeError {
                    value: v,
                    bits: self.out_bits,
                },
            })
        }
    }

    /// `2^s`, the output of a row's only unmasked value.
    fn one(&self) -> i128 {
        1i128 << self.out_scale
    }

    /// The exp of every value of a row (integer inference), checking the input's range.
    fn row_exps(&self, row: &[Option<i128>], first: usize) -> Result<Vec<Option<i128>>, OpError> {
        let m = row
            .iter()
            .flatten()
            .copied()
            .max()
            .expect("a row has an unmasked value");
        row.iter()
            .enumerate()
            .map(|(j, x)| {
                x.map(|x| {
                    if !fixed::fits_bits(x, self.in_bits) {
                        return Err(OpError {
                            index: first + j,
                            range: RangeError {
                                value: x,
                                bits: self.in_bits,
                            },
                        });
                    }
                    self.exp.eval(m - x).map_err(|range| OpError {
                        index: first + j,
                        range,
                    })
                })
                .transpose()
            })
            .collect()
    }

    /// `round(e·2^s / S)` and its remainder: `e·2^(s+1) + S = out·2S + r`.
    fn divide(&self, e: i128, sum: i128) -> (i128, i128) {
        let num = (e << (self.out_scale + 1)) + sum;
        let q = num / (2 * sum);
        (q, num - q * 2 * sum)
    }
}

impl Op for Softmax {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        let n = self.row_len();
        let mut out = Vec::with_capacity(self.len());
        for r in 0..self.len() / n.max(1) {
            let row = self.row_values(inputs, r);
            let unmasked = row.iter().flatten().count();
            if unmasked == 1 {
                for (j, x) in row.iter().enumerate() {
                    let v = if x.is_some() { self.one() } else { 0 };
                    self.check_out(r * n + j, v)?;
                    out.push(v as i64);
                }
                continue;
            }
            let exps = self.row_exps(&row, r * n)?;
            let sum: i128 = exps.iter().flatten().sum();
            for (j, e) in exps.iter().enumerate() {
                let v = e.map_or(0, |e| self.divide(e, sum).0);
                self.check_out(r * n + j, v)?;
                out.push(v as i64);
            }
        }
        Ok(out)
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let n = self.row_len();
        let mats = b.builds_matrices();
        let rb = self.rem_bits();
        let mut out = Vec::with_capacity(self.len());
        for r in 0..self.len() / n.max(1) {
            let first = r * n;
            let row: Vec<Option<CValue>> = (first..first + n)
                .map(|i| match self.source(i) {
                    Source::Input {
                        input,
                        index,
                        shift,
                    } => {
                        let x = &inputs[input][index];
                        Some(CValue {
                            lc: x.lc.scaled(pow2(shift)),
                            value: x.value << shift,
                            range: None,
                        })
                    }
                    Source::Const(v) => Some(constant(i128::from(v))),
                    Source::Masked => None,
                })
                .collect();
            let unmasked: Vec<&CValue> = row.iter().flatten().collect();
            let structure = b.structure_only();
            let check = |index: usize, v: i128| -> Result<(), OpError> {
                if structure {
                    Ok(())
                } else {
                    self.check_out(index, v)
                }
            };
            if unmasked.len() == 1 {
                for (j, x) in row.iter().enumerate() {
                    let v = if x.is_some() { self.one() } else { 0 };
                    check(first + j, v)?;
                    out.push(constant(v));
                }
                continue;
            }
            let err = |j: usize, range: RangeError| OpError {
                index: first + j,
                range,
            };
            // 1. The maximum: M, d_j = M - x_j, Π d_j = 0.
            let m_val = unmasked.iter().map(|x| x.value).max().expect("non-empty");
            let m = b.alloc(fr(m_val));
            let d_lc = |x: &CValue| {
                let mut lc = Lc::from(m);
                lc.add_scaled(&x.lc, -Fr::one());
                lc
            };
            let mut chain: Option<(Lc, Fr)> = None;
            for (k, x) in unmasked.iter().enumerate() {
                let dv = fr(m_val - x.value);
                chain = Some(match chain {
                    None => (d_lc(x), dv),
                    Some((lc, v)) => {
                        let p = v * dv;
                        if k + 1 == unmasked.len() {
                            b.enforce(|| lc, || d_lc(x), Lc::zero);
                            (Lc::zero(), Fr::zero())
                        } else {
                            let var = b.alloc(p);
                            b.enforce(|| lc, || d_lc(x), || var.into());
                            (var.into(), p)
                        }
                    }
                });
            }
            // 2. The exps and their sum.
            let mut exps: Vec<Option<gadgets::Signed>> = Vec::with_capacity(n);
            for (j, x) in row.iter().enumerate() {
                exps.push(match x {
                    None => None,
                    Some(x) => {
                        if !structure && !fixed::fits_bits(x.value, self.in_bits) {
                            return Err(err(
                                j,
                                RangeError {
                                    value: x.value,
                                    bits: self.in_bits,
                                },
                            ));
                        }
                        let lc = if mats { d_lc(x) } else { Lc::zero() };
                        Some(
                            self.exp
                                .synthesize(b, m_val - x.value, &lc)
                                .map_err(|r| err(j, r))?,
                        )
                    }
                });
            }
            let sum: i128 = exps.iter().flatten().map(|e| e.value).sum();
            let s_lc = || {
                let mut lc = Lc::with_capacity(n);
                for e in exps.iter().flatten() {
                    lc.add_term(e.var, Fr::one());
                }
                lc
            };
            // 3. out_j = round(e_j·2^s / S): e_j·2^(s+1) + S = out_j·2S + r_j, 0 ≤ r_j < 2S.
            for (j, e) in exps.iter().enumerate() {
                let Some(e) = e else {
                    out.push(constant(0));
                    continue;
                };
                let (q, rem) = if sum > 0 {
                    self.divide(e.value, sum)
                } else {
                    (0, 0)
                };
                let o = gadgets::signed(b, q, self.out_bits).map_err(|r| err(j, r))?;
                let prod = b.alloc(fr(q * 2 * sum));
                b.enforce(|| o.var.into(), || s_lc().scaled(fr(2)), || prod.into());
                let ev = e.var;
                let r_lc = || {
                    let mut lc = s_lc();
                    lc.add_term(ev, pow2(self.out_scale as u32 + 1));
                    lc.add_term(prod, -Fr::one());
                    lc
                };
                gadgets::range_check(b, rem, rb, r_lc).map_err(|r| err(j, r))?;
                gadgets::range_check(b, 2 * sum - 1 - rem, rb, || {
                    let mut lc = s_lc().scaled(fr(2));
                    lc.add_constant(-Fr::one());
                    lc.add_scaled(&r_lc(), -Fr::one());
                    lc
                })
                .map_err(|r| err(j, r))?;
                out.push(CValue {
                    lc: o.var.into(),
                    value: q,
                    range: Some(o),
                });
            }
        }
        Ok(out)
    }

    fn bounds(&self, _inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        Ok((0, self.one()))
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // Input errors at the (selected) input's scale: a shifted input's scales with it, a
        // fused constant is rounded (half a unit).
        let in_err = match &self.select {
            None => errors[0],
            Some(w) => (0..w.len())
                .map(|i| match w.source(i) {
                    Source::Input { input, shift, .. } => errors[input] * 2f64.powi(shift as i32),
                    Source::Const(_) => 0.5,
                    Source::Masked => 0.0,
                })
                .fold(0f64, f64::max),
        };
        let s = self.out_scale;
        let n = self.row_len() as f64;
        let lipschitz = 0.5 * in_err * 2f64.powi(s - self.exp.in_scale);
        let approx =
            2f64.powi(s) * (2.0 * self.exp.rel_error() + self.exp.log2e_error() * (1.5 + n.ln()));
        let rounding = (n + 1.0) * 2f64.powi(s - self.exp.out_scale as i32);
        // Both the output and the float softmax lie in [0, 1]: never more than 1 apart.
        (lipschitz + approx + rounding + 0.5).min(2f64.powi(s))
    }
}

fn constant(v: i128) -> CValue {
    CValue {
        lc: Lc::constant(fr(v)),
        value: v,
        range: None,
    }
}

/// ONNX `Softmax` over the last axis. A masking `Where` producing the input, with this Softmax
/// as its only reader, is fused: its masked positions come out as exactly 0.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let rank = info.shape.len();
    if rank == 0 {
        return Err(ctx.bad_model("Softmax of a scalar".into()));
    }
    let axis = ctx.attr_int("axis", -1);
    let axis = if axis < 0 { axis + rank as i64 } else { axis };
    if axis != rank as i64 - 1 {
        return Err(ctx.unsupported(&format!(
            "Softmax over axis {axis} of a rank-{rank} input (only the last axis)"
        )));
    }
    let s_out = ctx.settings().scale;
    // Outputs lie in [0, 2^s]: s + 2 signed bits hold them, fewer if calibration chose fewer.
    let out_bits = ctx.out_bits().min(s_out as u32 + 2);
    if let Some(node) = ctx.sole_producer(x) {
        if let crate::ops::QOp::Where(w) = &ctx.node(node).op {
            if w.has_mask() {
                let w = w.clone();
                let rows = w.len() / info.shape[rank - 1].max(1);
                let n = info.shape[rank - 1];
                if (0..rows).any(|r| (r * n..(r + 1) * n).all(|i| w.source(i) == Source::Masked)) {
                    return Err(ctx.unsupported("a row of the Softmax is masked entirely"));
                }
                // Values fit the bits of the unmasked selection.
                let in_bits = info.bits;
                let op = Softmax::new(
                    info.shape.clone(),
                    info.scale,
                    in_bits,
                    s_out,
                    out_bits,
                    Some(w),
                )
                .map_err(|why| ctx.unsupported(&why))?;
                let name = ctx.node_name().to_string();
                let n = ctx.node_mut(node);
                n.op = crate::ops::QOp::Softmax(op);
                n.op_type.push_str("+Softmax");
                n.name = format!("{}+{}", n.name, name);
                let t = ctx.tensor_mut(x);
                t.scale = s_out;
                t.bits = out_bits;
                ctx.fuse_output(x);
                return Ok(());
            }
        }
    }
    let op = Softmax::new(
        info.shape.clone(),
        info.scale,
        info.bits,
        s_out,
        out_bits,
        None,
    )
    .map_err(|why| ctx.unsupported(&why))?;
    ctx.emit(
        "Softmax",
        crate::ops::QOp::Softmax(op),
        vec![x],
        info.shape,
        s_out,
        out_bits,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::array::where_const::Branch;
    use crate::ops::compare::tests::{assert_pinned, input};

    fn float_softmax(row: &[Option<f64>]) -> Vec<f64> {
        let m = row.iter().flatten().fold(f64::MIN, |a, &b| a.max(b));
        let e: Vec<f64> = row
            .iter()
            .map(|x| x.map_or(0.0, |x| (x - m).exp()))
            .collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }

    /// A causal mask over `[1, heads, n, n]` fused as Where(mask, -inf, x).
    fn causal(heads: usize, n: usize) -> Where {
        Where {
            shape: vec![1, heads, n, n],
            cond_shape: vec![1, 1, n, n],
            cond: (0..n * n).map(|i| i % n > i / n).collect(),
            then_branch: Branch::Const {
                shape: vec![1, 1, 1, 1],
                values: vec![None],
            },
            else_branch: Branch::Input {
                input: 0,
                shape: vec![1, heads, n, n],
                shift: 0,
            },
            masked_value: -(1 << 15),
        }
    }

    /// Pseudo-random logits in [-range, range) (a simple LCG: deterministic).
    fn logits(len: usize, range: i64, seed: u64) -> Vec<i64> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as i64 % (2 * range)) - range
            })
            .collect()
    }

    /// Max |error| (real units) of `op` against the float softmax on `x`.
    fn max_error(op: &Softmax, x: &[i64]) -> f64 {
        let y = op.eval(&[x]).unwrap();
        let n = op.row_len();
        let s_in = op.exp.in_scale;
        let mut worst = 0f64;
        for r in 0..y.len() / n {
            let row: Vec<Option<f64>> = (r * n..(r + 1) * n)
                .map(|i| match op.source(i) {
                    Source::Masked => None,
                    Source::Input { index, .. } => Some(fixed::dequantize(x[index], s_in)),
                    Source::Const(v) => Some(fixed::dequantize(v, s_in)),
                })
                .collect();
            for (j, want) in float_softmax(&row).into_iter().enumerate() {
                let got = fixed::dequantize(y[r * n + j], op.out_scale);
                worst = worst.max((got - want).abs());
            }
        }
        worst
    }

    #[test]
    fn agrees_with_the_float_softmax_within_its_bound() {
        for (s, bits, n, range) in [
            (8, 16, 16, 6 << 8),
            (7, 16, 16, 1 << 15),
            (10, 20, 6, 5 << 10),
            (8, 16, 64, 3 << 8),
        ] {
            let op = Softmax::new(vec![4, n], s, bits, s, s as u32 + 2, None).unwrap();
            let x = logits(4 * n, range, 7);
            let err = max_error(&op, &x);
            // The bound, for exact inputs, in real units.
            let bound = op.error_bound(&[], &[0.0]) * 2f64.powi(-s);
            println!(
                "softmax (scale {s}, {bits} bits, rows of {n}): max error {err:.5} (bound {bound:.5}, half an ulp {:.5})",
                0.5 * 2f64.powi(-s)
            );
            assert!(err <= bound, "{err} > {bound}");
            assert!(err <= 1.5 * 2f64.powi(-s), "{err}");
        }
    }

    #[test]
    fn rows_sum_to_one_and_saturate() {
        let op = Softmax::new(vec![3, 4], 8, 16, 8, 10, None).unwrap();
        // One dominant value, all equal, a spread.
        let x: Vec<i64> = vec![8000, -8000, 0, 3, 5, 5, 5, 5, -300, 100, 0, 200];
        let y = op.eval(&[&x]).unwrap();
        assert_eq!(&y[..4], &[256, 0, 0, 0]);
        assert_eq!(&y[4..8], &[64, 64, 64, 64]);
        let sum: i64 = y[8..].iter().sum();
        assert!((sum - 256).abs() <= 2, "{sum}");
    }

    #[test]
    fn masked_positions_are_zero_and_free() {
        let (heads, n) = (2, 5);
        let op = Softmax::new(vec![1, heads, n, n], 8, 16, 8, 10, Some(causal(heads, n))).unwrap();
        let x = logits(heads * n * n, 3 << 8, 3);
        let y = op.eval(&[&x]).unwrap();
        for h in 0..heads {
            for i in 0..n {
                for j in 0..n {
                    let v = y[(h * n + i) * n + j];
                    if j > i {
                        assert_eq!(v, 0);
                    }
                }
            }
            // The first row has a single unmasked value: exactly one.
            assert_eq!(y[h * n * n], 256);
        }
        let err = max_error(&op, &x);
        println!("masked softmax: max error {err:.5}");
        assert!(err <= 1.5 / 256.0);
        // Constraints: only unmasked positions of rows with ≥ 2 of them cost anything.
        let unmasked_costly: usize = heads * (2..=n).sum::<usize>();
        let (per, _) = circuit(&op, &x, 16, true);
        let full = Softmax::new(vec![1, heads, n, n], 8, 16, 8, 10, None).unwrap();
        let (per_full, _) = circuit(&full, &x, 16, false);
        println!(
            "masked: {per} constraints for {unmasked_costly} costly positions; unmasked: {per_full}"
        );
        assert!(
            per * 2 < per_full + per_full / 3,
            "masking must roughly halve the cost"
        );
    }

    /// Synthesises `op` on `x` (inputs free variables with a range proof of `bits`), checks the
    /// outputs against eval and (with `pin`) that every witness value is pinned; returns
    /// (constraints, first witness variable of the op).
    fn circuit(op: &Softmax, x: &[i64], bits: u32, pin: bool) -> (usize, usize) {
        let want = op.eval(&[x]).unwrap();
        let mut b = Builder::new(vec![], true);
        let xs: CTensor = x
            .iter()
            .map(|&v| input(&mut b, i128::from(v), bits, true))
            .collect();
        let first = b.num_witness() + 1;
        let n0 = b.num_constraints();
        let y = op.synthesize(&mut b, &[&xs]).unwrap();
        let cost = b.num_constraints() - n0;
        let s = b.finish();
        for (c, &w) in y.iter().zip(&want) {
            assert_eq!(c.value, i128::from(w));
            assert_eq!(c.lc.eval(&s.assignment), fr(i128::from(w)));
        }
        if pin {
            assert_pinned(&s, first);
        }
        (cost, first)
    }

    #[test]
    fn circuit_matches_eval_is_pinned_and_costs() {
        let n = 16;
        let op = Softmax::new(vec![2, n], 8, 16, 8, 10, None).unwrap();
        let x = logits(2 * n, 4 << 8, 11);
        let (cost, _) = circuit(&op, &x, 16, true);
        let per = cost as f64 / (2 * n) as f64;
        println!(
            "softmax (scale 8, 16 bits, rows of 16): {per:.1} constraints per element \
             (exp {}, division {}, max {:.2})",
            op.exp.cost(),
            1 + 2 * op.rem_bits() + op.out_bits,
            (n - 1) as f64 / n as f64
        );
        assert_eq!(
            cost,
            2 * ((n - 1)
                + n * (op.exp.cost() + 1 + 2 * op.rem_bits() as usize + op.out_bits as usize))
        );
    }

    #[test]
    fn a_forged_output_is_rejected() {
        // Claim another output for one position (keeping every other witness value): the
        // division's constraints catch it whatever the remainder's bits say.
        let op = Softmax::new(vec![1, 4], 8, 12, 8, 10, None).unwrap();
        let x: Vec<i64> = vec![100, -50, 7, 300];
        let mut b = Builder::new(vec![], true);
        let xs: CTensor = x
            .iter()
            .map(|&v| input(&mut b, i128::from(v), 12, true))
            .collect();
        let y = op.synthesize(&mut b, &[&xs]).unwrap();
        let s = b.finish();
        assert!(s.r1cs.is_satisfied(&s.assignment));
        for o in &y {
            let var = o.range.as_ref().unwrap().var.0 as usize;
            for d in [-1i128, 1] {
                let mut z = s.assignment.clone();
                z[var] += fr(d);
                assert!(!s.r1cs.is_satisfied(&z));
            }
        }
    }

    #[test]
    fn out_of_range_inputs_are_refused_like_the_circuit() {
        let op = Softmax::new(vec![1, 2], 8, 8, 8, 10, None).unwrap();
        assert!(op.eval(&[&[127, -128]]).is_ok());
        assert!(op.eval(&[&[128, 0]]).is_err());
    }
}
