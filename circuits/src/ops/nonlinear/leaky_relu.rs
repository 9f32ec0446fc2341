//! LeakyRelu: `y = α·x + (1 − α)·relu(x)`, computed as `relu(x) + requant(α_q · (x − relu(x)))`
//! (the same function, rearranged so that only the negative part is rounded).
//!
//! `α_q = round(α · 2^w) / 2^w` at the weight scale `w`; the output keeps the input's scale.
//! Error against the float function on the quantised input `x` (real units): exact for
//! `x ≥ 0`; for `x < 0` at most `|x| · |α − α_q| + 2^-(s+1)` with `|α − α_q| ≤ 2^-(w+1)`
//! (α = 0.1, w = s = 8: 0.0016·|x| + 0.002).
//!
//! Cost per value: the ReLU (1 constraint on an input that carries a range proof, `bits + 1`
//! otherwise) plus the requantisation (`w + t_bits`, `t_bits` the bits of the negative part,
//! about `bits + log2(α)`).

use crate::fixed;
use crate::gadgets::{self, fr};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{compare, CTensor, CValue, Op, OpError};
use crate::r1cs::Builder;
use serde::{Deserialize, Serialize};

/// Leaky ReLU on a tensor whose values fit `in_bits` signed bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeakyRelu {
    /// α at the weight scale.
    pub alpha: i64,
    /// The weight scale: bits dropped when requantising `α_q · x` back to `x`'s scale.
    pub shift: u32,
    pub in_bits: u32,
    /// Signed bits of the requantised negative part (its range check).
    pub t_bits: u32,
}

impl LeakyRelu {
    /// `(relu(x), requant(α_q · min(x, 0)))`: the arithmetic both sides share.
    fn parts(&self, x: i128) -> (i128, i128) {
        let r = x.max(0);
        (
            r,
            fixed::requantize(i128::from(self.alpha) * (x - r), self.shift).0,
        )
    }

    /// `y` for one input (monotone on each side of 0, used for bounds too).
    fn value(&self, x: i128) -> i128 {
        let (r, t) = self.parts(x);
        r + t
    }

    /// The interval of the negative part over inputs of `in_bits` bits.
    fn t_interval(alpha: i64, shift: u32, in_bits: u32) -> (i128, i128) {
        let n = compare::signed_interval(in_bits).0;
        let t = fixed::requantize(i128::from(alpha) * n, shift).0;
        (t.min(0), t.max(0))
    }
}

impl Op for LeakyRelu {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        crate::ops::check_input_bits(inputs[0], self.in_bits)?;
        inputs[0]
            .iter()
            .enumerate()
            .map(|(index, &x)| {
                let (r, t) = self.parts(i128::from(x));
                if !fixed::fits_bits(t, self.t_bits) {
                    return Err(OpError {
                        index,
                        range: gadgets::RangeError {
                            value: t,
                            bits: self.t_bits,
                        },
                    });
                }
                Ok((r + t) as i64)
            })
            .collect()
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        inputs[0]
            .iter()
            .enumerate()
            .map(|(index, x)| {
                let err = |range| OpError { index, range };
                let (r, t) = self.parts(x.value);
                let r_lc = compare::relu_value(b, x, self.in_bits).map_err(err)?;
                let alpha = fr(i128::from(self.alpha));
                let neg = i128::from(self.alpha) * (x.value - r);
                let t_var = gadgets::requantize(b, neg, self.shift, self.t_bits, || {
                    let mut lc = x.lc.scaled(alpha);
                    lc.add_scaled(&r_lc, -alpha);
                    lc
                })
                .map_err(err)?;
                debug_assert_eq!(t_var.value, t);
                let mut lc = r_lc.clone();
                lc.add_term(t_var.var, fr(1));
                Ok(CValue {
                    lc,
                    value: r + t,
                    range: None,
                })
            })
            .collect()
    }

    fn error_bound(&self, inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // Lipschitz max(1, |α_q|); α's rounding (≤ half a weight unit) times |x|; the rounding
        // of the negative part.
        let unit = 2f64.powi(self.shift as i32);
        let lipschitz = (self.alpha.unsigned_abs() as f64 / unit).max(1.0);
        lipschitz * errors[0] + 0.5 * crate::ops::max_abs(inputs[0]) / unit + 0.5
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let (lo, hi) = inputs[0];
        let m = i128::from(self.alpha).abs() * lo.abs().max(hi.abs());
        crate::ops::check_acc(-m, m)?;
        let ys = [lo, hi, lo.max(0).min(hi), hi.min(0).max(lo)].map(|x| self.value(x));
        Ok((
            *ys.iter().min().expect("four"),
            *ys.iter().max().expect("four"),
        ))
    }
}

