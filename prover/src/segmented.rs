//! Setup and proving of a segmented model: one key per segment in a bundle, and one proof per
//! segment, proven concurrently within a memory budget, assembled into a proof bundle whose
//! boundary hashes chain the segments together (DESIGN.md, "Scale: segments").

use crate::estimate::CircuitShape;
use crate::groth16::Prover;
use crate::keys::{
    to_verifier_proof, to_verifier_vk, KeyFileError, ProvingKeyBundle, ProvingKeyBundleWriter,
    ProvingKeyFile,
};
use crate::prove::{r1cs_shape, ProveError};
use crate::setup::{setup_r1cs, SetupError};
use ark_bn254::Fr;
use ark_std::UniformRand;
use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};
use zkinfer_circuits::{CircuitFile, Trace};
use zkinfer_verifier::bundle::{ProofBundle, SegmentProof};
use zkinfer_verifier::bundle_vk::{SegmentKey, SegmentedVerifyingKeyFile};
use zkinfer_verifier::TensorData;

/// What setup did for one segment.
#[derive(Clone, Debug)]
pub struct SegmentSetup {
    pub shape: CircuitShape,
    pub key_bytes: u64,
    pub took: Duration,
}

/// Why segmented setup failed.
#[derive(Debug, thiserror::Error)]
pub enum SegmentSetupError {
    #[error("segment {segment}: {error}")]
    Setup { segment: usize, error: SetupError },
    #[error("{0}")]
    Key(#[from] KeyFileError),
}

/// Sets up every segment of `circuit` in turn (one segment's matrices and key in memory at a
/// time), streams the keys into the bundle at `pk_path` (atomically: it appears only when
/// complete) and returns the verifying keys. `progress(k, n, &info)` follows each segment.
pub fn setup_segments<R: rand::RngCore + rand::CryptoRng>(
    circuit: &CircuitFile,
    pk_path: &Path,
    rng: &mut R,
    mut progress: impl FnMut(usize, usize, &SegmentSetup),
) -> Result<SegmentedVerifyingKeyFile, SegmentSetupError> {
    let g = &circuit.graph;
    let n = g.segments.len();
    let mut writer = ProvingKeyBundleWriter::create(pk_path, circuit.digest, n)?;
    let mut keys = Vec::with_capacity(n);
    for k in 0..n {
        let start = Instant::now();
        let fail = |error| SegmentSetupError::Setup { segment: k, error };
        let r1cs = g
            .segment_view(k)
            .constraint_matrices()
            .map_err(|e| fail(SetupError::Circuit(e)))?;
        let shape = CircuitShape::of(&r1cs);
        let pk = setup_r1cs(&r1cs, rng).map_err(fail)?;
        drop(r1cs);
        let digest = g.segment_digest(&circuit.digest, k);
        keys.push(SegmentKey {
            digest,
            vk: to_verifier_vk(&pk.vk),
        });
        let file = ProvingKeyFile {
            digest,
            pk,
            reduction: Default::default(),
        };
        writer.append(&file, shape)?;
        progress(
            k,
            n,
            &SegmentSetup {
                shape,
                key_bytes: file.file_size(),
                took: start.elapsed(),
            },
        );
    }
    writer.finish()?;
    Ok(SegmentedVerifyingKeyFile {
        digest: circuit.digest,
        layout: g.public_layout(),
        segments: keys,
    })
}

/// What proving one segment took.
#[derive(Clone, Debug, Default)]
pub struct SegmentTimings {
    /// Reading its key and building and preparing its matrices.
    pub load: Duration,
    /// Its witness.
    pub witness: Duration,
    /// Groth16.
    pub prove: Duration,
    /// The estimated peak memory it was scheduled with.
    pub estimated_peak: u64,
}

/// How to run the segment proofs.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Segments proven at once, at most.
    pub jobs: usize,
    /// The estimated peak memory of the segments proving at once may not exceed this (one
    /// segment always runs, but one whose estimate alone exceeds it is refused up front).
    pub max_memory: Option<u64>,
    /// "cpu", "cuda" or "auto".
    pub backend: String,
}

