//! zkinfer verifier: checks Groth16 (BN254) proofs of neural-network inference natively, in
//! batches, and exports the same check as a Solidity contract, calldata and snarkjs JSON.
//!
//! Every entry point takes untrusted bytes or JSON and returns a [`VerifyError`] (never panics):
//! [`VerifyError::BadInput`] when the input is malformed, [`VerifyError::Rejected`] when it is
//! well formed but the statement is not proven.
//!
//! # Trust model
//!
//! The verifying key is the trust root. [`verify`] accepts exactly what the [`VerifyingKeyFile`]
//! it is given proves, whichever key that is: obtain the `.vk` (or a hash of it) from a source
//! you trust, such as the model's publisher, never from whoever sends the proof. The circuit
//! digest in a `.vk` and in proof.json only guards against mixing up files by accident (a proof
//! for another model is [`VerifyError::Rejected`] with both digests named). It is not a security
//! boundary: anyone can write a `.vk` with any digest, for a key whose setup they ran themselves
//! and whose proofs they can forge.

#![warn(missing_docs)]

pub mod batch;
pub mod bundle;
pub mod bundle_vk;
pub mod calldata;
pub mod error;
pub mod field;
pub mod files;
pub mod keys;
pub mod layout;
pub mod poseidon;
pub mod proof_file;
pub mod snarkjs;
pub mod solidity;
pub mod solidity_bundle;
pub mod verifier;
pub mod vk_file;

pub use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
pub use batch::{verify_batch, verify_batch_raw, BatchError, BATCH_TRANSCRIPT_LABEL};
pub use bundle::{
    bundle_public_inputs, is_bundle_json, verify_bundle, BundleError, ProofBundle, SegmentProof,
};
pub use bundle_vk::{is_segmented_vk, SegmentKey, SegmentedVerifyingKeyFile};
pub use calldata::calldata;
pub use error::VerifyError;
pub use field::{fr_from_be_bytes, fr_to_be_bytes, fr_to_decimal, parse_fr};
pub use keys::{Proof, VerifyingKey};
pub use layout::{
    pack_public_inputs, pack_tensor, public_part, unpack_public_inputs, PublicLayout, TensorLayout,
    Visibility,
};
pub use proof_file::{OutputData, ProofFile, TensorData};
pub use snarkjs::export_snarkjs;
pub use solidity::export_solidity;
pub use solidity_bundle::{bundle_calldata, export_solidity_bundle};
pub use verifier::{
    check_statement, prepare_verifying_key, verify, verify_proof, verify_proof_with_raw_inputs,
    PreparedVerifyingKey,
};
pub use vk_file::VerifyingKeyFile;