/// ONNX `LeakyRelu` (attribute `alpha`, default 0.01).
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let ws = ctx.settings().weight_scale;
    let alpha = ctx.quantize_all(&[ctx.attr_float("alpha", 0.01)], ws, "alpha")?[0];
    let shift = ws as u32;
    let t = LeakyRelu::t_interval(alpha, shift, info.bits);
    let op = LeakyRelu {
        alpha,
        shift,
        in_bits: info.bits,
        t_bits: fixed::bits_for_range(t.0, t.1),
    };
    compare::emit_bounded(ctx, "LeakyRelu", crate::ops::QOp::LeakyRelu(op), x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::{assert_pinned, input};

    #[test]
    fn leaky_relu_error_is_within_the_stated_bound_over_the_whole_domain() {
        let (alpha, w, s, bits) = (0.1f64, 8u32, 8i32, 10u32);
        let a = fixed::quantize(alpha, w as i32).unwrap();
        let t = LeakyRelu::t_interval(a, w, bits);
        let op = LeakyRelu {
            alpha: a,
            shift: w,
            in_bits: bits,
            t_bits: fixed::bits_for_range(t.0, t.1),
        };
        let (lo, hi) = compare::signed_interval(bits);
        let xs: Vec<i64> = (lo as i64..=hi as i64).collect();
        let ys = op.eval(&[&xs]).unwrap();
        let mut worst = 0f64;
        for (&x, &y) in xs.iter().zip(&ys) {
            let xr = fixed::dequantize(x, s);
            let want = if xr >= 0.0 { xr } else { alpha * xr };
            let err = (fixed::dequantize(y, s) - want).abs();
            let bound = xr.abs() * (alpha - a as f64 / 256.0).abs() + 0.5f64.powi(s + 1);
            assert!(err <= bound + 1e-12, "x {x}: error {err} > {bound}");
            worst = worst.max(err);
        }
        println!("leaky_relu α=0.1: max error {worst:.5} over [-2, 2)");
    }

    #[test]
    fn leaky_relu_circuit_is_pinned() {
        let a = 26;
        let t = LeakyRelu::t_interval(a, 8, 10);
        let op = LeakyRelu {
            alpha: a,
            shift: 8,
            in_bits: 10,
            t_bits: fixed::bits_for_range(t.0, t.1),
        };
        for checked in [true, false] {
            let x: Vec<i64> = vec![-512, -300, -1, 0, 1, 511];
            let want = op.eval(&[&x]).unwrap();
            let mut b = Builder::new(vec![], true);
            let xs: CTensor = x
                .iter()
                .map(|&v| input(&mut b, i128::from(v), 10, checked))
                .collect();
            let first = b.num_witness() + 1;
            let n0 = b.num_constraints();
            let y = op.synthesize(&mut b, &[&xs]).unwrap();
            let per = (b.num_constraints() - n0) / x.len();
            let s = b.finish();
            for (c, &w) in y.iter().zip(&want) {
                assert_eq!(c.lc.eval(&s.assignment), fr(i128::from(w)));
            }
            println!("leaky_relu: {per} constraints per value (input range-checked: {checked})");
            assert_pinned(&s, first);
        }
    }
}
