//! The GLV decomposition `k = k1 + λ·k2 (mod r)` with `|k1|, |k2| < 2^126`, in fixed-width
//! integer arithmetic (arkworks' `GLVConfig::scalar_decomposition` allocates big integers per
//! call, which would cost more than the MSM saves).
//!
//! With the lattice basis `N = [[n11, n12], [n21, n22]]` of `GLVConfig::SCALAR_DECOMP_COEFFS`
//! (rows `(a, b)` with `a + λ·b ≡ 0`, `det N = r`), `β = round((k·n22, −k·n12) / r)` and
//! `(k1, k2) = (k, 0) − β·N`. Each rounding is exact: `⌊k·g/2^256⌋` with `g = ⌊|n|·2^256/r⌋`
//! is `⌊k·|n|/r⌋` or one less, fixed by one comparison of the remainder; the remainder then
//! rounds to nearest. So `|k_i| ≤ (|n_i1| + |n_i2|)/2`, under 2^126 for both BN254 groups
//! (checked in `Glv::new`).

use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ff::PrimeField;
use num_bigint::BigUint;

/// Magnitudes of `k1`, `k2` are below `2^GLV_BITS`.
pub(crate) const GLV_BITS: u32 = 126;

/// One half of a decomposed scalar: `(negative, |k|)`.
pub(crate) type Half = (bool, u128);

/// Precomputed constants for one curve's decomposition.
#[derive(Clone, Debug)]
pub(crate) struct Glv {
    /// `n11, n12, n21, n22` as two's-complement values mod 2^128.
    n: [u128; 4],
    /// `|n22|`, `|n12|` and whether `β1`, `β2` are negated.
    m: [(u128, bool); 2],
    /// `⌊|n22|·2^256/r⌋`, `⌊|n12|·2^256/r⌋` (little-endian limbs).
    g: [[u64; 3]; 2],
    r: [u64; 4],
}

fn to_u128(b: &BigUint) -> u128 {
    let d = b.to_u64_digits();
    assert!(d.len() <= 2, "GLV coefficient wider than 128 bits");
    d.first().copied().unwrap_or(0) as u128 | (d.get(1).copied().unwrap_or(0) as u128) << 64
}

impl Glv {
    pub(crate) fn new<P: GLVConfig>() -> Self {
        let r_big: BigUint = P::ScalarField::MODULUS.into();
        let r_limbs = r_big.to_u64_digits();
        assert!(r_limbs.len() <= 4);
        let mut r = [0u64; 4];
        r[..r_limbs.len()].copy_from_slice(&r_limbs);
        let coeffs = P::SCALAR_DECOMP_COEFFS.map(|(plus, v)| {
            let v: BigUint = v.into();
            (!plus, to_u128(&v))
        });
        let signed = |(neg, v): (bool, u128)| if neg { v.wrapping_neg() } else { v };
        let n = coeffs.map(signed);
        // The bound |k_i| ≤ (|n_i1| + |n_i2|)/2 < 2^GLV_BITS (so the sum is below 2^(GLV_BITS+1)).
        for (a, b) in [(coeffs[0].1, coeffs[2].1), (coeffs[1].1, coeffs[3].1)] {
            let s = BigUint::from(a) + BigUint::from(b);
            assert!(s.bits() <= GLV_BITS as u64 + 1, "GLV basis too large");
        }
        let g_of = |m: u128| {
            let g: BigUint = (BigUint::from(m) << 256u32) / &r_big;
            let d = g.to_u64_digits();
            assert!(d.len() <= 3);
            let mut out = [0u64; 3];
            out[..d.len()].copy_from_slice(&d);
            out
        };
        // β1 = k·n22/r, β2 = −k·n12/r.
        let m = [(coeffs[3].1, coeffs[3].0), (coeffs[1].1, !coeffs[1].0)];
        Glv {
            n,
            g: [g_of(m[0].0), g_of(m[1].0)],
            m,
            r,
        }
    }

    /// `round(k·m/r)` for `k < r` (little-endian limbs) and the `i`-th `(m, g)`.
    fn round_div(&self, k: &[u64; 4], i: usize) -> u128 {
        let (m, _) = self.m[i];
        let g = &self.g[i];
        let mut kg = [0u64; 7];
        mul(k, g, &mut kg);
        let mut q = kg[4] as u128 | (kg[5] as u128) << 64;
        debug_assert_eq!(kg[6], 0);
        // rem = k·m − q·r, in [0, 2r).
        let mut km = [0u64; 6];
        mul(k, &[m as u64, (m >> 64) as u64], &mut km);
        let mut qr = [0u64; 6];
        mul(&[q as u64, (q >> 64) as u64], &self.r, &mut qr);
        let mut rem = km;
        sub_in_place(&mut rem, &qr);
        let r6 = [self.r[0], self.r[1], self.r[2], self.r[3], 0, 0];
        while !lt(&rem, &r6) {
            sub_in_place(&mut rem, &r6);
            q += 1;
        }
        // Round to nearest: 2·rem ≥ r.
        let mut twice = rem;
        let mut carry = 0u64;
        for limb in twice.iter_mut() {
            let v = (*limb as u128) << 1 | carry as u128;
            *limb = v as u64;
            carry = (v >> 64) as u64;
        }
        if !lt(&twice, &r6) {
            q += 1;
        }
        q
    }

