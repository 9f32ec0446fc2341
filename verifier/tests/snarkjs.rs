//! Our snarkjs export checked by snarkjs itself (an independent Groth16 implementation, in
//! JavaScript): a valid proof verifies, a tampered public.json or proof does not.
//!
//! Needs `.ci/install-node-tools.sh` (snarkjs); skipped with a message when absent, unless `CI` is set.

mod common;

use std::path::Path;
use std::process::Command;

use common::{digits_layout, node_tool, toy_with_proof};
use zkinfer_verifier::export_snarkjs;

/// Runs `snarkjs groth16 verify` in `dir`; true when it exits 0 and says OK.
fn snarkjs_verify(cli: &Path, dir: &Path) -> bool {
    let out = Command::new("node")
        .arg(cli)
        .args([
            "groth16",
            "verify",
            "verification_key.json",
            "public.json",
            "proof.json",
        ])
        .current_dir(dir)
        .output()
        .expect("run snarkjs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("snarkjs: {}", text.trim());
    out.status.success() && text.contains("OK")
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn snarkjs_accepts_our_export_and_rejects_tampering() {
    let Some(cli) = node_tool("snarkjs", "build/cli.cjs") else {
        return;
    };
    let (toy, pf) = toy_with_proof(digits_layout(), 7);
    let dir = std::env::temp_dir().join(format!("zkinfer-snarkjs-{}", std::process::id()));
    export_snarkjs(&toy.vk_file, &pf, &dir).unwrap();
    let public: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("public.json")).unwrap()).unwrap();
    assert_eq!(public.len(), 4);
    assert!(
        snarkjs_verify(&cli, &dir),
        "snarkjs must accept a valid proof"
    );

    // A public input replaced by another valid field element.
    let original = std::fs::read_to_string(dir.join("public.json")).unwrap();
    edit_json(&dir.join("public.json"), |v| {
        let other = if v[3] == "12345" { "12346" } else { "12345" };
        v[3] = serde_json::Value::String(other.into());
    });
    assert!(
        !snarkjs_verify(&cli, &dir),
        "snarkjs must reject a changed public input"
    );
    std::fs::write(dir.join("public.json"), original).unwrap();

    // C replaced by A: a valid point, the wrong one.
    edit_json(&dir.join("proof.json"), |v| v["pi_c"] = v["pi_a"].clone());
    assert!(
        !snarkjs_verify(&cli, &dir),
        "snarkjs must reject a tampered proof"
    );

    // A statement that verify() refuses is not exported.
    let mut other = pf.clone();
    other.circuit = "00".repeat(32);
    assert!(export_snarkjs(&toy.vk_file, &other, &dir.join("refused")).is_err());
    assert!(!dir.join("refused").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The digits MLP as zkinfer's CLI proves it (fixtures/mlp/model.vk + proof.json) verifies
/// under snarkjs too: our real proofs are standard Groth16.
#[test]
fn snarkjs_accepts_the_digits_fixture() {
    let Some(cli) = node_tool("snarkjs", "build/cli.cjs") else {
        return;
    };
    let fixture = |f: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/mlp")
            .join(f)
    };
    let vk = zkinfer_verifier::VerifyingKeyFile::read(&fixture("model.vk")).unwrap();
    let pf = zkinfer_verifier::ProofFile::read(&fixture("proof.json")).unwrap();
    let dir = std::env::temp_dir().join(format!("zkinfer-snarkjs-digits-{}", std::process::id()));
    export_snarkjs(&vk, &pf, &dir).unwrap();
    assert!(
        snarkjs_verify(&cli, &dir),
        "snarkjs must accept the digits proof"
    );
    edit_json(&dir.join("proof.json"), |v| v["pi_c"] = v["pi_a"].clone());
    assert!(
        !snarkjs_verify(&cli, &dir),
        "snarkjs must reject a tampered digits proof"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
