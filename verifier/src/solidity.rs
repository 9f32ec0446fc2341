//! A Solidity verifier for a verifying key, on the EVM's BN254 precompiles.
//!
//! Gas: the pairing precompile costs 45,000 + 34,000 per pair (4 pairs: 181,000) and each public
//! input an ecMul (6,000) and an ecAdd (150), so the contract is straight-line assembly with the
//! key's points as literals (no storage reads, no loops) and memory laid out so that no point is
//! copied between precompile calls. That is why public inputs are packed (see `layout`).
//!
//! Failure semantics: every check that can tell an invalid proof apart (canonical coordinates
//! and inputs, points on the curve and twist) runs in the contract before any precompile call
//! and answers false; a precompile call that fails afterwards reverts (see [`export_solidity`]),
//! so that running out of gas can never turn a valid proof into `false`. The point checks add
//! 200 to 450 gas per call (measured in `tests/evm.rs`).

use std::fmt::Write;

use ark_bn254::{Fq, Fr, G2Affine};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::PrimeField;

use crate::calldata::{g1_to_evm, g2_to_evm};
use crate::field::fq_to_decimal;
use crate::keys::VerifyingKey;
use crate::vk_file::VerifyingKeyFile;

/// Calldata offset of `proof` (after the 4-byte selector).
const PROOF_OFFSET: usize = 0x04;
/// Calldata offset of `input`: both arguments are static arrays, encoded in place.
const INPUT_OFFSET: usize = PROOF_OFFSET + 8 * 0x20;
/// Memory of the pairing input: 4 pairs of (G1: 2 words, G2: 4 words).
const PAIRING_INPUT: usize = 0x100;
const PAIR_BYTES: usize = 6 * 0x20;

fn neg_g2(p: &G2Affine) -> G2Affine {
    (-p.into_group()).into_affine()
}

/// Appends `mstore(offset, value)` lines for consecutive words, each with a comment.
fn mstores(out: &mut String, offset: usize, words: &[String], names: &[String], indent: &str) {
    for (i, (w, n)) in words.iter().zip(names).enumerate() {
        let _ = writeln!(out, "{indent}mstore({:#x}, {w}) // {n}", offset + i * 0x20);
    }
}

/// Where consecutive 32-byte words lie in calldata: from a fixed offset, or from a Yul
/// expression (a dynamic calldata array's `.offset`) plus a fixed offset.
#[derive(Clone, Debug)]
pub(crate) struct Words {
    base: Option<String>,
    offset: usize,
}

impl Words {
    /// Words from calldata offset `offset`.
    pub(crate) fn fixed(offset: usize) -> Self {
        Words { base: None, offset }
    }

    /// Words from the calldata offset the Yul expression `base` evaluates to, plus `offset`.
    pub(crate) fn at(base: &str, offset: usize) -> Self {
        Words {
            base: Some(base.to_string()),
            offset,
        }
    }

    /// The Yul expression of word `k`'s calldata offset.
    pub(crate) fn addr(&self, k: usize) -> String {
        let off = self.offset + k * 0x20;
        match &self.base {
            None => format!("{off:#x}"),
            Some(b) if off == 0 => b.clone(),
            Some(b) => format!("add({b}, {off:#x})"),
        }
    }

    /// The Yul expression that loads word `k`.
    pub(crate) fn load(&self, k: usize) -> String {
        format!("calldataload({})", self.addr(k))
    }
}

/// Appends the definitions of `q` (base field modulus) and `r` (scalar field modulus).
pub(crate) fn moduli(s: &mut String, i8: &str) {
    // `callvalue()` is 0 here (the function is not payable, so Solidity has already refused any
    // value), but the optimizer cannot know it: each modulus stays one stack value. As a plain
    // literal it would be copied into every use, and solc's constant optimizer (runs = 200) turns
    // each copy into a CODECOPY + MLOAD of about 25 gas.
    let _ = writeln!(
        s,
        "{i8}// callvalue() is 0 (not payable); it keeps each modulus one stack value rather than a"
    );
    let _ = writeln!(
        s,
        "{i8}// constant the optimizer would load from code at every use."
    );
    // `ok` goes last in every `and(check, ok)`: once the optimizer joins the chain into one
    // expression, that order evaluates it with a shallow stack (`and(ok, check)` would push every
    // check first, and the optimizer would then re-create the moduli at each use).
    let _ = writeln!(
        s,
        "{i8}let q := add({}, callvalue()) // base field modulus",
        Fq::MODULUS
    );
    let _ = writeln!(
        s,
        "{i8}let r := add({}, callvalue()) // scalar field modulus",
        Fr::MODULUS
    );
}

