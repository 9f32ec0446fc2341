//! Comparison gadgets: the ReLU of an unchecked expression (the building block of max, min
//! and clamps) and a zero test.
//!
//! Costs (constraints / new variables):
//! - [`relu_lc`] of an expression of `n` signed bits: `n + 1` / `n`;
//! - [`is_zero`]: 3 / 2.

use super::{fr, pow2, range_check, RangeError};
use crate::fixed;
use crate::r1cs::{Builder, Lc, Var};
use ark_bn254::Fr;
use ark_ff::{Field, One, Zero};

/// `max(v, 0)` for the expression `lc()` whose value is `value`, proving on the way that `v`
/// fits `bits` signed bits: the range check of `v + 2^(bits-1)` yields the sign bit, and the
/// result is the sign bit times `v` (one multiplication). Without an existing range proof this
/// is one constraint cheaper than allocating the value, checking it and taking its ReLU.
pub fn relu_lc(
    b: &mut Builder,
    value: i128,
    bits: u32,
    lc: impl Fn() -> Lc,
) -> Result<Var, RangeError> {
    if !fixed::fits_bits(value, bits) && !b.structure_only() {
        return Err(RangeError { value, bits });
    }
    let offset = || {
        let mut l = lc();
        l.add_constant(pow2(bits - 1));
        l
    };
    let rb = range_check(b, value + (1i128 << (bits - 1)), bits, offset)?;
    let z = b.alloc(fr(value.max(0)));
    if b.builds_matrices() {
        let sign = rb.top(&offset());
        b.enforce(|| sign, lc, || z.into());
    } else {
        b.enforce(Lc::zero, Lc::zero, Lc::zero);
    }
    Ok(z)
}

/// The bit `[v == 0]` of the expression `lc()` whose value is `value`.
///
/// `v · inv = 1 - z` and `v · z = 0` force `z = [v == 0]`; `z · inv = 0` also pins `inv` to 0
/// when `v = 0` (it would otherwise be free), so every witness value is determined.
pub fn is_zero(b: &mut Builder, value: i128, lc: impl Fn() -> Lc) -> Var {
    let v = fr(value);
    let inv = b.alloc(v.inverse().unwrap_or_else(Fr::zero));
    let z = b.alloc(if value == 0 { Fr::one() } else { Fr::zero() });
    b.enforce(&lc, || inv.into(), || Lc::from(z).one_minus());
    b.enforce(&lc, || z.into(), Lc::zero);
    b.enforce(|| z.into(), || inv.into(), Lc::zero);
    z
}
