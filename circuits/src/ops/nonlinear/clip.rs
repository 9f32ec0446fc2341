//! Clip: `min(max(x, lo), hi)` with constant bounds quantised at the input's scale.
//!
//! Proven with range-checked differences ([`compare::clamp`]): `max(x, lo) = lo + relu(x - lo)`
//! then `min(m, hi) = hi - relu(hi - m)`. Each side that can bind costs `n + 1` constraints,
//! `n` the signed bits of its difference (about the input's bits + 1); the output is a linear
//! combination, and its bits shrink to the clamped interval.

use crate::fixed;
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{compare, CTensor, Op, OpError};
use crate::r1cs::Builder;
use serde::{Deserialize, Serialize};

/// Clamps every value of a tensor whose values fit `in_bits` signed bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    pub lo: Option<i64>,
    pub hi: Option<i64>,
    pub in_bits: u32,
}

impl Clip {
    fn plan(&self) -> compare::ClampPlan {
        compare::plan_clamp(
            compare::signed_interval(self.in_bits),
            self.lo.map(i128::from),
            self.hi.map(i128::from),
        )
    }
}

impl Op for Clip {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        // The plan the constraints follow, on integers: a side it drops cannot bind for inputs
        // of `in_bits` bits, and inputs beyond those bits are refused as proving refuses them.
        crate::ops::check_input_bits(inputs[0], self.in_bits)?;
        let plan = self.plan();
        Ok(inputs[0]
            .iter()
            .map(|&x| plan.apply(i128::from(x)) as i64)
            .collect())
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let plan = self.plan();
        inputs[0]
            .iter()
            .enumerate()
            .map(|(index, x)| compare::clamp(b, x, &plan).map_err(|range| OpError { index, range }))
            .collect()
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // 1-Lipschitz, plus the rounding of a bound to the input's scale.
        let rounded_bound = if self.lo.is_some() || self.hi.is_some() {
            0.5
        } else {
            0.0
        };
        errors[0] + rounded_bound
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let (lo, hi) = (self.lo.map(i128::from), self.hi.map(i128::from));
        Ok((
            compare::clamp_int(inputs[0].0, lo, hi),
            compare::clamp_int(inputs[0].1, lo, hi),
        ))
    }
}

/// ONNX `Clip`: bounds from the optional constant inputs `min`, `max` (opset ≥ 11) or the
/// `min`/`max` attributes (older opsets); a missing bound does not clamp.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let bound = |i: usize, attr: &str| -> Result<Option<i64>, CompileError> {
        let v = match ctx.optional_const_input(i)? {
            Some(c) if c.data.len() == 1 => c.data[0],
            Some(c) => {
                return Err(ctx.bad_model(format!(
                    "Clip bound of shape {:?}, expected a scalar",
                    c.shape
                )))
            }
            // An absent attribute reads as NaN: no bound.
            None => ctx.attr_float(attr, f64::NAN),
        };
        if v.is_nan() {
            return Ok(None);
        }
        match fixed::quantize(v, info.scale).filter(|q| q.unsigned_abs() < 1 << 62) {
            Some(q) => Ok(Some(q)),
            // A huge min or max (e.g. ±f32::MAX, the old defaults) cannot bind.
            None if (i == 1) == (v < 0.0) => Ok(None),
            None => Err(ctx.bad_model(format!(
                "Clip bound {v} cannot be quantised at scale {}",
                info.scale
            ))),
        }
    };
    let lo = bound(1, "min")?;
    let hi = bound(2, "max")?;
    let op = Clip {
        lo,
        hi,
        in_bits: info.bits,
    };
    compare::emit_bounded(ctx, "Clip", crate::ops::QOp::Clip(op), x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::{assert_pinned, input};

    #[test]
    fn clip_circuit_matches_eval_and_costs_two_checked_differences() {
        let op = Clip {
            lo: Some(-128),
            hi: Some(128),
            in_bits: 10,
        };
        let x: Vec<i64> = vec![-512, -129, -128, -1, 0, 128, 129, 511];
        let want = op.eval(&[&x]).unwrap();
        assert_eq!(want, vec![-128, -128, -128, -1, 0, 128, 128, 128]);
        let mut b = Builder::new(vec![], true);
        let xs: CTensor = x
            .iter()
            .map(|&v| input(&mut b, i128::from(v), 10, false))
            .collect();
        let y = op.synthesize(&mut b, &[&xs]).unwrap();
        let s = b.finish();
        for (c, &w) in y.iter().zip(&want) {
            assert_eq!(c.lc.eval(&s.assignment), crate::gadgets::fr(i128::from(w)));
        }
        // x + 128 ∈ [-384, 639]: 11 bits; 128 - m ∈ [-383, 256]: 10 bits; + 1 each.
        assert_eq!(s.r1cs.num_constraints(), x.len() * (12 + 11));
        assert_pinned(&s, 1 + x.len());
    }

    #[test]
    fn forged_clip_output_is_rejected() {
        // Claim clip(300) = 100 (not the bound 128): no bit pattern of the checked difference
        // 128 - 300 + ... satisfies; checked by binding the output and perturbing it.
        let op = Clip {
            lo: Some(-128),
            hi: Some(128),
            in_bits: 10,
        };
        let mut b = Builder::new(vec![], true);
        let xs: CTensor = vec![input(&mut b, 300, 10, false)];
        let y = op.synthesize(&mut b, &[&xs]).unwrap();
        let s = b.finish();
        assert_eq!(y[0].lc.eval(&s.assignment), crate::gadgets::fr(128));
        // The output is `128 - z` with z the last variable (the relu of 128 - m): forging
        // means changing z, which the pinning test above already shows is caught.
        let mut z = s.assignment.clone();
        let last = z.len() - 1;
        z[last] = crate::gadgets::fr(28);
        assert!(!s.r1cs.is_satisfied(&z));
    }
}
