//! Proving one inference: quantise the input, run integer inference, synthesise the witness,
//! prove with Groth16, and assemble proof.json.

use crate::keys::{to_verifier_proof, ProvingKeyFile};
use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_std::UniformRand;
use rand::{CryptoRng, RngCore};
use std::time::{Duration, Instant};
use zkinfer_circuits::r1cs::R1cs;
use zkinfer_circuits::{CircuitFile, InferenceError};
use zkinfer_verifier::{ProofFile, TensorData};

/// Why proving failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The input (or an activation it causes) is not provable: bad input.
    #[error("{0}")]
    Input(#[from] InferenceError),
    /// The key and the circuit do not belong together: bad input.
    #[error("the proving key is for circuit {key}, the circuit file is {circuit}; run setup for this circuit")]
    KeyMismatch { key: String, circuit: String },
    /// Internal: the prover failed although the witness satisfied the circuit.
    #[error("proving failed: {0}")]
    Prover(String),
}

/// Time spent in each step of a proof.
#[derive(Clone, Debug, Default)]
pub struct ProveTimings {
    pub inference: Duration,
    pub witness: Duration,
    pub prove: Duration,
}

/// A circuit and its proving key, ready to prove many inputs (the matrices are built once).
pub struct ModelProver {
    pub circuit: CircuitFile,
    pub pk: ProvingKeyFile,
    matrices: [Vec<Vec<(Fr, usize)>>; 3],
    num_instance: usize,
    num_constraints: usize,
}

impl ModelProver {
    /// Checks that `pk` belongs to `circuit` and builds the constraint matrices.
    pub fn new(circuit: CircuitFile, pk: ProvingKeyFile) -> Result<Self, ProveError> {
        if pk.digest != circuit.digest {
            return Err(ProveError::KeyMismatch { key: hex::encode(pk.digest), circuit: hex::encode(circuit.digest) });
        }
        let r1cs: R1cs = crate::setup::circuit_matrices(&circuit)?;
        Ok(ModelProver {
            matrices: [r1cs.a.to_ark(), r1cs.b.to_ark(), r1cs.c.to_ark()],
            num_instance: r1cs.num_instance,
            num_constraints: r1cs.num_constraints(),
            circuit,
            pk,
        })
    }

    /// Proves the model on a float input.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        input: &[f64],
        rng: &mut R,
    ) -> Result<(ProofFile, ProveTimings), ProveError> {
        let g = &self.circuit.graph;
        let mut t = ProveTimings::default();
        let start = Instant::now();
        let input_q = zkinfer_circuits::quantize_input(g, input)?;
        let trace = zkinfer_circuits::infer(g, &input_q)?;
        t.inference = start.elapsed();

        let start = Instant::now();
        let synthesis = zkinfer_circuits::synthesize(g, &trace, false)?;
        t.witness = start.elapsed();

        let start = Instant::now();
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
            &self.pk.pk,
            r,
            s,
            &self.matrices,
            self.num_instance,
            self.num_constraints,
            &synthesis.assignment,
        )
        .map_err(|e| ProveError::Prover(e.to_string()))?;
        t.prove = start.elapsed();

        let inp = g.input_info();
        let out = g.output_info();
        let file = ProofFile::new(
            self.circuit.digest,
            TensorData { shape: inp.shape.clone(), scale: inp.scale, quantized: input_q },
            out.shape.clone(),
            out.scale,
            trace.output(g).to_vec(),
            &to_verifier_proof(&proof),
        );
        Ok((file, t))
    }
}
