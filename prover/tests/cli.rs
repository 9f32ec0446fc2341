//! The `zkinfer` CLI end to end on the digits MLP: the happy path, soundness (tampered
//! proofs and foreign keys rejected with exit 1) and bad input (exit 2, never a panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("run zkinfer")
}

fn code(o: &Output) -> i32 {
    o.status
        .code()
        .expect("exited normally (no signal, no panic abort)")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a clean exit with `want`, no panic message, and returns stderr.
fn expect_exit(o: &Output, want: i32) -> String {
    let e = stderr(o);
    assert_eq!(
        code(o),
        want,
        "stdout: {}\nstderr: {e}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!e.contains("panicked"), "panic: {e}");
    e
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A compiled, set-up and proven MLP shared by the tests of this file.
struct Flow {
    dir: PathBuf,
}

impl Flow {
    fn p(&self, n: &str) -> PathBuf {
        self.dir.join(n)
    }
}

fn compile_setup(dir: &Path, name: &str, scale: &str) {
    let zkc = dir.join(format!("{name}.zkc"));
    let o = zkinfer(&[
        "compile",
        "--model",
        s(&fixture("mlp/model.onnx")),
        "--out",
        s(&zkc),
        "--scale",
        scale,
        "--input-bits",
        "9",
    ]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    expect_exit(&o, 0);
    assert!(
        out.contains("constraints") && out.contains("public inputs"),
        "{out}"
    );
    let pk = dir.join(format!("{name}.pk"));
    let vk = dir.join(format!("{name}.vk"));
    expect_exit(
        &zkinfer(&[
            "setup",
            "--circuit",
            s(&zkc),
            "--pk",
            s(&pk),
            "--vk",
            s(&vk),
        ]),
        0,
    );
}

fn flow() -> &'static Flow {
    static FLOW: OnceLock<Flow> = OnceLock::new();
    FLOW.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("zkinfer-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        compile_setup(&dir, "mlp", "7");
        compile_setup(&dir, "other", "6");
        let f = Flow { dir };
        let o = prove_mlp(
            &f.dir,
            &f.p("mlp.pk"),
            &fixture("mlp/input.json"),
            &f.p("proof.json"),
            &[],
        );
        expect_exit(&o, 0);
        f
    })
}

/// `zkinfer prove` of the MLP circuit with `pk`, `input` and extra arguments.
fn prove_mlp(dir: &Path, pk: &Path, input: &Path, proof: &Path, extra: &[&str]) -> Output {
    let zkc = dir.join("mlp.zkc");
    let mut args = vec![
        "prove",
        "--circuit",
        s(&zkc),
        "--pk",
        s(pk),
        "--input",
        s(input),
        "--proof",
        s(proof),
    ];
    args.extend_from_slice(extra);
    zkinfer(&args)
}

fn verify(vk: &Path, proof: &Path) -> Output {
    zkinfer(&["verify", "--vk", s(vk), "--proof", s(proof)])
}

fn proof_json() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(flow().p("proof.json")).unwrap()).unwrap()
}

fn write_json(name: &str, v: &serde_json::Value) -> PathBuf {
    let p = flow().p(name);
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

#[test]
fn prove_and_verify_the_digits_mlp() {
    let f = flow();
    let out = expect_exit(&verify(&f.p("mlp.vk"), &f.p("proof.json")), 0);
    let v = proof_json();
    assert_eq!(v["proof"].as_str().unwrap().len(), 256, "128-byte proof");
    // The proven output is the float model's prediction (samples.json holds it).
    let samples: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("mlp/samples.json")).unwrap()).unwrap();
    let want = &samples["outputs"][0];
    let got = v["output"]["values"].as_array().unwrap();
    let argmax = |a: &[serde_json::Value]| {
        a.iter()
            .enumerate()
            .max_by(|x, y| x.1.as_f64().unwrap().total_cmp(&y.1.as_f64().unwrap()))
            .unwrap()
            .0
    };
    assert_eq!(argmax(got), argmax(want.as_array().unwrap()), "{out}");
    // Several proofs at once go through batch verification.
    let o = zkinfer(&[
        "verify",
        "--vk",
        s(&f.p("mlp.vk")),
        "--proof",
        s(&f.p("proof.json")),
        s(&f.p("proof.json")),
    ]);
    expect_exit(&o, 0);
}

