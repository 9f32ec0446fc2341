//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// A fixture file's path.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

/// A fixture file's bytes.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// The digits test split: (inputs, labels).
pub fn digits_test() -> (Vec<Vec<f64>>, Vec<usize>) {
    let v: serde_json::Value = serde_json::from_slice(&read("digits_test.json")).unwrap();
    let inputs = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let labels = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    (inputs, labels)
}

/// Index of the largest value.
pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap()
}

/// Checks one per-op fixture (`fixtures/ops/{name}.onnx` + `.json`): the quantised model's
/// output is within `tol` (absolute, in real units) of onnxruntime's float output, the circuit
/// is satisfied by the trace, and changing any one of a spread of witness values (every
/// variable for small circuits) leaves it unsatisfied. Returns (max error, constraints).
pub fn check_op_fixture(
    name: &str,
    settings: &zkinfer_circuits::Settings,
    tol: f64,
) -> (f64, usize) {
    use ark_ff::One;
    use zkinfer_circuits::{compile, infer, quantize_input, synthesize};
    let bytes = read(&format!("ops/{name}.onnx"));
    let spec: serde_json::Value =
        serde_json::from_slice(&read(&format!("ops/{name}.json"))).unwrap();
    let floats = |k: &str| -> Vec<f64> {
        spec[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (input, want) = (floats("input"), floats("output"));
    let compiled = compile(&bytes, settings).unwrap_or_else(|e| panic!("{name}: {e}"));
    let g = compiled.graph;
    let q = quantize_input(&g, &input).unwrap_or_else(|e| panic!("{name}: {e}"));
    let trace = infer(&g, &q).unwrap_or_else(|e| panic!("{name}: {e}"));
    let out = g.output_info();
    let got: Vec<f64> = trace
        .output(&g)
        .iter()
        .map(|&v| zkinfer_circuits::fixed::dequantize(v, out.scale))
        .collect();
    assert_eq!(got.len(), want.len(), "{name}: output length");
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f64, f64::max);
    assert!(
        err <= tol,
        "{name}: max error {err} > {tol}\n got {got:?}\nwant {want:?}"
    );
    let s = synthesize(&g, &trace, true).unwrap();
    assert!(
        s.r1cs.is_satisfied(&s.assignment),
        "{name}: honest witness unsatisfied"
    );
    let n = s.assignment.len();
    let step = (n / 400).max(1);
    for i in (1..n).step_by(step).chain([n - 1]) {
        let mut z = s.assignment.clone();
        z[i] += ark_bn254::Fr::one();
        assert!(
            !s.r1cs.is_satisfied(&z),
            "{name}: variable {i} of {n} is not pinned"
        );
    }
    println!(
        "{name}: max error {err:.5}, {} constraints",
        s.r1cs.num_constraints()
    );
    (err, s.r1cs.num_constraints())
}

/// Agreement of argmax and the largest logit error of a compiled model on the digits test split.
pub fn digits_agreement(
    name: &str,
    shape: &[usize],
    policy: &zkinfer_circuits::BitsPolicy,
) -> (f64, f64, usize) {
    let bytes = read(&format!("{name}/model.onnx"));
    let s = zkinfer_circuits::Settings {
        scale: 7,
        weight_scale: 7,
        bits: 16,
        input_bits: 9,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let g = zkinfer_circuits::compile_calibrated(&bytes, &s, policy)
        .unwrap()
        .graph;
    let float = zkinfer_circuits::reference::FloatModel::load(&bytes, shape).unwrap();
    let (inputs, _) = digits_test();
    let (mut agree, mut max_err) = (0usize, 0f64);
    for x in &inputs {
        let f = float.run(x).unwrap();
        let q = zkinfer_circuits::quantize_input(&g, x).unwrap();
        let t = zkinfer_circuits::infer(&g, &q).unwrap();
        let out: Vec<f64> = t
            .output(&g)
            .iter()
            .map(|&v| zkinfer_circuits::fixed::dequantize(v, 7))
            .collect();
        agree += usize::from(argmax(&f) == argmax(&out));
        max_err = f
            .iter()
            .zip(&out)
            .map(|(a, b)| (a - b).abs())
            .fold(max_err, f64::max);
    }
    let size = zkinfer_circuits::measure(&g).unwrap();
    (
        agree as f64 / inputs.len() as f64,
        max_err,
        size.constraints,
    )
}
