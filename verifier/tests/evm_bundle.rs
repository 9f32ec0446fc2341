//! The exported Solidity bundle verifier, compiled with solc-js and executed in revm: it accepts
//! valid bundles of 1 to 4 segments (model input and output public or hashed), returns false
//! (without reverting) on a tampered proof, boundary hash, input or output, reverts when the gas
//! runs out, and its gas is measured per segment.
//!
//! Needs `.ci/install-node-tools.sh` (solc); skipped with a message when absent, unless `CI` is set.

mod common;
#[path = "common/evm.rs"]
mod evm_util;

use std::collections::BTreeMap;

use common::node_tool;
use common::segments::{gpt_layout, segmented_with_bundle, segmented_with_bundle_for};
use evm_util::{add_dec, calldata_gas, compile, strings, word, CallOutcome, Chain, Q_DEC, R_DEC};
use revm::primitives::U256;
use zkinfer_verifier::{
    bundle_calldata, export_solidity_bundle, verify_bundle, ProofBundle, SegmentedVerifyingKeyFile,
    Visibility,
};

/// The arguments of `verifyBundle`, as decimal strings.
#[derive(Clone, Debug)]
struct Args {
    input: Vec<String>,
    output: Vec<String>,
    boundaries: Vec<String>,
    proofs: Vec<Vec<String>>,
}

impl Args {
    fn of(vk: &SegmentedVerifyingKeyFile, bundle: &ProofBundle) -> Self {
        let cd = bundle_calldata(vk, bundle).unwrap();
        Args {
            input: strings(&cd["input"]),
            output: strings(&cd["output"]),
            boundaries: strings(&cd["boundaries"]),
            proofs: cd["proofs"]
                .as_array()
                .unwrap()
                .iter()
                .map(strings)
                .collect(),
        }
    }

    /// ABI encoding of `verifyBundle(uint256[], uint256[], uint256[], uint256[8][])`: selector,
    /// four offsets, then each array as its length and its words.
    fn encode(&self, sel: [u8; 4]) -> Vec<u8> {
        let arrays: [Vec<String>; 4] = [
            self.input.clone(),
            self.output.clone(),
            self.boundaries.clone(),
            self.proofs.iter().flatten().cloned().collect(),
        ];
        let lengths = [
            self.input.len(),
            self.output.len(),
            self.boundaries.len(),
            self.proofs.len(),
        ];
        let mut head = Vec::new();
        let mut tail = Vec::new();
        for (a, len) in arrays.iter().zip(lengths) {
            head.extend_from_slice(&word(&(4 * 32 + tail.len()).to_string()));
            tail.extend_from_slice(&word(&len.to_string()));
            for w in a {
                tail.extend_from_slice(&word(w));
            }
        }
        let mut data = sel.to_vec();
        data.extend(head);
        data.extend(tail);
        data
    }
}

struct Case {
    /// "toy", or "gpt-shaped" (the gpt fixture's public tensors, [`gpt_layout`]).
    shape: &'static str,
    n: usize,
    iv: Visibility,
    ov: Visibility,
    vk: SegmentedVerifyingKeyFile,
    bundle: ProofBundle,
    code: Vec<u8>,
    sel: [u8; 4],
    deployed_size: usize,
}

impl Case {
    fn name(&self) -> String {
        format!(
            "{} n={} input {} output {}",
            self.shape, self.n, self.iv, self.ov
        )
    }
}

const VISIBILITIES: [(Visibility, Visibility); 3] = [
    (Visibility::Public, Visibility::Public),
    (Visibility::Hashed, Visibility::Public),
    (Visibility::Public, Visibility::Hashed),
];

