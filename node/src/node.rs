//! The node's work, independent of HTTP: answer an inference with a signed receipt, store it,
//! and prove stored requests on a pool of prover threads.

use crate::metrics::Metrics;
use crate::models::{Model, Models, Proving};
use crate::receipt::{tensor_hash, NodeKey, Receipt};
use crate::store::{Job, Store, StoredRequest};
use rand::RngCore;
use serde::Serialize;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Why a request was refused (the HTTP layer maps each to a status).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Malformed or invalid input: 400.
    #[error("{0}")]
    BadRequest(String),
    /// Unknown model, request or job: 404.
    #[error("{0}")]
    NotFound(String),
    /// Well-formed input the model cannot take (out of range): 422.
    #[error("{0}")]
    Unprocessable(String),
    /// The node failed (its store): 500.
    #[error("{0}")]
    Internal(String),
}

fn internal(e: impl std::fmt::Display) -> NodeError {
    NodeError::Internal(format!("store: {e}"))
}

/// An inference's answer.
#[derive(Serialize)]
pub struct InferAnswer {
    pub request_id: String,
    pub output: zkinfer_verifier::proof_file::OutputData,
    pub receipt: Receipt,
    /// The proving job, when the request asked for a proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// A node: its models, store, key and counters.
pub struct Node {
    pub models: Models,
    pub store: Store,
    pub key: NodeKey,
    pub metrics: Metrics,
    wake: (Mutex<u64>, Condvar),
    /// With `--queue`: jobs go to the Redis Stream for workers instead of local provers.
    queue: Option<Mutex<redis::Connection>>,
}

/// A fresh random id (128 bits, hex).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Node {
    pub fn new(models: Models, store: Store, key: NodeKey) -> Self {
        Node {
            models,
            store,
            key,
            metrics: Metrics::default(),
            wake: (Mutex::new(0), Condvar::new()),
            queue: None,
        }
    }

    /// Sends jobs to workers through the Redis Stream on `con` (see [`crate::queue`]).
    pub fn with_queue(mut self, mut con: redis::Connection) -> anyhow::Result<Self> {
        crate::queue::ensure_group(&mut con)?;
        self.queue = Some(Mutex::new(con));
        Ok(self)
    }

    /// Puts a job on the stream for the workers: one entry, or one per segment of a
    /// segmented model.
    fn dispatch(&self, job: &Job) -> Result<(), NodeError> {
        let Some(q) = &self.queue else {
            self.notify();
            return Ok(());
        };
        let r = self
            .store
            .request(&job.request_id)
            .map_err(internal)?
            .ok_or_else(|| NodeError::Internal("a job without its request".into()))?;
        let parts: Vec<Option<usize>> = match self.segments_of(&r.model) {
            None => vec![None],
            Some(n) => (0..n).map(Some).collect(),
        };
        let entries: Vec<crate::queue::QueuedJob> = parts
            .into_iter()
            .map(|segment| crate::queue::QueuedJob {
                entry: String::new(),
                job: job.id.clone(),
                request: r.id.clone(),
                model: r.model.clone(),
                input: r.input_json.clone(),
                receipt: r.receipt_json.clone(),
                segment,
            })
            .collect();
        let mut con = q.lock().unwrap_or_else(|p| p.into_inner());
        crate::queue::enqueue(&mut con, &entries)
            .map_err(|e| NodeError::Internal(format!("queue: {e}")))
    }

    /// The segment count of a served segmented model (`None`: one circuit, or not served).
    fn segments_of(&self, model: &str) -> Option<usize> {
        self.models.get(model).and_then(|m| m.segments())
    }

    /// The result ids a job's results are recorded under (see [`crate::queue::result_id`]).
    fn result_ids(&self, job: &Job) -> Vec<String> {
        match self.segments_of(&job.model) {
            None => vec![job.id.clone()],
            Some(n) => (0..n)
                .map(|k| crate::queue::result_id(&job.id, Some(k)))
                .collect(),
        }
    }

    /// With a queue: copies workers' results into the store (each once), marks started jobs
    /// running, and first sends again any job a previous run may not have sent.
    pub fn start_collector(self: &Arc<Self>) -> anyhow::Result<()> {
        let Some(q) = &self.queue else {
            return Ok(());
        };
        {
            let mut con = q.lock().unwrap_or_else(|p| p.into_inner());
            for job in self.store.unfinished()? {
                let ids = self.result_ids(&job);
                let known = crate::queue::results(&mut con, &ids)?
                    .iter()
                    .any(Option::is_some)
                    || crate::queue::started(&mut con, &job.id)?;
                if !known {
                    drop(con);
                    self.dispatch(&job).map_err(|e| anyhow::anyhow!("{e}"))?;
                    con = q.lock().unwrap_or_else(|p| p.into_inner());
                }
            }
        }
        let node = Arc::clone(self);
        std::thread::spawn(move || loop {
            if let Err(e) = node.collect() {
                eprintln!("zkinfer-node: collecting results: {e}");
            }
            std::thread::sleep(Duration::from_millis(200));
        });
        Ok(())
    }

