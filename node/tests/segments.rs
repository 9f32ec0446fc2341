//! A segmented model served for real: its challenges prove into a proof bundle that verifies
//! under the model's segmented key and is bound to the signed receipt, on the node's own
//! provers and with the segments fanned out to workers on a Redis Stream (one stream entry per
//! segment, each result recorded once, the server assembling the bundle); the challenger
//! audits bundles as it does proofs.

mod common;

use common::{mlp_input, segmented_models_dir, start_redis, start_worker, temp_dir, Node};
use std::process::Command;
use std::time::Duration;
use zkinfer_node::queue;
use zkinfer_node::receipt::{tensor_hash, Receipt};
use zkinfer_verifier::{ProofBundle, SegmentedVerifyingKeyFile};

fn vk() -> SegmentedVerifyingKeyFile {
    SegmentedVerifyingKeyFile::read(&segmented_models_dir().join("mlpseg.vk")).unwrap()
}

/// Infers and challenges; returns the infer answer with the job id set.
fn infer_and_challenge(node: &Node) -> serde_json::Value {
    let (code, mut v) = node.post("/v1/models/mlpseg/infer", &mlp_input());
    assert_eq!(code, 200, "{v}");
    let id = v["request_id"].as_str().unwrap().to_string();
    let (code, c) = node.post(&format!("/v1/requests/{id}/prove"), "");
    assert_eq!(code, 202, "{c}");
    v["job_id"] = c["job_id"].clone();
    v
}

