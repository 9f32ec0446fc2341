//! Local (development) Groth16 setup for a compiled circuit.
//!
//! The toxic waste is drawn from the operating system's randomness and dropped when the
//! function returns; for production, keys should come from a multi-party ceremony.

use crate::keys::{to_verifier_vk, ProvingKeyFile};
use ark_bn254::Bn254;
use ark_groth16::Groth16;
use rand::{CryptoRng, RngCore};
use zkinfer_circuits::r1cs::{R1cs, ReplayCircuit};
use zkinfer_circuits::{CircuitFile, InferenceError};
use zkinfer_verifier::VerifyingKeyFile;

/// The constraint matrices of a circuit, built from its graph alone (they do not depend on
/// the input, and no input has to be in range for them to be built).
pub fn circuit_matrices(circuit: &CircuitFile) -> Result<R1cs, InferenceError> {
    zkinfer_circuits::constraint_matrices(&circuit.graph)
}

/// A Groth16 key for the constraint system `r1cs` (ark-groth16's generator, libsnark's
/// reduction, which our prover mirrors).
pub fn setup_r1cs<R: RngCore + CryptoRng>(
    r1cs: &R1cs,
    rng: &mut R,
) -> Result<ark_groth16::ProvingKey<Bn254>, SetupError> {
    Groth16::<Bn254>::generate_random_parameters_with_reduction(
        ReplayCircuit {
            r1cs,
            assignment: None,
        },
        rng,
    )
    .map_err(|e| SetupError::Synthesis(e.to_string()))
}

/// Generates a proving and a verifying key for `circuit` (proven as one circuit).
pub fn setup<R: RngCore + CryptoRng>(
    circuit: &CircuitFile,
    rng: &mut R,
) -> Result<(ProvingKeyFile, VerifyingKeyFile), SetupError> {
    let r1cs = circuit_matrices(circuit).map_err(SetupError::Circuit)?;
    let pk = setup_r1cs(&r1cs, rng)?;
    let vk = VerifyingKeyFile {
        digest: circuit.digest,
        layout: circuit.graph.public_layout(),
        vk: to_verifier_vk(&pk.vk),
    };
    Ok((
        ProvingKeyFile {
            digest: circuit.digest,
            pk,
            reduction: Default::default(),
        },
        vk,
    ))
}

/// Why setup failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Circuit(InferenceError),
    #[error("setup failed: {0}")]
    Synthesis(String),
}