/// Appends the checks that the proof's 8 coordinates are below q, folded into `ok` (declared
/// here by the first check when `declare`).
pub(crate) fn coordinate_checks(s: &mut String, i8: &str, proof: &Words, declare: bool) {
    for k in 0..8 {
        if k == 0 && declare {
            let _ = writeln!(s, "{i8}let ok := lt({}, q)", proof.load(0));
        } else {
            let _ = writeln!(s, "{i8}ok := and(lt({}, q), ok)", proof.load(k));
        }
    }
}

/// Appends the checks that each public input (a Yul expression) is below r, folded into `ok`.
pub(crate) fn input_checks(s: &mut String, i8: &str, inputs: &[String]) {
    for x in inputs {
        let _ = writeln!(s, "{i8}ok := and(lt({x}, r), ok)");
    }
}

/// Appends the checks that A and C are on the curve and B on the twist (or the point at
/// infinity, all-zero coordinates, as EIP-196/197 encode it), folded into `ok`.
///
/// G1 has cofactor 1, so a G1 point on the curve is in the group; for G2 only the pairing
/// precompile checks the subgroup. Values not below q already cleared `ok`; `mulmod` and `addmod`
/// accept them, so no order between the checks is needed.
pub(crate) fn on_curve_checks(s: &mut String, i8: &str, proof: &Words) {
    let b = <ark_bn254::g2::Config as SWCurveConfig>::COEFF_B;
    let word = |k: usize| proof.load(k);
    let _ = writeln!(
        s,
        "{i8}// A and C on y^2 = x^3 + 3, B on the twist y^2 = x^3 + 3 / (9 + u) over Fq2 (u^2 = -1);"
    );
    let _ = writeln!(
        s,
        "{i8}// all-zero coordinates are the point at infinity. Off-curve points give false here."
    );
    for (name, k) in [("A", 0), ("C", 6)] {
        let _ = writeln!(s, "{i8}{{ // {name}");
        let _ = writeln!(s, "{i8}    let x := {}", word(k));
        let _ = writeln!(s, "{i8}    let y := {}", word(k + 1));
        let _ = writeln!(
            s,
            "{i8}    ok := and(or(iszero(or(x, y)), eq(mulmod(y, y, q), addmod(mulmod(x, mulmod(x, x, q), q), 3, q))), ok)"
        );
        let _ = writeln!(s, "{i8}}}");
    }
    let _ = writeln!(s, "{i8}{{ // B");
    let _ = writeln!(s, "{i8}    let x1 := {}", word(2));
    let _ = writeln!(s, "{i8}    let x0 := {}", word(3));
    let _ = writeln!(s, "{i8}    let y1 := {}", word(4));
    let _ = writeln!(s, "{i8}    let y0 := {}", word(5));
    let _ = writeln!(s, "{i8}    // x^2 = t0 + t1 u");
    let _ = writeln!(
        s,
        "{i8}    let t0 := addmod(mulmod(x0, x0, q), sub(q, mulmod(x1, x1, q)), q)"
    );
    let _ = writeln!(s, "{i8}    let t1 := mulmod(addmod(x0, x0, q), x1, q)");
    let _ = writeln!(s, "{i8}    // x^3 + b = (t0 + t1 u)(x0 + x1 u) + b");
    let _ = writeln!(
        s,
        "{i8}    let r0 := addmod(addmod(mulmod(t0, x0, q), sub(q, mulmod(t1, x1, q)), q), {}, q)",
        fq_to_decimal(&b.c0)
    );
    let _ = writeln!(
        s,
        "{i8}    let r1 := addmod(addmod(mulmod(t0, x1, q), mulmod(t1, x0, q), q), {}, q)",
        fq_to_decimal(&b.c1)
    );
    let _ = writeln!(s, "{i8}    // y^2 = (y0^2 - y1^2) + 2 y0 y1 u");
    let _ = writeln!(
        s,
        "{i8}    let on := and(eq(addmod(mulmod(y0, y0, q), sub(q, mulmod(y1, y1, q)), q), r0), eq(mulmod(addmod(y0, y0, q), y1, q), r1))"
    );
    let _ = writeln!(
        s,
        "{i8}    ok := and(or(iszero(or(or(x0, x1), or(y0, y1))), on), ok)"
    );
    let _ = writeln!(s, "{i8}}}");
}

