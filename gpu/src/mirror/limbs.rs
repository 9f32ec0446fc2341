//! Montgomery arithmetic on 8 × 32-bit limbs, exactly as `kernels/field.cuh` computes it.
//!
//! arkworks keeps BN254 field elements as 4 × u64 Montgomery limbs (R = 2^256); read as
//! little-endian u32 words these are the kernel's 8 limbs, so values cross the host/device
//! boundary by copying bytes. The tests check this module against arkworks' own arithmetic and
//! check the constants written in `field.cuh` against arkworks' parameters.

use ark_ff::{BigInt, Fp, MontBackend, MontConfig};

/// A field element as the kernels see it: 8 little-endian 32-bit limbs.
pub type Limbs = [u32; 8];

/// The constants a kernel's Montgomery field needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MontParams {
    /// The modulus `p`.
    pub modulus: Limbs,
    /// `-p^{-1} mod 2^32`.
    pub inv: u32,
    /// `R mod p` (the Montgomery form of 1), `R = 2^256`.
    pub one: Limbs,
}

/// Splits 4 × u64 limbs into 8 × u32 limbs (little-endian), the byte-identical view.
pub fn to_limbs(x: &BigInt<4>) -> Limbs {
    let mut out = [0u32; 8];
    for (i, w) in x.0.iter().enumerate() {
        out[2 * i] = *w as u32;
        out[2 * i + 1] = (*w >> 32) as u32;
    }
    out
}

/// Inverse of [`to_limbs`].
pub fn from_limbs(x: &Limbs) -> BigInt<4> {
    let mut out = [0u64; 4];
    for i in 0..4 {
        out[i] = x[2 * i] as u64 | ((x[2 * i + 1] as u64) << 32);
    }
    BigInt(out)
}

/// The Montgomery limbs of a field element (no conversion: `x.0` is already Montgomery form).
pub fn mont_limbs<C: MontConfig<4>>(x: &Fp<MontBackend<C, 4>, 4>) -> Limbs {
    to_limbs(&x.0)
}

/// A field element from its Montgomery limbs.
pub fn from_mont_limbs<C: MontConfig<4>>(x: &Limbs) -> Fp<MontBackend<C, 4>, 4> {
    Fp::new_unchecked(from_limbs(x))
}

/// The parameters of a 4-limb arkworks Montgomery field, in the kernels' layout.
pub fn params<C: MontConfig<4>>() -> MontParams {
    let modulus = to_limbs(&C::MODULUS);
    // Newton iteration for p^{-1} mod 2^32 (each step doubles the number of correct low bits).
    let p0 = modulus[0];
    let mut inv = 1u32;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(p0.wrapping_mul(inv)));
    }
    MontParams {
        modulus,
        inv: inv.wrapping_neg(),
        one: to_limbs(&C::R),
    }
}

/// [`params`] for BN254's base field Fq.
pub fn fq_params() -> MontParams {
    params::<ark_bn254::FqConfig>()
}

/// [`params`] for BN254's scalar field Fr.
pub fn fr_params() -> MontParams {
    params::<ark_bn254::FrConfig>()
}

