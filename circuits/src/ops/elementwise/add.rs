//! Elementwise Add and Sub: of two activations (residual connections), or of an activation
//! and a constant that could not be folded into a preceding affine layer's bias.
//!
//! `y = Σ_j k_j · x_j + c`, each `k_j = ±2^(s - s_j)` aligning input `j`'s scale to the output
//! scale `s` (the larger one) and `c` a constant at that scale: a linear combination, exact
//! and free. Its bits follow from the inputs' (`max(bits_j + s - s_j) + 1` for two
//! activations); when that exceeds the bits chosen for the tensor ([`LowerCtx::out_bits`]),
//! the outputs are range-checked to the chosen bits instead (`bits + 1` constraints each;
//! a consumer that needs the range, e.g. a ReLU, then reuses the proof).

use crate::fixed;
use crate::gadgets::{self, fr};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{relu::ensure_signed, CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// `y[i] = Σ_j coefs[j] · x_j[i] + constant[broadcast(i)]` over equal-shaped inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Add {
    /// One multiplier per input: `±2^(scale alignment)`.
    pub coefs: Vec<i64>,
    /// The output's shape.
    pub shape: Vec<usize>,
    /// The constant (empty: none) and its shape, right-aligned to the output's and padded
    /// with 1s; it broadcasts along its size-1 axes.
    pub constant: Vec<i64>,
    pub const_shape: Vec<usize>,
    /// Range-check every output to these bits (when the derived bits exceed the chosen ones).
    pub check_bits: Option<u32>,
}

impl Add {
    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The constant's flat index for output index `i` (numpy broadcasting).
    fn const_at(&self, i: usize) -> i128 {
        if self.constant.is_empty() {
            return 0;
        }
        let (mut rest, mut idx, mut stride) = (i, 0, 1);
        for d in (0..self.shape.len()).rev() {
            let o = rest % self.shape[d];
            rest /= self.shape[d];
            if self.const_shape[d] != 1 {
                idx += o * stride;
            }
            stride *= self.const_shape[d];
        }
        i128::from(self.constant[idx])
    }

    fn value(&self, xs: impl Iterator<Item = i128>, i: usize) -> i128 {
        self.coefs
            .iter()
            .zip(xs)
            .map(|(&k, x)| i128::from(k) * x)
            .sum::<i128>()
            + self.const_at(i)
    }
}

impl Op for Add {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        (0..self.len())
            .map(|i| {
                let y = self.value(inputs.iter().map(|x| i128::from(x[i])), i);
                if let Some(bits) = self.check_bits.filter(|&b| !fixed::fits_bits(y, b)) {
                    return Err(OpError {
                        index: i,
                        range: gadgets::RangeError { value: y, bits },
                    });
                }
                Ok(y as i64)
            })
            .collect()
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        (0..self.len())
            .map(|i| {
                let mut lc = Lc::with_capacity(inputs.len() + 1);
                for (x, &k) in inputs.iter().zip(&self.coefs) {
                    lc.add_scaled(&x[i].lc, fr(i128::from(k)));
                }
                lc.add_constant(fr(self.const_at(i)));
                let value = self.value(inputs.iter().map(|x| x[i].value), i);
                let y = CValue {
                    lc,
                    value,
                    range: None,
                };
                match self.check_bits {
                    None => Ok(y),
                    Some(bits) => {
                        let r = ensure_signed(b, &y, bits)
                            .map_err(|range| OpError { index: i, range })?;
                        Ok(CValue {
                            lc: r.var.into(),
                            value,
                            range: Some(r),
                        })
                    }
                }
            })
            .collect()
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // Exact sums of aligned inputs, plus the constant's rounding to the output's scale.
        let sum: f64 = self
            .coefs
            .iter()
            .zip(errors)
            .map(|(&k, e)| k.unsigned_abs() as f64 * e)
            .sum();
        sum + if self.constant.is_empty() { 0.0 } else { 0.5 }
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let (mut lo, mut hi) = (0i128, 0i128);
        for (&(a, z), &k) in inputs.iter().zip(&self.coefs) {
            let (p, q) = (i128::from(k) * a, i128::from(k) * z);
            lo += p.min(q);
            hi += p.max(q);
        }
        if !self.constant.is_empty() {
            lo += i128::from(*self.constant.iter().min().expect("non-empty"));
            hi += i128::from(*self.constant.iter().max().expect("non-empty"));
        }
        crate::ops::check_acc(lo, hi)?;
        Ok((lo, hi))
    }
}

/// ONNX `Add`: folded into a preceding affine layer's bias when possible, else the sum of two
/// activations or of an activation and a constant.
pub fn lower_add(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if crate::ops::affine::try_fold_bias(ctx)? {
        return Ok(());
    }
    lower(ctx, 1)
}

/// ONNX `Sub`: of two activations, or of an activation and a constant (either order).
pub fn lower_sub(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    lower(ctx, -1)
}

/// ONNX `Neg`: `0 - x`, a linear combination (zero constraints; one more bit, as `-(-2^(b-1))`
/// needs it).
pub fn lower_neg(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let op = Add {
        coefs: vec![-1],
        shape: info.shape.clone(),
        constant: vec![0],
        const_shape: vec![1; info.shape.len()],
        check_bits: None,
    };
    emit(
        ctx,
        op,
        &[crate::ops::compare::signed_interval(info.bits)],
        vec![x],
        info.scale,
    )
}

