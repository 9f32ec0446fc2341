//! The exported Solidity verifier, compiled with solc-js and executed in revm: it accepts valid
//! proofs, returns false (without reverting) on tampered ones, reverts (never returns false) when
//! a precompile call fails, as when the gas runs out, and its gas is measured per input count.
//!
//! Needs `.ci/install-node-tools.sh` (solc); skipped with a message when absent, unless `CI` is set.

mod common;
#[path = "common/evm.rs"]
mod evm_util;

use std::collections::BTreeMap;

use ark_ff::{Field, One};
use common::{layout_with_inputs, node_tool, prove, sample_values, setup};
use evm_util::{add_dec, calldata_gas, compile, strings, word, CallOutcome, Chain, Q_DEC, R_DEC};
use revm::primitives::{Address, U256};
use zkinfer_verifier::calldata::g2_to_evm;
use zkinfer_verifier::{calldata, export_solidity, ProofFile, VerifyingKeyFile};

/// ABI encoding of `verifyProof(uint256[8], uint256[N])`: selector, then the words in place.
fn encode(sel: [u8; 4], proof: &[String], input: &[String]) -> Vec<u8> {
    let mut data = sel.to_vec();
    for s in proof.iter().chain(input) {
        data.extend_from_slice(&word(s));
    }
    data
}

/// One contract under test: its key, a valid proof for it, and the compiled contract.
struct Case {
    /// Number of public inputs.
    n: usize,
    /// The digits MLP fixture rather than a toy circuit.
    digits: bool,
    vk: VerifyingKeyFile,
    pf: ProofFile,
    code: Vec<u8>,
    sel: [u8; 4],
    deployed_size: usize,
}

impl Case {
    fn name(&self) -> String {
        if self.digits {
            format!("digits N={}", self.n)
        } else {
            format!("N={}", self.n)
        }
    }

    /// `(proof words, input words)` of the valid proof, in decimal.
    fn words(&self) -> (Vec<String>, Vec<String>) {
        let cd = calldata(&self.vk, &self.pf).unwrap();
        (strings(&cd["proof"]), strings(&cd["input"]))
    }
}

/// Toy keys with 1, 4, 6 and 16 public inputs and the digits MLP fixture, their contracts
/// compiled in one solc run shared by every test of this file; `None` (skip) without solc.
fn cases() -> Option<&'static [Case]> {
    static CASES: std::sync::OnceLock<Option<Vec<Case>>> = std::sync::OnceLock::new();
    CASES
        .get_or_init(|| {
            let solc = node_tool("solc", "index.js")?;
            let mut cases: Vec<(usize, bool, VerifyingKeyFile, ProofFile)> = [1usize, 4, 6, 16]
                .iter()
                .map(|&n| {
                    let toy = setup(layout_with_inputs(n), n as u64, 100 + n as u64);
                    let (i, o) = sample_values(&toy.vk_file.layout, 200 + n as u64);
                    let pf = prove(&toy, &i, &o, 300 + n as u64);
                    assert_eq!(toy.vk_file.vk.num_public_inputs(), n);
                    (n, false, toy.vk_file, pf)
                })
                .collect();
            // The digits MLP as zkinfer's CLI proves it (fixtures/mlp/model.vk + proof.json,
            // made by `zkinfer compile --input-bits 9`, `setup`, `prove`): the gas a real
            // deployment pays.
            let fixture = |f: &str| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../fixtures/mlp")
                    .join(f)
            };
            let digits_vk = VerifyingKeyFile::read(&fixture("model.vk")).unwrap();
            let digits_pf = ProofFile::read(&fixture("proof.json")).unwrap();
            zkinfer_verifier::verify(&digits_vk, &digits_pf).unwrap();
            cases.push((digits_vk.vk.num_public_inputs(), true, digits_vk, digits_pf));
            let file = |n: usize, digits: bool| {
                format!("Verifier{}{n:02}.sol", ["", "Digits"][digits as usize])
            };
            let sources: BTreeMap<String, String> = cases
                .iter()
                .map(|(n, digits, vk, _)| (file(*n, *digits), export_solidity(vk)))
                .collect();
            let compiled = compile(&solc, &sources, "ZkinferVerifier", "verifyProof");
            Some(
                cases
                    .into_iter()
                    .map(|(n, digits, vk, pf)| {
                        let (code, sel, deployed_size) = compiled[&file(n, digits)].clone();
                        Case {
                            n,
                            digits,
                            vk,
                            pf,
                            code,
                            sel,
                            deployed_size,
                        }
                    })
                    .collect(),
            )
        })
        .as_deref()
}

