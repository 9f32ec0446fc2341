//! zkinfer's own Groth16 prover, running its heavy stages on a [`zkinfer_gpu::Backend`].
//!
//! Laid out like ark-groth16, one file per stage:
//! - [`shape`]: the constraint system as sparse CSR matrices ([`R1csShape`]), built once per
//!   circuit and kept beside the proving key.
//! - [`generator`]: [`setup_from_shape`], ark-groth16's own key generator fed a circuit that
//!   replays the CSR matrices.
//! - [`r1cs_to_qap`]: the witness map (A·z, B·z, C·z as sparse products, inverse NTT, coset NTT,
//!   `(a·b − c)/Z`, back to coefficients), mirroring ark-groth16's `LibsnarkReduction`.
//! - [`prover`]: [`Prover`], which owns the prepared bases and matrices and runs the five MSMs.
//!
//! For the same `r` and `s` the CPU backend's proof is byte-identical to
//! `Groth16::<Bn254>::create_proof_with_reduction_and_matrices` (LibsnarkReduction); every
//! backend computes the same exact values, so every backend's proof is.

pub mod generator;
pub mod prover;
pub mod r1cs_to_qap;
pub mod shape;
pub mod synthetic;

#[cfg(test)]
mod tests;

pub use generator::{check_replay, setup_from_shape};
pub use prover::{Prover, StageTimings};
pub use r1cs_to_qap::{witness_map, witness_map_odd_coset, QapReduction};
pub use shape::R1csShape;

use ark_relations::gr1cs::SynthesisError;
use zkinfer_gpu::GpuError;

/// Errors of the Groth16 stages.
#[derive(Debug, thiserror::Error)]
pub enum Groth16Error {
    /// The backend failed (device error, invalid handle, ...).
    #[error("backend: {0}")]
    Backend(#[from] GpuError),
    /// The constraint matrices are malformed or disagree with the stated sizes.
    #[error("constraint shape: {0}")]
    Shape(String),
    /// The proving key does not fit the constraint shape.
    #[error("proving key does not match the constraint shape: {0}")]
    KeyMismatch(String),
    /// The assignment has the wrong length or its constant term is not one.
    #[error("assignment: {0}")]
    Assignment(String),
    /// ark-relations / ark-groth16 reported an error (setup).
    #[error("synthesis: {0}")]
    Synthesis(#[from] SynthesisError),
}
