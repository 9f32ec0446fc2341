//! The decoder fixtures (`fixtures/gpt`, `fixtures/llama`): top-1 agreement of the quantised
//! next-token logits with onnxruntime's float model over 100 random sequences, the largest
//! logit error, and one trace checked against the full circuit.

mod common;
use common::*;
use zkinfer_circuits::{compile, infer, quantize_input, synthesize, Settings};

/// The settings the README's transformer table and the CLI test use.
pub fn transformer_settings() -> Settings {
    Settings {
        scale: 8,
        weight_scale: 8,
        bits: 20,
        input_bits: 8,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

struct Samples {
    inputs: Vec<Vec<f64>>,
    logits: Vec<Vec<f64>>,
}

fn samples(name: &str) -> Samples {
    let v: serde_json::Value =
        serde_json::from_slice(&read(&format!("{name}/samples.json"))).unwrap();
    let rows = |k: &str| -> Vec<Vec<f64>> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    Samples {
        inputs: rows("inputs"),
        logits: rows("outputs"),
    }
}

/// (top-1 agreement, largest logit error, constraints) of `name` over its 100 samples.
fn agreement(name: &str) -> (f64, f64, usize) {
    let g = compile(
        &read(&format!("{name}/model.onnx")),
        &transformer_settings(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
    .graph;
    let s = samples(name);
    assert_eq!(s.inputs.len(), 100);
    let out_scale = g.output_info().scale;
    let (mut agree, mut max_err) = (0usize, 0f64);
    for (i, (x, want)) in s.inputs.iter().zip(&s.logits).enumerate() {
        let q = quantize_input(&g, x).unwrap();
        let t = infer(&g, &q).unwrap_or_else(|e| panic!("{name} sample {i}: {e}"));
        let got: Vec<f64> = t
            .output(&g)
            .iter()
            .map(|&v| zkinfer_circuits::fixed::dequantize(v, out_scale))
            .collect();
        assert_eq!(got.len(), want.len());
        agree += usize::from(argmax(&got) == argmax(want));
        for (a, b) in got.iter().zip(want) {
            max_err = max_err.max((a - b).abs());
        }
        if i == 0 {
            let syn = synthesize(&g, &t, true).unwrap();
            assert!(
                syn.r1cs.is_satisfied(&syn.assignment),
                "{name}: trace unsatisfied"
            );
        }
    }
    let constraints = zkinfer_circuits::measure(&g).unwrap().constraints;
    (agree as f64 / s.inputs.len() as f64, max_err, constraints)
}

#[test]
fn gpt_next_token_agrees_with_onnxruntime() {
    let (rate, err, constraints) = agreement("gpt");
    println!(
        "gpt: top-1 agreement {:.0}% over 100 sequences, largest logit error {err:.4}, {constraints} constraints",
        rate * 100.0
    );
    assert!(rate >= 0.95, "agreement {rate}");
}

#[test]
fn llama_next_token_agrees_with_onnxruntime() {
    let (rate, err, constraints) = agreement("llama");
    println!(
        "llama: top-1 agreement {:.0}% over 100 sequences, largest logit error {err:.4}, {constraints} constraints",
        rate * 100.0
    );
    assert!(rate >= 0.95, "agreement {rate}");
}

#[test]
fn an_op_outside_the_supported_set_is_named_with_its_node() {
    let e = compile(
        &read("bad/transformer_unsupported.onnx"),
        &transformer_settings(),
    )
    .err()
    .expect("TopK on an activation is not supported");
    let msg = e.to_string();
    assert!(
        msg.contains("TopK") && msg.contains("/blocks.0/mystery"),
        "{msg}"
    );
}
