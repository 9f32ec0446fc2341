//! Max, min and clamps proven with range-checked differences, shared by MaxPool, Clip and
//! the activations. Nothing here is trusted from the prover: `max(a, b) = b + relu(a - b)`
//! where the ReLU's sign bit comes from a range check of `a - b`.
//!
//! Costs: [`max`] with a difference of `n` signed bits is `n + 1` constraints; a clamp is at
//! most two of them (a side that cannot bind, given the input's interval, costs nothing).

use crate::fixed;
use crate::gadgets::{self, fr, RangeError};
use crate::ops::CValue;
use crate::r1cs::{Builder, Lc};
use ark_ff::One;

/// Emits a one-input op whose output gets the bits its [`crate::ops::Op::bounds`] needs over the
/// input's full signed range (Clip, LeakyRelu): the output is never checked wider than it can be.
pub(crate) fn emit_bounded(
    ctx: &mut crate::lower::LowerCtx,
    op_type: &str,
    op: crate::ops::QOp,
    x: crate::graph::TensorId,
) -> Result<(), crate::lower::CompileError> {
    let info = ctx.tensor(x).clone();
    let (lo, hi) = op
        .as_op()
        .bounds(&[signed_interval(info.bits)])
        .map_err(|why| ctx.bad_model(why))?;
    let bits = fixed::bits_for_range(lo, hi);
    ctx.emit(op_type, op, vec![x], info.shape, info.scale, bits);
    Ok(())
}

/// The interval of a tensor whose values fit `bits` signed bits.
pub fn signed_interval(bits: u32) -> (i128, i128) {
    let half = 1i128 << (bits - 1);
    (-half, half - 1)
}

/// `max(x, 0)` as a linear combination, for a value whose integer fits `bits` signed bits:
/// one constraint when the value already carries a range proof that tight, `bits + 1` otherwise.
pub fn relu_value(b: &mut Builder, x: &CValue, bits: u32) -> Result<Lc, RangeError> {
    if let Some(r) = x.range.as_ref().filter(|r| r.bits.n <= bits) {
        return Ok(gadgets::relu(b, r).into());
    }
    let lc = &x.lc;
    Ok(gadgets::relu_lc(b, x.value, bits, || lc.clone())?.into())
}

/// `l + s · r` for linear combinations (no constraint).
fn combine(l: &Lc, r: &Lc, s: i128) -> Lc {
    let mut out = Lc::with_capacity(l.len() + r.len());
    out.add_scaled(l, ark_bn254::Fr::one());
    out.add_scaled(r, fr(s));
    out
}

/// `max(a, c) = c + relu(a - c)`, proven: `a - c` must fit `diff_bits` signed bits (for two
/// values of `n` bits, `n + 1` always suffices). The result is a linear combination.
pub fn max(b: &mut Builder, a: &CValue, c: &CValue, diff_bits: u32) -> Result<CValue, RangeError> {
    let d = CValue {
        lc: combine(&a.lc, &c.lc, -1),
        value: a.value - c.value,
        range: None,
    };
    let r = relu_value(b, &d, diff_bits)?;
    Ok(CValue {
        lc: combine(&c.lc, &r, 1),
        value: a.value.max(c.value),
        range: None,
    })
}

/// `min(a, c) = c - relu(c - a)`, proven like [`max`].
pub fn min(b: &mut Builder, a: &CValue, c: &CValue, diff_bits: u32) -> Result<CValue, RangeError> {
    let d = CValue {
        lc: combine(&c.lc, &a.lc, -1),
        value: c.value - a.value,
        range: None,
    };
    let r = relu_value(b, &d, diff_bits)?;
    Ok(CValue {
        lc: combine(&c.lc, &r, -1),
        value: a.value.min(c.value),
        range: None,
    })
}

/// A constant as a circuit value.
pub fn constant(v: i128) -> CValue {
    CValue {
        lc: Lc::constant(fr(v)),
        value: v,
        range: None,
    }
}

