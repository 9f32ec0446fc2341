//! Per-op fixtures for pooling, clamps, activations, residual adds and data movement: float
//! agreement and soundness (every sampled witness value pinned). Fixtures that start with a
//! Conv need the Conv op. Tolerances are in real units; the measured errors are printed.

mod common;
use zkinfer_circuits::Settings;

fn settings() -> Settings {
    Settings { scale: 8, weight_scale: 8, bits: 16, input_bits: 10 }
}

/// Input quantisation alone: half an ulp at scale 8, plus float32 noise.
const EXACT: f64 = 0.5 / 256.0 + 1e-6;

#[test]
fn maxpool() {
    common::check_op_fixture("maxpool", &settings(), EXACT);
}

#[test]
fn maxpool_3x3_s1_pad1() {
    common::check_op_fixture("maxpool_3x3_s1_pad1", &settings(), EXACT);
}

#[test]
fn clip() {
    common::check_op_fixture("clip", &settings(), EXACT);
}

#[test]
fn leaky_relu() {
    // |α - α_q| · |x| + an output rounding: 0.0016 + 0.002, plus the input's rounding.
    common::check_op_fixture("leaky_relu", &settings(), 0.0016 + 2.0 * EXACT);
}

#[test]
fn sigmoid() {
    // The Gemm's error (inputs and weights quantised) times the slope ≤ 1/4, plus the
    // activation's own 0.0022.
    common::check_op_fixture("sigmoid", &settings(), 0.01);
}

#[test]
fn tanh() {
    // As sigmoid with slope ≤ 1.
    common::check_op_fixture("tanh", &settings(), 0.02);
}

#[test]
fn add_two() {
    common::check_op_fixture("add_two", &settings(), 0.03);
}

#[test]
fn sub_two() {
    common::check_op_fixture("sub_two", &settings(), 0.03);
}

#[test]
fn concat() {
    common::check_op_fixture("concat", &settings(), 0.03);
}

#[test]
fn transpose() {
    common::check_op_fixture("transpose", &settings(), 0.03);
}

#[test]
fn squeeze_unsqueeze() {
    common::check_op_fixture("squeeze_unsqueeze", &settings(), EXACT);
}

#[test]
fn pad() {
    common::check_op_fixture("pad", &settings(), EXACT);
}

/// Compiles a model folder's `model.onnx`, runs its samples and checks the float agreement and
/// that the circuit is satisfied by the first sample's trace.
fn check_model(dir: &str, settings: &Settings, tol: f64) {
    use zkinfer_circuits::{compile, infer, quantize_input, synthesize};
    let bytes = common::read(&format!("{dir}/model.onnx"));
    let g = compile(&bytes, settings).unwrap_or_else(|e| panic!("{dir}: {e}")).graph;
    let spec: serde_json::Value = serde_json::from_slice(&common::read(&format!("{dir}/samples.json"))).unwrap();
    let flat = |v: &serde_json::Value| -> Vec<f64> {
        fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                x => out.push(x.as_f64().unwrap()),
            }
        }
        let mut out = Vec::new();
        walk(v, &mut out);
        out
    };
    let mut worst = 0f64;
    for (i, (x, want)) in spec["inputs"].as_array().unwrap().iter().zip(spec["outputs"].as_array().unwrap()).enumerate()
    {
        let q = quantize_input(&g, &flat(x)).unwrap();
        let trace = infer(&g, &q).unwrap_or_else(|e| panic!("{dir} sample {i}: {e}"));
        let s = g.output_info().scale;
        let got: Vec<f64> = trace.output(&g).iter().map(|&v| zkinfer_circuits::fixed::dequantize(v, s)).collect();
        let want = flat(want);
        assert_eq!(got.len(), want.len());
        worst = worst.max(got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max));
        if i == 0 {
            let syn = synthesize(&g, &trace, true).unwrap();
            assert!(syn.r1cs.is_satisfied(&syn.assignment), "{dir}: honest witness unsatisfied");
            println!("{dir}: {} constraints", syn.r1cs.num_constraints());
        }
    }
    println!("{dir}: max error {worst:.5} over the samples");
    assert!(worst <= tol, "{dir}: max error {worst} > {tol}");
}

#[test]
fn cnn_model_compiles_and_agrees() {
    check_model("cnn", &Settings { scale: 8, weight_scale: 8, bits: 16, input_bits: 10 }, 0.1);
}

#[test]
fn resblock_model_compiles_and_agrees() {
    check_model("resblock", &settings(), 0.05);
}
