//! Groth16 verifying keys and proofs over BN254, and their byte encodings.
//!
//! These mirror `ark_groth16::{VerifyingKey, Proof}<Bn254>` field for field, so their arkworks
//! serialisations are byte-identical (a test checks both directions) while this crate does not
//! depend on ark-groth16 and its proving-side dependency tree.
//!
//! Every point of a [`VerifyingKey`] or [`Proof`] is on its curve and in the prime-order
//! subgroup, unless a caller said otherwise by calling a constructor whose name contains
//! `unchecked`: the fields are private, the constructors [`VerifyingKey::new`], [`Proof::new`],
//! [`VerifyingKey::from_compressed_bytes`] and [`Proof::from_compressed_bytes`] check every
//! point, and the types deliberately do not implement arkworks' `CanonicalDeserialize`, whose
//! `Validate::No` mode would build them without checks.
//!
//! ```compile_fail,E0451
//! // A struct literal could carry unchecked points: the fields are private.
//! use ark_ec::AffineRepr;
//! use zkinfer_verifier::{G1Affine, G2Affine, Proof};
//! let p = Proof { a: G1Affine::generator(), b: G2Affine::generator(), c: G1Affine::generator() };
//! ```
//!
//! ```compile_fail,E0599
//! // Nor can arkworks' deserialisation build one with `Validate::No`.
//! use ark_serialize::{CanonicalDeserialize, Compress, Validate};
//! use zkinfer_verifier::VerifyingKey;
//! let _ = VerifyingKey::deserialize_with_mode(&[0u8; 8][..], Compress::Yes, Validate::No);
//! ```
//!
//! ```
//! // What compiles: the checking constructor, or one that says it does not check.
//! use ark_ec::AffineRepr;
//! use zkinfer_verifier::{G1Affine, G2Affine, Proof};
//! let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
//! let p = Proof::new(g1, g2, g1).unwrap();
//! assert_eq!(p, Proof::new_unchecked(g1, g2, g1));
//! assert_eq!(p.a(), g1);
//! ```

use ark_bn254::{G1Affine, G2Affine};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Valid, Validate};

use crate::error::VerifyError;

/// Compressed size of a G1 point.
pub const G1_COMPRESSED: usize = 32;
/// Compressed size of a G2 point.
pub const G2_COMPRESSED: usize = 64;
/// Compressed size of a [`Proof`]: A (G1), B (G2), C (G1).
pub const PROOF_COMPRESSED: usize = 2 * G1_COMPRESSED + G2_COMPRESSED;
/// Compressed size of a [`VerifyingKey`] before its `gamma_abc_g1` points: alpha, beta,
/// gamma, delta and the u64 length of `gamma_abc_g1`.
const VK_FIXED_COMPRESSED: usize = G1_COMPRESSED + 3 * G2_COMPRESSED + 8;

/// A Groth16 verifying key over BN254.
///
/// Its compressed arkworks encoding is byte-identical to `ark_groth16::VerifyingKey<Bn254>`.
/// Every point is on its curve and in the prime-order subgroup unless it was built with
/// [`VerifyingKey::new_unchecked`] (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize)]
pub struct VerifyingKey {
    /// `alpha * G1`.
    pub(crate) alpha_g1: G1Affine,
    /// `beta * G2`.
    pub(crate) beta_g2: G2Affine,
    /// `gamma * G2`.
    pub(crate) gamma_g2: G2Affine,
    /// `delta * G2`.
    pub(crate) delta_g2: G2Affine,
    /// One point per public input, plus one for the constant 1 (first).
    pub(crate) gamma_abc_g1: Vec<G1Affine>,
}

/// A Groth16 proof over BN254.
///
/// Its compressed arkworks encoding (128 bytes) is byte-identical to `ark_groth16::Proof<Bn254>`.
/// Every point is on its curve and in the prime-order subgroup unless it was built with
/// [`Proof::new_unchecked`] (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize)]
pub struct Proof {
    /// The `A` element in G1.
    pub(crate) a: G1Affine,
    /// The `B` element in G2.
    pub(crate) b: G2Affine,
    /// The `C` element in G1.
    pub(crate) c: G1Affine,
}

/// [`VerifyError::BadInput`] unless `p` is on its curve and in the prime-order subgroup
/// (arkworks' `Valid::check`, the same check `Validate::Yes` deserialisation runs).
fn check_point<P: Valid>(p: &P, what: &str) -> Result<(), VerifyError> {
    p.check().map_err(|e| {
        VerifyError::bad(format!(
            "{what} is not on the curve or not in the prime-order subgroup ({e})"
        ))
    })
}

