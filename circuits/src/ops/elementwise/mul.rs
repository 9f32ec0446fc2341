//! Elementwise `Mul` of two activations with numpy broadcasting (gates such as SwiGLU's
//! `silu(gate) · up`, attention masks applied by product): per output one multiplication
//! constraint `p = a · b` and one requantisation of `p` from scale `s_a + s_b` back to the
//! activation scale (`k = s_a + s_b - s` bits dropped, round half up as everywhere), the result
//! range-checked to the bits chosen for the tensor. Cost per output: `1 + k + bits` constraints
//! (scale 8 inputs, scale 8 output at 16 bits: 25).
//!
//! A `Mul` with a constant operand is an affine map with the constant as weights and goes to
//! [`crate::ops::mul_const`]: [`lower`] dispatches.

use crate::fixed;
use crate::gadgets::{self, fr};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::Builder;
use serde::{Deserialize, Serialize};

/// `y[i] = requant(a[bcast_a(i)] · b[bcast_b(i)], shift)` checked to `out_bits`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mul {
    /// The output's shape.
    pub shape: Vec<usize>,
    /// The first input's shape right-aligned to the output's rank (padded with leading 1s);
    /// it broadcasts along its size-1 axes.
    pub a_shape: Vec<usize>,
    /// The second input's shape, likewise.
    pub b_shape: Vec<usize>,
    /// Bits dropped by the requantisation: `s_a + s_b - s_out`.
    pub shift: u32,
    /// Signed bits of the output (its range check).
    pub out_bits: u32,
}

/// The flat index into a tensor of shape `from` (right-aligned to `out`, broadcasting along its
/// size-1 axes) that output index `i` of shape `out` reads.
fn broadcast_index(out: &[usize], from: &[usize], i: usize) -> usize {
    let (mut rest, mut idx, mut stride) = (i, 0, 1);
    for d in (0..out.len()).rev() {
        let o = rest % out[d];
        rest /= out[d];
        if from[d] != 1 {
            idx += o * stride;
        }
        stride *= from[d];
    }
    idx
}

/// The numpy broadcast of two shapes, `None` when they do not broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (a, b) = (pad(a), pad(b));
    a.iter()
        .zip(&b)
        .map(|(&x, &y)| match (x, y) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

impl Mul {
    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    fn indices(&self, i: usize) -> (usize, usize) {
        (
            broadcast_index(&self.shape, &self.a_shape, i),
            broadcast_index(&self.shape, &self.b_shape, i),
        )
    }
}

impl Op for Mul {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        (0..self.len())
            .map(|i| {
                let (ia, ib) = self.indices(i);
                let p = i128::from(inputs[0][ia]) * i128::from(inputs[1][ib]);
                let (y, _) = fixed::requantize(p, self.shift);
                if !fixed::fits_bits(y, self.out_bits) {
                    return Err(OpError {
                        index: i,
                        range: gadgets::RangeError {
                            value: y,
                            bits: self.out_bits,
                        },
                    });
                }
                Ok(y as i64)
            })
            .collect()
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        (0..self.len())
            .map(|i| {
                let (ia, ib) = self.indices(i);
                let (x, z) = (&inputs[0][ia], &inputs[1][ib]);
                let value = x.value * z.value;
                let p = b.alloc(fr(value));
                b.enforce(|| x.lc.clone(), || z.lc.clone(), || p.into());
                let y = gadgets::requantize(b, value, self.shift, self.out_bits, || p.into())
                    .map_err(|range| OpError { index: i, range })?;
                Ok(CValue {
                    lc: y.var.into(),
                    value: y.value,
                    range: Some(y),
                })
            })
            .collect()
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let ((a0, a1), (b0, b1)) = (inputs[0], inputs[1]);
        let corners = [a0 * b0, a0 * b1, a1 * b0, a1 * b1];
        let (lo, hi) = (
            *corners.iter().min().expect("four"),
            *corners.iter().max().expect("four"),
        );
        crate::ops::check_acc(lo, hi)?;
        Ok((
            fixed::requantize(lo, self.shift).0,
            fixed::requantize(hi, self.shift).0,
        ))
    }

    fn error_bound(&self, inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // In product units (scale s_a + s_b): with |a - a*| ≤ e_a and |b - b*| ≤ e_b,
        // |a·b - a*·b*| ≤ |a|·e_b + |b|·e_a + e_a·e_b; then the shift and the output's rounding.
        let (a, b) = (
            crate::ops::max_abs(inputs[0]),
            crate::ops::max_abs(inputs[1]),
        );
        let (ea, eb) = (errors[0], errors[1]);
        (a * eb + b * ea + ea * eb) / 2f64.powi(self.shift as i32) + 0.5
    }
}

