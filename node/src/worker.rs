//! `zkinfer worker`: a prover on any machine, taking jobs from the Redis Stream with its keys
//! resident (see [`crate::queue`]).

use crate::models::Models;
use crate::queue::{self, JobResult};
use crate::store::StoredRequest;
use std::time::Duration;

/// How a worker runs.
pub struct WorkerConfig {
    pub queue: String,
    pub models: std::path::PathBuf,
    /// This consumer's name in the group (unique per worker).
    pub name: String,
    /// A job pending this long under another consumer is taken over.
    pub claim_idle: Duration,
    pub backend: String,
}

/// Takes and proves jobs until the process ends.
pub fn run(cfg: WorkerConfig) -> anyhow::Result<()> {
    let models = crate::models::load(&cfg.models, &cfg.backend)?;
    let mut con = queue::connect(&cfg.queue)?;
    queue::ensure_group(&mut con)?;
    say(&format!(
        "zkinfer worker {} on {} (models: {})",
        cfg.name,
        cfg.queue,
        models.keys().cloned().collect::<Vec<_>>().join(", ")
    ));
    loop {
        let Some(job) =
            queue::next_job(&mut con, &cfg.name, cfg.claim_idle, Duration::from_secs(1))?
        else {
            continue;
        };
        process(&mut con, &models, &cfg.name, &job)?;
    }
}

/// Proves one job, or one segment of a segmented model's job (unless it already has a
/// result), records the result once, acknowledges.
pub fn process(
    con: &mut redis::Connection,
    models: &Models,
    worker: &str,
    job: &queue::QueuedJob,
) -> anyhow::Result<()> {
    let result_id = job.result_id();
    if queue::result(con, &result_id)?.is_none() {
        queue::mark_started(con, &job.job, worker)?;
        let r = StoredRequest {
            id: job.request.clone(),
            model: job.model.clone(),
            input_json: job.input.clone(),
            output_json: String::new(),
            receipt_json: job.receipt.clone(),
        };
        let proved = match job.segment {
            None => crate::node::prove_request(models, &r),
            Some(k) => crate::node::prove_request_segment(models, &r, k),
        };
        let result = match proved {
            Ok((proof, secs)) => JobResult {
                proof: Some(proof),
                error: None,
                prove_seconds: secs,
                worker: worker.into(),
            },
            Err(e) => JobResult {
                proof: None,
                error: Some(e),
                prove_seconds: 0.0,
                worker: worker.into(),
            },
        };
        let recorded = queue::record(con, &result_id, &result)?;
        say(&format!(
            "job {}{} {} by {worker}{}",
            job.job,
            job.segment
                .map(|k| format!(" segment {k}"))
                .unwrap_or_default(),
            if result.proof.is_some() {
                "proved"
            } else {
                "failed"
            },
            if recorded {
                ""
            } else {
                " (another worker's result was recorded first)"
            }
        ));
    }
    queue::ack(con, &job.entry)?;
    Ok(())
}

/// A log line on stdout; a closed stdout (a supervisor gone) must not stop the worker.
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}
