//! Proving on workers through Redis Streams, for real: a `redis-server` on a free loopback
//! port, a node with `--queue`, and two workers, the first killed (SIGKILL) in the middle of a
//! job. Its job is taken over by the second after the idle timeout, and every job completes
//! exactly once: done in the node, its proof verifying and bound to its receipt, nothing left
//! pending in the stream, and a second result for a job is not recorded.
//!
//! Needs `redis-server` (Debian's package; `.ci/run` installs it): skipped with a message when
//! absent, unless `CI` is set.

mod common;

use common::{mlp_input, models_dir, temp_dir, Node};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zkinfer_node::queue;
use zkinfer_node::receipt::{tensor_hash, Receipt};
use zkinfer_verifier::{ProofFile, VerifyingKeyFile};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `redis-server` on a free loopback port, no persistence; `None` (skipped) when absent.
fn start_redis() -> Option<(Killed, String)> {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        let why = "redis-server not found (Debian package redis-server; .ci/run installs it)";
        if std::env::var_os("CI").is_some() {
            panic!("CI is set and a required tool is missing: {why}");
        }
        eprintln!("SKIPPED: {why}");
        return None;
    }
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("redis://127.0.0.1:{port}");
    let start = Instant::now();
    while queue::connect(&url).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((Killed(child), url))
}

/// A `zkinfer-node worker` (killed when dropped, a failing test included); waits for its
/// first line.
fn start_worker(url: &str, name: &str, env: &[(&str, &str)]) -> Killed {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkinfer-node"));
    cmd.args([
        "worker",
        "--queue",
        url,
        "--name",
        name,
        "--claim-idle-ms",
        "2000",
    ])
    .arg("--models")
    .arg(models_dir())
    .stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut worker = Killed(cmd.spawn().unwrap());
    let mut line = String::new();
    BufReader::new(worker.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("zkinfer worker"), "{line}");
    worker
}

#[test]
fn workers_on_a_redis_stream_finish_every_job_once_even_when_one_is_killed() {
    let Some((_redis, url)) = start_redis() else {
        return;
    };
    let data = temp_dir("queue");
    let node = Node::start(&data, &["--queue", &url], &[]);
    let mut con = queue::connect(&url).unwrap();

    // Worker a holds each job 4 s (a test hook), so the kill lands mid-job.
    let mut a = start_worker(&url, "a", &[("ZKINFER_NODE_TEST_PROVE_DELAY_MS", "4000")]);
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
    let _b = start_worker(&url, "b", &[]);
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
