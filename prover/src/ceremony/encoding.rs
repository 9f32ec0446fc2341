//! Point encodings of snarkjs's files. Two forms:
//! - *LEM*, what `.zkey` and `.ptau` sections store: each coordinate 32 bytes little-endian
//!   in Montgomery form (R = 2^256, arkworks' own representation), G2 coordinates as
//!   `c0 ‖ c1`; the point at infinity is all zeros.
//! - *uncompressed* (ffjavascript's `toRprUncompressed`), what the transcript and circuit
//!   hashes take: each coordinate big-endian in canonical form; an Fq2 element reversed as a
//!   whole, so `c1 ‖ c0`; infinity is all zeros.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, PrimeField, Zero};
use rayon::prelude::*;

/// Bytes of a G1 point in either form.
pub const G1_BYTES: usize = 64;
/// Bytes of a G2 point in either form.
pub const G2_BYTES: usize = 128;

fn fq_lem(b: &[u8]) -> Option<Fq> {
    let mut l = [0u64; 4];
    for (i, c) in b.chunks(8).enumerate() {
        l[i] = u64::from_le_bytes(c.try_into().expect("8 bytes"));
    }
    let v = BigInt::new(l);
    (v < Fq::MODULUS).then(|| Fq::new_unchecked(v))
}

fn put_fq_lem(x: &Fq, out: &mut Vec<u8>) {
    for l in x.0 .0 {
        out.extend_from_slice(&l.to_le_bytes());
    }
}

/// A G1 point from its 64 LEM bytes; `None` when a coordinate is not below q or the point is
/// not on the curve (BN254 G1 has cofactor 1, so on the curve is in the group).
pub fn g1_from_lem(b: &[u8]) -> Option<G1Affine> {
    let (x, y) = (fq_lem(&b[..32])?, fq_lem(&b[32..64])?);
    if x.is_zero() && y.is_zero() {
        return Some(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(x, y);
    p.is_on_curve().then_some(p)
}

/// A G2 point from its 128 LEM bytes; `None` when not in the prime-order group.
pub fn g2_from_lem(b: &[u8]) -> Option<G2Affine> {
    let x = Fq2::new(fq_lem(&b[..32])?, fq_lem(&b[32..64])?);
    let y = Fq2::new(fq_lem(&b[64..96])?, fq_lem(&b[96..128])?);
    if x.is_zero() && y.is_zero() {
        return Some(G2Affine::zero());
    }
    let p = G2Affine::new_unchecked(x, y);
    (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)
}

/// Appends a G1 point's LEM bytes.
pub fn put_g1_lem(p: &G1Affine, out: &mut Vec<u8>) {
    if p.is_zero() {
        out.extend_from_slice(&[0u8; G1_BYTES]);
    } else {
        put_fq_lem(&p.x, out);
        put_fq_lem(&p.y, out);
    }
}

/// Appends a G2 point's LEM bytes.
pub fn put_g2_lem(p: &G2Affine, out: &mut Vec<u8>) {
    if p.is_zero() {
        out.extend_from_slice(&[0u8; G2_BYTES]);
    } else {
        for c in [&p.x.c0, &p.x.c1, &p.y.c0, &p.y.c1] {
            put_fq_lem(c, out);
        }
    }
}

fn put_fq_be(x: &Fq, out: &mut Vec<u8>) {
    out.extend_from_slice(&x.into_bigint().to_bytes_be());
}

/// A G1 point's uncompressed bytes.
pub fn g1_uncompressed(p: &G1Affine) -> [u8; G1_BYTES] {
    let mut v = Vec::with_capacity(G1_BYTES);
    if !p.is_zero() {
        put_fq_be(&p.x, &mut v);
        put_fq_be(&p.y, &mut v);
    } else {
        v.resize(G1_BYTES, 0);
    }
    v.try_into().expect("64 bytes")
}

/// A G2 point's uncompressed bytes.
pub fn g2_uncompressed(p: &G2Affine) -> [u8; G2_BYTES] {
    let mut v = Vec::with_capacity(G2_BYTES);
    if !p.is_zero() {
        for c in [&p.x.c1, &p.x.c0, &p.y.c1, &p.y.c0] {
            put_fq_be(c, &mut v);
        }
    } else {
        v.resize(G2_BYTES, 0);
    }
    v.try_into().expect("128 bytes")
}

/// G1 points from consecutive LEM encodings, parsed in parallel; the index of the first bad
/// one on failure.
pub fn g1s_from_lem(b: &[u8]) -> Result<Vec<G1Affine>, usize> {
    b.par_chunks(G1_BYTES)
        .enumerate()
        .map(|(i, c)| g1_from_lem(c).ok_or(i))
        .collect()
}

/// G2 points from consecutive LEM encodings, parsed (and subgroup-checked) in parallel.
pub fn g2s_from_lem(b: &[u8]) -> Result<Vec<G2Affine>, usize> {
    b.par_chunks(G2_BYTES)
        .enumerate()
        .map(|(i, c)| g2_from_lem(c).ok_or(i))
        .collect()
}

/// Consecutive LEM encodings of G1 points.
pub fn g1s_to_lem(ps: &[G1Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ps.len() * G1_BYTES);
    for p in ps {
        put_g1_lem(p, &mut out);
    }
    out
}

/// Consecutive LEM encodings of G2 points.
pub fn g2s_to_lem(ps: &[G2Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ps.len() * G2_BYTES);
    for p in ps {
        put_g2_lem(p, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_std::UniformRand;

    #[test]
    fn lem_round_trips_and_refuses_off_curve_points() {
        let mut rng = ark_std::test_rng();
        let p = ark_bn254::G1Projective::rand(&mut rng).into_affine();
        let q = ark_bn254::G2Projective::rand(&mut rng).into_affine();
        let mut b = Vec::new();
        put_g1_lem(&p, &mut b);
        assert_eq!(g1_from_lem(&b), Some(p));
        b[0] ^= 1;
        assert_eq!(g1_from_lem(&b), None);
        let mut b = Vec::new();
        put_g2_lem(&q, &mut b);
        assert_eq!(g2_from_lem(&b), Some(q));
        b[70] ^= 1;
        assert_eq!(g2_from_lem(&b), None);
        assert_eq!(g1_from_lem(&[0u8; 64]), Some(G1Affine::zero()));
    }

    #[test]
    fn uncompressed_generator_is_big_endian_canonical() {
        // G1's generator is (1, 2).
        let u = g1_uncompressed(&G1Affine::generator());
        assert_eq!(u[31], 1);
        assert_eq!(u[63], 2);
        assert!(u[..31].iter().all(|&b| b == 0));
    }
}
