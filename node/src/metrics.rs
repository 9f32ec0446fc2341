//! The node's counters, rendered as Prometheus text for `GET /metrics`.

use crate::store::JobCounts;
use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters (job gauges come from the store).
#[derive(Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub rejected: AtomicU64,
    pub challenges: AtomicU64,
    /// Sum of prove seconds, in microseconds, and the number of proofs.
    prove_micros: AtomicU64,
    proofs: AtomicU64,
}

impl Metrics {
    /// Records one finished proof.
    pub fn proved(&self, seconds: f64) {
        self.prove_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.proofs.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self, jobs: JobCounts, stored_requests: u64) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, String)>| {
            s.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, v) in lines {
                s.push_str(&format!("{name}{labels} {v}\n"));
            }
        };
        metric(
            "zkinfer_requests_total",
            "counter",
            "Inference requests answered since start.",
            vec![(String::new(), get(&self.requests).to_string())],
        );
        metric(
            "zkinfer_requests_rejected_total",
            "counter",
            "Requests refused with a 4xx since start.",
            vec![(String::new(), get(&self.rejected).to_string())],
        );
        metric(
            "zkinfer_requests_stored",
            "gauge",
            "Requests in the durable store.",
            vec![(String::new(), stored_requests.to_string())],
        );
        metric(
            "zkinfer_challenges_total",
            "counter",
            "Prove requests (challenges) since start.",
            vec![(String::new(), get(&self.challenges).to_string())],
        );
        metric(
            "zkinfer_jobs",
            "gauge",
            "Proving jobs by state.",
            [
                ("queued", jobs.queued),
                ("running", jobs.running),
                ("done", jobs.done),
                ("failed", jobs.failed),
            ]
            .into_iter()
            .map(|(st, n)| (format!("{{state=\"{st}\"}}"), n.to_string()))
            .collect(),
        );
        metric(
            "zkinfer_prove_seconds",
            "summary",
            "Seconds per proof since start.",
            vec![
                (
                    "_sum".into(),
                    format!("{:.6}", get(&self.prove_micros) as f64 / 1e6),
                ),
                ("_count".into(), get(&self.proofs).to_string()),
            ],
        );
        s
    }
}
