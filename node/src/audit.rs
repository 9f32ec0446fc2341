//! `zkinfer audit`: the challenger. It samples receipts a node signed, challenges each, and
//! checks each proof against its receipt: the signature is the node's, the proof verifies
//! under the model's verifying key, and its circuit, input and output are the receipt's.

use crate::receipt::{tensor_hash, Receipt};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zkinfer_verifier::{
    is_bundle_json, verify_bundle, ProofBundle, ProofFile, SegmentedVerifyingKeyFile,
    VerifyingKeyFile,
};

/// How an audit runs.
pub struct AuditConfig {
    pub server: String,
    pub receipts: PathBuf,
    /// Fraction of receipts challenged (at least one).
    pub sample: f64,
    pub vk_dir: PathBuf,
    pub token: Option<String>,
    /// How long to wait for one proof.
    pub timeout: Duration,
    /// Seed of the sampling (random when absent).
    pub seed: Option<u64>,
}

/// One node's tally.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub challenged: usize,
    pub proven: usize,
    pub failed: usize,
    pub timed_out: usize,
    /// Why each failure failed: (request id, reason).
    pub failures: Vec<(String, String)>,
}

/// The outcome of one challenge.
enum Outcome {
    Proven,
    Failed(String),
    TimedOut,
}

/// Reads receipts (one JSON object per line: a receipt, or an infer answer carrying one).
pub fn read_receipts(path: &std::path::Path) -> anyhow::Result<Vec<Receipt>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l)
                .map_err(|e| anyhow::anyhow!("{} line {}: {e}", path.display(), i + 1))?;
            let r = v.get("receipt").cloned().unwrap_or(v);
            serde_json::from_value(r).map_err(|e| {
                anyhow::anyhow!("{} line {}: not a receipt: {e}", path.display(), i + 1)
            })
        })
        .collect()
}

/// Runs the audit; the tally per node (its public key).
pub fn audit(cfg: &AuditConfig) -> anyhow::Result<BTreeMap<String, Tally>> {
    if !(cfg.sample > 0.0 && cfg.sample <= 1.0) {
        anyhow::bail!("--sample must be in (0, 1]");
    }
    let receipts = read_receipts(&cfg.receipts)?;
    let mut rng = match cfg.seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s),
        None => rand::rngs::StdRng::from_entropy(),
    };
    let mut chosen: Vec<&Receipt> = receipts
        .iter()
        .filter(|_| rng.gen_bool(cfg.sample))
        .collect();
    if chosen.is_empty() && !receipts.is_empty() {
        chosen.push(&receipts[rng.gen_range(0..receipts.len())]);
    }
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    for r in chosen {
        let t = tally.entry(r.node.clone()).or_default();
        t.challenged += 1;
        match challenge(cfg, r) {
            Outcome::Proven => t.proven += 1,
            Outcome::Failed(why) => {
                t.failed += 1;
                t.failures.push((r.request_id.clone(), why));
            }
            Outcome::TimedOut => t.timed_out += 1,
        }
    }
    Ok(tally)
}

