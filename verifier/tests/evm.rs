//! The exported Solidity verifier, compiled with solc-js and executed in revm: it accepts valid
//! proofs, returns false (never reverts) on tampered ones, and its gas is measured per input count.
//!
//! Needs `.ci/install-node-tools.sh` (solc); skipped with a message when absent, unless `CI` is set.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{layout_with_inputs, node_tool, prove, sample_values, setup};
use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{Address, Bytes, TxKind, U256};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};
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

enum CallOutcome {
    Returned { word: U256, gas: u64 },
    Reverted,
}

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
    ) -> revm::context_interface::result::ExecutionResult {
        let tx = TxEnv::builder()
            .caller(CALLER)
            .kind(kind)
            .data(Bytes::from(data))
            .gas_limit(10_000_000)
            .nonce(self.nonce)
            .build()
            .unwrap();
        self.nonce += 1;
        self.evm.transact_commit(tx).expect("transaction is valid")
    }

    fn deploy(&mut self, code: Vec<u8>) -> Address {
        let r = self.tx(TxKind::Create, code);
        r.created_address()
            .unwrap_or_else(|| panic!("deployment failed: {r:?}"))
    }

    fn call(&mut self, to: Address, data: Vec<u8>) -> CallOutcome {
        let r = self.tx(TxKind::Call(to), data);
        let gas = r.tx_gas_used();
        match r.output() {
            Some(out) if r.is_success() && out.len() == 32 => CallOutcome::Returned {
                word: U256::from_be_slice(out),
                gas,
            },
            _ => CallOutcome::Reverted,
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

#[test]
fn solidity_verifier_runs_in_revm() {
    let Some(solc) = node_tool("solc", "index.js") else {
        return;
    };
    let counts = [1usize, 4, 6, 16];
    let cases: Vec<(usize, VerifyingKeyFile, ProofFile)> = counts
        .iter()
        .map(|&n| {
            let toy = setup(layout_with_inputs(n), n as u64, 100 + n as u64);
            let (i, o) = sample_values(&toy.vk_file.layout, 200 + n as u64);
            let pf = prove(&toy, &i, &o, 300 + n as u64);
            assert_eq!(toy.vk_file.vk.num_public_inputs(), n);
            (n, toy.vk_file, pf)
        })
        .collect();
    // The digits MLP as zkinfer's CLI proves it (fixtures/mlp/model.vk + proof.json, made by
    // `zkinfer compile --input-bits 9`, `setup`, `prove`): the gas a real deployment pays.
    let mut cases = cases;
    let fixture = |f: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/mlp")
            .join(f)
    };
    let digits_vk = VerifyingKeyFile::read(&fixture("model.vk")).unwrap();
    let digits_pf = ProofFile::read(&fixture("proof.json")).unwrap();
    let digits_n = digits_vk.vk.num_public_inputs();
    zkinfer_verifier::verify(&digits_vk, &digits_pf).unwrap();
    cases.push((100 + digits_n, digits_vk, digits_pf));
    let sources: BTreeMap<String, String> = cases
        .iter()
        .map(|(n, vk, _)| (format!("Verifier{n:02}.sol"), export_solidity(vk)))
        .collect();
    let compiled = compile(&solc, &sources);

    let mut chain = Chain::new();
    let mut gas_by_n = Vec::new();
    for (n, vk, pf) in &cases {
        let (code, sel, deployed_size) = compiled[&format!("Verifier{n:02}.sol")].clone();
        let addr = chain.deploy(code);
        let cd = calldata(vk, pf).unwrap();
        let (proof, input) = (strings(&cd["proof"]), strings(&cd["input"]));
        // Case ids of 100 + k are the digits fixture with k public inputs.
        let digits = *n >= 100;
        let n = &if digits { n - 100 } else { *n };
        assert_eq!((proof.len(), input.len()), (8, *n));

        let data = encode(sel, &proof, &input);
        let tx_gas = match chain.call(addr, data.clone()) {
            CallOutcome::Returned { word, gas } => {
                assert_eq!(word, U256::from(1), "N={n}: valid proof must return true");
                gas
            }
            CallOutcome::Reverted => panic!("N={n}: valid proof reverted"),
        };
        let exec = tx_gas - 21_000 - calldata_gas(&data);
        if digits {
            println!("digits MLP fixture ({n} public inputs): tx gas {tx_gas}");
            assert!(
                tx_gas < 250_000,
                "digits fixture gas {tx_gas} must stay under 250,000"
            );
        }
        println!("N={n:2} public inputs: tx gas {tx_gas}, execution gas {exec} (tx minus 21000 and {} calldata), deployed code {deployed_size} bytes", calldata_gas(&data));
        if !digits {
            gas_by_n.push((*n, tx_gas, exec));
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
                    if *n == 6 {
                        println!("    {what}: false, tx gas {gas}");
                    }
                }
                CallOutcome::Reverted => {
                    panic!("N={n}: {what} reverted instead of returning false")
                }
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
    let (_, tx6, _) = gas_by_n.iter().find(|(n, _, _)| *n == 6).copied().unwrap();
    assert!(
        tx6 < 250_000,
        "6 public inputs cost {tx6} gas, the target is below 250,000"
    );
}
