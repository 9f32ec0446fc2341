//! The proof bundle of a segmented model: one Groth16 proof per segment, chained by the Poseidon
//! hashes of the tensors that cross each boundary (DESIGN.md, "Scale: segments"), and its check.
//!
//! ```json
//! {"version": 1, "circuit": "<model digest, 64 hex>", "input": {..}, "output": {..},
//!  "segments": [{"circuit": "<segment digest, 64 hex>", "input_hash": null | "<decimal>",
//!                "output_hash": null | "<decimal>", "proof": "<256 hex>"}, ..]}
//! ```
//! `input` and `output` are as in proof.json ([`TensorData`], [`OutputData`]). Segment `k`'s
//! `input_hash` is null exactly for the first segment and `output_hash` exactly for the last; the
//! others are the boundary hashes, decimal, below the scalar-field modulus. The public inputs of
//! segment `k` are `in_part(k) ++ out_part(k)` (see [`crate::bundle_vk`]).

use std::fmt;
use std::path::Path;

use ark_bn254::Fr;
use serde::{Deserialize, Serialize};

use crate::batch::verify_batch_raw;
use crate::bundle_vk::SegmentedVerifyingKeyFile;
use crate::error::VerifyError;
use crate::field::{fr_to_decimal, parse_fr};
use crate::files::{read_text, write_atomic};
use crate::keys::Proof;
use crate::layout::public_part;
use crate::proof_file::{scale_factor, OutputData, TensorData};
use crate::verifier::{check_tensors, prepare_verifying_key, PreparedVerifyingKey};

/// The proof bundle format version this crate reads and writes.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;

/// One segment's proof and the boundary hashes it proves.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SegmentProof {
    /// The segment's circuit digest as 64 hex characters.
    pub circuit: String,
    /// The hash of the tensors entering the segment (decimal); null for the first segment.
    pub input_hash: Option<String>,
    /// The hash of the tensors leaving the segment (decimal); null for the last segment.
    pub output_hash: Option<String>,
    /// The compressed [`Proof`] as hex (128 bytes).
    pub proof: String,
}

/// A segmented model's proof: the model input and output, and one proof per segment, in order.
///
/// Parsing checks only the JSON structure and the version; [`verify_bundle`] checks the rest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Format version (1).
    pub version: u32,
    /// The model digest as 64 hex characters.
    pub circuit: String,
    /// The model input.
    pub input: TensorData,
    /// The model output.
    pub output: OutputData,
    /// The segments' proofs, first to last.
    pub segments: Vec<SegmentProof>,
}

/// Why a bundle did not verify, and which segments are to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleError {
    /// The segments named (by index, increasing); empty when the error concerns the whole bundle
    /// (its version, model digest, segment count or model tensors).
    pub segments: Vec<usize>,
    /// The error; its message names the segments too.
    pub error: VerifyError,
}

impl BundleError {
    fn whole(error: VerifyError) -> Self {
        BundleError {
            segments: Vec::new(),
            error,
        }
    }

    /// An error about segment `k` of `n`, its message prefixed with "segment k (of n): ".
    fn segment(k: usize, n: usize, error: VerifyError) -> Self {
        let prefix = |m: String| format!("segment {k} (of {n}): {m}");
        let error = match error {
            VerifyError::BadInput(m) => VerifyError::BadInput(prefix(m)),
            VerifyError::Rejected(m) => VerifyError::Rejected(prefix(m)),
        };
        BundleError {
            segments: vec![k],
            error,
        }
    }

    /// The CLI's exit code: 1 for a rejection, 2 for bad input.
    pub fn exit_code(&self) -> i32 {
        self.error.exit_code()
    }
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message already names the segments.
        self.error.fmt(f)
    }
}

impl std::error::Error for BundleError {}

impl From<BundleError> for VerifyError {
    fn from(e: BundleError) -> Self {
        e.error
    }
}

/// Decodes a 64-hex-character digest; `what` names the field.
fn parse_digest(hex_digest: &str, what: &str) -> Result<[u8; 32], VerifyError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut out)
        .map_err(|e| VerifyError::bad(format!("bundle: {what} must be 64 hex characters: {e}")))?;
    Ok(out)
}

impl SegmentProof {
    /// A segment's entry: its circuit digest, boundary hashes (None for the model's own input
    /// of the first segment and output of the last) and proof.
    pub fn new(
        digest: [u8; 32],
        input_hash: Option<Fr>,
        output_hash: Option<Fr>,
        proof: &Proof,
    ) -> Self {
        SegmentProof {
            circuit: hex::encode(digest),
            input_hash: input_hash.as_ref().map(fr_to_decimal),
            output_hash: output_hash.as_ref().map(fr_to_decimal),
            proof: hex::encode(proof.to_compressed_bytes()),
        }
    }

    /// Decodes the circuit digest: exactly 64 hex characters.
    pub fn digest(&self) -> Result<[u8; 32], VerifyError> {
        parse_digest(&self.circuit, "circuit")
    }