/// The job's proof is a bundle that verifies and carries the receipt's input and output.
fn assert_bundle_bound(node: &Node, answer: &serde_json::Value) -> ProofBundle {
    let job = node.wait_job(answer["job_id"].as_str().unwrap(), Duration::from_secs(180));
    assert_eq!(job["status"], "done", "{job}");
    let bundle = ProofBundle::from_json(&job["proof"].to_string()).unwrap();
    assert_eq!(bundle.segments.len(), 2);
    zkinfer_verifier::verify_bundle(&vk(), &bundle).unwrap();
    let receipt: Receipt = serde_json::from_value(answer["receipt"].clone()).unwrap();
    assert!(receipt.verify());
    assert_eq!(bundle.circuit, receipt.circuit);
    assert_eq!(tensor_hash(&bundle.input.quantized), receipt.input_hash);
    assert_eq!(tensor_hash(&bundle.output.quantized), receipt.output_hash);
    assert_eq!(
        bundle.output.quantized,
        answer["output"]["quantized"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect::<Vec<_>>()
    );
    bundle
}

#[test]
fn a_segmented_model_proves_bundles_on_the_node_and_the_audit_accepts_them() {
    let data = temp_dir("seg-local");
    let node = Node::start_with(segmented_models_dir(), &data, &[], &[]);
    let answer = infer_and_challenge(&node);
    assert_bundle_bound(&node, &answer);

    // The challenger checks bundles: every receipt sampled, each proven and bound.
    let receipts = data.join("receipts.jsonl");
    std::fs::write(&receipts, format!("{}\n", answer["receipt"])).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zkinfer-node"))
        .args(["audit", "--server", &node.url, "--sample", "1", "--token"])
        .arg(common::TOKEN)
        .arg("--receipts")
        .arg(&receipts)
        .arg("--vk-dir")
        .arg(segmented_models_dir())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with(answer["receipt"]["node"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("no row for the node in {text}"));
    let counts: Vec<&str> = row.split_whitespace().skip(1).collect();
    assert_eq!(counts, ["1", "1", "0", "0"], "{text}");
}

#[test]
fn a_segmented_job_fans_out_to_workers_one_entry_per_segment() {
    let Some((_redis, url)) = start_redis() else {
        return;
    };
    let data = temp_dir("seg-queue");
    let node = Node::start_with(segmented_models_dir(), &data, &["--queue", &url], &[]);
    let mut con = queue::connect(&url).unwrap();
    let a = start_worker(&url, segmented_models_dir(), "a", &[]);
    let b = start_worker(&url, segmented_models_dir(), "b", &[]);
    let answers: Vec<serde_json::Value> = (0..3).map(|_| infer_and_challenge(&node)).collect();
    let mut first = None;
    for answer in &answers {
        let bundle = assert_bundle_bound(&node, answer);
        // Each segment was a stream entry of its own, proven and recorded once, and the
        // bundle holds exactly those proofs.
        let job = answer["job_id"].as_str().unwrap();
        for (k, seg) in bundle.segments.iter().enumerate() {
            let id = queue::result_id(job, Some(k));
            let r = queue::result(&mut con, &id).unwrap().unwrap();
            let recorded: zkinfer_verifier::SegmentProof =
                serde_json::from_str(r.proof.as_deref().unwrap()).unwrap();
            assert_eq!(&recorded, seg);
            assert!(!queue::record(&mut con, &id, &r).unwrap());
        }
        assert!(queue::result(&mut con, job).unwrap().is_none());
        first.get_or_insert(bundle);
    }
    let first = first.unwrap();
    // Six entries (three jobs, two segments each), every one acknowledged.
    let len: i64 = redis::cmd("XLEN")
        .arg(queue::STREAM)
        .query(&mut con)
        .unwrap();
    assert_eq!(len, 6);
    let start = std::time::Instant::now();
    while queue::pending(&mut con).unwrap() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "entries left pending"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A segment result that does not belong (one byte of its proof changed) fails the job when
    // the bundle is assembled: the server verifies what workers hand back.
    drop((a, b));
    let forged = infer_and_challenge(&node);
    let job = forged["job_id"].as_str().unwrap();
    for (k, seg) in first.segments.iter().enumerate() {
        let mut seg = seg.clone();
        if k == 0 {
            let flipped = if seg.proof.ends_with('0') { '1' } else { '0' };
            seg.proof.pop();
            seg.proof.push(flipped);
        }
        let r = queue::JobResult {
            proof: Some(serde_json::to_string(&seg).unwrap()),
            error: None,
            prove_seconds: 0.0,
            worker: "forger".into(),
        };
        assert!(queue::record(&mut con, &queue::result_id(job, Some(k)), &r).unwrap());
    }
    let v = node.wait_job(job, Duration::from_secs(30));
    assert_eq!(v["status"], "failed", "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("does not verify"),
        "{v}"
    );
}

/// A worker hashes its segment's two boundaries only (`segment_hashes`); they must be the
/// very entries of the whole model's `boundary_hashes`, and a segment given the wrong set of
/// hashes is refused before its key is read.
#[test]
fn a_segment_hashes_its_own_boundaries_as_the_whole_model_does() {
    use zkinfer_prover::segmented::{
        boundary_hashes, prove_segment, segment_hashes, SegmentHashes,
    };
    let dir = segmented_models_dir();
    let circuit = zkinfer_circuits::CircuitFile::read(&dir.join("mlpseg.zkc")).unwrap();
    let input: serde_json::Value = serde_json::from_str(&mlp_input()).unwrap();
    let x: Vec<f64> = serde_json::from_value(input["input"].clone()).unwrap();
    let g = &circuit.graph;
    let trace =
        zkinfer_circuits::infer(g, &zkinfer_circuits::quantize_input(g, &x).unwrap()).unwrap();
    let all = boundary_hashes(&circuit, &trace).unwrap();
    assert_eq!(all.len(), 1);
    for k in 0..3 {
        assert_eq!(
            segment_hashes(&circuit, &trace, k).unwrap(),
            SegmentHashes::of(&all, k),
            "segment {k}"
        );
    }
    assert_eq!(segment_hashes(&circuit, &trace, 0).unwrap().input, None);
    assert_eq!(segment_hashes(&circuit, &trace, 1).unwrap().output, None);

    let keys = zkinfer_prover::keys::ProvingKeyBundle::open(&dir.join("mlpseg.pk")).unwrap();
    let wrong = SegmentHashes {
        input: Some(all[0]),
        output: Some(all[0]),
    };
    let err = prove_segment(&circuit, &keys, &trace, wrong, 0, "cpu")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("segment 0 of 2 binds 1 boundary hashes"),
        "{err}"
    );
}
