//! Shared by the node's service tests: models directories (the digits MLP as one circuit, and
//! cut into two segments, each compiled and set up once per test binary), a node process on a
//! free loopback port, and for the queue tests `redis-server` and workers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use zkinfer_circuits::{BitsPolicy, CircuitFile, Settings};

/// The bearer token the test nodes use.
pub const TOKEN: &str = "test-token";

/// A file of the repository's `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

/// A fresh temporary directory (process id and a per-process counter: unique across the
/// test binaries running at once).
pub fn temp_dir(tag: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("zkinfer-node-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `mlp.zkc`, `mlp.pk`, `mlp.vk` (digits MLP at `--input-bits 9`), made once.
pub fn models_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("models");
        let bytes = std::fs::read(fixture("mlp/model.onnx")).unwrap();
        let settings = Settings {
            input_bits: 9,
            ..Settings::default()
        };
        let g = zkinfer_circuits::compile_calibrated(
            &bytes,
            &settings,
            &BitsPolicy::WorstCase { max_bits: 48 },
        )
        .unwrap()
        .graph;
        let c = CircuitFile::new(g, &bytes);
        std::fs::write(dir.join("mlp.zkc"), c.to_bytes()).unwrap();
        let (pk, vk) = zkinfer_prover::setup(&c, &mut rand::rngs::OsRng).unwrap();
        pk.write(&dir.join("mlp.pk")).unwrap();
        vk.write(&dir.join("mlp.vk")).unwrap();
        dir
    })
}

/// `mlpseg.zkc`, `mlpseg.pk` (a key bundle), `mlpseg.vk`: the digits MLP cut into two
/// segments (`--max-constraints 1500`), made once.
pub fn segmented_models_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("segmodels");
        let bytes = std::fs::read(fixture("mlp/model.onnx")).unwrap();
        let settings = Settings {
            input_bits: 9,
            ..Settings::default()
        };
        let mut g = zkinfer_circuits::compile_calibrated(
            &bytes,
            &settings,
            &BitsPolicy::WorstCase { max_bits: 48 },
        )
        .unwrap()
        .graph;
        let size = zkinfer_circuits::measure(&g).unwrap();
        let first = size.per_layer[0].1;
        let last = size.per_layer[size.per_layer.len() - 1].1;
        g.segments =
            zkinfer_circuits::segment::plan(&g, &size.per_node, first, last, 1500).segments;
        assert_eq!(g.segments.len(), 2, "the MLP cuts into two segments");
        let c = CircuitFile::new(g, &bytes);
        std::fs::write(dir.join("mlpseg.zkc"), c.to_bytes()).unwrap();
        let vk = zkinfer_prover::segmented::setup_segments(
            &c,
            &dir.join("mlpseg.pk"),
            &mut rand::rngs::OsRng,
            |_, _, _| {},
        )
        .unwrap();
        vk.write(&dir.join("mlpseg.vk")).unwrap();
        dir
    })
}

/// A running node; killed (SIGKILL) when dropped.
pub struct Node {
    pub child: Child,
    pub url: String,
}

impl Node {
    /// Starts `zkinfer-node serve` on [`models_dir`]: see [`Node::start_with`].
    pub fn start(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        Node::start_with(models_dir(), data, args, env)
    }

    /// Starts `zkinfer-node serve` on 127.0.0.1 with a free port (the OS picks it), with
    /// extra arguments and environment; waits for its "listening on" line.
    pub fn start_with(models: &Path, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkinfer-node"));
        cmd.args(["serve", "--models"])
            .arg(models)
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start zkinfer-node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Node { child, url }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let r = ureq::post(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .set("Content-Type", "application/json")
            .send_string(body);
        response(r)
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        response(ureq::get(&format!("{}{path}", self.url)).call())
    }

    /// Polls a job until it is done or failed (panics after `timeout`).
    pub fn wait_job(&self, id: &str, timeout: Duration) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let (code, v) = self.get(&format!("/v1/jobs/{id}"));
            assert_eq!(code, 200, "{v}");
            if v["status"] == "done" || v["status"] == "failed" {
                return v;
            }
            assert!(start.elapsed() < timeout, "job {id} still {}", v["status"]);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn response(r: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let code = resp.status();
    let text = resp.into_string().unwrap();
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (code, v)
}

/// The MLP fixture's input body.
pub fn mlp_input() -> String {
    std::fs::read_to_string(fixture("mlp/input.json")).unwrap()
}

/// A child process killed (SIGKILL) when dropped, a failing test included.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `redis-server` on a free loopback port, no persistence; `None` (skipped) when absent,
/// unless `CI` is set.
pub fn start_redis() -> Option<(Killed, String)> {
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
    while zkinfer_node::queue::connect(&url).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((Killed(child), url))
}

/// A `zkinfer-node worker` named `name` on `models` (killed when dropped); waits for its
/// first line.
pub fn start_worker(url: &str, models: &Path, name: &str, env: &[(&str, &str)]) -> Killed {
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
    .arg(models)
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