/// Bundles of 1 to 4 segments under several visibilities, their contracts compiled in one solc
/// run shared by the tests of this file; `None` (skip) without solc.
fn cases() -> Option<&'static [Case]> {
    static CASES: std::sync::OnceLock<Option<Vec<Case>>> = std::sync::OnceLock::new();
    CASES
        .get_or_init(|| {
            let solc = node_tool("solc", "index.js")?;
            let mut made = Vec::new();
            for n in 1..=4usize {
                for (v, &(iv, ov)) in VISIBILITIES.iter().enumerate() {
                    let (toy, bundle) = segmented_with_bundle(iv, ov, n, 40 * n as u64 + v as u64);
                    verify_bundle(&toy.vk, &bundle).unwrap();
                    made.push(("toy", n, iv, ov, toy.vk, bundle));
                }
            }
            // The gpt fixture cut into 4 segments (`--max-constraints 380000`).
            let (toy, bundle) = segmented_with_bundle_for(gpt_layout(), 4, 977);
            verify_bundle(&toy.vk, &bundle).unwrap();
            let p = Visibility::Public;
            made.push(("gpt-shaped", 4, p, p, toy.vk, bundle));
            let file = |shape: &str, n: usize, iv: Visibility, ov: Visibility| {
                format!("Bundle{shape}{n}{iv}{ov}.sol")
            };
            let sources: BTreeMap<String, String> = made
                .iter()
                .map(|(s, n, iv, ov, vk, _)| (file(s, *n, *iv, *ov), export_solidity_bundle(vk)))
                .collect();
            let compiled = compile(&solc, &sources, "ZkinferBundleVerifier", "verifyBundle");
            Some(
                made.into_iter()
                    .map(|(shape, n, iv, ov, vk, bundle)| {
                        let (code, sel, deployed_size) = compiled[&file(shape, n, iv, ov)].clone();
                        Case {
                            shape,
                            n,
                            iv,
                            ov,
                            vk,
                            bundle,
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

#[test]
fn bundle_verifier_runs_in_revm() {
    let Some(cases) = cases() else {
        return;
    };
    let mut chain = Chain::new();
    let mut gas_by_n = Vec::new();
    for c in cases {
        let addr = chain.deploy(c.code.clone());
        let args = Args::of(&c.vk, &c.bundle);
        let data = args.encode(c.sel);
        let tx_gas = match chain.call(addr, data.clone()) {
            CallOutcome::Returned { word, gas } => {
                assert_eq!(
                    word,
                    U256::from(1),
                    "{}: a valid bundle must return true",
                    c.name()
                );
                gas
            }
            other => panic!("{}: a valid bundle did not return: {other:?}", c.name()),
        };
        let exec = tx_gas - 21_000 - calldata_gas(&data);
        let inputs: usize = (0..c.n).map(|k| c.vk.segment_public_inputs(k)).sum();
        eprintln!(
            "{}: {inputs} public inputs in all, tx gas {tx_gas}, execution gas {exec} (tx minus 21000 and {} calldata), deployed code {} bytes",
            c.name(),
            calldata_gas(&data),
            c.deployed_size
        );
        assert!(c.deployed_size <= 24_576, "{}: EIP-170", c.name());
        if c.shape == "toy" && (c.iv, c.ov) == (Visibility::Public, Visibility::Public) {
            gas_by_n.push((c.n, tx_gas, exec));
        }

        // Every tampering returns false, without reverting.
        let n = c.n;
        let mut tampered: Vec<(String, Args)> = Vec::new();
        let mid = n / 2;
        let mut a = args.clone();
        a.proofs[mid][1] = add_dec(&a.proofs[mid][1], "1");
        tampered.push((format!("segment {mid}: A off the curve"), a));
        let mut a = args.clone();
        a.proofs[mid][7] = U256::from_str_radix(Q_DEC, 10)
            .unwrap()
            .wrapping_sub(U256::from_str_radix(&a.proofs[mid][7], 10).unwrap())
            .to_string();
        tampered.push((format!("segment {mid}: C negated (a wrong proof)"), a));
        let mut a = args.clone();
        a.proofs[mid][6] = add_dec(&a.proofs[mid][6], Q_DEC);
        tampered.push((format!("segment {mid}: C.x + q"), a));
        let mut a = args.clone();
        a.proofs[n - 1][2..6]
            .iter_mut()
            .for_each(|w| *w = "0".into());
        tampered.push(("last segment: B = infinity".into(), a));
        let mut a = args.clone();
        a.input[0] = add_dec(&a.input[0], "1");
        tampered.push(("input changed".into(), a));
        let mut a = args.clone();
        a.input[0] = add_dec(&a.input[0], R_DEC);
        tampered.push(("input + r".into(), a));
        let mut a = args.clone();
        let last = a.output.len() - 1;
        a.output[last] = add_dec(&a.output[last], "1");
        tampered.push(("output changed".into(), a));
        let mut a = args.clone();
        a.output.push("0".into());
        tampered.push(("output too long".into(), a));
        let mut a = args.clone();
        a.proofs.push(a.proofs[0].clone());
        tampered.push(("one proof too many".into(), a));
        let mut a = args.clone();
        a.input.pop();
        tampered.push(("input too short".into(), a));
        if n >= 2 {
            for k in 0..n - 1 {
                let mut a = args.clone();
                a.boundaries[k] = add_dec(&a.boundaries[k], "1");
                tampered.push((format!("boundary {k} changed"), a));
                let mut a = args.clone();
                a.boundaries[k] = add_dec(&a.boundaries[k], R_DEC);
                tampered.push((format!("boundary {k} + r"), a));
            }
            let mut a = args.clone();
            a.proofs.swap(0, 1);
            tampered.push(("proofs 0 and 1 swapped".into(), a));
            let mut a = args.clone();
            a.boundaries.pop();
            tampered.push(("boundary missing".into(), a));
        } else {
            let mut a = args.clone();
            a.boundaries.push("1".into());
            tampered.push(("a boundary on one segment".into(), a));
        }
        if n >= 3 {
            let mut a = args.clone();
            a.proofs.swap(1, 2);
            tampered.push(("proofs 1 and 2 swapped".into(), a));
        }
        for (what, a) in tampered {
            match chain.call(addr, a.encode(c.sel)) {
                CallOutcome::Returned { word, .. } => {
                    assert_eq!(word, U256::ZERO, "{}: {what} must return false", c.name())
                }
                other => panic!("{}: {what} gave {other:?} instead of false", c.name()),
            }
        }
    }

    // Gas per segment: one pairing call (4 pairs, 181,000), the point checks, and one ecMul and
    // ecAdd for each of the segment's public inputs (2 for a middle segment).
    let (n0, tx0, e0) = gas_by_n[0];
    let (n1, tx1, e1) = *gas_by_n.last().unwrap();
    let per_segment = (e1 - e0) as f64 / (n1 - n0) as f64;
    let per_segment_tx = (tx1 - tx0) as f64 / (n1 - n0) as f64;
    for (n, tx, exec) in &gas_by_n {
        eprintln!(
            "bundle of {n} segment(s), input and output public: tx gas {tx}, execution gas {exec}"
        );
    }
    eprintln!(
        "per extra segment: execution gas {per_segment:.0}, tx gas {per_segment_tx:.0} (with its 256 bytes of proof and a boundary hash in calldata)"
    );
    assert!(
        (190_000.0..200_000.0).contains(&per_segment),
        "{per_segment}"
    );
}

/// Too little gas makes the call revert, never read as false.
#[test]
fn too_little_gas_reverts() {
    let Some(cases) = cases() else {
        return;
    };
    let mut chain = Chain::new();
    for c in cases.iter().filter(|c| c.n >= 2) {
        let addr = chain.deploy(c.code.clone());
        let data = Args::of(&c.vk, &c.bundle).encode(c.sel);
        let needed = match chain.call(addr, data.clone()) {
            CallOutcome::Returned { word, gas } if word == U256::from(1) => gas,
            other => panic!("{}: {other:?}", c.name()),
        };
        // 50,000 short: the last pairing call fails and the contract reverts.
        match chain.call_with_gas(addr, data.clone(), needed - 50_000) {
            CallOutcome::Reverted => {}
            other => panic!("{}: expected a revert, got {other:?}", c.name()),
        }
        // Short of the first segment's pairing (about 190,000 per segment): never false.
        let early = needed - 190_000 * (c.n as u64 - 1) - 50_000;
        match chain.call_with_gas(addr, data.clone(), early) {
            CallOutcome::Reverted | CallOutcome::Halted => {}
            other => panic!(
                "{}: expected a revert (or out of gas) with gas {early}, got {other:?}",
                c.name()
            ),
        }
    }
}
