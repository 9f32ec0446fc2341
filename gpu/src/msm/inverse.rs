//! Inversion in BN254's base field by Pornin's optimised binary GCD ("Optimized Binary GCD for
//! Modular Inversion", 2020): 31 steps of the binary GCD at a time on 64-bit approximations of
//! the two values, then one update of the full values by the steps' 2×2 matrix.
//!
//! Why: every batch of the MSM's affine additions ends in one inversion, and arkworks'
//! (a bit-by-bit binary GCD) costs about 250 multiplications; once the additions run on eight
//! lanes ([`super::ifma`]) it is a large share of a batch. This one is about three times
//! faster. It is not constant-time, which the MSM does not need: its inputs are public.
//!
//! Invariants between blocks: `a ≡ u·y` and `b ≡ v·y (mod p)`, `a, b ≥ 0`, starting from
//! `(a, b, u, v) = (y, p, 1, 0)`. A block's matrix `[[f0, g0], [f1, g1]]` maps `(a, b)` to
//! `((f0·a + g0·b)/2^31, (f1·a + g1·b)/2^31)`, exact divisions because the steps' parity
//! decisions see the exact low bits; `u` and `v` follow with the division done as a Montgomery
//! reduction mod p, so the invariants hold. A wrong comparison on the approximations can only
//! make a value negative, which negates it and its coefficient. When `a` reaches 0, `b` is
//! `gcd(y, p) = 1`, so `v = y⁻¹`.

use ark_bn254::{Fq, FqConfig};
use ark_ff::{BigInt, MontConfig};

const P: [u64; 4] = <FqConfig as MontConfig<4>>::MODULUS.0;
/// `−p⁻¹ mod 2^31`.
const NEG_P_INV_31: u64 = <FqConfig as MontConfig<4>>::INV & LOW31;
const LOW31: u64 = (1 << 31) - 1;
/// Blocks after which the GCD must have ended: each block makes 31 of the at most
/// `2·254 − 1` steps, and a few spare for the approximations' detours.
const MAX_BLOCKS: usize = 40;

/// `x⁻¹` for a non-zero `x` (`None` for zero), equal to arkworks' `Field::inverse`.
pub(crate) fn inverse(x: &Fq) -> Option<Fq> {
    // In Montgomery form x is stored as X = x·R; the integer inverse of X is x⁻¹·R⁻¹, and the
    // Montgomery form of x⁻¹ is x⁻¹·R = X⁻¹·R², which one Montgomery product with R³ gives.
    let y = (x.0).0;
    if y == [0; 4] {
        return None;
    }
    let Some(v) = integer_inverse(&y) else {
        // Not reached for p prime (the GCD ends well within its blocks); arkworks' inversion
        // stays the reference rather than a panic.
        return ark_ff::Field::inverse(x);
    };
    Some(Fq::new_unchecked(BigInt(v)) * Fq::new_unchecked(r_cubed()))
}

/// `xs[i] ← xs[i]⁻¹` for every `i`, with one inversion (Montgomery's trick); the values must
/// be non-zero.
pub(crate) fn batch_inverse<const N: usize>(xs: &mut [Fq; N]) {
    let mut prefix = [Fq::new_unchecked(BigInt([0; 4])); N];
    let mut acc = Fq::new_unchecked(<FqConfig as MontConfig<4>>::R);
    for (p, x) in prefix.iter_mut().zip(xs.iter()) {
        *p = acc;
        acc *= x;
    }
    let mut inv = inverse(&acc).expect("non-zero values");
    for (x, p) in xs.iter_mut().zip(prefix.iter()).rev() {
        let xi = inv * p;
        inv *= *x;
        *x = xi;
    }
}

/// `R³ mod p` as an integer (`R = 2^256`): `R²·R²` under Montgomery's product.
fn r_cubed() -> BigInt<4> {
    let r2 = Fq::new_unchecked(<FqConfig as MontConfig<4>>::R2);
    (r2 * r2).0
}

