//! Proving on workers through Redis Streams, for real: a `redis-server` on a free loopback
//! port, a node with `--queue`, and two workers, the first killed (SIGKILL) in the middle of a
//! job. Its job is taken over by the second after the idle timeout, and every job completes
//! exactly once: done in the node, its proof verifying and bound to its receipt, nothing left
//! pending in the stream, and a second result for a job is not recorded.
//!
//! Needs `redis-server` (Debian's package; `.ci/run` installs it): skipped with a message when
//! absent, unless `CI` is set.

mod common;

use common::{mlp_input, models_dir, start_redis, start_worker, temp_dir, Node};
use std::time::{Duration, Instant};
use zkinfer_node::queue;
use zkinfer_node::receipt::{tensor_hash, Receipt};
use zkinfer_verifier::{ProofFile, VerifyingKeyFile};

#[test]
fn workers_on_a_redis_stream_finish_every_job_once_even_when_one_is_killed() {
    let Some((_redis, url)) = start_redis() else {
        return;
    };
    let data = temp_dir("queue");
    let node = Node::start(&data, &["--queue", &url], &[]);
    let mut con = queue::connect(&url).unwrap();

    // Worker a holds each job 4 s (a test hook), so the kill lands mid-job.
    let mut a = start_worker(
        &url,
        models_dir(),
        "a",
        &[("ZKINFER_NODE_TEST_PROVE_DELAY_MS", "4000")],
    );
    let (code, first) = node.post("/v1/models/mlp/infer?prove=true", &mlp_input());
    assert_eq!(code, 200, "{first}");
    let first_job = first["job_id"].as_str().unwrap().to_string();
    let start = Instant::now();
    while node.get(&format!("/v1/jobs/{first_job}")).1["status"] != "running" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "worker a never started the job"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    a.0.kill().unwrap();
    a.0.wait().unwrap();

    // Worker b takes the orphaned job over and the new ones.
    let _b = start_worker(&url, models_dir(), "b", &[]);
    let mut served = vec![first];
    for _ in 0..4 {
        let (code, v) = node.post("/v1/models/mlp/infer", &mlp_input());
        assert_eq!(code, 200, "{v}");
        let id = v["request_id"].as_str().unwrap();
        let (code, c) = node.post(&format!("/v1/requests/{id}/prove"), "");
        assert_eq!(code, 202, "{c}");
        let mut v = v;
        v["job_id"] = c["job_id"].clone();
        served.push(v);
    }
    let vk = VerifyingKeyFile::read(&models_dir().join("mlp.vk")).unwrap();
    for v in &served {
        let job = node.wait_job(v["job_id"].as_str().unwrap(), Duration::from_secs(120));
        assert_eq!(job["status"], "done", "{job}");
        let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
        let proof = ProofFile::from_json(&job["proof"].to_string()).unwrap();
        zkinfer_verifier::verify(&vk, &proof).unwrap();
        assert_eq!(tensor_hash(&proof.output.quantized), receipt.output_hash);
        assert_eq!(tensor_hash(&proof.input.quantized), receipt.input_hash);
        // Recorded once: the worker that finished it is b, and a second result is refused.
        let r = queue::result(&mut con, job["job_id"].as_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r.worker, "b");
        assert!(!queue::record(&mut con, job["job_id"].as_str().unwrap(), &r).unwrap());
    }
    // Nothing in flight: every entry was acknowledged.
    let start = Instant::now();
    while queue::pending(&mut con).unwrap() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "entries left pending"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, m) = node.get("/metrics");
    assert!(
        m.as_str()
            .unwrap()
            .contains("zkinfer_jobs{state=\"done\"} 5"),
        "{m}"
    );
}