fn challenge(cfg: &AuditConfig, r: &Receipt) -> Outcome {
    if !r.verify() {
        return Outcome::Failed("the receipt's signature is not the node's".into());
    }
    let base = cfg.server.trim_end_matches('/');
    let mut req = ureq::post(&format!("{base}/v1/requests/{}/prove", r.request_id));
    if let Some(t) = &cfg.token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let job: serde_json::Value = match req.call() {
        Ok(resp) => match resp.into_json() {
            Ok(v) => v,
            Err(e) => return Outcome::Failed(format!("challenge answer: {e}")),
        },
        Err(ureq::Error::Status(code, resp)) => {
            let body = resp.into_string().unwrap_or_default();
            return Outcome::Failed(format!("the node refused the challenge ({code}): {body}"));
        }
        Err(e) => return Outcome::Failed(format!("the node is unreachable: {e}")),
    };
    let Some(job_id) = job["job_id"].as_str() else {
        return Outcome::Failed(format!("no job id in {job}"));
    };
    let start = Instant::now();
    let done = loop {
        let v: serde_json::Value = match ureq::get(&format!("{base}/v1/jobs/{job_id}")).call() {
            Ok(resp) => match resp.into_json() {
                Ok(v) => v,
                Err(e) => return Outcome::Failed(format!("job answer: {e}")),
            },
            Err(e) => return Outcome::Failed(format!("job {job_id}: {e}")),
        };
        match v["status"].as_str() {
            Some("done") => break v,
            Some("failed") => {
                return Outcome::Failed(format!("the node failed to prove: {}", v["error"]))
            }
            _ if start.elapsed() > cfg.timeout => return Outcome::TimedOut,
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    match check(cfg, r, &done["proof"]) {
        Ok(()) => Outcome::Proven,
        Err(why) => Outcome::Failed(why),
    }
}

/// A proof (a proof.json, or a segmented model's proof bundle) against its receipt: it
/// verifies under `NAME.vk` of the vk directory, and its circuit, input and output are the
/// receipt's.
fn check(cfg: &AuditConfig, r: &Receipt, proof: &serde_json::Value) -> Result<(), String> {
    let vk_path = cfg.vk_dir.join(format!("{}.vk", r.model));
    let vk_bytes = std::fs::read(&vk_path).map_err(|e| format!("{}: {e}", vk_path.display()))?;
    let json = proof.to_string();
    let (circuit, input, output) = if is_bundle_json(&json) {
        let bundle = ProofBundle::from_json(&json).map_err(|e| format!("proof bundle: {e}"))?;
        let vk = SegmentedVerifyingKeyFile::from_bytes(&vk_bytes)
            .map_err(|e| format!("{} (a segmented model's key): {e}", vk_path.display()))?;
        check_key(&vk.digest, r, &vk_path)?;
        verify_bundle(&vk, &bundle).map_err(|e| format!("the proof does not verify: {e}"))?;
        (
            bundle.circuit,
            bundle.input.quantized,
            bundle.output.quantized,
        )
    } else {
        let proof = ProofFile::from_json(&json).map_err(|e| format!("proof.json: {e}"))?;
        let vk = VerifyingKeyFile::from_bytes(&vk_bytes)
            .map_err(|e| format!("{}: {e}", vk_path.display()))?;
        check_key(&vk.digest, r, &vk_path)?;
        zkinfer_verifier::verify(&vk, &proof)
            .map_err(|e| format!("the proof does not verify: {e}"))?;
        (proof.circuit, proof.input.quantized, proof.output.quantized)
    };
    if circuit != r.circuit {
        return Err("the proof is for another circuit".into());
    }
    if tensor_hash(&input) != r.input_hash {
        return Err("the proof's input is not the one the node signed".into());
    }
    if tensor_hash(&output) != r.output_hash {
        return Err("the proof's output is not the one the node signed".into());
    }
    Ok(())
}

/// The verifying key must be the receipt's circuit's.
fn check_key(digest: &[u8; 32], r: &Receipt, vk_path: &std::path::Path) -> Result<(), String> {
    if hex::encode(digest) != r.circuit {
        return Err(format!(
            "the receipt's circuit {} is not {}'s",
            r.circuit,
            vk_path.display()
        ));
    }
    Ok(())
}

/// The report: one row per node.
pub fn report(tally: &BTreeMap<String, Tally>) -> String {
    let mut s = format!(
        "{:<66} {:>10} {:>7} {:>7} {:>9}\n",
        "node", "challenged", "proven", "failed", "timed out"
    );
    for (node, t) in tally {
        s.push_str(&format!(
            "{node:<66} {:>10} {:>7} {:>7} {:>9}\n",
            t.challenged, t.proven, t.failed, t.timed_out
        ));
        for (id, why) in &t.failures {
            s.push_str(&format!("  request {id}: {why}\n"));
        }
    }
    s
}
