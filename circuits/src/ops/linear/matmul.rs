//! `MatMul(A, B)` of two activations (attention's `Q·Kᵀ` and `softmax·V`): numpy matmul
//! semantics, batched over the leading axes with broadcasting (a size-1 batch axis repeats).
//!
//! Each output is `y = requant(Σ_k a_k·b_k)` back to the settings' scale: a dot product of
//! length `K` costs `K` multiplication constraints (`K - 1` products, the last one folded with
//! the sum into the accumulator variable, so the requantisation reads one variable rather than
//! `K` terms) plus [`gadgets::requantize`]'s `shift + out_bits`.
//!
//! A MatMul with a constant operand is an affine layer ([`crate::ops::affine::lower_matmul`]):
//! [`lower`] dispatches to it.

use crate::fixed;
use crate::gadgets::{self, fr};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::array::where_const::{broadcast_index, pad_shape};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use ark_ff::One;
use serde::{Deserialize, Serialize};

/// `[batch..., M, K] × [batch..., K, N] → [batch..., M, N]`, requantised by `shift` bits to
/// `out_bits` signed bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatMul {
    /// A's shape, padded with leading 1s to the output's rank (a 1-D A is `[1, K]`).
    pub a_shape: Vec<usize>,
    /// B's shape, padded likewise (a 1-D B is `[K, 1]`).
    pub b_shape: Vec<usize>,
    /// `[batch..., M, N]` (size-1 axes of 1-D operands kept: the emitted tensor drops them,
    /// which does not change the row-major order).
    pub out_shape: Vec<usize>,
    /// Bits dropped by requantisation: `s_a + s_b - s`.
    pub shift: u32,
    /// Signed bits of the output (its range check).
    pub out_bits: u32,
}

impl MatMul {
    fn rank(&self) -> usize {
        self.out_shape.len()
    }

    fn dims(&self) -> (usize, usize, usize) {
        let r = self.rank();
        (
            self.a_shape[r - 2],
            self.a_shape[r - 1],
            self.b_shape[r - 1],
        )
    }

    fn out_len(&self) -> usize {
        self.out_shape.iter().product()
    }

    /// For every output batch, the offsets of its A and B matrices.
    fn batches(&self) -> Vec<(usize, usize)> {
        let r = self.rank();
        let (m, k, n) = self.dims();
        let out_b = &self.out_shape[..r - 2];
        let count: usize = out_b.iter().product();
        (0..count)
            .map(|i| {
                (
                    broadcast_index(out_b, &self.a_shape[..r - 2], i) * m * k,
                    broadcast_index(out_b, &self.b_shape[..r - 2], i) * k * n,
                )
            })
            .collect()
    }

    /// Calls `f(output index, [(a index, b index); K])` for every output in order.
    fn for_each(
        &self,
        mut f: impl FnMut(usize, &mut dyn Iterator<Item = (usize, usize)>) -> Result<(), OpError>,
    ) -> Result<(), OpError> {
        let (m, k, n) = self.dims();
        let mut o = 0;
        for (ao, bo) in self.batches() {
            for i in 0..m {
                for j in 0..n {
                    f(o, &mut (0..k).map(|t| (ao + i * k + t, bo + t * n + j)))?;
                    o += 1;
                }
            }
        }
        Ok(())
    }

    fn check(&self, index: usize, y: i128) -> Result<(), OpError> {
        if fixed::fits_bits(y, self.out_bits) {
            Ok(())
        } else {
            Err(OpError {
                index,
                range: gadgets::RangeError {
                    value: y,
                    bits: self.out_bits,
                },
            })
        }
    }
}