    /// Decodes the proof: hex, exactly 128 bytes, points on the curve and in the subgroup.
    pub fn proof(&self) -> Result<Proof, VerifyError> {
        let bytes = hex::decode(&self.proof)
            .map_err(|e| VerifyError::bad(format!("proof is not hex: {e}")))?;
        Proof::from_compressed_bytes(&bytes)
    }
}

/// Parses a boundary hash that must be present (`expected`) or null (not `expected`).
fn parse_hash(
    hash: &Option<String>,
    expected: bool,
    what: &str,
    why: &str,
) -> Result<Option<Fr>, VerifyError> {
    match (hash, expected) {
        (Some(s), true) => parse_fr(s)
            .map(Some)
            .map_err(|e| VerifyError::bad(format!("{what}: {e}"))),
        (None, false) => Ok(None),
        (None, true) => Err(VerifyError::bad(format!("{what} is null, {why}"))),
        (Some(_), false) => Err(VerifyError::bad(format!("{what} must be null, {why}"))),
    }
}

impl ProofBundle {
    /// Assembles a bundle with `values[i] = output_q[i] / 2^output_scale`, as
    /// [`crate::ProofFile::new`] does.
    pub fn new(
        digest: [u8; 32],
        input: TensorData,
        output_shape: Vec<usize>,
        output_scale: i32,
        output_q: Vec<i64>,
        segments: Vec<SegmentProof>,
    ) -> Self {
        let factor = scale_factor(output_scale);
        let values = output_q.iter().map(|&q| q as f64 / factor).collect();
        ProofBundle {
            version: BUNDLE_FORMAT_VERSION,
            circuit: hex::encode(digest),
            input,
            output: OutputData {
                shape: output_shape,
                scale: output_scale,
                quantized: output_q,
                values,
            },
            segments,
        }
    }

    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a ProofBundle always serialises")
    }

    /// Parses a bundle; unknown fields, missing fields and other versions are
    /// [`VerifyError::BadInput`].
    pub fn from_json(s: &str) -> Result<Self, VerifyError> {
        let bundle: ProofBundle =
            serde_json::from_str(s).map_err(|e| VerifyError::bad(format!("bundle: {e}")))?;
        bundle.check_version()?;
        Ok(bundle)
    }

    fn check_version(&self) -> Result<(), VerifyError> {
        if self.version != BUNDLE_FORMAT_VERSION {
            return Err(VerifyError::bad(format!(
                "unsupported proof bundle version {} (this verifier reads {BUNDLE_FORMAT_VERSION})",
                self.version
            )));
        }
        Ok(())
    }

    /// Reads and parses a bundle (I/O errors are [`VerifyError::BadInput`] naming the path).
    pub fn read(path: &Path) -> Result<Self, VerifyError> {
        Self::from_json(&read_text(path)?)
    }

    /// Writes [`ProofBundle::to_json`] to `path` atomically (a temporary file in the same
    /// directory, renamed over `path`).
    pub fn write(&self, path: &Path) -> Result<(), VerifyError> {
        write_atomic(path, self.to_json().as_bytes())
    }

    /// Decodes the model digest: exactly 64 hex characters.
    pub fn digest(&self) -> Result<[u8; 32], VerifyError> {
        parse_digest(&self.circuit, "circuit")
    }
}

/// Whether `json` is a proof bundle (a JSON object with a "segments" key) rather than a
/// proof.json. Says nothing about its validity.
pub fn is_bundle_json(json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.contains_key("segments")))
        .unwrap_or(false)
}

