//! Compiling exported Solidity with solc-js and running it in revm, for the EVM tests.
//!
//! Included by the EVM tests only (`#[path = "common/evm.rs"] mod evm_util;`), so that the other
//! test binaries do not build revm's EVM.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::Command;

use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{Address, Bytes, TxKind, U256};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

/// One compiled contract: creation code, the selector of the function asked for, and the size
/// of the deployed code in bytes.
pub type Compiled = (Vec<u8>, [u8; 4], usize);

/// Compiles every source (name -> Solidity) in one solc run; returns name -> the contract
/// `contract` of that source, with the selector of its function named `function`.
pub fn compile(
    solc: &std::path::Path,
    sources: &BTreeMap<String, String>,
    contract: &str,
    function: &str,
) -> BTreeMap<String, Compiled> {
    let dir = std::env::temp_dir().join(format!("zkinfer-evm-{}-{contract}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("compile.js");
    std::fs::write(
        &script,
        r#"
const solc = require(process.argv[2]);
const sources = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
const contract = process.argv[4];
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
  const c = out.contracts[k][contract];
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
        .arg(contract)
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
    let prefix = format!("{function}(");
    sources
        .keys()
        .map(|k| {
            let c = &v[k];
            let code = hex::decode(c["bytecode"].as_str().unwrap()).unwrap();
            let deployed = c["deployed"].as_str().unwrap().len() / 2;
            let methods = c["methods"].as_object().unwrap();
            let (_, sel) = methods
                .iter()
                .find(|(sig, _)| sig.starts_with(&prefix))
                .unwrap_or_else(|| panic!("{function} not in {methods:?}"));
            let sel: [u8; 4] = hex::decode(sel.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            (k.clone(), (code, sel, deployed))
        })
        .collect()
}

type Evm = revm::handler::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>;

pub struct Chain {
    evm: Evm,
    nonce: u64,
}

const CALLER: Address = Address::new([0x11; 20]);

#[derive(Debug)]
pub enum CallOutcome {
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
pub const GAS_LIMIT: u64 = 10_000_000;

impl Chain {
    pub fn new() -> Self {
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

    pub fn deploy(&mut self, code: Vec<u8>) -> Address {
        let r = self.tx(TxKind::Create, code, GAS_LIMIT);
        r.created_address()
            .unwrap_or_else(|| panic!("deployment failed: {r:?}"))
    }

    pub fn call(&mut self, to: Address, data: Vec<u8>) -> CallOutcome {
        self.call_with_gas(to, data, GAS_LIMIT)
    }

    pub fn call_with_gas(&mut self, to: Address, data: Vec<u8>, gas_limit: u64) -> CallOutcome {
        use revm::context_interface::result::ExecutionResult;
        let r = self.tx(TxKind::Call(to), data, gas_limit);
        let gas = r.tx_gas_used();
        match &r {
            ExecutionResult::Success { .. } => {
                let out = r.output().expect("a successful call has output");
                assert_eq!(out.len(), 32, "the verifier returns one word");
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

/// A decimal string as one 32-byte ABI word.
pub fn word(s: &str) -> [u8; 32] {
    U256::from_str_radix(s, 10)
        .expect("decimal word")
        .to_be_bytes::<32>()
}

/// EIP-2028 calldata cost: 4 gas per zero byte, 16 per nonzero byte.
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

pub const R_DEC: &str =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";
pub const Q_DEC: &str =
    "21888242871839275222246405745257275088696311157297823662689037894645226208583";

pub fn add_dec(a: &str, b: &str) -> String {
    (U256::from_str_radix(a, 10).unwrap() + U256::from_str_radix(b, 10).unwrap()).to_string()
}