/// `y⁻¹ mod p` for `0 < y < p`, as integers; `None` if the GCD did not end in
/// [`MAX_BLOCKS`] blocks.
fn integer_inverse(y: &[u64; 4]) -> Option<[u64; 4]> {
    let (mut a, mut b) = (*y, P);
    let (mut u, mut v) = ([1u64, 0, 0, 0], [0u64; 4]);
    for _ in 0..MAX_BLOCKS {
        if a == [0; 4] {
            return (b == [1, 0, 0, 0]).then_some(v);
        }
        let n = bit_length(&a).max(bit_length(&b)).max(64);
        let (mut xa, mut xb) = (approximate(&a, n), approximate(&b, n));
        // (f0, g0; f1, g1): a = (f0·a₀ + g0·b₀)/2^i, b = (f1·a₀ + g1·b₀)/2^i after i steps.
        let (mut f0, mut g0, mut f1, mut g1) = (1i64, 0i64, 0i64, 1i64);
        // Without branches: the parity and the comparison are random, and two mispredicted
        // branches per step cost more than the step (measured: twice as slow with them).
        for _ in 0..31 {
            // If xa is odd: swap when xa < xb, then xa −= xb (f0, g0 alike).
            let odd = (xa & 1).wrapping_neg();
            let swap = odd & ((xa < xb) as u64).wrapping_neg();
            let t = (xa ^ xb) & swap;
            (xa, xb) = (xa ^ t, xb ^ t);
            let t = (f0 ^ f1) & swap as i64;
            (f0, f1) = (f0 ^ t, f1 ^ t);
            let t = (g0 ^ g1) & swap as i64;
            (g0, g1) = (g0 ^ t, g1 ^ t);
            xa -= xb & odd;
            f0 -= f1 & odd as i64;
            g0 -= g1 & odd as i64;
            xa >>= 1;
            f1 <<= 1;
            g1 <<= 1;
        }
        let (na, neg_a) = combine_shift(&a, f0, &b, g0);
        let (nb, neg_b) = combine_shift(&a, f1, &b, g1);
        if neg_a {
            (f0, g0) = (-f0, -g0);
        }
        if neg_b {
            (f1, g1) = (-f1, -g1);
        }
        (a, b) = (na, nb);
        (u, v) = (combine_mod(&u, f0, &v, g0), combine_mod(&u, f1, &v, g1));
    }
    None
}

fn bit_length(x: &[u64; 4]) -> u32 {
    for i in (0..4).rev() {
        if x[i] != 0 {
            return 64 * i as u32 + 64 - x[i].leading_zeros();
        }
    }
    0
}

/// The low 31 bits of `x` below its top 33 bits of an `n`-bit window (`x < 2^n`, `n ≥ 64`):
/// `x` itself when `n = 64`.
fn approximate(x: &[u64; 4], n: u32) -> u64 {
    if n <= 64 {
        return x[0];
    }
    let s = n - 33;
    let (limb, bit) = ((s / 64) as usize, s % 64);
    let mut top = x[limb] >> bit;
    if bit > 31 && limb + 1 < 4 {
        top |= x[limb + 1] << (64 - bit);
    }
    (x[0] & LOW31) | (top & ((1 << 33) - 1)) << 31
}

/// `x·|k|` as five limbs, for `|k| ≤ 2^62`.
fn mul_small(x: &[u64; 4], k: u64) -> [u64; 5] {
    let mut out = [0u64; 5];
    let mut carry = 0u128;
    for i in 0..4 {
        let t = x[i] as u128 * k as u128 + carry;
        out[i] = t as u64;
        carry = t >> 64;
    }
    out[4] = carry as u64;
    out
}

/// Two's-complement negation of five limbs.
fn negate5(x: &mut [u64; 5]) {
    let mut carry = true;
    for limb in x.iter_mut() {
        let (v, c) = (!*limb).overflowing_add(carry as u64);
        *limb = v;
        carry = c;
    }
}

fn add5(x: &[u64; 5], y: &[u64; 5]) -> [u64; 5] {
    let mut out = [0u64; 5];
    let mut carry = false;
    for i in 0..5 {
        let (s1, c1) = x[i].overflowing_add(y[i]);
        let (s2, c2) = s1.overflowing_add(carry as u64);
        out[i] = s2;
        carry = c1 | c2;
    }
    out
}

