//! The node as a service, started for real on loopback: infer → signed receipt → challenge →
//! proof → verify, with the proof bound to the receipt; bad requests get clear 4xx; a node
//! killed (SIGKILL) mid-proof finishes its jobs after restart and loses no request.

mod common;

use common::{mlp_input, models_dir, temp_dir, Node, TOKEN};
use std::time::Duration;
use zkinfer_node::receipt::{tensor_hash, Receipt};
use zkinfer_verifier::{ProofFile, VerifyingKeyFile};

fn vk() -> VerifyingKeyFile {
    VerifyingKeyFile::read(&models_dir().join("mlp.vk")).unwrap()
}

/// The proof of a done job verifies and is bound to `receipt`.
fn check_proof(job: &serde_json::Value, receipt: &Receipt) -> ProofFile {
    assert_eq!(job["status"], "done", "{job}");
    let proof = ProofFile::from_json(&job["proof"].to_string()).unwrap();
    zkinfer_verifier::verify(&vk(), &proof).unwrap();
    assert_eq!(tensor_hash(&proof.input.quantized), receipt.input_hash);
    assert_eq!(tensor_hash(&proof.output.quantized), receipt.output_hash);
    assert_eq!(proof.circuit, receipt.circuit);
    proof
}

#[test]
fn infer_receipt_challenge_proof_verify() {
    let data = temp_dir("flow");
    let node = Node::start(&data, &[], &[]);
    let (code, health) = node.get("/healthz");
    assert_eq!(code, 200, "{health}");
    let digest = health["models"]["mlp"].as_str().unwrap().to_string();

    let (code, a) = node.post("/v1/models/mlp/infer", &mlp_input());
    assert_eq!(code, 200, "{a}");
    let receipt: Receipt = serde_json::from_value(a["receipt"].clone()).unwrap();
    assert!(receipt.verify());
    assert_eq!(receipt.circuit, digest);
    assert_eq!(receipt.node, health["node"].as_str().unwrap());
    assert!(a.get("job_id").is_none());
    let id = a["request_id"].as_str().unwrap();

    // The challenge, twice: one job.
    let (code, c) = node.post(&format!("/v1/requests/{id}/prove"), "");
    assert_eq!(code, 202, "{c}");
    let (code, c2) = node.post(&format!("/v1/requests/{id}/prove"), "");
    assert_eq!(code, 200, "{c2}");
    assert_eq!(c["job_id"], c2["job_id"]);
    let job = node.wait_job(c["job_id"].as_str().unwrap(), Duration::from_secs(120));
    let proof = check_proof(&job, &receipt);
    assert_eq!(
        serde_json::to_value(&proof.output.quantized).unwrap(),
        a["output"]["quantized"]
    );

    // ?prove=true proves every request.
    let (code, b) = node.post("/v1/models/mlp/infer?prove=true", &mlp_input());
    assert_eq!(code, 200, "{b}");
    let receipt_b: Receipt = serde_json::from_value(b["receipt"].clone()).unwrap();
    assert_ne!(receipt_b.request_id, receipt.request_id);
    let job = node.wait_job(b["job_id"].as_str().unwrap(), Duration::from_secs(120));
    check_proof(&job, &receipt_b);

    let (code, m) = node.get("/metrics");
    assert_eq!(code, 200);
    let m = m.as_str().unwrap();
    assert!(m.contains("zkinfer_jobs{state=\"done\"} 2"), "{m}");
    assert!(m.contains("zkinfer_requests_total 2"), "{m}");
    assert!(m.contains("zkinfer_prove_seconds_count 2"), "{m}");
}

