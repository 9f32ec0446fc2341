//! A bounded load test of a running node on loopback: `requests` inferences at `concurrency`
//! clients, then `challenges` of them proven; latency percentiles of infer, proving
//! throughput, and a check that nothing was lost (every request answered with a valid
//! receipt, every challenge done).

use crate::receipt::Receipt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to send.
pub struct LoadConfig {
    pub url: String,
    pub token: Option<String>,
    pub model: String,
    /// The infer body (the input JSON).
    pub body: String,
    pub requests: usize,
    pub concurrency: usize,
    pub challenges: usize,
    /// Longest wait for all challenges.
    pub timeout: Duration,
}

/// What happened.
#[derive(Debug)]
pub struct LoadReport {
    pub answered: usize,
    pub errors: usize,
    pub infer_seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub challenged: usize,
    pub proven: usize,
    pub prove_wall_seconds: f64,
    pub jobs_per_minute: f64,
}

fn post(cfg: &LoadConfig, path: &str, body: &str) -> Result<serde_json::Value, String> {
    let mut r = ureq::post(&format!("{}{path}", cfg.url.trim_end_matches('/')));
    if let Some(t) = &cfg.token {
        r = r.set("Authorization", &format!("Bearer {t}"));
    }
    r.send_string(body)
        .map_err(|e| e.to_string())?
        .into_json()
        .map_err(|e| e.to_string())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Runs the load test.
pub fn run(cfg: &LoadConfig) -> LoadReport {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(f64, Result<String, String>)>> = Mutex::new(Vec::new());
    let path = format!("/v1/models/{}/infer", cfg.model);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cfg.concurrency.max(1) {
            s.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < cfg.requests {
                    let t = Instant::now();
                    let r = post(cfg, &path, &cfg.body).and_then(|v| {
                        let receipt: Receipt = serde_json::from_value(v["receipt"].clone())
                            .map_err(|e| e.to_string())?;
                        if !receipt.verify() {
                            return Err("a receipt does not verify".into());
                        }
                        Ok(receipt.request_id)
                    });
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    results.lock().unwrap().push((ms, r));
                }
            });
        }
    });
    let infer_seconds = start.elapsed().as_secs_f64();
    let results = results.into_inner().unwrap();
    let mut lat: Vec<f64> = results.iter().map(|r| r.0).collect();
    lat.sort_by(f64::total_cmp);
    let ids: Vec<String> = results.iter().filter_map(|r| r.1.clone().ok()).collect();
    let errors = results.len() - ids.len();

    let start = Instant::now();
    let step = (ids.len() / cfg.challenges.max(1)).max(1);
    let jobs: Vec<String> = ids
        .iter()
        .step_by(step)
        .take(cfg.challenges)
        .filter_map(|id| post(cfg, &format!("/v1/requests/{id}/prove"), "").ok())
        .filter_map(|v| v["job_id"].as_str().map(String::from))
        .collect();
    let mut proven = 0;
    for job in &jobs {
        loop {
            let v: serde_json::Value = ureq::get(&format!("{}/v1/jobs/{job}", cfg.url))
                .call()
                .ok()
                .and_then(|r| r.into_json().ok())
                .unwrap_or_default();
            if v["status"] == "done" {
                proven += 1;
                break;
            }
            if v["status"] == "failed" || start.elapsed() > cfg.timeout {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let prove_wall_seconds = start.elapsed().as_secs_f64();
    LoadReport {
        answered: ids.len(),
        errors,
        infer_seconds,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(0.0),
        challenged: jobs.len(),
        proven,
        prove_wall_seconds,
        jobs_per_minute: proven as f64 * 60.0 / prove_wall_seconds.max(1e-9),
    }
}
