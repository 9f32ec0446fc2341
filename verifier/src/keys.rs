//! Groth16 verifying keys and proofs over BN254, and their byte encodings.
//!
//! These mirror `ark_groth16::{VerifyingKey, Proof}<Bn254>` field for field, so their arkworks
//! serialisations are byte-identical (a test checks both directions) while this crate does not
//! depend on ark-groth16 and its proving-side dependency tree.

use ark_bn254::{G1Affine, G2Affine};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};

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
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct VerifyingKey {
    /// `alpha * G1`.
    pub alpha_g1: G1Affine,
    /// `beta * G2`.
    pub beta_g2: G2Affine,
    /// `gamma * G2`.
    pub gamma_g2: G2Affine,
    /// `delta * G2`.
    pub delta_g2: G2Affine,
    /// One point per public input, plus one for the constant 1 (first).
    pub gamma_abc_g1: Vec<G1Affine>,
}

/// A Groth16 proof over BN254.
///
/// Its compressed arkworks encoding (128 bytes) is byte-identical to `ark_groth16::Proof<Bn254>`.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Proof {
    /// The `A` element in G1.
    pub a: G1Affine,
    /// The `B` element in G2.
    pub b: G2Affine,
    /// The `C` element in G1.
    pub c: G1Affine,
}

impl VerifyingKey {
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
        decode_exact(bytes, "verifying key")
    }
}

impl Proof {
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
        decode_exact(bytes, "proof")
    }
}

/// Decodes one `T` (compressed, validated) and rejects any bytes left over.
fn decode_exact<T: CanonicalDeserialize>(bytes: &[u8], what: &str) -> Result<T, VerifyError> {
    let mut reader = bytes;
    let value = T::deserialize_with_mode(&mut reader, Compress::Yes, Validate::Yes)
        .map_err(|e| VerifyError::bad(format!("{what}: invalid encoding or point ({e})")))?;
    if !reader.is_empty() {
        return Err(VerifyError::bad(format!(
            "{} trailing bytes after the {what}",
            reader.len()
        )));
    }
    Ok(value)
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