#[test]
fn bad_requests_get_clear_client_errors() {
    let data = temp_dir("bad");
    let node = Node::start(&data, &["--max-body", "4096"], &[]);
    let post_as = |token: Option<&str>, path: &str, body: &str| {
        let mut r = ureq::post(&format!("{}{path}", node.url));
        if let Some(t) = token {
            r = r.set("Authorization", &format!("Bearer {t}"));
        }
        match r.send_string(body) {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    let cases: Vec<(Option<&str>, String, String, u16, &str)> = vec![
        (
            None,
            "/v1/models/mlp/infer".into(),
            mlp_input(),
            401,
            "bearer token",
        ),
        (
            Some("wrong"),
            "/v1/models/mlp/infer".into(),
            mlp_input(),
            401,
            "bearer token",
        ),
        (
            Some(TOKEN),
            "/v1/models/nope/infer".into(),
            mlp_input(),
            404,
            "unknown model 'nope'",
        ),
        (
            Some(TOKEN),
            "/v1/models/mlp/infer".into(),
            "{\"input\": [1, 2".into(),
            400,
            "not valid JSON",
        ),
        (
            Some(TOKEN),
            "/v1/models/mlp/infer".into(),
            "{\"input\": [1, 2, 3]}".into(),
            400,
            "expects 64",
        ),
        (
            Some(TOKEN),
            "/v1/models/mlp/infer".into(),
            "{\"input\": [NaN, 0]}".into(),
            400,
            "not valid JSON",
        ),
        (
            Some(TOKEN),
            "/v1/models/mlp/infer".into(),
            format!("{{\"input\": [{}]}}", vec!["1000"; 64].join(",")),
            422,
            "outside the input's range",
        ),
        (
            Some(TOKEN),
            "/v1/models/mlp/infer".into(),
            format!("{{\"input\": [{}]}}", vec!["0.5"; 2000].join(",")),
            413,
            "",
        ),
        (
            Some(TOKEN),
            "/v1/requests/feed/prove".into(),
            String::new(),
            404,
            "unknown request",
        ),
        (
            Some(TOKEN),
            "/v1/nothing".into(),
            String::new(),
            404,
            "no such endpoint",
        ),
    ];
    for (token, path, body, want, says) in cases {
        let (code, text) = post_as(token, &path, &body);
        assert_eq!(code, want, "{path} {body:.40}: {text}");
        assert!(text.contains(says), "{path}: {text}");
    }
    let (code, v) = node.get("/v1/jobs/feed");
    assert_eq!(code, 404, "{v}");
    // Still serving.
    let (code, a) = node.post("/v1/models/mlp/infer", &mlp_input());
    assert_eq!(code, 200, "{a}");
    let (_, m) = node.get("/metrics");
    assert!(
        m.as_str()
            .unwrap()
            .contains("zkinfer_requests_rejected_total 10"),
        "{m}"
    );
}

#[test]
fn a_node_killed_mid_proof_finishes_its_jobs_after_restart() {
    let data = temp_dir("kill");
    // The test hook holds each proof 3 s, so the kill lands mid-proof.
    let node = Node::start(&data, &[], &[("ZKINFER_NODE_TEST_PROVE_DELAY_MS", "3000")]);
    let mut served = Vec::new();
    for _ in 0..3 {
        let (code, a) = node.post("/v1/models/mlp/infer?prove=true", &mlp_input());
        assert_eq!(code, 200, "{a}");
        served.push(a);
    }
    let first = served[0]["job_id"].as_str().unwrap().to_string();
    let start = std::time::Instant::now();
    while node.get(&format!("/v1/jobs/{first}")).1["status"] != "running" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the job never ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    node.kill();

    let node = Node::start(&data, &[], &[]);
    for a in &served {
        let receipt: Receipt = serde_json::from_value(a["receipt"].clone()).unwrap();
        let job = node.wait_job(a["job_id"].as_str().unwrap(), Duration::from_secs(120));
        check_proof(&job, &receipt);
        // The request is still there: a new challenge finds the same job.
        let (code, c) = node.post(&format!("/v1/requests/{}/prove", receipt.request_id), "");
        assert_eq!(code, 200, "{c}");
        assert_eq!(c["job_id"], a["job_id"]);
    }
    let (_, j) = node.get(&format!("/v1/jobs/{first}"));
    assert_eq!(j["attempts"], 2, "the killed proof ran again: {j}");
}

#[test]
fn audit_challenges_a_sample_and_fails_on_a_forged_receipt() {
    let data = temp_dir("audit");
    let node = Node::start(&data, &[], &[]);
    let mut lines = Vec::new();
    for _ in 0..8 {
        let (code, a) = node.post("/v1/models/mlp/infer", &mlp_input());
        assert_eq!(code, 200, "{a}");
        lines.push(a.to_string());
    }
    let receipts = data.join("receipts.jsonl");
    std::fs::write(&receipts, lines.join("\n")).unwrap();
    let audit = |file: &std::path::Path, sample: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer-node"))
            .args([
                "audit", "--server", &node.url, "--sample", sample, "--seed", "7",
            ])
            .args(["--token", TOKEN, "--receipts"])
            .arg(file)
            .arg("--vk-dir")
            .arg(models_dir())
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = audit(&receipts, "0.5");
    assert_eq!(code, 0, "{out}");
    let row = out.lines().nth(1).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert!(cols[1].parse::<usize>().unwrap() >= 1, "{out}");
    assert_eq!(cols[1], cols[2], "every challenge proven: {out}");
    assert_eq!(&cols[3..], ["0", "0"], "{out}");

    // A receipt whose output was changed after signing fails (exit 1), named in the report.
    let mut forged: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    forged["receipt"]["output_hash"] = tensor_hash(&[1, 2, 3]).into();
    let bad = data.join("forged.jsonl");
    std::fs::write(&bad, forged.to_string()).unwrap();
    let (code, out) = audit(&bad, "1");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature"), "{out}");
}

#[test]
fn a_small_load_loses_nothing() {
    let data = temp_dir("load");
    let node = Node::start(&data, &[], &[]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer-node"))
        .args([
            "load", "--url", &node.url, "--token", TOKEN, "--model", "mlp",
        ])
        .args([
            "--requests",
            "40",
            "--concurrency",
            "8",
            "--challenges",
            "4",
            "--input",
        ])
        .arg(common::fixture("mlp/input.json"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("40 answered, 0 errors"), "{out}");
    assert!(out.contains("4 of 4 challenges done"), "{out}");
    let (_, m) = node.get("/metrics");
    assert!(
        m.as_str().unwrap().contains("zkinfer_requests_stored 40"),
        "{m}"
    );
}