/// Proves every segment of `circuit` on the float `input` with the keys of `bundle` and
/// assembles the proof bundle. Inference runs once; each segment then reads its key, builds its
/// matrices, proves and drops them, so memory follows the segments running at once.
pub fn prove_segments(
    circuit: &CircuitFile,
    bundle: &ProvingKeyBundle,
    input: &[f64],
    schedule: &Schedule,
) -> Result<(ProofBundle, Vec<SegmentTimings>), ProveError> {
    let g = &circuit.graph;
    let n = g.segments.len();
    check_bundle(circuit, bundle)?;
    let estimates: Vec<u64> = bundle
        .segments
        .iter()
        .map(|e| e.shape.prove_peak_bytes())
        .collect();
    if let Some(max) = schedule.max_memory {
        if let Some((k, &e)) = estimates.iter().enumerate().find(|(_, &e)| e > max) {
            return Err(ProveError::Memory(format!(
                "segment {k} needs an estimated {} to prove, over --max-memory {}; recompile with a smaller --max-constraints",
                crate::estimate::human_bytes(e),
                crate::estimate::human_bytes(max)
            )));
        }
    }
    zkinfer_gpu::backend_from_name(&schedule.backend)
        .map_err(|e| ProveError::Backend(e.to_string()))?;

    let input_q = zkinfer_circuits::quantize_input(g, input)?;
    let trace = zkinfer_circuits::infer(g, &input_q)?;
    let hashes = boundary_hashes(circuit, &trace)?;

    let results: Vec<Mutex<Option<SegmentResult>>> = (0..n).map(|_| Mutex::new(None)).collect();
    // (next segment to start, estimated memory of the running ones, running count)
    let state = Mutex::new((0usize, 0u64, 0usize));
    let freed = Condvar::new();
    let jobs = schedule.jobs.clamp(1, n.max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let k = {
                    let mut st = state.lock().expect("no job panics holding the lock");
                    loop {
                        let (next, used, running) = *st;
                        if next >= n {
                            return;
                        }
                        let fits = schedule
                            .max_memory
                            .is_none_or(|max| used + estimates[next] <= max);
                        if running == 0 || fits {
                            *st = (next + 1, used + estimates[next], running + 1);
                            break next;
                        }
                        st = freed.wait(st).expect("no job panics holding the lock");
                    }
                };
                let r = prove_segment(
                    circuit,
                    bundle,
                    &trace,
                    SegmentHashes::of(&hashes, k),
                    k,
                    &schedule.backend,
                )
                .map(|(p, mut t)| {
                    t.estimated_peak = estimates[k];
                    (p, t)
                });
                let failed = r.is_err();
                *results[k].lock().expect("unpoisoned") = Some(r);
                let mut st = state.lock().expect("no job panics holding the lock");
                st.1 -= estimates[k];
                st.2 -= 1;
                if failed {
                    // Start nothing more: the bundle cannot be completed.
                    st.0 = n;
                }
                freed.notify_all();
            });
        }
    });

    let mut proofs = Vec::with_capacity(n);
    let mut timings = Vec::with_capacity(n);
    for (k, r) in results.into_iter().enumerate() {
        match r.into_inner().expect("unpoisoned") {
            Some(Ok((p, t))) => {
                proofs.push(p);
                timings.push(t);
            }
            Some(Err(e)) => return Err(e),
            None => {
                return Err(ProveError::Prover(format!(
                    "segment {k} was not proven because an earlier segment failed"
                )))
            }
        }
    }
    Ok((assemble(circuit, input_q, &trace, proofs), timings))
}

/// Checks that `bundle` holds the keys of `circuit`'s segments (its digest and count).
pub fn check_bundle(circuit: &CircuitFile, bundle: &ProvingKeyBundle) -> Result<(), ProveError> {
    let n = circuit.graph.segments.len();
    if bundle.digest != circuit.digest {
        return Err(ProveError::KeyMismatch {
            key: hex::encode(bundle.digest),
            circuit: hex::encode(circuit.digest),
        });
    }
    if bundle.segments.len() != n {
        return Err(ProveError::Backend(format!(
            "the key bundle has {} segments, the circuit {n}; run setup for this circuit",
            bundle.segments.len()
        )));
    }
    Ok(())
}

/// The boundary hashes of a trace, computed natively: entry `k` is segment `k`'s output hash
/// and segment `k+1`'s input hash (the same tensors). Every machine that re-runs inference on
/// the same quantised input gets the same hashes, so segments may be proven anywhere.
pub fn boundary_hashes(circuit: &CircuitFile, trace: &Trace) -> Result<Vec<Fr>, ProveError> {
    let g = &circuit.graph;
    let n = g.segments.len();
    (0..n.saturating_sub(1))
        .map(|k| Ok(g.segment_view(k).output_hash(trace)?))
        .collect()
}

