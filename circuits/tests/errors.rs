//! Bad models and bad inputs give clear errors, never panics.

mod common;
use common::*;
use zkinfer_circuits::{compile, infer, quantize_input, CompileError, InferenceError, Settings};

fn mlp() -> zkinfer_circuits::QGraph {
    let s = Settings {
        scale: 7,
        weight_scale: 7,
        bits: 16,
        input_bits: 9,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    compile(&read("mlp/model.onnx"), &s).unwrap().graph
}

#[test]
fn malformed_onnx_is_refused() {
    let e = compile(&read("bad/truncated.onnx"), &Settings::default())
        .err()
        .unwrap();
    assert!(matches!(e, CompileError::Malformed(_)), "{e}");
    let e = compile(b"definitely not onnx", &Settings::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("malformed"), "{e}");
}

#[test]
fn unsupported_op_names_the_op_and_node() {
    let e = compile(&read("bad/unsupported_op.onnx"), &Settings::default())
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(m.contains("Sin") && m.contains("mystery_sin"), "{m}");
}

#[test]
fn wrong_input_length_nan_and_out_of_range_inputs() {
    let g = mlp();
    assert!(matches!(
        quantize_input(&g, &[0.0; 63]),
        Err(InferenceError::InputLength {
            got: 63,
            want: 64,
            ..
        })
    ));
    let mut x = vec![0.0; 64];
    x[5] = f64::NAN;
    assert!(matches!(
        quantize_input(&g, &x),
        Err(InferenceError::NotFinite { index: 5, .. })
    ));
    x[5] = f64::INFINITY;
    assert!(matches!(
        quantize_input(&g, &x),
        Err(InferenceError::NotFinite { index: 5, .. })
    ));
    x[5] = 3.0; // 9 bits at scale 7 hold [-2, 1.99]
    let e = quantize_input(&g, &x).unwrap_err();
    assert!(e.to_string().contains("--input-bits"), "{e}");
}

#[test]
fn an_activation_out_of_range_names_the_layer_and_the_option() {
    // 4-bit activations cannot hold the MLP's hidden layer.
    let s = Settings {
        scale: 7,
        weight_scale: 7,
        bits: 4,
        input_bits: 9,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let compiled = compile(&read("mlp/model.onnx"), &s).unwrap();
    assert!(!compiled.warnings.is_empty());
    let (inputs, _) = digits_test();
    let q = quantize_input(&compiled.graph, &inputs[0]).unwrap();
    let e = infer(&compiled.graph, &q).unwrap_err();
    let m = e.to_string();
    assert!(m.contains("fc1") && m.contains("--bits"), "{m}");
}

#[test]
fn settings_out_of_bounds_are_refused() {
    let s = Settings {
        scale: 7,
        weight_scale: 7,
        bits: 0,
        input_bits: 9,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    assert!(matches!(
        compile(&read("mlp/model.onnx"), &s),
        Err(CompileError::Settings(_))
    ));
}

#[test]
fn circuit_file_round_trips_and_detects_corruption() {
    let bytes = read("mlp/model.onnx");
    let g = mlp();
    let f = zkinfer_circuits::CircuitFile::new(g.clone(), &bytes);
    let b = f.to_bytes();
    let back = zkinfer_circuits::CircuitFile::from_bytes(&b).unwrap();
    assert_eq!(back.graph, g);
    assert_eq!(back.digest, f.digest);
    for cut in [0, 3, 10, 71, 72, b.len() / 2, b.len() - 1] {
        assert!(
            zkinfer_circuits::CircuitFile::from_bytes(&b[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut edited = b.clone();
    let at = b.len() - 20;
    edited[at] = if edited[at] == b'1' { b'2' } else { b'1' };
    assert!(zkinfer_circuits::CircuitFile::from_bytes(&edited).is_err());
}
