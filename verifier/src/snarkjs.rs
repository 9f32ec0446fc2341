//! Export to snarkjs's Groth16 JSON, so an independent implementation can check our proofs.

use std::path::Path;

use ark_bn254::{Bn254, Fq2, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use serde_json::{json, Value};

use crate::error::VerifyError;
use crate::field::{fq_to_decimal, fr_to_decimal};
use crate::keys::{Proof, VerifyingKey};
use crate::proof_file::ProofFile;
use crate::verifier::check_statement;
use crate::vk_file::VerifyingKeyFile;

/// A G1 point in snarkjs's projective JSON: `[x, y, "1"]`, infinity as `["0", "1", "0"]`.
fn g1_json(p: &G1Affine) -> Value {
    let Some((x, y)) = p.xy() else {
        return json!(["0", "1", "0"]);
    };
    json!([fq_to_decimal(&x), fq_to_decimal(&y), "1"])
}

fn fq2_json(x: &Fq2) -> Value {
    // snarkjs writes an Fq2 element real part first: [c0, c1] (the EVM order is the reverse).
    json!([fq_to_decimal(&x.c0), fq_to_decimal(&x.c1)])
}

/// A G2 point in snarkjs's projective JSON: `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`.
fn g2_json(p: &G2Affine) -> Value {
    let Some((x, y)) = p.xy() else {
        return json!([["0", "0"], ["1", "0"], ["0", "0"]]);
    };
    json!([fq2_json(&x), fq2_json(&y), ["1", "0"]])
}

/// snarkjs's `verification_key.json` for `vk`. `vk_alphabeta_12` is `e(alpha, beta)` laid out
/// as snarkjs does (Fq12 = Fq6[w], Fq6 = Fq2[v]); snarkjs's verifier recomputes it rather than
/// reading it, so it is informational.
pub fn snarkjs_verification_key(vk: &VerifyingKey) -> Value {
    let ab = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    let fq6 = |x: &ark_bn254::Fq6| json!([fq2_json(&x.c0), fq2_json(&x.c1), fq2_json(&x.c2)]);
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.num_public_inputs(),
        "vk_alpha_1": g1_json(&vk.alpha_g1),
        "vk_beta_2": g2_json(&vk.beta_g2),
        "vk_gamma_2": g2_json(&vk.gamma_g2),
        "vk_delta_2": g2_json(&vk.delta_g2),
        "vk_alphabeta_12": [fq6(&ab.c0), fq6(&ab.c1)],
        "IC": vk.gamma_abc_g1.iter().map(g1_json).collect::<Vec<_>>(),
    })
}

/// snarkjs's `proof.json` for `proof`.
pub fn snarkjs_proof(proof: &Proof) -> Value {
    json!({
        "pi_a": g1_json(&proof.a),
        "pi_b": g2_json(&proof.b),
        "pi_c": g1_json(&proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

fn write_json(dir: &Path, name: &str, v: &Value) -> Result<(), VerifyError> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(v).expect("a serde_json::Value always serialises");
    std::fs::write(&path, text)
        .map_err(|e| VerifyError::bad(format!("cannot write {}: {e}", path.display())))
}

/// Writes `verification_key.json`, `proof.json` and `public.json` (decimal strings) into `dir`
/// (created if missing), for `snarkjs groth16 verify verification_key.json public.json proof.json`.
/// The key carries a `zkinfer` field (`{"circuit": digest hex, "layout": ..}`, as in the `.vk`)
/// that snarkjs ignores.
///
/// Runs every check of [`crate::verify`] except the pairing first, so what is exported is the
/// statement `verify` would check; it does not claim the proof verifies.
pub fn export_snarkjs(
    vk: &VerifyingKeyFile,
    proof: &ProofFile,
    dir: &Path,
) -> Result<(), VerifyError> {
    let (decoded, inputs) = check_statement(vk, proof)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| VerifyError::bad(format!("cannot create {}: {e}", dir.display())))?;
    // snarkjs ignores fields it does not know; the digest and the layout let a client (the
    // browser page) rebuild the public inputs from a proof.json with this key alone, as the
    // `.vk` does, instead of guessing the packing.
    let mut key = snarkjs_verification_key(&vk.vk);
    key["zkinfer"] = json!({"circuit": vk.digest_hex(), "layout": vk.layout});
    write_json(dir, "verification_key.json", &key)?;
    write_json(dir, "proof.json", &snarkjs_proof(&decoded))?;
    let public: Vec<String> = inputs.iter().map(fr_to_decimal).collect();
    write_json(dir, "public.json", &json!(public))
}