/// The transaction gas of a valid call (which must return true).
fn valid_call_gas(chain: &mut Chain, addr: Address, c: &Case, data: &[u8]) -> u64 {
    match chain.call(addr, data.to_vec()) {
        CallOutcome::Returned { word, gas } => {
            assert_eq!(
                word,
                U256::from(1),
                "{}: valid proof must return true",
                c.name()
            );
            gas
        }
        other => panic!("{}: valid proof did not return: {other:?}", c.name()),
    }
}

#[test]
fn solidity_verifier_runs_in_revm() {
    let Some(cases) = cases() else {
        return;
    };
    let mut chain = Chain::new();
    let mut gas_by_n = Vec::new();
    for c in cases {
        let addr = chain.deploy(c.code.clone());
        let (proof, input) = c.words();
        let (n, sel) = (c.n, c.sel);
        assert_eq!((proof.len(), input.len()), (8, n));

        let data = encode(sel, &proof, &input);
        let tx_gas = valid_call_gas(&mut chain, addr, c, &data);
        let exec = tx_gas - 21_000 - calldata_gas(&data);
        if c.digits {
            println!("digits MLP fixture ({n} public inputs): tx gas {tx_gas}");
            // 234,707 before the contract checked the proof's points itself (about +360).
            assert!(
                (234_000..236_000).contains(&tx_gas),
                "digits fixture gas {tx_gas}: expected 234,000 to 236,000"
            );
        }
        println!(
            "{}: tx gas {tx_gas}, execution gas {exec} (tx minus 21000 and {} calldata), deployed code {} bytes",
            c.name(),
            calldata_gas(&data),
            c.deployed_size
        );
        if !c.digits {
            gas_by_n.push((n, tx_gas, exec));
        }

        // Every tampering returns false, without reverting.
        let mut tampered: Vec<(&str, Vec<String>, Vec<String>)> = Vec::new();
        let mut inp = input.clone();
        inp[n - 1] = add_dec(&inp[n - 1], "1");
        tampered.push(("input changed", proof.clone(), inp));
        let mut inp = input.clone();
        inp[0] = add_dec(&inp[0], R_DEC);
        tampered.push(("input + r (>= modulus)", proof.clone(), inp));
        let mut inp = input.clone();
        inp[0] = R_DEC.to_string();
        tampered.push(("input = r", proof.clone(), inp));
        let mut p = proof.clone();
        p[1] = add_dec(&p[1], "1");
        tampered.push(("A off the curve", p, input.clone()));
        let mut p = proof.clone();
        p[6] = add_dec(&p[6], Q_DEC);
        tampered.push(("C.x + q (>= base modulus)", p, input.clone()));
        let mut p = proof.clone();
        p.swap(2, 3);
        tampered.push(("B with c0, c1 swapped", p, input.clone()));
        let mut p = proof.clone();
        p[7] = U256::from_str_radix(Q_DEC, 10)
            .unwrap()
            .wrapping_sub(U256::from_str_radix(&p[7], 10).unwrap())
            .to_string();
        tampered.push(("C negated", p, input.clone()));
        for (what, p, i) in tampered {
            match chain.call(addr, encode(sel, &p, &i)) {
                CallOutcome::Returned { word, gas } => {
                    assert_eq!(word, U256::ZERO, "N={n}: {what} must return false");
                    if n == 6 && !c.digits {
                        println!("    {what}: false, tx gas {gas}");
                    }
                }
                other => panic!("N={n}: {what} gave {other:?} instead of returning false"),
            }
        }
    }

    // Gas grows by one ecMul + ecAdd (6,150), their two warm STATICCALLs (200) and a little
    // bookkeeping per public input.
    let (n0, _, e0) = gas_by_n[0];
    let (n1, _, e1) = *gas_by_n.last().unwrap();
    let per_input = (e1 - e0) as f64 / (n1 - n0) as f64;
    println!("execution gas per additional public input: {per_input:.0}");
    assert!((6_350.0..6_600.0).contains(&per_input), "{per_input}");
    // What does not grow with the inputs: the pairing (4 pairs: 181,000 alone), the checks of
    // the proof's coordinates and points (about 500), the key's constants, the ABI. 182,037
    // before the contract checked the points itself.
    let fixed = e0 as f64 - per_input * n0 as f64;
    println!("execution gas without public inputs: {fixed:.0}");
    assert!((181_000.0..184_000.0).contains(&fixed), "{fixed}");
    let (_, tx6, _) = gas_by_n.iter().find(|(n, _, _)| *n == 6).copied().unwrap();
    assert!(
        tx6 < 250_000,
        "6 public inputs cost {tx6} gas, the target is below 250,000"
    );
}

