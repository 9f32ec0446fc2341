//! `zkinfer demo`: the whole flow on the bundled digits MLP, with each step's time.

use super::commands;
use super::Exit;
use std::path::PathBuf;
use std::time::Instant;

const MODEL: &[u8] = include_bytes!("../../../fixtures/mlp/model.onnx");
const INPUT: &str = include_str!("../../../fixtures/mlp/input.json");

/// Runs compile → setup → prove → verify in a fresh temporary folder.
pub fn run(backend: &str) -> Result<(), Exit> {
    commands::check_backend(backend)?;
    let dir = std::env::temp_dir().join(format!("zkinfer-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Exit::BadInput(format!("cannot create {}: {e}", dir.display())))?;
    let p = |n: &str| -> PathBuf { dir.join(n) };
    std::fs::write(p("model.onnx"), MODEL).map_err(super::bad)?;
    std::fs::write(p("input.json"), INPUT).map_err(super::bad)?;
    println!(
        "zkinfer demo: digits MLP (64 -> 32 -> ReLU -> 10) in {}\n",
        dir.display()
    );

    let step = |name: &str| {
        println!("== {name}");
        Instant::now()
    };
    let done = |t: Instant| println!("   ({:.3} s)\n", t.elapsed().as_secs_f64());

    let t = step("compile");
    let settings = zkinfer_circuits::Settings {
        scale: 7,
        weight_scale: 7,
        bits: 16,
        input_bits: 9,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let policy = commands::policy(None, Some(9), None, 1.25)?;
    commands::compile(&p("model.onnx"), &p("model.zkc"), &settings, &policy, None)?;
    done(t);

    let t = step("setup");
    commands::setup(&p("model.zkc"), &p("model.pk"), &p("model.vk"))?;
    done(t);

    let t = step("prove");
    let proof = commands::prove(
        &p("model.zkc"),
        &p("model.pk"),
        &p("input.json"),
        &p("proof.json"),
        backend,
    )?;
    done(t);
    let logits = &proof.output.values;
    let class = logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    let shown: Vec<String> = logits.iter().map(|v| format!("{v:.2}")).collect();
    println!(
        "   logits [{}]\n   predicted digit: {class}; proof: {} bytes\n",
        shown.join(", "),
        proof.proof.len() / 2
    );

    let t = step("verify");
    commands::verify(&p("model.vk"), &[p("proof.json")])?;
    done(t);
    Ok(())
}