/// `true` when `a >= b` as 256-bit integers.
fn geq(a: &Limbs, b: &Limbs) -> bool {
    for i in (0..8).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

/// `a - b` with the borrow computed as the kernel does (top bit of a 64-bit difference).
fn sub_raw(a: &Limbs, b: &Limbs) -> (Limbs, u32) {
    let mut r = [0u32; 8];
    let mut br = 0u64;
    for i in 0..8 {
        let d = (a[i] as u64).wrapping_sub(b[i] as u64).wrapping_sub(br);
        r[i] = d as u32;
        br = (d >> 63) & 1;
    }
    (r, br as u32)
}

/// `a + b mod p` for reduced inputs: add, then subtract `p` unless that borrows.
#[allow(clippy::needless_range_loop)] // indexed like the kernel's unrolled loops
pub fn add(p: &MontParams, a: &Limbs, b: &Limbs) -> Limbs {
    let mut r = [0u32; 8];
    let mut c = 0u64;
    for i in 0..8 {
        c += a[i] as u64 + b[i] as u64;
        r[i] = c as u32;
        c >>= 32;
    }
    let (t, br) = sub_raw(&r, &p.modulus);
    if br == 0 {
        t
    } else {
        r
    }
}

/// `a - b mod p` for reduced inputs: subtract, then add `p` back on borrow.
#[allow(clippy::needless_range_loop)] // indexed like the kernel's unrolled loops
pub fn sub(p: &MontParams, a: &Limbs, b: &Limbs) -> Limbs {
    let (r, br) = sub_raw(a, b);
    if br == 0 {
        return r;
    }
    let mut out = [0u32; 8];
    let mut c = 0u64;
    for i in 0..8 {
        c += r[i] as u64 + p.modulus[i] as u64;
        out[i] = c as u32;
        c >>= 32;
    }
    out
}

/// Montgomery product `a·b·R^{-1} mod p` by CIOS with 32-bit words, the kernel's `mont_mul`.
/// Needs `p < 2^254` so the intermediate stays within 9 words and one final subtraction suffices.
#[allow(clippy::needless_range_loop)] // indexed like the kernel's unrolled loops
pub fn mont_mul(p: &MontParams, a: &Limbs, b: &Limbs) -> Limbs {
    let mut t = [0u32; 10];
    for i in 0..8 {
        let mut carry = 0u64;
        for j in 0..8 {
            let s = a[j] as u64 * b[i] as u64 + t[j] as u64 + carry;
            t[j] = s as u32;
            carry = s >> 32;
        }
        let s = t[8] as u64 + carry;
        t[8] = s as u32;
        t[9] = (s >> 32) as u32;
        let m = t[0].wrapping_mul(p.inv);
        let s = m as u64 * p.modulus[0] as u64 + t[0] as u64;
        let mut carry = s >> 32;
        for j in 1..8 {
            let s = m as u64 * p.modulus[j] as u64 + t[j] as u64 + carry;
            t[j - 1] = s as u32;
            carry = s >> 32;
        }
        let s = t[8] as u64 + carry;
        t[7] = s as u32;
        t[8] = t[9] + (s >> 32) as u32;
    }
    let mut r = [0u32; 8];
    r.copy_from_slice(&t[..8]);
    if geq(&r, &p.modulus) {
        sub_raw(&r, &p.modulus).0
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, Fr};
    use ark_ff::{Field, PrimeField, UniformRand, Zero};
    use ark_std::test_rng;

    fn check_field<C: MontConfig<4>>() {
        let p = params::<C>();
        let mut rng = test_rng();
        let mut samples: Vec<Fp<MontBackend<C, 4>, 4>> =
            (0..200).map(|_| UniformRand::rand(&mut rng)).collect();
        samples.extend([Fp::zero(), Fp::from(1u64), -Fp::from(1u64), -Fp::from(2u64)]);
        for a in &samples {
            for b in samples.iter().take(20) {
                let (la, lb) = (mont_limbs(a), mont_limbs(b));
                assert_eq!(from_mont_limbs::<C>(&mont_mul(&p, &la, &lb)), *a * b);
                assert_eq!(from_mont_limbs::<C>(&add(&p, &la, &lb)), *a + b);
                assert_eq!(from_mont_limbs::<C>(&sub(&p, &la, &lb)), *a - b);
            }
            // mont_mul by the plain integer 1 leaves Montgomery form: the kernels' from_mont.
            let mut one = [0u32; 8];
            one[0] = 1;
            assert_eq!(
                from_limbs(&mont_mul(&p, &mont_limbs(a), &one)),
                a.into_bigint()
            );
        }
        assert_eq!(
            from_mont_limbs::<C>(&p.one),
            Fp::<MontBackend<C, 4>, 4>::ONE
        );
    }

    #[test]
    fn limb_arithmetic_matches_arkworks_fq() {
        check_field::<ark_bn254::FqConfig>();
        let _ = Fq::ONE;
    }

    #[test]
    fn limb_arithmetic_matches_arkworks_fr() {
        check_field::<ark_bn254::FrConfig>();
        let _ = Fr::ONE;
    }
}

#[cfg(test)]
mod kernel_constants {
    //! The constants written in `kernels/field.cuh` are arkworks' parameters.
    use super::*;

    fn parse(src: &str, name: &str) -> Vec<u32> {
        let line = src
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} not defined in field.cuh"));
        line[format!("#define {name} ").len()..]
            .split(',')
            .map(|t| {
                u32::from_str_radix(t.trim().trim_start_matches("0x").trim_end_matches('u'), 16)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn field_cuh_constants_match_arkworks() {
        let src = include_str!("../../kernels/field.cuh");
        for (n, p) in [("FQ", fq_params()), ("FR", fr_params())] {
            assert_eq!(parse(src, &format!("{n}_P")), p.modulus.to_vec(), "{n}_P");
            assert_eq!(parse(src, &format!("{n}_INV")), vec![p.inv], "{n}_INV");
            assert_eq!(parse(src, &format!("{n}_ONE")), p.one.to_vec(), "{n}_ONE");
        }
        assert_eq!(
            parse(src, "FR_HALF"),
            crate::mirror::msm::fr_half().to_vec()
        );
    }
}
