//! The `.pk` proving-key file and conversions to the verifier's key and proof types.
//!
//! `.pk` layout: `b"ZKPK"` | format version (u32 LE) | circuit digest (32 bytes) |
//! SHA-256 of the body (32 bytes) | body = arkworks *uncompressed* `ProvingKey<Bn254>`.
//!
//! Departure from DESIGN.md (which says compressed): a proving key is read on every `prove`,
//! and decompressing plus subgroup-checking its points costs more than the proof itself for
//! small models. Integrity comes from the body hash instead (SHA-256 runs at ~1 GB/s), and the
//! key only ever comes from our own `setup`. The `.vk`, which a client receives from others,
//! stays compressed and fully validated.

use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use sha2::{Digest, Sha256};
use std::path::Path;
use thiserror::Error;

const MAGIC: &[u8; 4] = b"ZKPK";
/// The `.pk` format version this build reads and writes.
pub const VERSION: u32 = 1;
const HEADER: usize = 4 + 4 + 32 + 32;

/// Why a key file could not be read.
#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("cannot read {path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{0}")]
    Format(String),
}

/// A proving key bound to one circuit.
pub struct ProvingKeyFile {
    pub digest: [u8; 32],
    pub pk: ProvingKey<Bn254>,
}

impl ProvingKeyFile {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.pk.serialized_size(Compress::No));
        self.pk
            .serialize_uncompressed(&mut body)
            .expect("writing to a Vec cannot fail");
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        out
    }

    /// Parses and checks a key file (magic, version, body hash).
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeyFileError> {
        let f = |m: &str| KeyFileError::Format(m.to_string());
        if b.len() < 4 || &b[..4] != MAGIC {
            return Err(f("not a zkinfer proving key (.pk): wrong magic bytes"));
        }
        if b.len() < HEADER {
            return Err(f("truncated proving key: the header is incomplete"));
        }
        let version = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(KeyFileError::Format(format!(
                "proving key format version {version}, this zkinfer reads version {VERSION}; run setup again"
            )));
        }
        let digest: [u8; 32] = b[8..40].try_into().expect("32 bytes");
        let body = &b[HEADER..];
        if Sha256::digest(body).as_slice() != &b[40..72] {
            return Err(f(
                "truncated or corrupted proving key: its content does not match its checksum",
            ));
        }
        let mut reader = body;
        let pk =
            ProvingKey::<Bn254>::deserialize_with_mode(&mut reader, Compress::No, Validate::No)
                .map_err(|e| KeyFileError::Format(format!("corrupt proving key: {e}")))?;
        if !reader.is_empty() {
            return Err(f("corrupt proving key: trailing bytes"));
        }
        Ok(ProvingKeyFile { digest, pk })
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self, KeyFileError> {
        let b = std::fs::read(path).map_err(|err| KeyFileError::Io {
            path: path.display().to_string(),
            err,
        })?;
        Self::from_bytes(&b).map_err(|e| match e {
            KeyFileError::Format(m) => KeyFileError::Format(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// Writes the key file.
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        std::fs::write(path, self.to_bytes()).map_err(|err| KeyFileError::Io {
            path: path.display().to_string(),
            err,
        })
    }
}

/// ark-groth16's verifying key as the verifier crate's (same fields, same serialisation).
/// Unchecked, hence crate-private: only for keys this crate's own setup just made.
pub(crate) fn to_verifier_vk(
    vk: &ark_groth16::VerifyingKey<Bn254>,
) -> zkinfer_verifier::VerifyingKey {
    zkinfer_verifier::VerifyingKey::new_unchecked(
        vk.alpha_g1,
        vk.beta_g2,
        vk.gamma_g2,
        vk.delta_g2,
        vk.gamma_abc_g1.clone(),
    )
}

/// ark-groth16's proof as the verifier crate's. Unchecked, hence crate-private: only for
/// proofs this crate's own prover just made.
pub(crate) fn to_verifier_proof(p: &ark_groth16::Proof<Bn254>) -> zkinfer_verifier::Proof {
    zkinfer_verifier::Proof::new_unchecked(p.a, p.b, p.c)
}
