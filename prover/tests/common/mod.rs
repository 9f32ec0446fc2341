//! Shared by the prover's integration tests: fixtures and the Node tools CI installs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use zkinfer_circuits::{BitsPolicy, CircuitFile, Settings};

/// A file of the repository's `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

/// The digits MLP fixture compiled at `--input-bits 9` with worst-case bits.
pub fn mlp_circuit() -> CircuitFile {
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
    CircuitFile::new(g, &bytes)
}

/// The float input of a fixture's `input.json`.
pub fn fixture_input(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(fixture(&format!("{name}/input.json"))).unwrap();
    zkinfer_circuits::input::parse_input_json(&text).unwrap()
}

/// A Node tool installed by `.ci/install-node-tools.sh` (or under `$ZKINFER_NODE_TOOLS`), e.g.
/// `node_tool("snarkjs", "cli.js")`. `None` with a SKIPPED message when it (or node) is
/// missing; a panic instead when `CI` is set, since CI must run every check.
pub fn node_tool(package: &str, bin_path: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ZKINFER_NODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/node"));
    let path = root.join("node_modules").join(package).join(bin_path);
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if path.exists() && node {
        return Some(path);
    }
    let why = format!(
        "{} (or node) not found; run .ci/install-node-tools.sh or set ZKINFER_NODE_TOOLS",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and a required tool is missing: {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}