/// `f·x + g·y` for `x, y < 2^256` and `|f|, |g| ≤ 2^31`, in five limbs of two's complement
/// (`|f·x + g·y| < 2^288`).
fn combine(x: &[u64; 4], f: i64, y: &[u64; 4], g: i64) -> [u64; 5] {
    let mut fx = mul_small(x, f.unsigned_abs());
    if f < 0 {
        negate5(&mut fx);
    }
    let mut gy = mul_small(y, g.unsigned_abs());
    if g < 0 {
        negate5(&mut gy);
    }
    add5(&fx, &gy)
}

/// `|f·x + g·y| / 2^31` (an exact division) and whether the sum was negative.
fn combine_shift(x: &[u64; 4], f: i64, y: &[u64; 4], g: i64) -> ([u64; 4], bool) {
    let mut t = combine(x, f, y, g);
    let negative = t[4] >> 63 == 1;
    if negative {
        negate5(&mut t);
    }
    debug_assert_eq!(t[0] & LOW31, 0, "the block's divisions are exact");
    let out = std::array::from_fn(|i| t[i] >> 31 | t[i + 1] << 33);
    (out, negative)
}

/// `(f·x + g·y)·2^−31 mod p` for `x, y < p`, canonical.
fn combine_mod(x: &[u64; 4], f: i64, y: &[u64; 4], g: i64) -> [u64; 4] {
    let mut t = combine(x, f, y, g);
    let negative = t[4] >> 63 == 1;
    if negative {
        negate5(&mut t);
    }
    // |t| < 2^32·p: adding m·p, m < 2^31, clears the low 31 bits; the quotient is below 3p.
    let m = (t[0].wrapping_mul(NEG_P_INV_31)) & LOW31;
    let mp = mul_small(&P, m);
    let t = add5(&t, &mp);
    let mut r: [u64; 4] = std::array::from_fn(|i| t[i] >> 31 | t[i + 1] << 33);
    while !super::lt(&r, &P) {
        r = sub4(&r, &P);
    }
    if negative && r != [0; 4] {
        r = sub4(&P, &r);
    }
    r
}

/// `x − y` for `x ≥ y`.
fn sub4(x: &[u64; 4], y: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = super::field_ops::sub_borrow(x, y);
    debug_assert_eq!(borrow, 0);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, PrimeField, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    /// Equal to arkworks' inversion on random values, small ones, values near p and powers
    /// of two (the approximations' edge: lengths just above and below 64 bits), raw limbs at
    /// the representation's edges; zero has none.
    #[test]
    fn matches_arkworks() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut vals: Vec<Fq> = (0..20_000).map(|_| Fq::rand(&mut rng)).collect();
        for k in [1u64, 2, 3, 5, 1 << 31, u64::MAX] {
            vals.push(Fq::from(k));
            vals.push(-Fq::from(k));
        }
        for e in [1u64, 31, 32, 33, 63, 64, 65, 127, 128, 200, 252, 253] {
            vals.push(Fq::from(2u64).pow([e]));
            vals.push(Fq::from(2u64).pow([e]) - Fq::from(1u64));
        }
        vals.push(Fq::from(Fq::MODULUS_MINUS_ONE_DIV_TWO));
        for raw in [
            [1u64, 0, 0, 0],
            [u64::MAX, 0, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 0, 1],
        ] {
            vals.push(Fq::new_unchecked(BigInt(raw)));
        }
        vals.push(Fq::new_unchecked(BigInt([P[0] - 1, P[1], P[2], P[3]])));
        for x in &vals {
            assert_eq!(inverse(x), x.inverse(), "{x}");
        }
        assert_eq!(inverse(&Fq::from(0u64)), None);
        let mut eight: [Fq; 8] = std::array::from_fn(|i| vals[i * 7]);
        let want = eight.map(|x| x.inverse().unwrap());
        batch_inverse(&mut eight);
        assert_eq!(eight, want);
    }
}
