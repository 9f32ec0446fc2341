//! `proof.json`: a proof together with the public tensors it proves, as people and tools read it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::VerifyError;
use crate::files::{read_text, write_atomic};
use crate::keys::Proof;

/// The proof.json format version this crate reads and writes.
pub const PROOF_FORMAT_VERSION: u32 = 1;

/// A public tensor as quantised integers: real value `q / 2^scale`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TensorData {
    /// Row-major shape.
    pub shape: Vec<usize>,
    /// Fixed-point scale.
    pub scale: i32,
    /// The quantised values, row-major.
    pub quantized: Vec<i64>,
}

/// The output tensor: quantised integers plus their real values, which are for people and which
/// the verifier checks against the quantised ones.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputData {
    /// Row-major shape.
    pub shape: Vec<usize>,
    /// Fixed-point scale.
    pub scale: i32,
    /// The quantised values, row-major.
    pub quantized: Vec<i64>,
    /// `quantized[i] / 2^scale`.
    pub values: Vec<f64>,
}

/// The contents of proof.json:
/// `{"version": 1, "circuit": "<64 hex>", "input": {..}, "output": {..}, "proof": "<256 hex>"}`.
///
/// Parsing checks only the JSON structure and the version; [`ProofFile::digest`] and
/// [`ProofFile::proof`] decode the hex fields, and [`crate::verify`] checks the rest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    /// Format version (1).
    pub version: u32,
    /// The circuit digest as 64 hex characters.
    pub circuit: String,
    /// The model input.
    pub input: TensorData,
    /// The model output.
    pub output: OutputData,
    /// The compressed [`Proof`] as hex (128 bytes).
    pub proof: String,
}

/// `2^scale` as f64 (exact for every scale in f64's exponent range).
pub(crate) fn scale_factor(scale: i32) -> f64 {
    (scale as f64).exp2()
}

impl ProofFile {
    /// Assembles a proof.json with `values[i] = output_q[i] / 2^output_scale`.
    pub fn new(
        digest: [u8; 32],
        input: TensorData,
        output_shape: Vec<usize>,
        output_scale: i32,
        output_q: Vec<i64>,
        proof: &Proof,
    ) -> Self {
        let factor = scale_factor(output_scale);
        let values = output_q.iter().map(|&q| q as f64 / factor).collect();
        ProofFile {
            version: PROOF_FORMAT_VERSION,
            circuit: hex::encode(digest),
            input,
            output: OutputData {
                shape: output_shape,
                scale: output_scale,
                quantized: output_q,
                values,
            },
            proof: hex::encode(proof.to_compressed_bytes()),
        }
    }

    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Non-finite floats would become `null` and not load back; `new` never makes them.
        serde_json::to_string_pretty(self).expect("a ProofFile always serialises")
    }

    /// Parses proof.json; unknown fields, missing fields and other versions are
    /// [`VerifyError::BadInput`].
    pub fn from_json(s: &str) -> Result<Self, VerifyError> {
        let file: ProofFile =
            serde_json::from_str(s).map_err(|e| VerifyError::bad(format!("proof.json: {e}")))?;
        file.check_version()?;
        Ok(file)
    }

    pub(crate) fn check_version(&self) -> Result<(), VerifyError> {
        if self.version != PROOF_FORMAT_VERSION {
            return Err(VerifyError::bad(format!(
                "unsupported proof.json version {} (this verifier reads {PROOF_FORMAT_VERSION})",
                self.version
            )));
        }
        Ok(())
    }

    /// Reads and parses proof.json (I/O errors are [`VerifyError::BadInput`] naming the path).
    pub fn read(path: &Path) -> Result<Self, VerifyError> {
        Self::from_json(&read_text(path)?)
    }

    /// Writes [`ProofFile::to_json`] to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), VerifyError> {
        write_atomic(path, self.to_json().as_bytes())
    }

    /// Decodes the proof: hex, exactly 128 bytes, points on the curve and in the subgroup.
    pub fn proof(&self) -> Result<Proof, VerifyError> {
        let bytes = hex::decode(&self.proof)
            .map_err(|e| VerifyError::bad(format!("proof.json: proof is not hex: {e}")))?;
        Proof::from_compressed_bytes(&bytes)
    }

    /// Decodes the circuit digest: exactly 64 hex characters.
    pub fn digest(&self) -> Result<[u8; 32], VerifyError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(&self.circuit, &mut out).map_err(|e| {
            VerifyError::bad(format!(
                "proof.json: circuit must be 64 hex characters: {e}"
            ))
        })?;
        Ok(out)
    }
}
