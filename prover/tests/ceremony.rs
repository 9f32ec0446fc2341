//! A ceremony mixing snarkjs and zkinfer, end to end, on the digits MLP: our circuit exported
//! as `.r1cs`; snarkjs's Powers of Tau (2^11); `zkinfer ceremony init` (byte for byte what
//! `snarkjs groth16 setup` writes); contributions by snarkjs, zkinfer, snarkjs, then a zkinfer
//! beacon (byte for byte snarkjs's beacon); `snarkjs zkey verify` and `zkinfer ceremony
//! verify` accept it; a tampered contribution is rejected by both, ours naming it; a `.ptau`
//! with an inconsistent point is refused. Then `zkinfer import-zkey`: proofs from the final
//! key (snarkjs's QAP reduction) verify with our verifier, with the exported Solidity verifier
//! (solc-js, revm) and with `snarkjs groth16 verify`, and a changed output fails; a zkey for
//! another circuit, or with one coefficient changed, is refused (exit 2).
//!
//! Needs `.ci/install-node-tools.sh` (snarkjs); skipped with a message when absent, unless `CI`
//! is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use zkinfer_prover::ceremony::{encoding, mpc::MpcParams};

mod common;

#[path = "../../verifier/tests/common/evm.rs"]
mod evm_util;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn snarkjs() -> Option<PathBuf> {
    common::node_tool("snarkjs", "cli.js")
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let o = cmd.output().expect("run a command");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(cmd: &mut Command) -> String {
    let desc = format!("{cmd:?}");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{desc}\nstdout: {out}\nstderr: {err}");
    out
}

fn zkinfer(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkinfer"));
    c.args(args);
    c
}

fn node(cli: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("node");
    c.arg(cli).args(args);
    c
}

/// Offset and size of section `ty` of a snarkjs binary file.
fn section(b: &[u8], ty: u32) -> (usize, usize) {
    let n = u32::from_le_bytes(b[8..12].try_into().unwrap());
    let mut at = 12;
    for _ in 0..n {
        let t = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let size = u64::from_le_bytes(b[at + 4..at + 12].try_into().unwrap()) as usize;
        if t == ty {
            return (at + 12, size);
        }
        at += 12 + size;
    }
    panic!("no section {ty}");
}

/// `snarkjs zkey verify`: whether it says the key is valid (its exit code agreeing).
fn snarkjs_accepts(sj: &Path, r1cs: &str, ptau: &str, zkey: &str) -> bool {
    let (code, out, err) = run(&mut node(sj, &["zkey", "verify", r1cs, ptau, zkey]));
    let okay = out.contains("ZKey Ok!");
    assert_eq!(okay, code == 0, "stdout: {out}\nstderr: {err}");
    okay
}

#[test]
fn a_mixed_snarkjs_and_zkinfer_ceremony_verifies_everywhere_and_its_keys_prove() {
    let Some(sj) = snarkjs() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("zkinfer-zkey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let fx = repo().join("fixtures/mlp");
    let model = fx.join("model.onnx");
    let input = fx.join("input.json");

    ok(&mut zkinfer(&[
        "compile",
        "--model",
        model.to_str().unwrap(),
        "--out",
        &p("m.zkc"),
        "--input-bits",
        "9",
    ]));
    ok(&mut zkinfer(&[
        "export",
        "--format",
        "r1cs",
        "--circuit",
        &p("m.zkc"),
        "--out",
        &p("m.r1cs"),
    ]));
    // The MLP has 1,524 constraints and 4 public inputs: a domain of 2^11.
    let t = std::time::Instant::now();
    ok(&mut node(
        &sj,
        &["powersoftau", "new", "bn128", "11", &p("pot0.ptau")],
    ));
    ok(&mut node(
        &sj,
        &[
            "powersoftau",
            "contribute",
            &p("pot0.ptau"),
            &p("pot1.ptau"),
            "--name=ci",
            "-e=phase one",
        ],
    ));
    ok(&mut node(
        &sj,
        &[
            "powersoftau",
            "prepare",
            "phase2",
            &p("pot1.ptau"),
            &p("final.ptau"),
        ],
    ));
    eprintln!("snarkjs ptau (2^11): {:.1} s", t.elapsed().as_secs_f64());
    let (r1cs, ptau) = (p("m.r1cs"), p("final.ptau"));

    // zkinfer's initial key is snarkjs's, byte for byte.
    let timed = |what: &str, cmd: &mut Command| {
        let t = std::time::Instant::now();
        let out = ok(cmd);
        eprintln!("{what}: {:.2} s", t.elapsed().as_secs_f64());
        out
    };
    timed(
        "zkinfer ceremony init",
        &mut zkinfer(&[
            "ceremony",
            "init",
            "--circuit",
            &p("m.zkc"),
            "--ptau",
            &ptau,
            "--out",
            &p("m0.zkey"),
        ]),
    );
    timed(
        "snarkjs groth16 setup",
        &mut node(&sj, &["groth16", "setup", &r1cs, &ptau, &p("sj0.zkey")]),
    );
    assert!(
        std::fs::read(p("m0.zkey")).unwrap() == std::fs::read(p("sj0.zkey")).unwrap(),
        "zkinfer ceremony init and snarkjs groth16 setup wrote different keys"
    );

    // Contributors: snarkjs, zkinfer, snarkjs, then a zkinfer beacon.
    timed(
        "snarkjs zkey contribute",
        &mut node(
            &sj,
            &[
                "zkey",
                "contribute",
                &p("m0.zkey"),
                &p("m1.zkey"),
                "--name=alice",
                "-e=one",
            ],
        ),
    );
    let out = timed(
        "zkinfer ceremony contribute",
        &mut zkinfer(&[
            "ceremony",
            "contribute",
            "--in",
            &p("m1.zkey"),
            "--out",
            &p("m2.zkey"),
            "--name",
            "bob",
            "--entropy",
            "two",
        ]),
    );
    assert!(
        out.contains("contribution #2") && out.contains("Contribution Hash"),
        "{out}"
    );
    ok(&mut node(
        &sj,
        &[
            "zkey",
            "contribute",
            &p("m2.zkey"),
            &p("m3.zkey"),
            "--name=carol",
            "-e=three",
        ],
    ));
    let beacon = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    timed(
        "zkinfer ceremony beacon",
        &mut zkinfer(&[
            "ceremony",
            "beacon",
            "--in",
            &p("m3.zkey"),
            "--out",
            &p("m4.zkey"),
            "--beacon",
            beacon,
            "--iterations",
            "10",
            "--name",
            "final",
        ]),
    );
    // A beacon is reproducible: snarkjs's is the same file.
    ok(&mut node(
        &sj,
        &[
            "zkey",
            "beacon",
            &p("m3.zkey"),
            &p("sj4.zkey"),
            beacon,
            "10",
            "-n=final",
        ],
    ));
    assert!(
        std::fs::read(p("m4.zkey")).unwrap() == std::fs::read(p("sj4.zkey")).unwrap(),
        "zkinfer's and snarkjs's beacons differ"
    );

    // Both tools accept the ceremony.
    let t = std::time::Instant::now();
    assert!(snarkjs_accepts(&sj, &r1cs, &ptau, &p("m4.zkey")));
    eprintln!("snarkjs zkey verify: {:.2} s", t.elapsed().as_secs_f64());
    let out = timed(
        "zkinfer ceremony verify",
        &mut zkinfer(&[
            "ceremony",
            "verify",
            "--circuit",
            &p("m.zkc"),
            "--ptau",
            &ptau,
            "--zkey",
            &p("m4.zkey"),
        ]),
    );
    assert!(out.contains("valid: 4 contributions"), "{out}");
    for name in ["alice", "bob", "carol", "final"] {
        assert!(out.contains(name), "{out}");
    }

    // A tampered contribution: bob's public key no longer matches his transcript.
    let mut z = std::fs::read(p("m4.zkey")).unwrap();
    let (at, size) = section(&z, 10);
    let mut mpc = MpcParams::parse(&z[at..at + size]).unwrap();
    mpc.contributions[1].g1_sx = mpc.contributions[1].g1_s;
    z[at..at + size].copy_from_slice(&mpc.to_bytes());
    std::fs::write(p("tampered.zkey"), &z).unwrap();
    assert!(!snarkjs_accepts(&sj, &r1cs, &ptau, &p("tampered.zkey")));
    let verify = |zkey: &str, circuit: &str| {
        run(&mut zkinfer(&[
            "ceremony",
            "verify",
            "--circuit",
            circuit,
            "--ptau",
            &ptau,
            "--zkey",
            zkey,
        ]))
    };
    let (code, _, err) = verify(&p("tampered.zkey"), &p("m.zkc"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("contribution #2 ('bob')"), "{err}");
    // A contributor who changed δ but did not divide L by it.
    let mut z = std::fs::read(p("m4.zkey")).unwrap();
    let old = std::fs::read(p("m3.zkey")).unwrap();
    let (at, size) = section(&z, 8);
    let (at_old, _) = section(&old, 8);
    z[at..at + size].copy_from_slice(&old[at_old..at_old + size]);
    std::fs::write(p("stale.zkey"), &z).unwrap();
    let (code, _, err) = verify(&p("stale.zkey"), &p("m.zkc"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("section 8"), "{err}");
    // Not a zkey at all, and a missing one: bad input (exit 2), not "invalid".
    let (code, _, err) = verify(&r1cs, &p("m.zkc"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a .zkey"), "{err}");
    let (code, _, err) = run(&mut zkinfer(&[
        "ceremony",
        "contribute",
        "--in",
        &p("missing.zkey"),
        "--out",
        &p("y.zkey"),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot read"), "{err}");

    // A .ptau whose Lagrange points do not match its powers is refused before any key is made.
    let mut bad_ptau = std::fs::read(&ptau).unwrap();
    let (at, _) = section(&bad_ptau, 12);
    let mut g = Vec::new();
    encoding::put_g1_lem(&ark_bn254::G1Affine::new(1u64.into(), 2u64.into()), &mut g);
    let k = at + (2048 - 1 + 5) * 64; // point 5 of the 2^11 Lagrange basis
    bad_ptau[k..k + 64].copy_from_slice(&g);
    std::fs::write(p("bad.ptau"), &bad_ptau).unwrap();
    let init_with = |ptau: &str| {
        let args = ["ceremony", "init", "--circuit", &p("m.zkc"), "--ptau", ptau];
        run(zkinfer(&args).args(["--out", &p("x.zkey")]))
    };
    let (code, _, err) = init_with(&p("bad.ptau"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Lagrange"), "{err}");
    // One not prepared for phase 2 is named as such.
    let (code, _, err) = init_with(&p("pot1.ptau"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("prepare phase2"), "{err}");
    assert!(!Path::new(&p("x.zkey")).exists());

    let out = ok(&mut zkinfer(&[
        "import-zkey",
        "--circuit",
        &p("m.zkc"),
        "--zkey",
        &p("m4.zkey"),
        "--pk",
        &p("m.pk"),
        "--vk",
        &p("m.vk"),
    ]));
    assert!(out.contains("snarkjs's QAP reduction"), "{out}");
    ok(&mut zkinfer(&[
        "prove",
        "--circuit",
        &p("m.zkc"),
        "--pk",
        &p("m.pk"),
        "--input",
        input.to_str().unwrap(),
        "--proof",
        &p("proof.json"),
    ]));
    // Our verifier.
    ok(&mut zkinfer(&[
        "verify",
        "--vk",
        &p("m.vk"),
        "--proof",
        &p("proof.json"),
    ]));
    // snarkjs, with our export and with the verification key snarkjs itself takes from the zkey.
    ok(&mut zkinfer(&[
        "export",
        "--format",
        "snarkjs",
        "--vk",
        &p("m.vk"),
        "--proof",
        &p("proof.json"),
        "--out",
        &p("sj"),
    ]));
    ok(&mut node(
        &sj,
        &[
            "zkey",
            "export",
            "verificationkey",
            &p("m4.zkey"),
            &p("vk.json"),
        ],
    ));
    for vk in [p("sj/verification_key.json"), p("vk.json")] {
        let out = ok(&mut node(
            &sj,
            &[
                "groth16",
                "verify",
                &vk,
                &p("sj/public.json"),
                &p("sj/proof.json"),
            ],
        ));
        assert!(out.contains("OK"), "{out}");
    }
    // The exported Solidity verifier, compiled with solc-js and run in revm.
    let solc = sj
        .parent()
        .and_then(|p| p.parent())
        .expect("node_modules")
        .join("solc/index.js");
    ok(&mut zkinfer(&[
        "export-verifier",
        "--vk",
        &p("m.vk"),
        "--out",
        &p("V.sol"),
    ]));
    let sources = std::collections::BTreeMap::from([(
        "V.sol".to_string(),
        std::fs::read_to_string(p("V.sol")).unwrap(),
    )]);
    let compiled = evm_util::compile(&solc, &sources, "ZkinferVerifier", "verifyProof");
    let (code, sel, _) = compiled["V.sol"].clone();
    let mut chain = evm_util::Chain::new();
    let addr = chain.deploy(code);
    let evm_verdict = |chain: &mut evm_util::Chain, proof: &str| {
        let args: serde_json::Value = serde_json::from_str(&ok(&mut zkinfer(&[
            "calldata",
            "--proof",
            proof,
            "--vk",
            &p("m.vk"),
        ])))
        .unwrap();
        let mut data = sel.to_vec();
        for w in evm_util::strings(&args["proof"])
            .iter()
            .chain(&evm_util::strings(&args["input"]))
        {
            data.extend_from_slice(&evm_util::word(w));
        }
        match chain.call(addr, data) {
            evm_util::CallOutcome::Returned { word, .. } => word,
            other => panic!("the verifier did not return: {other:?}"),
        }
    };
    assert_eq!(
        evm_verdict(&mut chain, &p("proof.json")),
        revm::primitives::U256::from(1)
    );

    // A changed output is rejected by ours and by the contract.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("proof.json")).unwrap()).unwrap();
    let q = v["output"]["quantized"][0].as_i64().unwrap() + 1;
    let scale = v["output"]["scale"].as_i64().unwrap() as i32;
    v["output"]["quantized"][0] = q.into();
    v["output"]["values"][0] = (q as f64 / 2f64.powi(scale)).into();
    std::fs::write(p("bad.json"), v.to_string()).unwrap();
    let (code, _, err) = run(&mut zkinfer(&[
        "verify",
        "--vk",
        &p("m.vk"),
        "--proof",
        &p("bad.json"),
    ]));
    assert_eq!(code, 1, "{err}");

    // A zkey for another circuit (the same model at other input bits) is refused.
    ok(&mut zkinfer(&[
        "compile",
        "--model",
        model.to_str().unwrap(),
        "--out",
        &p("other.zkc"),
        "--input-bits",
        "10",
    ]));
    let (code, _, err) = run(&mut zkinfer(&[
        "import-zkey",
        "--circuit",
        &p("other.zkc"),
        "--zkey",
        &p("m4.zkey"),
        "--pk",
        &p("x.pk"),
        "--vk",
        &p("x.vk"),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another circuit"), "{err}");
    // One coefficient changed (same sizes): refused, naming the constraint.
    let mut z = std::fs::read(p("m1.zkey")).unwrap();
    let (at, _) = section(&z, 4);
    z[at + 4 + 12] ^= 1; // the first coefficient's lowest byte
    std::fs::write(p("bad.zkey"), &z).unwrap();
    let (code, _, err) = run(&mut zkinfer(&[
        "import-zkey",
        "--circuit",
        &p("m.zkc"),
        "--zkey",
        &p("bad.zkey"),
        "--pk",
        &p("x.pk"),
        "--vk",
        &p("x.vk"),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("coefficient of constraint"), "{err}");
    // A truncated zkey: a clear error.
    std::fs::write(p("cut.zkey"), &std::fs::read(p("m1.zkey")).unwrap()[..5000]).unwrap();
    let (code, _, err) = run(&mut zkinfer(&[
        "import-zkey",
        "--circuit",
        &p("m.zkc"),
        "--zkey",
        &p("cut.zkey"),
        "--pk",
        &p("x.pk"),
        "--vk",
        &p("x.vk"),
    ]));
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
