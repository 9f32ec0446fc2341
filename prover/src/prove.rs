//! Proving one inference: quantise the input, run integer inference, synthesise the witness,
//! prove with Groth16, and assemble proof.json.

use crate::groth16::{Prover, R1csShape, StageTimings};
use crate::keys::{to_verifier_proof, ProvingKeyFile};
use ark_bn254::Fr;
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
    /// The requested backend is unknown or unavailable (no device or driver): bad input.
    #[error("{0}")]
    Backend(String),
    /// The proof would not fit the memory it was given: bad input (a setting to change).
    #[error("{0}")]
    Memory(String),
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
    /// The Groth16 stages (witness map, each MSM) inside `prove`.
    pub stages: StageTimings,
}

/// A circuit and its proving key on a backend, ready to prove many inputs: the constraint
/// matrices are built once and, with the key's points, prepared on the backend once (resident
/// on the device for CUDA); each proof synthesises only the witness.
pub struct ModelProver {
    pub circuit: CircuitFile,
    prover: Prover<zkinfer_gpu::AnyBackend>,
}

/// Our CSR matrices as the backend's (the same layout; the vectors move).
pub fn r1cs_shape(r1cs: R1cs) -> R1csShape {
    let csr = |m: zkinfer_circuits::r1cs::SparseMatrix| zkinfer_gpu::CsrMatrix {
        row_ptr: m.row_ptr,
        cols: m.cols,
        vals: m.vals,
    };
    R1csShape {
        num_instance: r1cs.num_instance,
        num_witness: r1cs.num_witness,
        a: csr(r1cs.a),
        b: csr(r1cs.b),
        c: csr(r1cs.c),
    }
}

/// That `pk` was made for `circuit` (their digests agree).
fn check_key(circuit: &CircuitFile, pk: &ProvingKeyFile) -> Result<(), ProveError> {
    if pk.digest != circuit.digest {
        return Err(ProveError::KeyMismatch {
            key: hex::encode(pk.digest),
            circuit: hex::encode(circuit.digest),
        });
    }
    Ok(())
}

impl ModelProver {
    /// Checks that `pk` belongs to `circuit`, builds the constraint matrices and prepares them
    /// and the key on `backend` ("cpu", "cuda" or "auto").
    pub fn new(
        circuit: CircuitFile,
        pk: ProvingKeyFile,
        backend: &str,
    ) -> Result<Self, ProveError> {
        check_key(&circuit, &pk)?;
        let matrices = crate::setup::circuit_matrices(&circuit)?;
        Self::with_matrices(circuit, pk, matrices, backend)
    }

    /// [`Self::new`] with the constraint matrices already built: `matrices` must be
    /// [`crate::setup::circuit_matrices`] of `circuit` (other matrices give proofs that do not
    /// verify). For a caller that builds them while the key is still being read, as
    /// `zkinfer prove` does: they take about as long as reading the key, on another core.
    pub fn with_matrices(
        circuit: CircuitFile,
        pk: ProvingKeyFile,
        matrices: R1cs,
        backend: &str,
    ) -> Result<Self, ProveError> {
        check_key(&circuit, &pk)?;
        let backend = zkinfer_gpu::backend_from_name(backend)
            .map_err(|e| ProveError::Backend(e.to_string()))?;
        let shape = r1cs_shape(matrices);
        let prover = Prover::with_reduction(backend, pk.pk, shape, pk.reduction)
            .map_err(|e| ProveError::Prover(e.to_string()))?;
        Ok(ModelProver { circuit, prover })
    }

    /// The backend the proofs run on.
    pub fn backend(&self) -> &zkinfer_gpu::AnyBackend {
        self.prover.backend()
    }

    /// Proves the model on a float input.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        input: &[f64],
        rng: &mut R,
    ) -> Result<(ProofFile, ProveTimings), ProveError> {
        let g = &self.circuit.graph;
        let start = Instant::now();
        let input_q = zkinfer_circuits::quantize_input(g, input)?;
        let trace = zkinfer_circuits::infer(g, &input_q)?;
        let inference = start.elapsed();
        let (file, mut t) = self.prove_trace(input_q, &trace, rng)?;
        t.inference = inference;
        Ok((file, t))
    }

    /// Proves an inference already run: `trace` is `infer` of the quantised input `input_q`
    /// on this circuit (a caller that ran it to answer a request need not run it again).
    /// The timings' `inference` is zero.
    pub fn prove_trace<R: RngCore + CryptoRng>(
        &self,
        input_q: Vec<i64>,
        trace: &zkinfer_circuits::Trace,
        rng: &mut R,
    ) -> Result<(ProofFile, ProveTimings), ProveError> {
        let g = &self.circuit.graph;
        let mut t = ProveTimings::default();
        let start = Instant::now();
        let synthesis = zkinfer_circuits::synthesize(g, trace, false)?;
        t.witness = start.elapsed();

        let start = Instant::now();
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        let (proof, stages) = self
            .prover
            .prove_with_timings(&synthesis.assignment, r, s)
            .map_err(|e| ProveError::Prover(e.to_string()))?;
        t.prove = start.elapsed();
        t.stages = stages;

        let inp = g.input_info();
        let out = g.output_info();
        let file = ProofFile::new(
            self.circuit.digest,
            TensorData {
                shape: inp.shape.clone(),
                scale: inp.scale,
                quantized: input_q,
            },
            out.shape.clone(),
            out.scale,
            trace.output(g).to_vec(),
            &to_verifier_proof(&proof),
        );
        Ok((file, t))
    }
}
