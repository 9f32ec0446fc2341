//! The CNN and residual-block fixtures: accuracy against the float model and circuit
//! satisfaction under the default (worst-case) and calibrated bit choices.

mod common;
use common::*;
use zkinfer_circuits::{
    compile_calibrated, infer, quantize_input, synthesize, BitsPolicy, Settings,
};

fn samples(name: &str) -> Vec<Vec<f64>> {
    let v: serde_json::Value =
        serde_json::from_slice(&read(&format!("{name}/samples.json"))).unwrap();
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            zkinfer_circuits::input::parse_input_json(
                &serde_json::json!({ "input": x }).to_string(),
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn cnn_agrees_with_the_float_model() {
    for (label, policy) in [
        ("worst-case bits", BitsPolicy::WorstCase { max_bits: 48 }),
        (
            "calibrated on 5 samples",
            BitsPolicy::Calibrated {
                samples: samples("cnn"),
                margin: 1.5,
                calibrate_input: false,
            },
        ),
    ] {
        let (rate, err, constraints) = digits_agreement("cnn", &[1, 1, 8, 8], &policy);
        println!("CNN ({label}): argmax agreement {:.2}%, largest logit error {err:.4}, {constraints} constraints", rate * 100.0);
        if matches!(policy, BitsPolicy::WorstCase { .. }) {
            assert!(rate >= 0.97, "agreement {rate}");
        }
    }
}

#[test]
fn mlp_calibrated_keeps_accuracy_with_fewer_constraints() {
    let cal = BitsPolicy::Calibrated {
        samples: digits_test().0,
        margin: 1.25,
        calibrate_input: false,
    };
    let (rate, err, c_cal) = digits_agreement("mlp", &[1, 64], &cal);
    let (_, _, c_worst) =
        digits_agreement("mlp", &[1, 64], &BitsPolicy::WorstCase { max_bits: 48 });
    println!("MLP calibrated: agreement {:.2}%, largest logit error {err:.4}, {c_cal} vs {c_worst} constraints", rate * 100.0);
    assert!(rate >= 0.97);
    assert!(c_cal < c_worst);
}

#[test]
fn resblock_matches_onnxruntime_and_satisfies() {
    let bytes = read("resblock/model.onnx");
    let s = Settings {
        scale: 8,
        weight_scale: 8,
        bits: 16,
        input_bits: 10,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let g = compile_calibrated(&bytes, &s, &BitsPolicy::WorstCase { max_bits: 48 })
        .unwrap()
        .graph;
    let v: serde_json::Value = serde_json::from_slice(&read("resblock/samples.json")).unwrap();
    let mut max_err = 0f64;
    for (x, want) in samples("resblock")
        .iter()
        .zip(v["outputs"].as_array().unwrap())
    {
        let mut want_flat = Vec::new();
        fn flat(v: &serde_json::Value, out: &mut Vec<f64>) {
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
                x => out.push(x.as_f64().unwrap()),
            }
        }
        flat(want, &mut want_flat);
        let q = quantize_input(&g, x).unwrap();
        let t = infer(&g, &q).unwrap();
        let got: Vec<f64> = t
            .output(&g)
            .iter()
            .map(|&v| zkinfer_circuits::fixed::dequantize(v, 8))
            .collect();
        assert_eq!(got.len(), want_flat.len());
        max_err = got
            .iter()
            .zip(&want_flat)
            .map(|(a, b)| (a - b).abs())
            .fold(max_err, f64::max);
        let syn = synthesize(&g, &t, true).unwrap();
        assert!(syn.r1cs.is_satisfied(&syn.assignment));
    }
    let size = zkinfer_circuits::measure(&g).unwrap();
    println!(
        "resblock: largest error {max_err:.4}, {} constraints",
        size.constraints
    );
    assert!(max_err < 0.1, "{max_err}");
}
