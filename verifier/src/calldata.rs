//! Arguments for the exported Solidity verifier, and the EVM encoding of points they use.

use ark_bn254::{G1Affine, G2Affine};
use ark_ec::AffineRepr;
use serde_json::{json, Value};

use crate::error::VerifyError;
use crate::field::{fq_to_decimal, fr_to_decimal};
use crate::keys::Proof;
use crate::proof_file::ProofFile;
use crate::verifier::check_statement;
use crate::vk_file::VerifyingKeyFile;

/// A G1 point as the EIP-196/197 precompiles take it: `[x, y]` in decimal, `[0, 0]` for infinity.
pub fn g1_to_evm(p: &G1Affine) -> [String; 2] {
    let Some((x, y)) = p.xy() else {
        return ["0".into(), "0".into()];
    };
    [fq_to_decimal(&x), fq_to_decimal(&y)]
}

/// A G2 point as EIP-197 takes it: `[x.c1, x.c0, y.c1, y.c0]` (imaginary part first) in
/// decimal, all zero for infinity.
pub fn g2_to_evm(p: &G2Affine) -> [String; 4] {
    let Some((x, y)) = p.xy() else {
        return ["0".into(), "0".into(), "0".into(), "0".into()];
    };
    [
        fq_to_decimal(&x.c1),
        fq_to_decimal(&x.c0),
        fq_to_decimal(&y.c1),
        fq_to_decimal(&y.c0),
    ]
}

/// The proof as the Solidity verifier's `uint256[8] proof`: A.x, A.y, B.x as [c1, c0],
/// B.y as [c1, c0], C.x, C.y, in decimal.
pub fn proof_to_evm(proof: &Proof) -> Vec<String> {
    let mut out = Vec::with_capacity(8);
    out.extend(g1_to_evm(&proof.a));
    out.extend(g2_to_evm(&proof.b));
    out.extend(g1_to_evm(&proof.c));
    out
}

/// `{"proof": [8 decimal strings], "input": [N decimal strings]}`: the arguments of
/// `verifyProof` in the contract [`crate::export_solidity`] writes for this key.
///
/// Needs the `.vk` because the packing's bit widths are in its layout, not in proof.json.
/// Runs every check of [`crate::verify`] except the pairing (so a proof for another circuit,
/// or values outside their bits, are refused here rather than producing calldata that fails).
pub fn calldata(vk: &VerifyingKeyFile, proof: &ProofFile) -> Result<Value, VerifyError> {
    let (decoded, inputs) = check_statement(vk, proof)?;
    let input: Vec<String> = inputs.iter().map(fr_to_decimal).collect();
    Ok(json!({ "proof": proof_to_evm(&decoded), "input": input }))
}
