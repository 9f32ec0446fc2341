//! R1CS gadgets. Every op gets its constraints from these, never open-coded, so the
//! range-check strategy (bit decomposition today, lookups later) changes in one place.
//!
//! Costs (constraints / new variables):
//! - [`range_check`] of `n` bits: `n` / `n - 1` (the top bit is derived from the checked
//!   expression instead of being a variable, which also makes a separate recomposition
//!   constraint unnecessary);
//! - [`requantize`] by `k` bits to `B` bits: `k + B` / `k + B - 1`;
//! - [`relu`] of a range-checked value: 1 / 1.

mod cmp;
mod pack;
pub mod poseidon;
pub use cmp::{is_zero, relu_lc};
pub use pack::{pack_public, packed_elements};

use crate::fixed;
use crate::r1cs::{Builder, Lc, Var};
use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, One};

/// A value was outside the range its gadget proves; the caller names the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    pub value: i128,
    pub bits: u32,
}

/// `2^i` in the field (`i < 256` from a table; a range check of `n` bits asks for `n` of
/// them, which as exponentiations were a few per cent of building a circuit's matrices).
pub fn pow2(i: u32) -> Fr {
    match powers_of_two().0.get(i as usize) {
        Some(p) => *p,
        None => Fr::from(2u64).pow([u64::from(i)]),
    }
}

/// `2^−i` in the field, `i < 256` from a table (else an inversion).
pub fn pow2_inv(i: u32) -> Fr {
    match powers_of_two().1.get(i as usize) {
        Some(p) => *p,
        None => pow2(i).inverse().expect("2^i is invertible"),
    }
}

/// `(2^i, 2^−i)` for `i < 256`, built once.
fn powers_of_two() -> &'static ([Fr; 256], [Fr; 256]) {
    static TABLE: std::sync::OnceLock<([Fr; 256], [Fr; 256])> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let half = Fr::from(2u64).inverse().expect("2 is invertible");
        let (mut up, mut down) = ([Fr::one(); 256], [Fr::one(); 256]);
        for i in 1..256 {
            up[i] = up[i - 1].double();
            down[i] = down[i - 1] * half;
        }
        (up, down)
    })
}

/// An integer in the field (negative values wrap to `p - |v|`).
pub fn fr(v: i128) -> Fr {
    if v >= 0 {
        Fr::from(v as u128)
    } else {
        -Fr::from(v.unsigned_abs())
    }
}

/// The bits of a range check: `n - 1` low bit variables; the top bit is derived.
#[derive(Clone, Debug)]
pub struct RangeBits {
    pub low: Vec<Var>,
    pub n: u32,
}

impl RangeBits {
    /// The top bit as a linear combination of the checked expression `lc` and the low bits:
    /// `(lc - Σ low_i 2^i) / 2^(n-1)`.
    pub fn top(&self, lc: &Lc) -> Lc {
        let mut rest = lc.clone();
        for (i, v) in self.low.iter().enumerate() {
            rest.add_term(*v, -pow2(i as u32));
        }
        rest.scaled(pow2_inv(self.n - 1))
    }
}

/// Proves `0 ≤ value < 2^n` for the expression `lc` whose value is `value`.
///
/// Allocates the low `n - 1` bits and enforces booleanity of each and of the top bit,
/// which is *defined* as `(lc - Σ low_i 2^i) / 2^(n-1)`: its booleanity forces
/// `lc = Σ bits_i 2^i` with every bit in {0, 1}. Sound while `2^n` is far below the field
/// modulus (the compiler keeps `n ≤ 240`). `n = 0` proves `lc = 0`.
pub fn range_check(
    b: &mut Builder,
    value: i128,
    n: u32,
    lc: impl FnOnce() -> Lc,
) -> Result<RangeBits, RangeError> {
    assert!(n <= 240, "range check of {n} bits is unsound in BN254");
    if (value < 0 || (n < 127 && value >= (1i128 << n))) && !b.structure_only() {
        return Err(RangeError { value, bits: n });
    }
    if n == 0 {
        b.enforce_zero(lc);
        return Ok(RangeBits { low: vec![], n });
    }
    let low: Vec<Var> = (0..n - 1)
        .map(|i| b.alloc_bit((value >> i) & 1 == 1))
        .collect();
    for &v in &low {
        b.enforce(|| v.into(), || Lc::from(v).one_minus(), Lc::zero);
    }
    let bits = RangeBits { low, n };
    if b.builds_matrices() {
        let top = bits.top(&lc());
        let one_minus = top.one_minus();
        b.enforce(|| top, || one_minus, Lc::zero);
    } else {
        b.enforce(Lc::zero, Lc::zero, Lc::zero);
    }
    Ok(bits)
}

/// A signed value proven to lie in `[-2^(bits-1), 2^(bits-1))`: a variable and its bits.
#[derive(Clone, Debug)]
pub struct Signed {
    pub var: Var,
    pub value: i128,
    pub bits: RangeBits,
}

impl Signed {
    /// `var + 2^(n-1)`, the non-negative expression the range check proves.
    fn offset_lc(&self) -> Lc {
        let mut lc = Lc::from(self.var);
        lc.add_constant(pow2(self.bits.n - 1));
        lc
    }

    /// The sign bit: 1 when the value is ≥ 0.
    pub fn nonneg_bit(&self) -> Lc {
        self.bits.top(&self.offset_lc())
    }
}

/// Allocates `value` and proves it fits `bits` signed bits.
pub fn signed(b: &mut Builder, value: i128, bits: u32) -> Result<Signed, RangeError> {
    if !fixed::fits_bits(value, bits) && !b.structure_only() {
        return Err(RangeError { value, bits });
    }
    let var = b.alloc(fr(value));
    let half = 1i128 << (bits - 1);
    let rb = range_check(b, value + half, bits, || {
        let mut lc = Lc::from(var);
        lc.add_constant(pow2(bits - 1));
        lc
    })?;
    Ok(Signed {
        var,
        value,
        bits: rb,
    })
}

/// Requantises an accumulator: returns `y = floor((acc + 2^(k-1)) / 2^k)` proven to fit
/// `out_bits` signed bits, with the remainder proven to lie in `[0, 2^k)`.
///
/// `acc_lc` builds the accumulator's linear combination (only when matrices are built).
pub fn requantize(
    b: &mut Builder,
    acc: i128,
    k: u32,
    out_bits: u32,
    acc_lc: impl FnOnce() -> Lc,
) -> Result<Signed, RangeError> {
    let (y, r) = fixed::requantize(acc, k);
    let y = signed(b, y, out_bits)?;
    let yv = y.var;
    if k == 0 {
        b.enforce_zero(|| {
            let mut lc = acc_lc();
            lc.add_term(yv, -Fr::one());
            lc
        });
    } else {
        range_check(b, r, k, || {
            let mut lc = acc_lc();
            lc.add_constant(pow2(k - 1));
            lc.add_term(yv, -pow2(k));
            lc
        })
        .expect("the remainder of a floor division lies in [0, 2^k)");
    }
    Ok(y)
}

/// `max(y, 0)` for a range-checked `y`: the sign bit times `y`, one constraint.
pub fn relu(b: &mut Builder, y: &Signed) -> Var {
    let z = b.alloc(fr(y.value.max(0)));
    if b.builds_matrices() {
        let s = y.nonneg_bit();
        b.enforce(|| s, || y.var.into(), || z.into());
    } else {
        b.enforce(Lc::zero, Lc::zero, Lc::zero);
    }
    z
}

#[cfg(test)]
mod tests;