    /// `(k1, k2)` with `k ≡ k1 + λ·k2 (mod r)` and both magnitudes below `2^GLV_BITS`.
    pub(crate) fn decompose(&self, k: &[u64; 4]) -> (Half, Half) {
        let b = [0, 1].map(|i| {
            let q = self.round_div(k, i);
            if self.m[i].1 {
                q.wrapping_neg()
            } else {
                q
            }
        });
        let [n11, n12, n21, n22] = self.n;
        let k_lo = k[0] as u128 | (k[1] as u128) << 64;
        let k1 = k_lo
            .wrapping_sub(b[0].wrapping_mul(n11))
            .wrapping_sub(b[1].wrapping_mul(n21)) as i128;
        let k2 =
            (b[0].wrapping_mul(n12).wrapping_add(b[1].wrapping_mul(n22))).wrapping_neg() as i128;
        ((k1 < 0, k1.unsigned_abs()), (k2 < 0, k2.unsigned_abs()))
    }
}

/// `out = a·b` (schoolbook; `out.len() == a.len() + b.len()`).
fn mul(a: &[u64], b: &[u64], out: &mut [u64]) {
    out.fill(0);
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u128;
        for (j, &y) in b.iter().enumerate() {
            let t = out[i + j] as u128 + x as u128 * y as u128 + carry;
            out[i + j] = t as u64;
            carry = t >> 64;
        }
        out[i + b.len()] = carry as u64;
    }
}

/// `a −= b` (`a ≥ b`).
fn sub_in_place(a: &mut [u64], b: &[u64]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, o1) = x.overflowing_sub(y);
        let (d2, o2) = d1.overflowing_sub(borrow as u64);
        *x = d2;
        borrow = o1 || o2;
    }
    debug_assert!(!borrow);
}

fn lt(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x < y;
        }
    }
    false
}

/// A scalar's limbs (canonical, not Montgomery).
pub(crate) fn limbs<F: PrimeField>(s: &F) -> [u64; 4] {
    let b = s.into_bigint();
    let l = b.as_ref();
    let mut out = [0u64; 4];
    out[..l.len().min(4)].copy_from_slice(&l[..l.len().min(4)]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, Fr};
    use ark_ff::{BigInteger, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    use num_bigint::BigInt;

    fn check<P: GLVConfig<ScalarField = Fr>>(glv: &Glv, k: Fr) {
        let r = BigInt::from(BigUint::from(Fr::MODULUS));
        let lambda = BigInt::from(BigUint::from(P::LAMBDA.into_bigint()));
        let kk = BigInt::from(BigUint::from(k.into_bigint()));
        let ((n1, m1), (n2, m2)) = glv.decompose(&limbs(&k));
        let s = |neg: bool, m: u128| {
            let v = BigInt::from(m);
            if neg {
                -v
            } else {
                v
            }
        };
        let k1 = s(n1, m1);
        let k2 = s(n2, m2);
        let lhs = ((&k1 + &lambda * &k2 - &kk) % &r + &r) % &r;
        assert_eq!(lhs, BigInt::from(0), "k = {kk}: k1 = {k1}, k2 = {k2}");
        assert!(m1 < 1u128 << GLV_BITS && m2 < 1u128 << GLV_BITS, "k = {kk}");
        // Agrees with arkworks' (big-integer) decomposition up to the rounding of β.
        let ((p1, a1), (p2, a2)) = P::scalar_decomposition(k);
        let ak1 = s(
            !p1,
            u128::from_le_bytes(a1.into_bigint().to_bytes_le()[..16].try_into().unwrap()),
        );
        let ak2 = s(
            !p2,
            u128::from_le_bytes(a2.into_bigint().to_bytes_le()[..16].try_into().unwrap()),
        );
        let lhs = ((&ak1 + &lambda * &ak2 - &kk) % &r + &r) % &r;
        assert_eq!(lhs, BigInt::from(0));
    }

    #[test]
    fn decomposition_matches_big_integer_math() {
        let mut rng = StdRng::seed_from_u64(11);
        for glv_of in [
            (Glv::new::<g1::Config>(), true),
            (Glv::new::<g2::Config>(), false),
        ] {
            let (glv, is_g1) = glv_of;
            let mut ks = vec![
                Fr::from(0u64),
                Fr::from(1u64),
                -Fr::from(1u64),
                Fr::from(2u64).pow([127u64]),
                Fr::from(2u64).pow([128u64]) - Fr::from(1u64),
                Fr::from(2u64).pow([253u64]),
                -Fr::from(2u64).pow([126u64]),
                Fr::from(Fr::MODULUS_MINUS_ONE_DIV_TWO),
                Fr::from(Fr::MODULUS_MINUS_ONE_DIV_TWO) + Fr::from(1u64),
                g1::Config::LAMBDA,
                g2::Config::LAMBDA,
            ];
            ks.extend((0..2000).map(|_| Fr::rand(&mut rng)));
            for k in ks {
                if is_g1 {
                    check::<g1::Config>(&glv, k);
                } else {
                    check::<g2::Config>(&glv, k);
                }
            }
        }
    }

    use ark_ff::Field;
}