/// Every check of [`verify_bundle`] except the proofs themselves: returns the public inputs of
/// each segment, `in_part(k) ++ out_part(k)` (see [`crate::bundle_vk`]).
///
/// In order: the version (BadInput); the model digest (Rejected, naming both); the key file's
/// consistency (BadInput); the segment count (Rejected); each segment's digest (Rejected, naming
/// the segment and both digests); the model tensors against the layout and the float output
/// values against the quantised ones (as [`crate::check_statement`] does for a proof.json), and
/// the quantised values within their bits (BadInput); the boundary hashes, null exactly for the
/// first segment's input and the last one's output, decimal and below the scalar modulus
/// (BadInput, naming the segment); the chain, each segment's input hash equal to the previous
/// segment's output hash (Rejected, naming the later segment).
///
/// The proofs are not decoded, so a prover may call this on a bundle whose proofs are not made
/// yet to learn the public inputs each segment proof must have.
pub fn bundle_public_inputs(
    vk: &SegmentedVerifyingKeyFile,
    bundle: &ProofBundle,
) -> Result<Vec<Vec<Fr>>, BundleError> {
    let whole = BundleError::whole;
    bundle.check_version().map_err(whole)?;
    let digest = bundle.digest().map_err(whole)?;
    if digest != vk.digest {
        return Err(whole(VerifyError::rejected(format!(
            "bundle is for another model: the bundle names model {}, the verifying key is for model {}",
            hex::encode(digest),
            vk.digest_hex()
        ))));
    }
    vk.check().map_err(whole)?;
    let n = vk.segments.len();
    if bundle.segments.len() != n {
        return Err(whole(VerifyError::rejected(format!(
            "the bundle has {} segment proofs, the verifying key has {n} segments",
            bundle.segments.len()
        ))));
    }
    for (k, (seg, key)) in bundle.segments.iter().zip(&vk.segments).enumerate() {
        let d = seg.digest().map_err(|e| BundleError::segment(k, n, e))?;
        if d != key.digest {
            return Err(BundleError::segment(
                k,
                n,
                VerifyError::rejected(format!(
                    "proof is for another segment circuit: the bundle names {}, the verifying key's segment is {}",
                    hex::encode(d),
                    hex::encode(key.digest)
                )),
            ));
        }
    }

    let layout = &vk.layout;
    check_tensors(layout, &bundle.input, &bundle.output, "bundle").map_err(whole)?;
    let in_part = public_part(
        &layout.input,
        layout.input_visibility,
        &bundle.input.quantized,
        "input",
    )
    .map_err(whole)?;
    let out_part = public_part(
        &layout.output,
        layout.output_visibility,
        &bundle.output.quantized,
        "output",
    )
    .map_err(whole)?;

    let mut hashes = Vec::with_capacity(n);
    for (k, seg) in bundle.segments.iter().enumerate() {
        let (first, last) = (k == 0, k + 1 == n);
        let input_hash = parse_hash(
            &seg.input_hash,
            !first,
            "input_hash",
            if first {
                "the first segment's input is the model input"
            } else {
                "every segment but the first takes a boundary hash"
            },
        )
        .map_err(|e| BundleError::segment(k, n, e))?;
        let output_hash = parse_hash(
            &seg.output_hash,
            !last,
            "output_hash",
            if last {
                "the last segment's output is the model output"
            } else {
                "every segment but the last gives a boundary hash"
            },
        )
        .map_err(|e| BundleError::segment(k, n, e))?;
        hashes.push((input_hash, output_hash));
    }
    for k in 1..n {
        if hashes[k].0 != hashes[k - 1].1 {
            return Err(BundleError::segment(
                k,
                n,
                VerifyError::rejected(format!(
                    "its input hash differs from segment {}'s output hash",
                    k - 1
                )),
            ));
        }
    }

    Ok(hashes
        .into_iter()
        .enumerate()
        .map(|(k, (input_hash, output_hash))| {
            let mut inputs = match input_hash {
                Some(h) => vec![h],
                None => in_part.clone(),
            };
            match output_hash {
                Some(h) => inputs.push(h),
                None => inputs.extend_from_slice(&out_part),
            }
            debug_assert_eq!(inputs.len(), vk.segment_public_inputs(k));
            inputs
        })
        .collect())
}

/// Decodes every segment's proof (BadInput naming the segment).
pub(crate) fn bundle_proofs(bundle: &ProofBundle) -> Result<Vec<Proof>, BundleError> {
    let n = bundle.segments.len();
    bundle
        .segments
        .iter()
        .enumerate()
        .map(|(k, seg)| seg.proof().map_err(|e| BundleError::segment(k, n, e)))
        .collect()
}

/// Verifies a proof bundle against a segmented `.vk`: every check of [`bundle_public_inputs`],
/// then each segment's proof decoded (BadInput naming the segment), then all the segment proofs
/// in one multi-pairing ([`verify_batch_raw`]); when that fails, each proof is checked alone and
/// the error names every segment whose pairing check failed (Rejected).
///
/// `Ok(())` means the model whose segments these keys verify, on the input tensor of the
/// bundle, outputs its quantised output tensor (and the float values are those integers'
/// values): each segment proves its boundary hashes, and consecutive segments agree on them.
pub fn verify_bundle(
    vk: &SegmentedVerifyingKeyFile,
    bundle: &ProofBundle,
) -> Result<(), BundleError> {
    let inputs = bundle_public_inputs(vk, bundle)?;
    let proofs = bundle_proofs(bundle)?;
    let n = vk.segments.len();
    let prepared: Vec<PreparedVerifyingKey> = vk
        .segments
        .iter()
        .map(|s| prepare_verifying_key(&s.vk))
        .collect();
    let items: Vec<(&PreparedVerifyingKey, &Proof, &[Fr])> = prepared
        .iter()
        .zip(&proofs)
        .zip(&inputs)
        .map(|((pvk, proof), x)| (pvk, proof, x.as_slice()))
        .collect();
    let Err(failed) = verify_batch_raw(&items) else {
        return Ok(());
    };
    let segments = failed.indices();
    if let [(k, e)] = failed.failures.as_slice() {
        let e = match e {
            VerifyError::Rejected(_) => VerifyError::rejected("the pairing check failed"),
            other => other.clone(),
        };
        return Err(BundleError::segment(*k, n, e));
    }
    let list = segments
        .iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let detail = failed
        .failures
        .iter()
        .filter(|(_, e)| !e.is_rejected())
        .map(|(k, e)| format!("; segment {k}: {e}"))
        .collect::<String>();
    let message = format!("segments {list} (of {n}): the pairing check failed{detail}");
    let error = if failed.exit_code() == 2 {
        VerifyError::bad(message)
    } else {
        VerifyError::rejected(message)
    };
    Err(BundleError { segments, error })
}
