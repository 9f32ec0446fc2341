//! The node's work, independent of HTTP: answer an inference with a signed receipt, store it,
//! and prove stored requests on a pool of prover threads.

use crate::metrics::Metrics;
use crate::models::{Model, Models};
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

    /// Puts a job on the stream for the workers.
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
        let mut con = q.lock().unwrap_or_else(|p| p.into_inner());
        crate::queue::enqueue(
            &mut con,
            &crate::queue::QueuedJob {
                entry: String::new(),
                job: job.id.clone(),
                request: r.id,
                model: r.model,
                input: r.input_json,
                receipt: r.receipt_json,
            },
        )
        .map_err(|e| NodeError::Internal(format!("queue: {e}")))
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
                let known = crate::queue::result(&mut con, &job.id)?.is_some()
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
        // Two round trips per tick whatever the number of jobs in flight.
        let (results, started) = {
            let mut con = q.lock().unwrap_or_else(|p| p.into_inner());
            (
                crate::queue::results(&mut con, &ids)?,
                crate::queue::started_many(&mut con, &ids)?,
            )
        };
        for ((job, result), started) in jobs.iter().zip(results).zip(started) {
            match result {
                Some(r) => {
                    let outcome = match (r.proof, r.error) {
                        (Some(p), _) => Ok((p, r.prove_seconds)),
                        (None, e) => Err(e.unwrap_or_else(|| "failed".into())),
                    };
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
        let g = &m.prover.circuit.graph;
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

/// Proves a stored request with its model; checks the proof against the request's receipt.
pub fn prove_request(models: &Models, r: &StoredRequest) -> Result<(String, f64), String> {
    let m = models
        .get(&r.model)
        .ok_or_else(|| format!("model '{}' is not loaded", r.model))?;
    let receipt: Receipt =
        serde_json::from_str(&r.receipt_json).map_err(|e| format!("stored receipt: {e}"))?;
    let x = zkinfer_circuits::input::parse_input_json(&r.input_json)?;
    if let Some(ms) = std::env::var("ZKINFER_NODE_TEST_PROVE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        // Test hook: widens the window in which a test kills the node mid-proof.
        std::thread::sleep(Duration::from_millis(ms));
    }
    let start = Instant::now();
    let (proof, _) = m
        .prover
        .prove(&x, &mut rand::rngs::OsRng)
        .map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    if tensor_hash(&proof.input.quantized) != receipt.input_hash
        || tensor_hash(&proof.output.quantized) != receipt.output_hash
        || proof.circuit != receipt.circuit
    {
        return Err("the proof's input or output differs from the receipt's".into());
    }
    Ok((proof.to_json(), secs))
}
