//! The digits MLP end to end through the circuits crate: accuracy against the float model,
//! satisfaction of the circuit, and rejection of a wrong witness.

mod common;
use common::*;
use zkinfer_circuits::{compile, infer, quantize_input, synthesize, Settings};

fn settings() -> Settings {
    Settings {
        scale: 7,
        weight_scale: 7,
        bits: 16,
        input_bits: 9,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

#[test]
fn quantised_mlp_agrees_with_the_float_model() {
    let (rate, max_err, constraints) =
        digits_agreement("mlp", &[1, 64], &zkinfer_circuits::BitsPolicy::Flat);
    println!("MLP (flat 16 bits): argmax agreement {:.2}%, largest logit error {max_err:.4}, {constraints} constraints", rate * 100.0);
    assert!(rate >= 0.97, "agreement {rate}");
}

#[test]
fn mlp_circuit_is_satisfied_and_counts_match() {
    let bytes = read("mlp/model.onnx");
    let g = compile(&bytes, &settings()).unwrap().graph;
    let (inputs, _) = digits_test();
    let q = quantize_input(&g, &inputs[0]).unwrap();
    let t = infer(&g, &q).unwrap();
    let s = synthesize(&g, &t, true).unwrap();
    assert!(s.r1cs.is_satisfied(&s.assignment));
    let size = zkinfer_circuits::measure(&g).unwrap();
    assert_eq!(size.constraints, s.r1cs.num_constraints());
    // 64 inputs at 9 bits: 28 slots per element, 3 elements; 10 outputs at 16 bits: 15 slots, 1.
    assert_eq!(size.public_inputs, 4);
    println!(
        "MLP: {} constraints, {} variables",
        size.constraints, size.variables
    );
    // The witness-only synthesis gives the same assignment.
    assert_eq!(synthesize(&g, &t, false).unwrap().assignment, s.assignment);
}

#[test]
fn mlp_circuit_rejects_any_single_wrong_value() {
    let bytes = read("mlp/model.onnx");
    let g = compile(&bytes, &settings()).unwrap().graph;
    let (inputs, _) = digits_test();
    let q = quantize_input(&g, &inputs[3]).unwrap();
    let s = synthesize(&g, &infer(&g, &q).unwrap(), true).unwrap();
    use ark_ff::One;
    // Every variable (public or private) is pinned: changing any one breaks a constraint.
    let stride = 7; // a spread of positions keeps the test fast in debug builds
    for i in (1..s.assignment.len())
        .step_by(stride)
        .chain([s.assignment.len() - 1])
    {
        let mut z = s.assignment.clone();
        z[i] += ark_bn254::Fr::one();
        assert!(!s.r1cs.is_satisfied(&z), "variable {i} is not pinned");
    }
}

#[test]
fn a_different_output_claim_is_unsatisfiable() {
    // Claim another output in the public input: the constraints tie it to the computed one.
    let bytes = read("mlp/model.onnx");
    let g = compile(&bytes, &settings()).unwrap().graph;
    let (inputs, _) = digits_test();
    let q = quantize_input(&g, &inputs[1]).unwrap();
    let t = infer(&g, &q).unwrap();
    let s = synthesize(&g, &t, true).unwrap();
    let mut out = t.output(&g).to_vec();
    out[0] += 1;
    let forged = zkinfer_verifier::pack_public_inputs(&g.public_layout(), &q, &out).unwrap();
    let mut z = s.assignment.clone();
    z[1..1 + forged.len()].copy_from_slice(&forged);
    assert!(!s.r1cs.is_satisfied(&z));
}