/// `min(max(x, lo), hi)` on integers (a missing bound does not clamp). With `lo > hi` every
/// value becomes `hi`, as ONNX Clip specifies.
pub fn clamp_int(x: i128, lo: Option<i128>, hi: Option<i128>) -> i128 {
    let m = lo.map_or(x, |lo| x.max(lo));
    hi.map_or(m, |hi| m.min(hi))
}

/// The sides of a clamp that can bind for inputs in `interval`, with the signed bits of the
/// difference each one range-checks, and the output interval.
pub struct ClampPlan {
    pub lo: Option<(i128, u32)>,
    pub hi: Option<(i128, u32)>,
    pub out: (i128, i128),
}

impl ClampPlan {
    /// The clamp on integers, side for side as [`clamp`] proves it.
    pub fn apply(&self, x: i128) -> i128 {
        clamp_int(x, self.lo.map(|l| l.0), self.hi.map(|h| h.0))
    }
}

/// Plans `min(max(x, lo), hi)` for `x` in `interval`: a side that cannot bind is dropped.
pub fn plan_clamp(interval: (i128, i128), lo: Option<i128>, hi: Option<i128>) -> ClampPlan {
    let (mut a, mut z) = interval;
    let lo = lo.filter(|&lo| lo > a).map(|lo| {
        let bits = fixed::bits_for_range(a - lo, z - lo);
        (a, z) = (a.max(lo), z.max(lo));
        (lo, bits)
    });
    let hi = hi.filter(|&hi| hi < z).map(|hi| {
        let bits = fixed::bits_for_range(hi - z, hi - a);
        (a, z) = (a.min(hi), z.min(hi));
        (hi, bits)
    });
    ClampPlan {
        lo,
        hi,
        out: (a, z),
    }
}