/// A relayer controls the gas of the call. With too little gas for a precompile (the pairing
/// above all), the precompile call fails; the contract must then revert, so that the valid
/// proof is not reported invalid (before, the failed call read as `false`).
#[test]
fn too_little_gas_reverts_and_never_reads_as_false() {
    let Some(cases) = cases() else {
        return;
    };
    let mut chain = Chain::new();
    for c in cases {
        let addr = chain.deploy(c.code.clone());
        let (proof, input) = c.words();
        let data = encode(c.sel, &proof, &input);
        let needed = valid_call_gas(&mut chain, addr, c, &data);
        // Below the intrinsic gas, or EIP-7623's calldata floor (10 per token, 4 tokens per
        // nonzero byte), the transaction is not even valid.
        let intrinsic = 21_000 + calldata_gas(&data) * 10 / 4;

        // Enough for everything before the pairing, 50,000 short of what the pairing needs:
        // the pairing call fails for lack of gas, and the contract reverts.
        let starved = needed - 50_000;
        match chain.call_with_gas(addr, data.clone(), starved) {
            CallOutcome::Reverted => {}
            other => panic!(
                "{}: a valid proof with gas {starved} (needs {needed}) must revert, got {other:?}",
                c.name()
            ),
        }
        // At no gas limit does the valid proof read as false: it returns true, reverts, or the
        // transaction runs out of gas.
        let (mut reverted, mut halted, mut accepted) = (0, 0, 0);
        let mut limit = intrinsic + 100;
        while limit < needed + 5_000 {
            match chain.call_with_gas(addr, data.clone(), limit) {
                CallOutcome::Returned { word, .. } => {
                    assert_eq!(
                        word,
                        U256::from(1),
                        "{}: a valid proof read as false with gas limit {limit} (needs {needed})",
                        c.name()
                    );
                    accepted += 1;
                }
                CallOutcome::Reverted => reverted += 1,
                CallOutcome::Halted => halted += 1,
            }
            limit += 1_999;
        }
        println!(
            "{}: needs {needed} gas; below it {reverted} limits reverted, {halted} ran out of gas, {accepted} returned true",
            c.name()
        );
        assert!(reverted > 0 && accepted > 0, "{}", c.name());
    }
}

/// Invalid points are told apart by the contract's own checks, before any precompile call, so
/// they still give false (not a revert); only B on the twist but outside the G2 subgroup, which
/// only the pairing precompile checks, makes the call revert.
#[test]
fn off_curve_points_return_false() {
    let Some(cases) = cases() else {
        return;
    };
    let mut chain = Chain::new();
    // A point on the twist outside the prime-order subgroup (x = 1 + u, 2 + 2u, ...).
    let off_subgroup = {
        use ark_bn254::{Fq, Fq2, G2Affine};
        let mut x = Fq2::new(Fq::one(), Fq::one());
        loop {
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
                if !p.is_in_correct_subgroup_assuming_on_curve() {
                    break p;
                }
            }
            x += Fq2::ONE;
        }
    };
    for c in cases {
        let addr = chain.deploy(c.code.clone());
        let (proof, input) = c.words();
        let mut false_cases: Vec<(&str, Vec<String>)> = Vec::new();
        for (what, k) in [
            ("A.y + 1 (off the curve)", 1),
            ("A.x + 1 (off the curve)", 0),
            ("C.y + 1 (off the curve)", 7),
            ("B.x.c1 + 1 (off the twist)", 2),
            ("B.x.c0 + 1 (off the twist)", 3),
            ("B.y.c1 + 1 (off the twist)", 4),
            ("B.y.c0 + 1 (off the twist)", 5),
        ] {
            let mut p = proof.clone();
            p[k] = add_dec(&p[k], "1");
            false_cases.push((what, p));
        }
        let mut p = proof.clone();
        p[0] = "0".into();
        p[1] = "3".into(); // (0, 3): 9 != 3
        false_cases.push(("A = (0, 3) (off the curve)", p));
        let mut p = proof.clone();
        p[0] = "0".into();
        p[1] = "0".into();
        false_cases.push(("A = infinity (a valid point, a wrong proof)", p));
        let mut p = proof.clone();
        p[2..6].iter_mut().for_each(|w| *w = "0".into());
        false_cases.push(("B = infinity (a valid point, a wrong proof)", p));
        for (what, p) in false_cases {
            match chain.call(addr, encode(c.sel, &p, &input)) {
                CallOutcome::Returned { word, .. } => {
                    assert_eq!(word, U256::ZERO, "{}: {what} must return false", c.name())
                }
                other => panic!("{}: {what} gave {other:?} instead of false", c.name()),
            }
        }
        let mut p = proof.clone();
        p[2..6].clone_from_slice(&g2_to_evm(&off_subgroup));
        match chain.call(addr, encode(c.sel, &p, &input)) {
            CallOutcome::Reverted => {}
            other => panic!(
                "{}: B outside the G2 subgroup must revert (the pairing precompile refuses it), got {other:?}",
                c.name()
            ),
        }
    }
}
