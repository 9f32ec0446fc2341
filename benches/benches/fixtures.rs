//! Prove and verify of the fixture models, exactly as the CLI does them (witness synthesis,
//! Groth16 on the CPU backend, proof.json, native verification). Setup runs once, untimed.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use zkinfer_circuits::{BitsPolicy, CircuitFile, Settings};
use zkinfer_prover::ModelProver;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

fn bench_model(c: &mut Criterion, name: &str, settings: Settings) {
    let bytes = std::fs::read(fixture(&format!("{name}/model.onnx"))).unwrap();
    let compiled = match zkinfer_circuits::compile_calibrated(
        &bytes,
        &settings,
        &BitsPolicy::WorstCase { max_bits: 48 },
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping {name}: {e}");
            return;
        }
    };
    let circuit = CircuitFile::new(compiled.graph, &bytes);
    let (pk, vk) = zkinfer_prover::setup(&circuit, &mut rand::rngs::OsRng).unwrap();
    let text = std::fs::read_to_string(fixture(&format!("{name}/input.json"))).unwrap();
    let input = zkinfer_circuits::input::parse_input_json(&text).unwrap();
    let prover = ModelProver::new(circuit, pk, "cpu").unwrap();
    let (proof, _) = prover.prove(&input, &mut rand::rngs::OsRng).unwrap();
    c.bench_function(&format!("{name}/prove"), |b| {
        b.iter(|| prover.prove(&input, &mut rand::rngs::OsRng).unwrap())
    });
    c.bench_function(&format!("{name}/verify"), |b| {
        b.iter(|| zkinfer_verifier::verify(&vk, &proof).unwrap())
    });
}

fn fixtures(c: &mut Criterion) {
    bench_model(
        c,
        "mlp",
        Settings {
            scale: 7,
            weight_scale: 7,
            bits: 16,
            input_bits: 9,
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        },
    );
    bench_model(
        c,
        "cnn",
        Settings {
            scale: 7,
            weight_scale: 7,
            bits: 16,
            input_bits: 9,
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = fixtures
}
criterion_main!(benches);