impl VerifyingKey {
    /// A key from its points, checking that each is on its curve and in the prime-order
    /// subgroup ([`VerifyError::BadInput`] naming the first that is not).
    pub fn new(
        alpha_g1: G1Affine,
        beta_g2: G2Affine,
        gamma_g2: G2Affine,
        delta_g2: G2Affine,
        gamma_abc_g1: Vec<G1Affine>,
    ) -> Result<Self, VerifyError> {
        check_point(&alpha_g1, "verifying key: alpha_g1")?;
        check_point(&beta_g2, "verifying key: beta_g2")?;
        check_point(&gamma_g2, "verifying key: gamma_g2")?;
        check_point(&delta_g2, "verifying key: delta_g2")?;
        for (i, p) in gamma_abc_g1.iter().enumerate() {
            check_point(p, &format!("verifying key: gamma_abc_g1[{i}]"))?;
        }
        Ok(Self::new_unchecked(
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1,
        ))
    }

    /// A key from its points, without checking them.
    ///
    /// The caller must guarantee that every point is on its curve and in the prime-order
    /// subgroup, for instance because it was just computed from valid points (as a trusted
    /// setup does). Verifying against a key that breaks this proves nothing: points outside the
    /// subgroup or off the curve void the soundness of the pairing check. Use
    /// [`VerifyingKey::new`] or [`VerifyingKey::from_compressed_bytes`] for anything read from
    /// outside the process.
    pub fn new_unchecked(
        alpha_g1: G1Affine,
        beta_g2: G2Affine,
        gamma_g2: G2Affine,
        delta_g2: G2Affine,
        gamma_abc_g1: Vec<G1Affine>,
    ) -> Self {
        VerifyingKey {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1,
        }
    }

    /// `alpha * G1`.
    pub fn alpha_g1(&self) -> G1Affine {
        self.alpha_g1
    }

    /// `beta * G2`.
    pub fn beta_g2(&self) -> G2Affine {
        self.beta_g2
    }

    /// `gamma * G2`.
    pub fn gamma_g2(&self) -> G2Affine {
        self.gamma_g2
    }

    /// `delta * G2`.
    pub fn delta_g2(&self) -> G2Affine {
        self.delta_g2
    }

    /// One point per public input, plus one for the constant 1 (first).
    pub fn gamma_abc_g1(&self) -> &[G1Affine] {
        &self.gamma_abc_g1
    }

    /// Number of public inputs the key verifies (`gamma_abc_g1.len() - 1`, 0 for an empty key).
    pub fn num_public_inputs(&self) -> usize {
        self.gamma_abc_g1.len().saturating_sub(1)
    }

    /// The compressed arkworks encoding.
    pub fn to_compressed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.compressed_size());
        // Writing to a Vec cannot fail.
        self.serialize_compressed(&mut out)
            .expect("serialising into a Vec cannot fail");
        out
    }

    /// Size of [`VerifyingKey::to_compressed_bytes`].
    pub fn compressed_size(&self) -> usize {
        VK_FIXED_COMPRESSED + G1_COMPRESSED * self.gamma_abc_g1.len()
    }

    /// Decodes the compressed encoding, checking every point is on the curve and in the
    /// prime-order subgroup, and that `bytes` holds exactly one key (no trailing bytes).
    pub fn from_compressed_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        if bytes.len() < VK_FIXED_COMPRESSED {
            return Err(VerifyError::bad(format!(
                "verifying key truncated: {} bytes, its fixed part alone needs {VK_FIXED_COMPRESSED}",
                bytes.len()
            )));
        }
        // Check the announced number of points against the bytes present before decoding, so a
        // forged length cannot make us loop or allocate for points that are not there.
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&bytes[VK_FIXED_COMPRESSED - 8..VK_FIXED_COMPRESSED]);
        let announced = u64::from_le_bytes(len_bytes);
        let present = (bytes.len() - VK_FIXED_COMPRESSED) as u64;
        match announced.checked_mul(G1_COMPRESSED as u64) {
            Some(need) if need == present => {}
            Some(need) if need > present => {
                return Err(VerifyError::bad(format!(
                    "verifying key truncated: {announced} gamma_abc_g1 points need {need} bytes, {present} present"
                )))
            }
            Some(need) => {
                return Err(VerifyError::bad(format!(
                    "{} trailing bytes after the verifying key",
                    present - need
                )))
            }
            None => return Err(VerifyError::bad(format!("verifying key announces {announced} points"))),
        }
        let what = "verifying key";
        let mut reader = bytes;
        let vk = VerifyingKey {
            alpha_g1: decode(&mut reader, what)?,
            beta_g2: decode(&mut reader, what)?,
            gamma_g2: decode(&mut reader, what)?,
            delta_g2: decode(&mut reader, what)?,
            gamma_abc_g1: decode(&mut reader, what)?,
        };
        no_trailing_bytes(reader, what)?;
        Ok(vk)
    }
}