/// A self-contained Solidity (`^0.8.0`) contract `ZkinferVerifier` that verifies Groth16 proofs
/// for `vk`, using the EIP-196/197 precompiles (0x06 add, 0x07 mul, 0x08 pairing):
///
/// `function verifyProof(uint256[8] calldata proof, uint256[N] calldata input) public view returns (bool)`
///
/// with N the key's number of public inputs (for N = 0 the argument is `uint256[] calldata input`
/// and must be empty). Proof order: A.x, A.y, B.x as [c1, c0], B.y as [c1, c0], C.x, C.y (as
/// [`crate::calldata()`] writes it).
///
/// Outcomes:
/// - `true` exactly when the proof verifies.
/// - `false`, without reverting, when the proof or input is invalid in a way the contract checks
///   itself before any precompile call: an input not below the scalar-field modulus, a proof
///   coordinate not below the base-field modulus, A or C not on `y^2 = x^3 + 3` (nor `(0, 0)`),
///   B not on the twist `y^2 = x^3 + 3 / (9 + u)` over Fq2 (nor all zero); and when every
///   precompile call succeeds but the pairing check yields 0 (a wrong proof).
/// - a revert (no return data) when a precompile call itself fails. After the checks above its
///   inputs are valid, so that is out of gas, or B on the twist but outside the prime-order
///   subgroup (the only check left to the pairing precompile: doing it in the contract would take
///   a G2 scalar multiplication, tens of thousands of gas). A relayer that forwards too little gas therefore
///   cannot make a valid proof read as invalid: the call reverts and can be retried. Calldata
///   too short for the ABI also reverts (Solidity's decoder).
///
/// Everything is straight-line code: about 120 bytes of bytecode per public input, so
/// EIP-170's 24 KiB limit on deployed code is reached near 190 public inputs.
pub fn export_solidity(vk: &VerifyingKeyFile) -> String {
    let key = &vk.vk;
    let n = key.num_public_inputs();
    let mut s = String::new();
    let layout = &vk.layout;
    let _ = write!(
        s,
        r#"// SPDX-License-Identifier: MIT
// Generated by zkinfer-verifier {version}: Groth16 (BN254) verifier for zkinfer circuit
// {digest}.
// Public inputs: {n} field elements packing the input tensor (shape {in_shape:?}, scale {in_scale},
// {in_bits} bits, {in_slots} per element) then the output tensor (shape {out_shape:?}, scale {out_scale},
// {out_bits} bits, {out_slots} per element); `zkinfer calldata` writes them.
pragma solidity ^0.8.0;

contract ZkinferVerifier {{
    /// @notice The zkinfer circuit digest (SHA-256 of the quantised circuit) this contract verifies.
    bytes32 public constant CIRCUIT_DIGEST = 0x{digest};

    /// @notice Number of public inputs `verifyProof` takes.
    uint256 public constant NUM_PUBLIC_INPUTS = {n};

    /// @notice True exactly when `proof` is valid for `input`. Returns false, without reverting,
    /// for coordinates >= the base field modulus, inputs >= the scalar field modulus, A or C off
    /// the curve, B off the twist (all checked here before any precompile call) and a pairing
    /// check that fails. REVERTS when a precompile call fails: out of gas (so too little gas can
    /// never make a valid proof read as invalid), or B on the twist but outside the G2 subgroup.
    /// @param proof A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y
    /// @param input the packed public inputs
    function verifyProof(uint256[8] calldata proof, {input_decl} calldata input) public view returns (bool) {{
"#,
        version = env!("CARGO_PKG_VERSION"),
        digest = vk.digest_hex(),
        in_shape = layout.input.shape,
        in_scale = layout.input.scale,
        in_bits = layout.input.bits,
        in_slots = layout.input.slots_per_element(),
        out_shape = layout.output.shape,
        out_scale = layout.output.scale,
        out_bits = layout.output.bits,
        out_slots = layout.output.slots_per_element(),
        input_decl = if n == 0 {
            "uint256[]".to_string()
        } else {
            format!("uint256[{n}]")
        },
    );
    // The arguments are read at fixed calldata offsets below; this keeps the compiler from
    // warning about unused names (and costs nothing).
    s.push_str("        proof; input;\n");
    if n == 0 {
        s.push_str("        if (input.length != 0) return false;\n");
    }
    s.push_str("        assembly {\n");
    let i8 = "            ";
    let proof = Words::fixed(PROOF_OFFSET);
    let inputs: Vec<(String, String)> = (0..n)
        .map(|k| (Words::fixed(INPUT_OFFSET).load(k), format!("input[{k}]")))
        .collect();
    moduli(&mut s, i8);
    let _ = writeln!(
        s,
        "{i8}// Proof coordinates must be canonical: an invalid proof gives false here, never a failed"
    );
    let _ = writeln!(s, "{i8}// precompile call (those revert, see below).");
    coordinate_checks(&mut s, i8, &proof, true);
    s.push_str(&format!(
        "{i8}// Inputs must be below r, or x and x + r would both verify.\n"
    ));
    let exprs: Vec<String> = inputs.iter().map(|(e, _)| e.clone()).collect();
    input_checks(&mut s, i8, &exprs);
    on_curve_checks(&mut s, i8, &proof);
    false_unless_ok(&mut s, i8);
    groth16_check(&mut s, i8, key, &proof, &inputs);
    let _ = writeln!(
        s,
        "{i8}return(0x00, 0x20) // the pairing's answer: 1, or 0 for a proof that does not verify"
    );
    s.push_str("        }\n    }\n}\n");
    s
}

/// Appends `return false` unless `ok`, and the comment on what follows (precompile calls that
/// revert when they fail).
pub(crate) fn false_unless_ok(s: &mut String, i8: &str) {
    let _ = writeln!(
        s,
        "{i8}if iszero(ok) {{ mstore(0x00, 0) return(0x00, 0x20) }}"
    );
    let _ = writeln!(
        s,
        "{i8}// From here every precompile input is valid (B's subgroup aside), so a failed call means"
    );
    let _ = writeln!(
        s,
        "{i8}// out of gas (or B outside the G2 subgroup): revert rather than call a valid proof invalid."
    );
}

/// Appends the Groth16 check of the proof at `proof` against `key` for `inputs` (Yul
/// expressions, each with a name for the comments): the input combination with the ecMul and
/// ecAdd precompiles, then the pairing precompile, whose answer (1 or 0) it leaves in memory
/// word 0x00. Every precompile call reverts when it fails. Uses memory from 0x100 to 0x400.
pub(crate) fn groth16_check(
    s: &mut String,
    i8: &str,
    key: &VerifyingKey,
    proof: &Words,
    inputs: &[(String, String)],
) {
    // The input combination accumulates where pair 3's G1 point goes, and each product lands
    // right after it, so ecAdd reads (acc, product) in place and writes acc back.
    let acc = PAIRING_INPUT + 3 * PAIR_BYTES;
    let tmp = acc + 0x40;
    let ic = &key.gamma_abc_g1;
    s.push_str(&format!(
        "{i8}// vk_x = IC[0] + sum input[i] * IC[i + 1], built in place as pair 3's G1 point.\n"
    ));
    if let Some(ic0) = ic.first() {
        mstores(
            s,
            acc,
            &g1_to_evm(ic0),
            &["IC[0].x".into(), "IC[0].y".into()],
            i8,
        );
    }
    for (k, (x, name)) in inputs.iter().enumerate() {
        let Some(point) = ic.get(k + 1) else {
            break;
        };
        let p = g1_to_evm(point);
        let _ = writeln!(s, "{i8}mstore({tmp:#x}, {}) // IC[{}].x", p[0], k + 1);
        let _ = writeln!(
            s,
            "{i8}mstore({:#x}, {}) // IC[{}].y",
            tmp + 0x20,
            p[1],
            k + 1
        );
        let _ = writeln!(s, "{i8}mstore({:#x}, {x}) // {name}", tmp + 0x40);
        let _ = writeln!(
            s,
            "{i8}if iszero(staticcall(gas(), 0x07, {tmp:#x}, 0x60, {tmp:#x}, 0x40)) {{ revert(0x00, 0x00) }}"
        );
        let _ = writeln!(
            s,
            "{i8}if iszero(staticcall(gas(), 0x06, {acc:#x}, 0x80, {acc:#x}, 0x40)) {{ revert(0x00, 0x00) }}"
        );
    }

    // e(A, B) · e(C, -delta) · e(alpha, -beta) · e(vk_x, -gamma) == 1. Negating the key's G2
    // points here (not A in the contract) keeps A = infinity encodable as (0, 0).
    let g1_names = |p: &str| [format!("{p}.x"), format!("{p}.y")];
    let g2_names = |p: &str| {
        [
            format!("{p}.x.c1"),
            format!("{p}.x.c0"),
            format!("{p}.y.c1"),
            format!("{p}.y.c0"),
        ]
    };
    s.push_str(&format!(
        "{i8}// Pairing check: e(A, B) * e(C, -delta) * e(alpha, -beta) * e(vk_x, -gamma) == 1.\n"
    ));
    let _ = writeln!(
        s,
        "{i8}calldatacopy({PAIRING_INPUT:#x}, {}, 0xc0) // A, B",
        proof.addr(0)
    );
    let p1 = PAIRING_INPUT + PAIR_BYTES;
    let _ = writeln!(s, "{i8}calldatacopy({p1:#x}, {}, 0x40) // C", proof.addr(6));
    mstores(
        s,
        p1 + 0x40,
        &g2_to_evm(&neg_g2(&key.delta_g2)),
        &g2_names("-delta"),
        i8,
    );
    let p2 = PAIRING_INPUT + 2 * PAIR_BYTES;
    mstores(s, p2, &g1_to_evm(&key.alpha_g1), &g1_names("alpha"), i8);
    mstores(
        s,
        p2 + 0x40,
        &g2_to_evm(&neg_g2(&key.beta_g2)),
        &g2_names("-beta"),
        i8,
    );
    mstores(
        s,
        acc + 0x40,
        &g2_to_evm(&neg_g2(&key.gamma_g2)),
        &g2_names("-gamma"),
        i8,
    );
    let _ = writeln!(
        s,
        "{i8}if iszero(staticcall(gas(), 0x08, {PAIRING_INPUT:#x}, {:#x}, 0x00, 0x20)) {{ revert(0x00, 0x00) }}",
        4 * PAIR_BYTES
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::VerifyingKey;
    use crate::layout::{PublicLayout, TensorLayout};
    use ark_bn254::G1Affine;

    fn vk_file(n_out: usize) -> VerifyingKeyFile {
        let layout = PublicLayout {
            input: TensorLayout {
                shape: vec![2],
                scale: 4,
                bits: 8,
            },
            output: TensorLayout {
                shape: vec![n_out],
                scale: 4,
                bits: 64,
            },
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        let n = layout.num_public_inputs();
        VerifyingKeyFile {
            digest: [7; 32],
            layout,
            vk: VerifyingKey {
                alpha_g1: g1,
                beta_g2: g2,
                gamma_g2: g2,
                delta_g2: g2,
                gamma_abc_g1: vec![g1; n + 1],
            },
        }
    }

    #[test]
    fn contract_has_one_mul_and_add_per_input_and_one_pairing() {
        // 2 inputs at 8 bits: 1 element; 5 outputs at 64 bits, 3 per element: 2 elements.
        let sol = export_solidity(&vk_file(5));
        assert!(sol.contains("uint256[3] calldata input"), "{sol}");
        assert_eq!(sol.matches("staticcall(gas(), 0x07").count(), 3);
        assert_eq!(sol.matches("staticcall(gas(), 0x06").count(), 3);
        assert_eq!(sol.matches("staticcall(gas(), 0x08").count(), 1);
        // Every precompile call reverts when it fails; none feeds `ok` (which would read as
        // false: a failed call is out of gas after the explicit point checks).
        assert_eq!(
            sol.matches("staticcall(").count(),
            sol.matches(")) { revert(0x00, 0x00) }").count()
        );
        assert_eq!(
            sol.matches("if iszero(staticcall(").count(),
            sol.matches("staticcall(").count()
        );
        // The twist's b = 3 / (9 + u) is checked against, as arkworks defines it.
        let b = <ark_bn254::g2::Config as SWCurveConfig>::COEFF_B;
        assert!(sol.contains(&fq_to_decimal(&b.c0)) && sol.contains(&fq_to_decimal(&b.c1)));
        assert_eq!(sol.matches(", r), ok)").count(), 3);
        assert!(sol.contains(&"07".repeat(32)));
        // The balance of braces is a cheap guard against a malformed template.
        assert_eq!(sol.matches('{').count(), sol.matches('}').count());
    }
}