/// Segment `k`'s own boundary hashes, `(input, output)`: the hash of the tensors it takes
/// (none for the first segment) and of those it hands on (none for the last), the entries
/// `k − 1` and `k` of [`boundary_hashes`]. A worker proving one segment hashes these two
/// boundaries only, not all `K − 1`.
pub fn segment_hashes(
    circuit: &CircuitFile,
    trace: &Trace,
    k: usize,
) -> Result<SegmentHashes, ProveError> {
    let g = &circuit.graph;
    let n = g.segments.len();
    let input = if k > 0 && k < n {
        Some(g.segment_view(k - 1).output_hash(trace)?)
    } else {
        None
    };
    let output = if k + 1 < n {
        Some(g.segment_view(k).output_hash(trace)?)
    } else {
        None
    };
    Ok(SegmentHashes { input, output })
}

/// The boundary hashes one segment's proof binds: of its input (absent for the first segment)
/// and of its output (absent for the last).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHashes {
    pub input: Option<Fr>,
    pub output: Option<Fr>,
}

impl SegmentHashes {
    /// Segment `k`'s entries of all boundary hashes ([`boundary_hashes`]).
    pub fn of(hashes: &[Fr], k: usize) -> Self {
        SegmentHashes {
            input: k.checked_sub(1).and_then(|i| hashes.get(i).copied()),
            output: hashes.get(k).copied(),
        }
    }
}

/// The proof bundle of `proofs` (one per segment, in order) for the quantised input `input_q`
/// and its `trace`. Says nothing about the proofs' validity: verify the bundle.
pub fn assemble(
    circuit: &CircuitFile,
    input_q: Vec<i64>,
    trace: &Trace,
    proofs: Vec<SegmentProof>,
) -> ProofBundle {
    let g = &circuit.graph;
    let inp = g.input_info();
    let out = g.output_info();
    ProofBundle::new(
        circuit.digest,
        TensorData {
            shape: inp.shape.clone(),
            scale: inp.scale,
            quantized: input_q,
        },
        out.shape.clone(),
        out.scale,
        trace.output(g).to_vec(),
        proofs,
    )
}

/// One segment's proof and timings, or why it failed.
pub type SegmentResult = Result<(SegmentProof, SegmentTimings), ProveError>;

/// Proves segment `k` alone: reads its key, builds its matrices, synthesises its witness from
/// the model's trace and proves. `hashes` are the segment's [`segment_hashes`] of the same
/// trace. This is the unit of work a compute node hands to its workers; [`assemble`] puts the
/// proofs together.
pub fn prove_segment(
    circuit: &CircuitFile,
    bundle: &ProvingKeyBundle,
    trace: &Trace,
    hashes: SegmentHashes,
    k: usize,
    backend: &str,
) -> SegmentResult {
    let g = &circuit.graph;
    let n = g.segments.len();
    if k >= n || bundle.segments.len() != n {
        return Err(ProveError::Backend(format!(
            "segment {k} of a {n}-segment circuit (with {} keys) does not exist",
            bundle.segments.len()
        )));
    }
    if hashes.input.is_some() != (k > 0) || hashes.output.is_some() != (k + 1 < n) {
        return Err(ProveError::Backend(format!(
            "segment {k} of {n} binds {} boundary hashes, given {} and {}",
            usize::from(k > 0) + usize::from(k + 1 < n),
            if hashes.input.is_some() {
                "an input hash"
            } else {
                "no input hash"
            },
            if hashes.output.is_some() {
                "an output hash"
            } else {
                "no output hash"
            },
        )));
    }
    let view = g.segment_view(k);
    let digest = g.segment_digest(&circuit.digest, k);
    let mut t = SegmentTimings::default();
    let start = Instant::now();
    // The matrices first: while they grow, the key is not yet in memory.
    let shape = r1cs_shape(view.constraint_matrices()?);
    let key = bundle
        .read_segment(k)
        .map_err(|e| ProveError::Backend(e.to_string()))?;
    if key.digest != digest {
        return Err(ProveError::KeyMismatch {
            key: hex::encode(key.digest),
            circuit: hex::encode(digest),
        });
    }
    let backend =
        zkinfer_gpu::backend_from_name(backend).map_err(|e| ProveError::Backend(e.to_string()))?;
    let prover = Prover::with_reduction(backend, key.pk, shape, key.reduction)
        .map_err(|e| ProveError::Prover(e.to_string()))?;
    t.load = start.elapsed();

    let start = Instant::now();
    let synthesis = view.synthesize(trace, false)?;
    t.witness = start.elapsed();

    let start = Instant::now();
    let mut rng = rand::rngs::OsRng;
    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let proof = prover
        .prove(&synthesis.assignment, r, s)
        .map_err(|e| ProveError::Prover(e.to_string()))?;
    t.prove = start.elapsed();
    Ok((
        SegmentProof::new(
            digest,
            hashes.input,
            hashes.output,
            &to_verifier_proof(&proof),
        ),
        t,
    ))
}