impl Proof {
    /// A proof from its points, checking that each is on its curve and in the prime-order
    /// subgroup ([`VerifyError::BadInput`] naming the first that is not).
    pub fn new(a: G1Affine, b: G2Affine, c: G1Affine) -> Result<Self, VerifyError> {
        check_point(&a, "proof: A")?;
        check_point(&b, "proof: B")?;
        check_point(&c, "proof: C")?;
        Ok(Self::new_unchecked(a, b, c))
    }

    /// A proof from its points, without checking them.
    ///
    /// The caller must guarantee that every point is on its curve and in the prime-order
    /// subgroup, for instance because a prover just computed them from a valid proving key.
    /// Passing points that break this to [`crate::verify_proof`] or the batch verifier voids
    /// their answer (invalid-curve and small-subgroup attacks). Use [`Proof::new`] or
    /// [`Proof::from_compressed_bytes`] for anything read from outside the process.
    pub fn new_unchecked(a: G1Affine, b: G2Affine, c: G1Affine) -> Self {
        Proof { a, b, c }
    }

    /// The `A` element in G1.
    pub fn a(&self) -> G1Affine {
        self.a
    }

    /// The `B` element in G2.
    pub fn b(&self) -> G2Affine {
        self.b
    }

    /// The `C` element in G1.
    pub fn c(&self) -> G1Affine {
        self.c
    }

    /// The compressed arkworks encoding (128 bytes).
    pub fn to_compressed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_COMPRESSED);
        self.serialize_compressed(&mut out)
            .expect("serialising into a Vec cannot fail");
        out
    }

    /// Decodes the compressed encoding, checking every point is on the curve and in the
    /// prime-order subgroup, and that `bytes` is exactly 128 bytes long.
    pub fn from_compressed_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        if bytes.len() != PROOF_COMPRESSED {
            return Err(VerifyError::bad(format!(
                "a compressed proof is {PROOF_COMPRESSED} bytes, got {}",
                bytes.len()
            )));
        }
        let what = "proof";
        let mut reader = bytes;
        let proof = Proof {
            a: decode(&mut reader, what)?,
            b: decode(&mut reader, what)?,
            c: decode(&mut reader, what)?,
        };
        no_trailing_bytes(reader, what)?;
        Ok(proof)
    }
}

/// Decodes one compressed `T` with every point checked (`Validate::Yes`): the only way this
/// module reads points.
fn decode<T: CanonicalDeserialize>(reader: &mut &[u8], what: &str) -> Result<T, VerifyError> {
    T::deserialize_with_mode(reader, Compress::Yes, Validate::Yes)
        .map_err(|e| VerifyError::bad(format!("{what}: invalid encoding or point ({e})")))
}