/// `min(max(x, lo), hi)` proven with one [`max`] and one [`min`] against constants.
pub fn clamp(b: &mut Builder, x: &CValue, plan: &ClampPlan) -> Result<CValue, RangeError> {
    let mut v = x.clone();
    if let Some((lo, bits)) = plan.lo {
        v = max(b, &v, &constant(lo), bits)?;
    }
    if let Some((hi, bits)) = plan.hi {
        v = min(b, &v, &constant(hi), bits)?;
    }
    Ok(v)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::r1cs::Synthesis;
    use ark_bn254::Fr;

    /// The honest assignment satisfies, and adding 1 to any variable from `first` on does not.
    pub(crate) fn assert_pinned(s: &Synthesis, first: usize) {
        assert!(
            s.r1cs.is_satisfied(&s.assignment),
            "honest witness must satisfy"
        );
        for i in first..s.assignment.len() {
            let mut z = s.assignment.clone();
            z[i] += Fr::one();
            assert!(
                !s.r1cs.is_satisfied(&z),
                "changing variable {i} of {} went unnoticed",
                s.assignment.len()
            );
        }
    }

    /// A free input variable with a range proof to `bits` (so the gadget can use it).
    pub(crate) fn input(b: &mut Builder, v: i128, bits: u32, checked: bool) -> CValue {
        if checked {
            let s = gadgets::signed(b, v, bits).unwrap();
            CValue {
                lc: s.var.into(),
                value: v,
                range: Some(s),
            }
        } else {
            let var = b.alloc(fr(v));
            CValue {
                lc: var.into(),
                value: v,
                range: None,
            }
        }
    }

    #[test]
    fn max_is_proven_and_pinned() {
        let vals = [-128i128, -5, -1, 0, 1, 7, 127];
        for &a in &vals {
            for &c in &vals {
                let mut b = Builder::new(vec![], true);
                let x = input(&mut b, a, 8, false);
                let y = input(&mut b, c, 8, false);
                let m = max(&mut b, &x, &y, 9).unwrap();
                assert_eq!(m.value, a.max(c));
                // Bind the max to a variable so that a forged claim can be tried.
                let out = b.alloc(fr(m.value));
                let lc = m.lc.clone();
                b.enforce_zero(move || {
                    let mut d = lc;
                    d.add_term(out, -Fr::one());
                    d
                });
                let s = b.finish();
                // Variables 1, 2 are the free inputs; everything after is pinned.
                assert_pinned(&s, 3);
                // A forged max (the smaller element, or anything else) is rejected whatever
                // the prover does with the gadget's own bits: only the out variable changes here,
                // the others are pinned by the test above.
                for forged in [a.min(c), a.max(c) + 1, a.max(c) - 1] {
                    if forged == a.max(c) {
                        continue;
                    }
                    let mut z = s.assignment.clone();
                    z[out.0 as usize] = fr(forged);
                    assert!(
                        !s.r1cs.is_satisfied(&z),
                        "forged max {forged} of {a}, {c} accepted"
                    );
                }
            }
        }
    }

    #[test]
    fn forged_max_with_a_consistent_witness_is_rejected() {
        // The prover claims max(3, 9) = 3: the relu of d = 3 - 9 = -6 would have to be 0 with
        // d's sign bit 1, i.e. d + 2^8 = -6 + 256 with its top bit set, which no bit pattern
        // of 9 bits gives. Try every assignment of the gadget's bits exhaustively.
        let mut b = Builder::new(vec![], true);
        let x = input(&mut b, 3, 8, false);
        let y = input(&mut b, 9, 8, false);
        let m = max(&mut b, &x, &y, 9).unwrap();
        let s = b.finish();
        assert!(s.r1cs.is_satisfied(&s.assignment));
        assert_eq!(m.lc.eval(&s.assignment), fr(9));
        // Witness layout: x, y, 8 low bits of d + 2^8, relu output z.
        let n = s.assignment.len();
        assert_eq!(n, 1 + 2 + 8 + 1);
        // The claimed max is y + z; claiming 3 needs z = -6.
        for bits in 0u32..256 {
            let mut w = s.assignment.clone();
            for i in 0..8 {
                w[3 + i] = fr(i128::from((bits >> i) & 1));
            }
            w[n - 1] = fr(-6);
            assert!(
                !s.r1cs.is_satisfied(&w),
                "forged max accepted with bits {bits:#b}"
            );
        }
    }

    #[test]
    fn clamp_matches_integers_and_is_pinned() {
        for (lo, hi) in [
            (Some(-20), Some(30)),
            (None, Some(5)),
            (Some(-3), None),
            (Some(10), Some(-10)),
        ] {
            for v in [-128i128, -21, -20, -19, 0, 29, 30, 31, 127] {
                for checked in [false, true] {
                    let plan = plan_clamp(signed_interval(8), lo, hi);
                    let mut b = Builder::new(vec![], true);
                    let first = if checked { 1 + 8 } else { 2 };
                    let x = input(&mut b, v, 8, checked);
                    let c = clamp(&mut b, &x, &plan).unwrap();
                    assert_eq!(c.value, clamp_int(v, lo, hi));
                    assert!((plan.out.0..=plan.out.1).contains(&c.value));
                    let s = b.finish();
                    assert_eq!(c.lc.eval(&s.assignment), fr(c.value));
                    assert_pinned(&s, first);
                }
            }
        }
    }

    #[test]
    fn relu_lc_and_is_zero_are_pinned() {
        for v in [-128i128, -1, 0, 1, 127] {
            let mut b = Builder::new(vec![], true);
            let x = b.alloc(fr(v));
            let z = gadgets::relu_lc(&mut b, v, 8, || x.into()).unwrap();
            let s = b.finish();
            assert_eq!(s.assignment[z.0 as usize], fr(v.max(0)));
            assert_pinned(&s, 2);
            let mut b = Builder::new(vec![], true);
            assert!(gadgets::relu_lc(&mut b, 128, 8, || x.into()).is_err());

            let mut b = Builder::new(vec![], true);
            let x = b.alloc(fr(v));
            let z = gadgets::is_zero(&mut b, v, || x.into());
            let s = b.finish();
            assert_eq!(s.assignment[z.0 as usize], fr(i128::from(v == 0)));
            assert_pinned(&s, 2);
        }
    }
}
