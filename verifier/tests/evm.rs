//! The exported Solidity verifier, compiled with solc-js and executed in revm: it accepts valid
//! proofs, returns false (without reverting) on tampered ones, reverts (never returns false) when
//! a precompile call fails, as when the gas runs out, and its gas is measured per input count.
//!
//! Needs `.ci/install-node-tools.sh` (solc); skipped with a message when absent, unless `CI` is set.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use ark_ff::{Field, One};
use common::{layout_with_inputs, node_tool, prove, sample_values, setup};
use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{Address, Bytes, TxKind, U256};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};
use zkinfer_verifier::calldata::g2_to_evm;
use zkinfer_verifier::{calldata, export_solidity, ProofFile, VerifyingKeyFile};

/// Compiles every source (name -> Solidity) in one solc run; returns name -> (creation code, selector).
fn compile(
    solc: &std::path::Path,
    sources: &BTreeMap<String, String>,
) -> BTreeMap<String, (Vec<u8>, [u8; 4], usize)> {
    let dir = std::env::temp_dir().join(format!("zkinfer-evm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("compile.js");
    std::fs::write(
        &script,
        r#"
const solc = require(process.argv[2]);
const sources = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
const input = { language: 'Solidity', sources: {}, settings: {
  optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'] } } } };
for (const [k, v] of Object.entries(sources)) input.sources[k] = { content: v };
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter(e => e.severity === 'error');
if (errors.length) { console.error(errors.map(e => e.formattedMessage).join('\n')); process.exit(1); }
for (const w of (out.errors || [])) console.error(w.formattedMessage);
const res = {};
for (const k of Object.keys(sources)) {
  const c = out.contracts[k].ZkinferVerifier;
  res[k] = { bytecode: c.evm.bytecode.object, deployed: c.evm.deployedBytecode.object, methods: c.evm.methodIdentifiers };
}
process.stdout.write(JSON.stringify(res));
"#,
    )
    .unwrap();
    let src_path = dir.join("sources.json");
    std::fs::write(&src_path, serde_json::to_string(sources).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .arg(solc)
        .arg(&src_path)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "solc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warnings = String::from_utf8_lossy(&out.stderr);
    if !warnings.trim().is_empty() {
        eprintln!("solc warnings:\n{warnings}");
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    sources
        .keys()
        .map(|k| {
            let c = &v[k];
            let code = hex::decode(c["bytecode"].as_str().unwrap()).unwrap();
            let deployed = c["deployed"].as_str().unwrap().len() / 2;
            let methods = c["methods"].as_object().unwrap();
            let (_, sel) = methods
                .iter()
                .find(|(sig, _)| sig.starts_with("verifyProof("))
                .expect("verifyProof");
            let sel: [u8; 4] = hex::decode(sel.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            (k.clone(), (code, sel, deployed))
        })
        .collect()
}

type Evm = revm::handler::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>;

struct Chain {
    evm: Evm,
    nonce: u64,
}

const CALLER: Address = Address::new([0x11; 20]);

#[derive(Debug)]
enum CallOutcome {
    Returned {
        word: U256,
        gas: u64,
    },
    /// REVERT: the contract gave up, its caller may retry.
    Reverted,
    /// Out of gas or another exceptional halt of the whole transaction.
    Halted,
}

/// The gas limit of every transaction unless a test says otherwise.
const GAS_LIMIT: u64 = 10_000_000;

impl Chain {
    fn new() -> Self {
        Chain {
            evm: Context::mainnet()
                .with_db(CacheDB::<EmptyDB>::default())
                .build_mainnet(),
            nonce: 0,
        }
    }

    fn tx(
        &mut self,
        kind: TxKind,
        data: Vec<u8>,
        gas_limit: u64,
    ) -> revm::context_interface::result::ExecutionResult {
        let tx = TxEnv::builder()
            .caller(CALLER)
            .kind(kind)
            .data(Bytes::from(data))
            .gas_limit(gas_limit)
            .nonce(self.nonce)
            .build()
            .unwrap();
        self.nonce += 1;
        self.evm.transact_commit(tx).expect("transaction is valid")
    }

    fn deploy(&mut self, code: Vec<u8>) -> Address {
        let r = self.tx(TxKind::Create, code, GAS_LIMIT);
        r.created_address()
            .unwrap_or_else(|| panic!("deployment failed: {r:?}"))
    }

    fn call(&mut self, to: Address, data: Vec<u8>) -> CallOutcome {
        self.call_with_gas(to, data, GAS_LIMIT)
    }

    fn call_with_gas(&mut self, to: Address, data: Vec<u8>, gas_limit: u64) -> CallOutcome {
        use revm::context_interface::result::ExecutionResult;
        let r = self.tx(TxKind::Call(to), data, gas_limit);
        let gas = r.tx_gas_used();
        match &r {
            ExecutionResult::Success { .. } => {
                let out = r.output().expect("a successful call has output");
                assert_eq!(out.len(), 32, "verifyProof returns one word");
                CallOutcome::Returned {
                    word: U256::from_be_slice(out),
                    gas,
                }
            }
            ExecutionResult::Revert { .. } => CallOutcome::Reverted,
            ExecutionResult::Halt { .. } => CallOutcome::Halted,
        }
    }
}

/// ABI encoding of `verifyProof(uint256[8], uint256[N])`: selector, then the words in place.
fn encode(sel: [u8; 4], proof: &[String], input: &[String]) -> Vec<u8> {
    let mut data = sel.to_vec();
    for s in proof.iter().chain(input) {
        let w = U256::from_str_radix(s, 10).expect("decimal word");
        data.extend_from_slice(&w.to_be_bytes::<32>());
    }
    data
}

/// EIP-2028 calldata cost: 4 gas per zero byte, 16 per nonzero byte.
fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

const R_DEC: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
const Q_DEC: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";

fn add_dec(a: &str, b: &str) -> String {
    (U256::from_str_radix(a, 10).unwrap() + U256::from_str_radix(b, 10).unwrap()).to_string()
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
            let compiled = compile(&solc, &sources);
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
