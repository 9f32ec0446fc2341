//! zkinfer verifier: checks Groth16 (BN254) proofs of neural-network inference natively, in
//! batches, and exports the same check as a Solidity contract, calldata and snarkjs JSON.
//!
//! Every entry point takes untrusted bytes or JSON and returns a [`VerifyError`] (never panics):
//! [`VerifyError::BadInput`] when the input is malformed, [`VerifyError::Rejected`] when it is
//! well formed but the statement is not proven.

#![warn(missing_docs)]

pub mod batch;
pub mod calldata;
pub mod error;
pub mod field;
pub mod keys;
pub mod layout;
pub mod proof_file;
pub mod snarkjs;
pub mod solidity;
pub mod verifier;
pub mod vk_file;

pub use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
pub use batch::{verify_batch, verify_batch_raw, BatchError, BATCH_TRANSCRIPT_LABEL};
pub use calldata::calldata;
pub use error::VerifyError;
pub use field::{fr_from_be_bytes, fr_to_be_bytes, fr_to_decimal, parse_fr};
pub use keys::{Proof, VerifyingKey};
pub use layout::{pack_public_inputs, unpack_public_inputs, PublicLayout, TensorLayout};
pub use proof_file::{OutputData, ProofFile, TensorData};
pub use snarkjs::export_snarkjs;
pub use solidity::export_solidity;
pub use verifier::{
    check_statement, prepare_verifying_key, verify, verify_proof, verify_proof_with_raw_inputs,
    PreparedVerifyingKey,
};
pub use vk_file::VerifyingKeyFile;
