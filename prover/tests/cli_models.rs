//! The CNN and residual-block fixtures through the CLI: compile, setup, prove, verify.

use std::path::PathBuf;
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

fn zkinfer(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("run zkinfer");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}\nstdout: {out}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn end_to_end(name: &str, extra: &[&str]) {
    let dir = std::env::temp_dir().join(format!("zkinfer-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let model = fixture(&format!("{name}/model.onnx"));
    let mut args = vec!["compile", "--model", model.to_str().unwrap(), "--out"];
    let zkc = p("m.zkc");
    args.push(&zkc);
    args.extend_from_slice(extra);
    let report = zkinfer(&args);
    println!("{name}:\n{report}");
    zkinfer(&[
        "setup",
        "--circuit",
        &p("m.zkc"),
        "--pk",
        &p("m.pk"),
        "--vk",
        &p("m.vk"),
    ]);
    let input = fixture(&format!("{name}/input.json"));
    let proved = zkinfer(&[
        "prove",
        "--circuit",
        &p("m.zkc"),
        "--pk",
        &p("m.pk"),
        "--input",
        input.to_str().unwrap(),
        "--proof",
        &p("proof.json"),
    ]);
    println!("{proved}");
    zkinfer(&["verify", "--vk", &p("m.vk"), "--proof", &p("proof.json")]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cnn_end_to_end() {
    end_to_end("cnn", &["--input-bits", "9"]);
}

#[test]
fn resblock_end_to_end() {
    end_to_end("resblock", &["--scale", "8", "--input-bits", "10"]);
}

/// The decoders at the settings of their accuracy test (circuits/tests/transformers.rs): token
/// ids in, next-token logits out.
#[test]
fn gpt_end_to_end() {
    end_to_end(
        "gpt",
        &["--scale", "8", "--weight-scale", "8", "--bits", "20"],
    );
}

#[test]
fn llama_end_to_end() {
    end_to_end(
        "llama",
        &["--scale", "8", "--weight-scale", "8", "--bits", "20"],
    );
}

/// A token id outside the vocabulary is bad input (exit 2) that names the position and the
/// vocabulary, before any proving work.
#[test]
fn a_token_outside_the_vocabulary_exits_2() {
    let dir = std::env::temp_dir().join(format!("zkinfer-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zkc = dir.join("gpt.zkc");
    let model = fixture("gpt/model.onnx");
    zkinfer(&[
        "compile",
        "--model",
        model.to_str().unwrap(),
        "--out",
        zkc.to_str().unwrap(),
        "--scale",
        "8",
        "--bits",
        "20",
    ]);
    let mut ids: Vec<i64> = (0..16).collect();
    ids[5] = 64;
    let input = dir.join("bad.json");
    std::fs::write(&input, serde_json::json!({ "input": ids }).to_string()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args([
            "run",
            "--circuit",
            zkc.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("token 5 of the input is 64, outside the vocabulary [0, 64)"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