fn no_trailing_bytes(rest: &[u8], what: &str) -> Result<(), VerifyError> {
    if !rest.is_empty() {
        return Err(VerifyError::bad(format!(
            "{} trailing bytes after the {what}",
            rest.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::UniformRand;

    fn sample_vk(n: usize) -> VerifyingKey {
        let mut rng = ark_std::test_rng();
        let g1 = |rng: &mut _| (G1Affine::generator() * ark_bn254::Fr::rand(rng)).into_affine();
        let g2 = |rng: &mut _| (G2Affine::generator() * ark_bn254::Fr::rand(rng)).into_affine();
        VerifyingKey {
            alpha_g1: g1(&mut rng),
            beta_g2: g2(&mut rng),
            gamma_g2: g2(&mut rng),
            delta_g2: g2(&mut rng),
            gamma_abc_g1: (0..n + 1).map(|_| g1(&mut rng)).collect(),
        }
    }

    #[test]
    fn vk_round_trips_and_size_is_exact() {
        let vk = sample_vk(3);
        let bytes = vk.to_compressed_bytes();
        assert_eq!(bytes.len(), vk.compressed_size());
        assert_eq!(VerifyingKey::from_compressed_bytes(&bytes).unwrap(), vk);
        assert_eq!(vk.num_public_inputs(), 3);
    }

    #[test]
    fn vk_rejects_every_truncation_and_trailing_bytes() {
        let bytes = sample_vk(2).to_compressed_bytes();
        for cut in 0..bytes.len() {
            assert!(matches!(
                VerifyingKey::from_compressed_bytes(&bytes[..cut]),
                Err(VerifyError::BadInput(_))
            ));
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            VerifyingKey::from_compressed_bytes(&longer),
            Err(VerifyError::BadInput(_))
        ));
        // A forged point count far beyond the data.
        let mut forged = bytes;
        forged[VK_FIXED_COMPRESSED - 8..VK_FIXED_COMPRESSED]
            .copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            VerifyingKey::from_compressed_bytes(&forged),
            Err(VerifyError::BadInput(_))
        ));
    }

    /// A point on the G2 curve that is not in the prime-order subgroup.
    fn g2_outside_subgroup() -> G2Affine {
        use ark_ff::{Field, One};
        let mut x = ark_bn254::Fq2::new(ark_bn254::Fq::one(), ark_bn254::Fq::one());
        loop {
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
                if !p.is_in_correct_subgroup_assuming_on_curve() {
                    return p;
                }
            }
            x += ark_bn254::Fq2::ONE;
        }
    }

    #[test]
    fn new_checks_every_point_new_unchecked_does_not() {
        use ark_ff::One;
        let vk = sample_vk(2);
        // (1, 1): 1 != 1 + 3, off the curve.
        let off_g1 = G1Affine::new_unchecked(ark_bn254::Fq::one(), ark_bn254::Fq::one());
        assert!(!off_g1.is_on_curve());
        let off_g2 = g2_outside_subgroup();
        let (a, b, g, d, ic) = (
            vk.alpha_g1(),
            vk.beta_g2(),
            vk.gamma_g2(),
            vk.delta_g2(),
            vk.gamma_abc_g1().to_vec(),
        );
        assert_eq!(
            VerifyingKey::new(a, b, g, d, ic.clone()).unwrap(),
            vk.clone()
        );
        let mut bad_ic = ic.clone();
        bad_ic[2] = off_g1;
        for bad in [
            VerifyingKey::new(off_g1, b, g, d, ic.clone()),
            VerifyingKey::new(a, off_g2, g, d, ic.clone()),
            VerifyingKey::new(a, b, off_g2, d, ic.clone()),
            VerifyingKey::new(a, b, g, off_g2, ic.clone()),
            VerifyingKey::new(a, b, g, d, bad_ic.clone()),
        ] {
            assert!(matches!(bad, Err(VerifyError::BadInput(_))), "{bad:?}");
        }
        let unchecked = VerifyingKey::new_unchecked(a, b, g, d, bad_ic);
        assert_eq!(unchecked.gamma_abc_g1()[2], off_g1);
        // Bytes of a key outside the subgroup do not load back: decoding always checks.
        let unchecked = VerifyingKey::new_unchecked(a, off_g2, g, d, ic.clone());
        assert!(VerifyingKey::from_compressed_bytes(&unchecked.to_compressed_bytes()).is_err());

        let p = Proof::new(a, b, ic[0]).unwrap();
        assert_eq!((p.a(), p.b(), p.c()), (a, b, ic[0]));
        for bad in [
            Proof::new(off_g1, b, a),
            Proof::new(a, off_g2, a),
            Proof::new(a, b, off_g1),
        ] {
            assert!(matches!(bad, Err(VerifyError::BadInput(_))), "{bad:?}");
        }
        let unchecked = Proof::new_unchecked(a, off_g2, a);
        assert!(Proof::from_compressed_bytes(&unchecked.to_compressed_bytes()).is_err());
        // The point at infinity is a valid group element, as in arkworks' deserialisation.
        assert!(Proof::new(G1Affine::zero(), b, a).is_ok());
    }

    #[test]
    fn proof_rejects_wrong_lengths() {
        let vk = sample_vk(0);
        let p = Proof {
            a: vk.alpha_g1,
            b: vk.beta_g2,
            c: vk.gamma_abc_g1[0],
        };
        let bytes = p.to_compressed_bytes();
        assert_eq!(bytes.len(), PROOF_COMPRESSED);
        assert_eq!(Proof::from_compressed_bytes(&bytes).unwrap(), p);
        assert!(Proof::from_compressed_bytes(&bytes[..127]).is_err());
        let mut longer = bytes;
        longer.push(1);
        assert!(Proof::from_compressed_bytes(&longer).is_err());
    }
}