impl Op for MatMul {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        let (a, b) = (inputs[0], inputs[1]);
        let mut out = Vec::with_capacity(self.out_len());
        self.for_each(|o, terms| {
            let acc: i128 = terms
                .map(|(i, j)| i128::from(a[i]) * i128::from(b[j]))
                .sum();
            let (y, _) = fixed::requantize(acc, self.shift);
            self.check(o, y)?;
            out.push(y as i64);
            Ok(())
        })?;
        Ok(out)
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let (x, w) = (inputs[0], inputs[1]);
        let mut out = Vec::with_capacity(self.out_len());
        self.for_each(|o, terms| {
            let terms: Vec<(usize, usize)> = terms.collect();
            // acc = Σ_{t<K-1} p_t + a_{K-1}·b_{K-1}: one variable per product, the last
            // product's constraint also carrying the sum.
            let mut partial = Lc::with_capacity(terms.len());
            let mut partial_value = 0i128;
            let (last, rest) = terms.split_last().expect("K ≥ 1");
            for &(i, j) in rest {
                let v = x[i].value * w[j].value;
                let p = b.alloc(fr(v));
                let (l, r) = (&x[i].lc, &w[j].lc);
                b.enforce(|| l.clone(), || r.clone(), || p.into());
                partial.add_term(p, ark_bn254::Fr::one());
                partial_value += v;
            }
            let acc_value = partial_value + x[last.0].value * w[last.1].value;
            let acc = b.alloc(fr(acc_value));
            let (l, r) = (&x[last.0].lc, &w[last.1].lc);
            b.enforce(
                || l.clone(),
                || r.clone(),
                || {
                    let mut c = Lc::from(acc);
                    c.add_scaled(&partial, -ark_bn254::Fr::one());
                    c
                },
            );
            let y = gadgets::requantize(b, acc_value, self.shift, self.out_bits, || acc.into())
                .map_err(|range| OpError { index: o, range })?;
            out.push(CValue {
                lc: y.var.into(),
                value: y.value,
                range: Some(y),
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let (_, k, _) = self.dims();
        let ((a0, a1), (b0, b1)) = (inputs[0], inputs[1]);
        let products = [a0 * b0, a0 * b1, a1 * b0, a1 * b1];
        let (pmin, pmax) = (
            *products.iter().min().expect("four"),
            *products.iter().max().expect("four"),
        );
        let (lo, hi) = (pmin * k as i128, pmax * k as i128);
        crate::ops::check_acc(lo, hi)?;
        Ok((
            fixed::requantize(lo, self.shift).0,
            fixed::requantize(hi, self.shift).0,
        ))
    }

    fn error_bound(&self, inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // Per product, in accumulator units: |a|·ε_b + |b|·ε_a + ε_a·ε_b; K of them, the
        // shift, then the output's rounding.
        let (_, k, _) = self.dims();
        let (a, b) = (
            crate::ops::max_abs(inputs[0]),
            crate::ops::max_abs(inputs[1]),
        );
        let (ea, eb) = (errors[0], errors[1]);
        k as f64 * (a * eb + b * ea + ea * eb) / 2f64.powi(self.shift as i32) + 0.5
    }
}

/// ONNX `MatMul`: an affine layer when an operand is constant
/// ([`crate::ops::affine::lower_matmul`]), else the product of two activations.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if ctx.is_const_input(0) || ctx.is_const_input(1) {
        return crate::ops::affine::lower_matmul(ctx);
    }
    let (a, b) = (ctx.activation_input(0)?, ctx.activation_input(1)?);
    let (ia, ib) = (ctx.tensor(a).clone(), ctx.tensor(b).clone());
    if ia.shape.is_empty() || ib.shape.is_empty() {
        return Err(ctx.bad_model("MatMul of a scalar".into()));
    }
    // numpy: a 1-D A is a row [1, K], a 1-D B a column [K, 1]; their axis is dropped after.
    let sa = if ia.shape.len() == 1 {
        vec![1, ia.shape[0]]
    } else {
        ia.shape.clone()
    };
    let sb = if ib.shape.len() == 1 {
        vec![ib.shape[0], 1]
    } else {
        ib.shape.clone()
    };
    let (ra, rb) = (sa.len(), sb.len());
    let (m, k, k2, n) = (sa[ra - 2], sa[ra - 1], sb[rb - 2], sb[rb - 1]);
    if k != k2 || k == 0 {
        return Err(ctx.bad_model(format!(
            "MatMul of shapes {:?} and {:?}: inner dimensions differ",
            ia.shape, ib.shape
        )));
    }
    let batch = crate::ops::array::where_const::broadcast_shapes(&[&sa[..ra - 2], &sb[..rb - 2]])
        .ok_or_else(|| {
        ctx.bad_model(format!(
            "MatMul of shapes {:?} and {:?}: batch dimensions do not broadcast",
            ia.shape, ib.shape
        ))
    })?;
    let rank = batch.len() + 2;
    let mut out_shape = batch.clone();
    out_shape.extend([m, n]);
    let scale = ctx.settings().scale;
    let shift = ia.scale + ib.scale - scale;
    if shift < 0 {
        return Err(ctx.bad_model(format!(
            "output scale {scale} exceeds the product's scale {}; lower --scale",
            ia.scale + ib.scale
        )));
    }
    let out_bits = ctx.out_bits();
    let op = MatMul {
        a_shape: pad_shape(&sa, rank),
        b_shape: pad_shape(&sb, rank),
        out_shape: out_shape.clone(),
        shift: shift as u32,
        out_bits,
    };
    // The ONNX output drops the axes of 1-D operands.
    let mut shape = batch;
    if ia.shape.len() > 1 {
        shape.push(m);
    }
    if ib.shape.len() > 1 {
        shape.push(n);
    }
    ctx.emit(
        "MatMul",
        crate::ops::QOp::MatMul(op),
        vec![a, b],
        shape,
        scale,
        out_bits,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::{assert_pinned, input};

    fn naive(a: &[i64], b: &[i64], m: usize, k: usize, n: usize) -> Vec<i128> {
        let mut out = Vec::new();
        for i in 0..m {
            for j in 0..n {
                out.push(
                    (0..k)
                        .map(|t| i128::from(a[i * k + t]) * i128::from(b[t * n + j]))
                        .sum(),
                );
            }
        }
        out
    }

    #[test]
    fn batched_with_broadcasting_matches_a_naive_product() {
        // A [2, 3, 4] × B [1, 4, 2]: B's batch of one repeats.
        let op = MatMul {
            a_shape: vec![2, 3, 4],
            b_shape: vec![1, 4, 2],
            out_shape: vec![2, 3, 2],
            shift: 2,
            out_bits: 16,
        };
        let a: Vec<i64> = (0..24).map(|v| v * 7 % 11 - 5).collect();
        let b: Vec<i64> = (0..8).map(|v| 3 - v).collect();
        let y = op.eval(&[&a, &b]).unwrap();
        for batch in 0..2 {
            let want = naive(&a[batch * 12..(batch + 1) * 12], &b, 3, 4, 2);
            for (got, acc) in y[batch * 6..(batch + 1) * 6].iter().zip(want) {
                assert_eq!(i128::from(*got), fixed::requantize(acc, 2).0);
            }
        }
    }

    #[test]
    fn circuit_matches_eval_costs_k_per_product_and_is_pinned() {
        // [1, 2, 3, 4] × [1, 1, 4, 3]: two heads against one shared B.
        let op = MatMul {
            a_shape: vec![1, 2, 3, 4],
            b_shape: vec![1, 1, 4, 3],
            out_shape: vec![1, 2, 3, 3],
            shift: 4,
            out_bits: 12,
        };
        let a: Vec<i64> = (0..24).map(|v| (v * 37 % 255) - 128).collect();
        let bv: Vec<i64> = (0..12).map(|v| (v * 91 % 255) - 128).collect();
        let want = op.eval(&[&a, &bv]).unwrap();
        let mut b = Builder::new(vec![], true);
        let xa: CTensor = a
            .iter()
            .map(|&v| input(&mut b, i128::from(v), 8, false))
            .collect();
        let xb: CTensor = bv
            .iter()
            .map(|&v| input(&mut b, i128::from(v), 8, false))
            .collect();
        let first = b.num_witness() + 1;
        let y = op.synthesize(&mut b, &[&xa, &xb]).unwrap();
        let per = b.num_constraints() / want.len();
        let s = b.finish();
        for (c, &w) in y.iter().zip(&want) {
            assert_eq!(c.value, i128::from(w));
            assert_eq!(c.lc.eval(&s.assignment), fr(i128::from(w)));
        }
        println!("matmul: {per} constraints per output (K = 4, shift 4, 12 bits)");
        assert_eq!(per, 4 + 4 + 12);
        assert_pinned(&s, first);
        // A forged output: changing an input breaks it too (inputs are free variables here).
        let mut z = s.assignment.clone();
        z[1] += fr(1);
        assert!(!s.r1cs.is_satisfied(&z));
    }

    #[test]
    fn bounds_and_overflow() {
        let op = MatMul {
            a_shape: vec![2, 8],
            b_shape: vec![8, 2],
            out_shape: vec![2, 2],
            shift: 8,
            out_bits: 16,
        };
        let r = op.bounds(&[(-128, 127), (-128, 127)]).unwrap();
        assert_eq!(
            r,
            (fixed::requantize(-127 * 128 * 8, 8).0, 128 * 128 * 8 / 256)
        );
        assert!(op.bounds(&[(-(1 << 60), 1 << 60), (0, 1 << 50)]).is_err());
    }
}