    fn collect(&self) -> anyhow::Result<()> {
        let Some(q) = &self.queue else {
            return Ok(());
        };
        let jobs = self.store.unfinished()?;
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        let parts: Vec<Vec<String>> = jobs.iter().map(|j| self.result_ids(j)).collect();
        let flat: Vec<&String> = parts.iter().flatten().collect();
        // Two round trips per tick whatever the number of jobs (and segments) in flight.
        let (mut results, started) = {
            let mut con = q.lock().unwrap_or_else(|p| p.into_inner());
            (
                crate::queue::results(&mut con, &flat)?.into_iter(),
                crate::queue::started_many(&mut con, &ids)?,
            )
        };
        for ((job, part_ids), started) in jobs.iter().zip(&parts).zip(started) {
            let got: Vec<Option<crate::queue::JobResult>> =
                results.by_ref().take(part_ids.len()).collect();
            let outcome = if got.len() == 1 && part_ids[0] == job.id {
                // A whole proof.
                got.into_iter()
                    .next()
                    .flatten()
                    .map(|r| match (r.proof, r.error) {
                        (Some(p), _) => Ok((p, r.prove_seconds)),
                        (None, e) => Err(e.unwrap_or_else(|| "failed".into())),
                    })
            } else {
                self.assemble_segments(job, got)
            };
            match outcome {
                Some(outcome) => {
                    let secs = outcome.as_ref().map(|(_, s)| *s).ok();
                    if self.store.finish(&job.id, outcome)? {
                        if let Some(s) = secs {
                            self.metrics.proved(s);
                        }
                    }
                }
                None if job.status == "queued" && started => self.store.mark_running(&job.id)?,
                None => {}
            }
        }
        Ok(())
    }

    /// A segmented job's outcome once its segments are in: the first failed segment's error,
    /// or the proof bundle (assembled, verified and checked against the receipt) with the
    /// segments' prove seconds summed; `None` while segments are missing.
    fn assemble_segments(
        &self,
        job: &Job,
        got: Vec<Option<crate::queue::JobResult>>,
    ) -> Option<Result<(String, f64), String>> {
        if let Some((k, e)) = got
            .iter()
            .enumerate()
            .find_map(|(k, r)| Some((k, r.as_ref()?.error.as_ref()?)))
        {
            return Some(Err(format!("segment {k}: {e}")));
        }
        let got: Vec<crate::queue::JobResult> = got.into_iter().collect::<Option<_>>()?;
        let secs = got.iter().map(|r| r.prove_seconds).sum();
        let proofs = got
            .into_iter()
            .enumerate()
            .map(|(k, r)| {
                let json = r.proof.unwrap_or_default();
                serde_json::from_str(&json).map_err(|e| format!("segment {k}'s proof: {e}"))
            })
            .collect::<Result<Vec<_>, String>>();
        let request = match self.store.request(&job.request_id) {
            Ok(Some(r)) => r,
            Ok(None) => return Some(Err("the job's request is missing".into())),
            Err(e) => return Some(Err(format!("store: {e}"))),
        };
        Some(proofs.and_then(|p| assemble_bundle(&self.models, &request, p).map(|b| (b, secs))))
    }