#[test]
fn run_prints_the_output_the_proof_carries() {
    let f = flow();
    let o = zkinfer(&[
        "run",
        "--circuit",
        s(&f.p("mlp.zkc")),
        "--input",
        s(&fixture("mlp/input.json")),
    ]);
    expect_exit(&o, 0);
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["quantized"], proof_json()["output"]["quantized"]);
}

#[test]
fn a_changed_output_is_rejected() {
    let mut v = proof_json();
    let q = v["output"]["quantized"][3].as_i64().unwrap();
    v["output"]["quantized"][3] = (q + 1).into();
    v["output"]["values"][3] = ((q + 1) as f64 / 128.0).into();
    let p = write_json("changed_output.json", &v);
    let e = expect_exit(&verify(&flow().p("mlp.vk"), &p), 1);
    assert!(e.contains("rejected"), "{e}");
    // Changing only the float values (what people read) is caught too.
    let mut v = proof_json();
    v["output"]["values"][0] = 99.0.into();
    let p = write_json("changed_values.json", &v);
    expect_exit(&verify(&flow().p("mlp.vk"), &p), 1);
}

#[test]
fn a_flipped_proof_byte_is_rejected() {
    let v = proof_json();
    let hex = v["proof"].as_str().unwrap().to_string();
    let mut saw_invalid = false;
    // Every byte of A and C (G1, compressed) and three of B (G2): a flip of a G1 byte decodes
    // to a curve point about half the time, so with eight bytes (as before) a proof whose five
    // G1 flips all left the curve (1 in 32) failed the test without any fault; with 64 that is
    // 2^−64.
    let bytes = (0usize..32).chain([40, 64, 90]).chain(96..128);
    for byte in bytes {
        let mut b = hex::decode(&hex).unwrap();
        b[byte] ^= 0x01;
        let mut w = v.clone();
        w["proof"] = hex::encode(&b).into();
        let p = write_json(&format!("flipped_{byte}.json"), &w);
        let o = verify(&flow().p("mlp.vk"), &p);
        // A flip that still decodes to curve points fails the pairing (exit 1); one that
        // leaves the curve or subgroup is malformed proof bytes (exit 2). Never accepted.
        match code(&o) {
            1 => saw_invalid = true,
            2 => assert!(
                stderr(&o).contains("invalid encoding or point"),
                "{}",
                stderr(&o)
            ),
            c => panic!("flipped byte {byte}: exit {c}: {}", stderr(&o)),
        }
    }
    assert!(
        saw_invalid,
        "some flips decode to valid points and must fail the pairing check"
    );
}

#[test]
fn another_models_vk_rejects_the_proof() {
    let f = flow();
    let e = expect_exit(&verify(&f.p("other.vk"), &f.p("proof.json")), 1);
    assert!(
        e.contains("another circuit") || e.contains("circuit"),
        "{e}"
    );
    // Even with the digest forged to match, the pairing check fails.
    let vk = zkinfer_verifier::VerifyingKeyFile::read(&f.p("other.vk")).unwrap();
    let mut v = proof_json();
    v["circuit"] = hex::encode(vk.digest).into();
    let p = write_json("forged_digest.json", &v);
    expect_exit(&verify(&f.p("other.vk"), &p), 1);
}

