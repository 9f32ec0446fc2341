//! Our Poseidon sponge (`zkinfer_verifier::poseidon`, on light-poseidon) against an
//! implementation we did not write: `poseidon-lite`'s `poseidon12` (circomlib's Poseidon in
//! JavaScript), driven through the same sponge order by a Node script, compared as decimals.
//!
//! Needs `.ci/install-node-tools.sh` (poseidon-lite); skipped with a message when absent, unless
//! `CI` is set.

mod common;

use std::process::Command;

use ark_bn254::Fr;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use ark_std::UniformRand;
use common::node_tool;
use zkinfer_verifier::poseidon::hash_elements;

/// The sponge of `zkinfer_verifier::poseidon`'s documentation, written again in JavaScript on
/// poseidon-lite: h = n; for each chunk of 11 (zero-padded; one zero chunk when n = 0):
/// h = poseidon12([h, ...chunk]).
const SCRIPT: &str = r#"
const { poseidon12 } = require(process.argv[2]);
const vectors = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
const RATE = 11;
const out = vectors.map((strings) => {
  const e = strings.map((s) => BigInt(s));
  let h = BigInt(e.length);
  const chunks = [];
  for (let i = 0; i < e.length; i += RATE) chunks.push(e.slice(i, i + RATE));
  if (chunks.length === 0) chunks.push([]);
  for (const c of chunks) {
    const inputs = [h, ...c];
    while (inputs.length < RATE + 1) inputs.push(0n);
    h = poseidon12(inputs);
  }
  return h.toString();
});
process.stdout.write(JSON.stringify(out));
"#;

/// A field element as a decimal string (its canonical integer).
fn decimal(x: &Fr) -> String {
    x.to_string()
}

#[test]
fn decimal_strings_are_canonical_integers() {
    assert_eq!(decimal(&Fr::from(0u64)), "0");
    assert_eq!(decimal(&Fr::from(12345u64)), "12345");
    assert_eq!(
        decimal(&-Fr::from(1u64)),
        "21888242871839275222246405745257275088548364400416034343698204186575808495616"
    );
}

#[test]
fn sponge_matches_poseidon_lite() {
    let Some(lib) = node_tool("poseidon-lite", "index.js") else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(2024);
    let mut vectors: Vec<Vec<Fr>> = [0usize, 1, 11, 12, 30]
        .iter()
        .map(|&n| (0..n).map(|_| Fr::rand(&mut rng)).collect())
        .collect();
    // Edge values: zeros (padding look-alikes), the largest element, small integers.
    vectors.push(vec![Fr::from(0u64); 11]);
    vectors.push(vec![-Fr::from(1u64); 12]);
    vectors.push((1..=23u64).map(Fr::from).collect());

    let dir = std::env::temp_dir().join(format!("zkinfer-poseidon-lite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("sponge.js");
    let input = dir.join("vectors.json");
    std::fs::write(&script, SCRIPT).unwrap();
    let strings: Vec<Vec<String>> = vectors
        .iter()
        .map(|v| v.iter().map(decimal).collect())
        .collect();
    std::fs::write(&input, serde_json::to_string(&strings).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .arg(&lib)
        .arg(&input)
        .output()
        .expect("run node");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "node failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<String> = serde_json::from_slice(&out.stdout).expect("a JSON list of hashes");
    assert_eq!(theirs.len(), vectors.len());
    for (v, t) in vectors.iter().zip(&theirs) {
        let ours = decimal(&hash_elements(v));
        assert_eq!(&ours, t, "{} elements", v.len());
    }
    println!(
        "poseidon-lite agrees on {} vectors (lengths {:?})",
        vectors.len(),
        vectors.iter().map(Vec::len).collect::<Vec<_>>()
    );
}