    fn model(&self, name: &str) -> Result<&Arc<Model>, NodeError> {
        self.models.get(name).ok_or_else(|| {
            NodeError::NotFound(format!(
                "unknown model '{name}' (served: {})",
                self.models.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Runs integer inference on `body` (the input JSON the CLI takes), signs a receipt,
    /// stores the request durably, and, with `prove`, queues its proof.
    pub fn infer(&self, model: &str, body: &str, prove: bool) -> Result<InferAnswer, NodeError> {
        let m = self.model(model)?;
        let x = zkinfer_circuits::input::parse_input_json(body).map_err(NodeError::BadRequest)?;
        let g = &m.circuit().graph;
        let q = zkinfer_circuits::quantize_input(g, &x).map_err(|e| match e {
            // In range for JSON but not for the circuit: the model cannot take it.
            zkinfer_circuits::InferenceError::InputRange { .. } => {
                NodeError::Unprocessable(e.to_string())
            }
            // Wrong shape or not a number: a malformed request.
            _ => NodeError::BadRequest(e.to_string()),
        })?;
        let trace =
            zkinfer_circuits::infer(g, &q).map_err(|e| NodeError::Unprocessable(e.to_string()))?;
        let info = g.output_info();
        let quantized = trace.output(g).to_vec();
        let output = zkinfer_verifier::proof_file::OutputData {
            shape: info.shape.clone(),
            scale: info.scale,
            values: quantized
                .iter()
                .map(|&v| zkinfer_circuits::fixed::dequantize(v, info.scale))
                .collect(),
            quantized,
        };
        let id = new_id();
        let receipt = self.key.sign(
            &id,
            model,
            &m.digest,
            tensor_hash(&q),
            tensor_hash(&output.quantized),
        );
        self.store
            .insert_request(&StoredRequest {
                id: id.clone(),
                model: model.into(),
                input_json: body.into(),
                output_json: serde_json::to_string(&output).expect("json"),
                receipt_json: serde_json::to_string(&receipt).expect("json"),
            })
            .map_err(internal)?;
        self.metrics
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let job_id = if prove {
            Some(self.challenge(&id)?.0.id)
        } else {
            None
        };
        Ok(InferAnswer {
            request_id: id,
            output,
            receipt,
            job_id,
        })
    }

    /// Queues the proof of a stored request (once: a second challenge returns the same job).
    pub fn challenge(&self, request_id: &str) -> Result<(Job, bool), NodeError> {
        if self.store.request(request_id).map_err(internal)?.is_none() {
            return Err(NodeError::NotFound(format!(
                "unknown request '{request_id}'"
            )));
        }
        let (job, new) = self
            .store
            .job_for_request(request_id, &new_id())
            .map_err(internal)?;
        self.metrics
            .challenges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if new {
            self.dispatch(&job)?;
        }
        Ok((job, new))
    }

    /// A job's state.
    pub fn job(&self, id: &str) -> Result<Job, NodeError> {
        self.store
            .job(id)
            .map_err(internal)?
            .ok_or_else(|| NodeError::NotFound(format!("unknown job '{id}'")))
    }

    fn notify(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        cv.notify_all();
    }

    /// Starts `n` prover threads that take queued jobs until the process ends.
    pub fn start_provers(self: &Arc<Self>, n: usize) {
        for _ in 0..n {
            let node = Arc::clone(self);
            std::thread::spawn(move || loop {
                match node.store.claim() {
                    Ok(Some(job)) => {
                        let result = node.prove_job(&job);
                        if let Ok((_, secs)) = &result {
                            node.metrics.proved(*secs);
                        }
                        if let Err(e) = node.store.finish(&job.id, result) {
                            eprintln!("zkinfer-node: cannot record job {}: {e}", job.id);
                        }
                    }
                    Ok(None) => {
                        let (lock, cv) = &node.wake;
                        let g = lock.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = cv.wait_timeout(g, Duration::from_millis(500));
                    }
                    Err(e) => {
                        eprintln!("zkinfer-node: cannot claim a job: {e}");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            });
        }
    }

    /// Proves a job's request; the proof's input and output must hash to the receipt's.
    pub fn prove_job(&self, job: &Job) -> Result<(String, f64), String> {
        let r = self
            .store
            .request(&job.request_id)
            .map_err(|e| format!("store: {e}"))?
            .ok_or("the job's request is missing")?;
        prove_request(&self.models, &r)
    }
}

/// The test hook `ZKINFER_NODE_TEST_PROVE_DELAY_MS`: widens the window in which a test kills
/// a prover mid-proof.
fn test_delay() {
    if let Some(ms) = std::env::var("ZKINFER_NODE_TEST_PROVE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Whether a proof's circuit, input and output are the receipt's.
fn check_binding(
    receipt: &Receipt,
    circuit: &str,
    input_q: &[i64],
    output_q: &[i64],
) -> Result<(), String> {
    if tensor_hash(input_q) != receipt.input_hash
        || tensor_hash(output_q) != receipt.output_hash
        || circuit != receipt.circuit
    {
        return Err("the proof's input or output differs from the receipt's".into());
    }
    Ok(())
}

/// A stored request replayed: its model, receipt and quantised input, and its trace
/// (inference re-run: milliseconds, and the same on every machine).
struct Replay<'m> {
    model: &'m Arc<Model>,
    receipt: Receipt,
    input_q: Vec<i64>,
    trace: zkinfer_circuits::Trace,
}

fn replay<'m>(models: &'m Models, r: &StoredRequest) -> Result<Replay<'m>, String> {
    let model = models
        .get(&r.model)
        .ok_or_else(|| format!("model '{}' is not loaded", r.model))?;
    let receipt: Receipt =
        serde_json::from_str(&r.receipt_json).map_err(|e| format!("stored receipt: {e}"))?;
    let x = zkinfer_circuits::input::parse_input_json(&r.input_json)?;
    let g = &model.circuit().graph;
    let input_q = zkinfer_circuits::quantize_input(g, &x).map_err(|e| e.to_string())?;
    let trace = zkinfer_circuits::infer(g, &input_q).map_err(|e| e.to_string())?;
    Ok(Replay {
        model,
        receipt,
        input_q,
        trace,
    })
}

/// Proves a stored request with its model (a proof.json, or for a segmented model the proof
/// bundle of all its segments proven here one after another); checks the proof against the
/// request's receipt. Returns the JSON and the prove seconds.
pub fn prove_request(models: &Models, r: &StoredRequest) -> Result<(String, f64), String> {
    let Replay {
        model: m,
        receipt,
        input_q,
        trace,
    } = replay(models, r)?;
    let g = &m.circuit().graph;
    // Before any proving: a node whose inference no longer gives what it signed cannot prove it.
    check_binding(&receipt, &m.digest, &input_q, trace.output(g))?;
    test_delay();
    let start = Instant::now();
    let json = match &m.proving {
        // The proof's input and output are `input_q` and the trace's output, checked above.
        Proving::Whole { prover, .. } => prover
            .prove_trace(input_q, &trace, &mut rand::rngs::OsRng)
            .map_err(|e| e.to_string())?
            .0
            .to_json(),
        Proving::Segmented {
            circuit,
            keys,
            backend,
            ..
        } => {
            let hashes = zkinfer_prover::segmented::boundary_hashes(circuit, &trace)
                .map_err(|e| e.to_string())?;
            let proofs = (0..keys.segments.len())
                .map(|k| {
                    zkinfer_prover::segmented::prove_segment(
                        circuit,
                        keys,
                        &trace,
                        zkinfer_prover::segmented::SegmentHashes::of(&hashes, k),
                        k,
                        backend,
                    )
                    .map(|(p, _)| p)
                    .map_err(|e| format!("segment {k}: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let bundle = zkinfer_prover::segmented::assemble(circuit, input_q, &trace, proofs);
            bundle.to_json()
        }
    };
    Ok((json, start.elapsed().as_secs_f64()))
}

/// Proves segment `k` of a stored request of a segmented model, as a worker does: inference
/// re-run, checked against the receipt, then that segment alone. Returns the segment proof's
/// JSON and the prove seconds.
pub fn prove_request_segment(
    models: &Models,
    r: &StoredRequest,
    k: usize,
) -> Result<(String, f64), String> {
    let Replay {
        model: m,
        receipt,
        input_q,
        trace,
    } = replay(models, r)?;
    let Proving::Segmented {
        circuit,
        keys,
        backend,
        ..
    } = &m.proving
    else {
        return Err(format!("model '{}' is not segmented", r.model));
    };
    check_binding(&receipt, &m.digest, &input_q, trace.output(&circuit.graph))?;
    test_delay();
    let start = Instant::now();
    // This segment's two boundaries only: hashing all K − 1 would cost every worker the
    // Poseidon work of the whole model's boundaries.
    let hashes =
        zkinfer_prover::segmented::segment_hashes(circuit, &trace, k).map_err(|e| e.to_string())?;
    let (proof, _) =
        zkinfer_prover::segmented::prove_segment(circuit, keys, &trace, hashes, k, backend)
            .map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&proof).expect("a segment proof serialises");
    Ok((json, start.elapsed().as_secs_f64()))
}

/// Assembles a segmented request's proof bundle from its segments' proofs (proven anywhere),
/// verifies it under the model's key and checks it against the receipt: a worker's bad or
/// mismatched segment fails the job here rather than reaching a challenger.
pub fn assemble_bundle(
    models: &Models,
    r: &StoredRequest,
    proofs: Vec<zkinfer_verifier::SegmentProof>,
) -> Result<String, String> {
    let Replay {
        model: m,
        receipt,
        input_q,
        trace,
    } = replay(models, r)?;
    let Proving::Segmented { circuit, vk, .. } = &m.proving else {
        return Err(format!("model '{}' is not segmented", r.model));
    };
    let bundle = zkinfer_prover::segmented::assemble(circuit, input_q, &trace, proofs);
    zkinfer_verifier::verify_bundle(vk, &bundle)
        .map_err(|e| format!("the assembled bundle does not verify: {e}"))?;
    check_binding(
        &receipt,
        &bundle.circuit,
        &bundle.input.quantized,
        &bundle.output.quantized,
    )?;
    Ok(bundle.to_json())
}