/// ONNX `Mul`: with a constant operand, [`crate::ops::mul_const::lower`]; of two activations,
/// their broadcast product ([`Mul`]) at the settings' scale.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if ctx.is_const_input(0) || ctx.is_const_input(1) {
        return crate::ops::mul_const::lower(ctx);
    }
    let (a, c) = (ctx.activation_input(0)?, ctx.activation_input(1)?);
    let (ia, ic) = (ctx.tensor(a).clone(), ctx.tensor(c).clone());
    let shape = broadcast_shapes(&ia.shape, &ic.shape).ok_or_else(|| {
        ctx.unsupported(&format!(
            "Mul of activations with shapes {:?} and {:?} that do not broadcast",
            ia.shape, ic.shape
        ))
    })?;
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; shape.len() - s.len()];
        v.extend_from_slice(s);
        v
    };
    let s_out = ctx.settings().scale;
    let shift = ia.scale + ic.scale - s_out;
    if shift < 0 {
        return Err(ctx.unsupported(&format!(
            "Mul of scales {} and {} below the output scale {s_out}",
            ia.scale, ic.scale
        )));
    }
    let mut op = Mul {
        a_shape: pad(&ia.shape),
        b_shape: pad(&ic.shape),
        shape: shape.clone(),
        shift: shift as u32,
        out_bits: ctx.out_bits(),
    };
    // The product's own worst case may need fewer bits than the ones chosen.
    let (lo, hi) = op
        .bounds(&[
            crate::ops::compare::signed_interval(ia.bits),
            crate::ops::compare::signed_interval(ic.bits),
        ])
        .map_err(|why| ctx.bad_model(why))?;
    op.out_bits = op.out_bits.min(fixed::bits_for_range(lo, hi));
    let bits = op.out_bits;
    ctx.emit(
        "Mul",
        crate::ops::QOp::Mul(op),
        vec![a, c],
        shape,
        s_out,
        bits,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::{assert_pinned, input};

    fn op(a: &[usize], b: &[usize], shift: u32, bits: u32) -> Mul {
        let shape = broadcast_shapes(a, b).unwrap();
        let pad = |s: &[usize]| {
            let mut v = vec![1; shape.len() - s.len()];
            v.extend_from_slice(s);
            v
        };
        Mul {
            a_shape: pad(a),
            b_shape: pad(b),
            shape: shape.clone(),
            shift,
            out_bits: bits,
        }
    }

    #[test]
    fn broadcasts_like_numpy() {
        assert_eq!(broadcast_shapes(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shapes(&[3], &[2, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shapes(&[2], &[3]), None);
        // [2,1] × [3]: y[i][j] = a[i] · b[j], no shift.
        let m = op(&[2, 1], &[3], 0, 16);
        assert_eq!(
            m.eval(&[&[2, -3], &[1, 10, 100]]).unwrap(),
            vec![2, 20, 200, -3, -30, -300]
        );
    }

    #[test]
    fn rounds_half_up_and_refuses_what_does_not_fit() {
        // 3·5 = 15 at scale 2 → 15/4 = 3.75 → 4; -3·5 = -15 → -3.75 → -4; 2·1/4 = 0.5 → 1.
        let m = op(&[3], &[3], 2, 8);
        assert_eq!(m.eval(&[&[3, -3, 2], &[5, 5, 1]]).unwrap(), vec![4, -4, 1]);
        assert!(m.eval(&[&[127, 0, 0], &[127, 0, 0]]).is_err());
    }

    #[test]
    fn circuit_matches_eval_costs_one_product_and_a_requantisation_and_is_pinned() {
        let m = op(&[2, 1], &[1, 3], 8, 16);
        let (a, c) = ([300i64, -1000], [255i64, -256, 7]);
        let want = m.eval(&[&a, &c]).unwrap();
        let mut b = Builder::new(vec![], true);
        let xa: CTensor = a
            .iter()
            .map(|&v| input(&mut b, v.into(), 16, false))
            .collect();
        let xc: CTensor = c
            .iter()
            .map(|&v| input(&mut b, v.into(), 16, false))
            .collect();
        let first = b.num_witness() + 1;
        let y = m.synthesize(&mut b, &[&xa, &xc]).unwrap();
        assert_eq!(b.num_constraints() / 6, 1 + 8 + 16);
        let s = b.finish();
        for (v, &w) in y.iter().zip(&want) {
            assert_eq!(v.lc.eval(&s.assignment), fr(w.into()));
        }
        assert_pinned(&s, first);
    }

    #[test]
    fn a_forged_product_is_rejected() {
        // Claiming any other product (a consistent requantisation of it included) fails the
        // multiplication constraint: the product variable is the one after the inputs.
        let m = op(&[1], &[1], 4, 16);
        let mut b = Builder::new(vec![], true);
        let xa = input(&mut b, 100, 16, false);
        let xc = input(&mut b, -37, 16, false);
        m.synthesize(&mut b, &[&vec![xa], &vec![xc]]).unwrap();
        let s = b.finish();
        assert!(s.r1cs.is_satisfied(&s.assignment));
        let mut z = s.assignment.clone();
        z[3] = fr(-3700 + 16);
        assert!(!s.r1cs.is_satisfied(&z));
    }

    #[test]
    fn bounds_and_error_bound() {
        let m = op(&[1], &[1], 8, 16);
        assert_eq!(m.bounds(&[(-256, 256), (-512, 256)]).unwrap(), (-512, 512));
        // |a|·e_b + |b|·e_a + e_a·e_b = 256·0.5 + 512·0.5 + 0.25, over 2^8, plus 0.5.
        let e = m.error_bound(&[(-256, 256), (-512, 256)], &[0.5, 0.5]);
        assert!((e - (384.25 / 256.0 + 0.5)).abs() < 1e-12);
        assert!(m
            .bounds(&[(-(1 << 60), 1 << 60), (-(1 << 60), 1 << 60)])
            .is_err());
    }
}