#[test]
fn bad_models_are_refused_with_exit_2() {
    let out = flow().p("bad.zkc");
    let e = expect_exit(
        &zkinfer(&[
            "compile",
            "--model",
            s(&fixture("bad/truncated.onnx")),
            "--out",
            s(&out),
        ]),
        2,
    );
    assert!(e.contains("malformed"), "{e}");
    let e = expect_exit(
        &zkinfer(&[
            "compile",
            "--model",
            s(&fixture("bad/unsupported_op.onnx")),
            "--out",
            s(&out),
        ]),
        2,
    );
    assert!(e.contains("Sin") && e.contains("mystery_sin"), "{e}");
    let e = expect_exit(
        &zkinfer(&[
            "compile",
            "--model",
            "/nonexistent/model.onnx",
            "--out",
            s(&out),
        ]),
        2,
    );
    assert!(e.contains("cannot read"), "{e}");
}

fn prove_with(input: &serde_json::Value, pk: &Path) -> Output {
    // Tests run in parallel: every call gets its own input file.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let f = flow();
    let inp = write_json(&format!("bad_input_{n}.json"), input);
    prove_mlp(&f.dir, pk, &inp, &f.p("unused.json"), &[])
}

#[test]
fn bad_inputs_are_refused_with_exit_2() {
    let pk = flow().p("mlp.pk");
    let e = expect_exit(
        &prove_with(&serde_json::json!({"input": vec![0.5; 63]}), &pk),
        2,
    );
    assert!(e.contains("63") && e.contains("64"), "{e}");
    let mut x = vec![serde_json::json!(0.5); 64];
    x[7] = "NaN".into();
    let e = expect_exit(&prove_with(&serde_json::json!({ "input": x }), &pk), 2);
    assert!(e.contains("not a finite number"), "{e}");
    let e = expect_exit(
        &prove_with(&serde_json::json!({"input": vec![5.0; 64]}), &pk),
        2,
    );
    assert!(e.contains("--input-bits"), "{e}");
    let e = expect_exit(&prove_with(&serde_json::json!({"wrong": 1}), &pk), 2);
    assert!(e.contains("\"input\""), "{e}");
}

#[test]
fn damaged_or_foreign_keys_are_refused_with_exit_2() {
    let f = flow();
    let input = serde_json::from_slice(&std::fs::read(fixture("mlp/input.json")).unwrap()).unwrap();
    // A truncated proving key.
    let pk = std::fs::read(f.p("mlp.pk")).unwrap();
    let cut = f.p("truncated.pk");
    std::fs::write(&cut, &pk[..pk.len() / 2]).unwrap();
    let e = expect_exit(&prove_with(&input, &cut), 2);
    assert!(e.contains("truncated") || e.contains("corrupt"), "{e}");
    // A proving key of another circuit.
    let e = expect_exit(&prove_with(&input, &f.p("other.pk")), 2);
    assert!(e.contains("run setup for this circuit"), "{e}");
    // A truncated verifying key, and a file that is not a key at all.
    let vk = std::fs::read(f.p("mlp.vk")).unwrap();
    let cut = f.p("truncated.vk");
    std::fs::write(&cut, &vk[..vk.len() - 10]).unwrap();
    expect_exit(&verify(&cut, &f.p("proof.json")), 2);
    expect_exit(&verify(&f.p("mlp.pk"), &f.p("proof.json")), 2);
    // A proof file that is not JSON.
    expect_exit(&verify(&f.p("mlp.vk"), &f.p("mlp.zkc")), 2);
}

#[test]
fn usage_errors_exit_2() {
    expect_exit(&zkinfer(&["prove"]), 2);
    expect_exit(&zkinfer(&["no-such-command"]), 2);
    let f = flow();
    let o = prove_mlp(
        &f.dir,
        &f.p("mlp.pk"),
        &fixture("mlp/input.json"),
        &f.p("x.json"),
        &["--backend", "tpu"],
    );
    let e = expect_exit(&o, 2);
    assert!(e.contains("tpu"), "{e}");
}

/// The README's first command: the whole flow on the bundled model ends in a valid proof.
#[test]
fn demo_runs_the_whole_flow() {
    let o = zkinfer(&["demo"]);
    let out = expect_exit(&o, 0);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("predicted digit"), "{stdout}{out}");
    assert!(stdout.contains("valid (1 proof"), "{stdout}{out}");
}