fn lower(ctx: &mut LowerCtx, sign: i64) -> Result<(), CompileError> {
    let op_type = ctx.op_type().to_string();
    match (ctx.is_const_input(0), ctx.is_const_input(1)) {
        (false, false) => {
            let (a, c) = (ctx.activation_input(0)?, ctx.activation_input(1)?);
            let (ia, ic) = (ctx.tensor(a).clone(), ctx.tensor(c).clone());
            if ia.shape != ic.shape {
                return Err(ctx.unsupported(&format!(
                    "{op_type} of activations with shapes {:?} and {:?} (broadcasting two activations)",
                    ia.shape, ic.shape
                )));
            }
            let scale = ia.scale.max(ic.scale);
            if (ia.scale - ic.scale).abs() > 30 {
                return Err(ctx.unsupported(&format!(
                    "{op_type} of scales {} and {}",
                    ia.scale, ic.scale
                )));
            }
            let coefs = vec![1i64 << (scale - ia.scale), sign << (scale - ic.scale)];
            let op = Add {
                coefs,
                shape: ia.shape.clone(),
                constant: vec![],
                const_shape: vec![],
                check_bits: None,
            };
            let intervals = [
                crate::ops::compare::signed_interval(ia.bits),
                crate::ops::compare::signed_interval(ic.bits),
            ];
            emit(ctx, op, &intervals, vec![a, c], scale)
        }
        (true, true) => Err(ctx.unsupported(&format!(
            "{op_type} of two constants (fold it before export)"
        ))),
        (first_is_const, _) => {
            let (act, cst) = if first_is_const { (1, 0) } else { (0, 1) };
            let x = ctx.activation_input(act)?;
            let info = ctx.tensor(x).clone();
            let c = ctx.const_input(cst)?;
            let rank = info.shape.len();
            if c.shape.len() > rank
                || c.shape
                    .iter()
                    .rev()
                    .zip(info.shape.iter().rev())
                    .any(|(&cd, &xd)| cd != 1 && cd != xd)
            {
                return Err(ctx.unsupported(&format!(
                    "{op_type} of a constant of shape {:?} that does not broadcast to the activation's {:?}",
                    c.shape, info.shape
                )));
            }
            let mut const_shape = vec![1; rank - c.shape.len()];
            const_shape.extend(&c.shape);
            // y = x + c, x - c (constant second) or c - x (constant first).
            let (kx, kc) = match (sign, act) {
                (1, _) => (1, 1.0),
                (_, 0) => (1, -1.0),
                _ => (-1, 1.0),
            };
            let data: Vec<f64> = c.data.iter().map(|&v| kc * v).collect();
            let constant = ctx.quantize_all(&data, info.scale, "constant")?;
            let op = Add {
                coefs: vec![kx],
                shape: info.shape.clone(),
                constant,
                const_shape,
                check_bits: None,
            };
            emit(
                ctx,
                op,
                &[crate::ops::compare::signed_interval(info.bits)],
                vec![x],
                info.scale,
            )
        }
    }
}

/// Emits `op`, choosing its bits: the derived ones when they fit the tensor's chosen bits,
/// else the chosen bits with a range check.
fn emit(
    ctx: &mut LowerCtx,
    mut op: Add,
    intervals: &[(i128, i128)],
    inputs: Vec<usize>,
    scale: i32,
) -> Result<(), CompileError> {
    let (lo, hi) = op.bounds(intervals).map_err(|why| ctx.bad_model(why))?;
    let derived = fixed::bits_for_range(lo, hi);
    let chosen = ctx.out_bits();
    let bits = if derived <= chosen {
        derived
    } else {
        op.check_bits = Some(chosen);
        chosen
    };
    let (op_type, shape) = (ctx.op_type().to_string(), op.shape.clone());
    ctx.emit(
        &op_type,
        crate::ops::QOp::Add(op),
        inputs,
        shape,
        scale,
        bits,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_broadcasts_along_size_one_axes() {
        let op = Add {
            coefs: vec![1],
            shape: vec![1, 2, 2, 3],
            constant: vec![10, 20],
            const_shape: vec![1, 2, 1, 1],
            check_bits: None,
        };
        let x: Vec<i64> = (0..12).collect();
        assert_eq!(
            op.eval(&[&x]).unwrap(),
            vec![10, 11, 12, 13, 14, 15, 26, 27, 28, 29, 30, 31]
        );
    }

    #[test]
    fn scales_align_and_checks_reuse() {
        // a at scale 8, c at scale 6: c is multiplied by 4; a - 4c.
        let op = Add {
            coefs: vec![1, -4],
            shape: vec![3],
            constant: vec![],
            const_shape: vec![],
            check_bits: Some(8),
        };
        assert_eq!(op.eval(&[&[1, 2, 3], &[0, 1, -1]]).unwrap(), vec![1, -2, 7]);
        assert!(op.eval(&[&[127], &[-1]]).is_err());
        let mut b = Builder::new(vec![], true);
        let xs: Vec<CTensor> = [[1i128, 2, 3], [0, 1, -1]]
            .iter()
            .map(|v| {
                v.iter()
                    .map(|&v| crate::ops::compare::tests::input(&mut b, v, 8, false))
                    .collect()
            })
            .collect();
        let y = op.synthesize(&mut b, &[&xs[0], &xs[1]]).unwrap();
        assert!(y.iter().all(|v| v.range.is_some()));
        crate::ops::compare::tests::assert_pinned(&b.finish(), 7);
    }
}
