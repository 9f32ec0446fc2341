//! Per-op fixtures for attention: MatMul of two activations (batched, broadcasting), Softmax
//! (plain, and fused with a causal `Where` mask in both argument orders), and a whole attention
//! head. Float agreement against onnxruntime and soundness (sampled witness values pinned);
//! the measured errors and constraint counts are printed.

mod common;
mod support;
use zkinfer_circuits::Settings;

fn settings() -> Settings {
    Settings {
        scale: 8,
        weight_scale: 8,
        bits: 18,
        input_bits: 10,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

/// One output ulp at scale 8.
const ULP: f64 = 1.0 / 256.0;

#[test]
fn matmul_act() {
    // x·xᵀ over 8 terms of |x| ≤ 1 whose inputs are rounded to half an ulp: 8·2·½ ulp, plus
    // the output's rounding.
    common::check_op_fixture("matmul_act", &settings(), 8.5 * ULP + 1e-6);
}

#[test]
fn matmul_act_broadcast() {
    // Two constant MatMuls (errors of a few ulps each), then [2,3,5] × [1,5,6].
    common::check_op_fixture("matmul_act_broadcast", &settings(), 0.05);
}

#[test]
fn softmax() {
    // The input's rounding (½ ulp, doubled by the Mul) through a ½-Lipschitz map, the exp's
    // approximation, the output's rounding.
    common::check_op_fixture("softmax", &settings(), 1.5 * ULP);
}

#[test]
fn softmax_masked() {
    common::check_op_fixture("softmax_masked", &settings(), 1.5 * ULP);
}

#[test]
fn softmax_masked_large_neg() {
    common::check_op_fixture("softmax_masked_large_neg", &settings(), 1.5 * ULP);
}

#[test]
fn attention_head() {
    common::check_op_fixture("attention_head", &settings(), 0.03);
}

#[test]
fn masking_halves_the_softmax_cost() {
    // The masked fixture's softmax costs nothing for masked positions (and for a row with a
    // single unmasked value): compare with the unmasked softmax of the same shape per element.
    let s = settings();
    let layer_cost = |name: &str| {
        let bytes = common::read(&format!("ops/{name}.onnx"));
        let g = zkinfer_circuits::compile(&bytes, &s).unwrap().graph;
        let size = zkinfer_circuits::measure(&g).unwrap();
        let (label, cost) = size
            .per_layer
            .iter()
            .find(|(l, _)| l.contains("softmax"))
            .cloned()
            .unwrap_or_else(|| panic!("{name}: no softmax layer in {:?}", size.per_layer));
        let elems: usize = g.output_info().shape.iter().product();
        println!("{name}: layer '{label}' {cost} constraints, {elems} outputs");
        (cost, elems)
    };
    let (masked, n_masked) = layer_cost("softmax_masked");
    let (plain, n_plain) = layer_cost("softmax");
    let per_masked = masked as f64 / n_masked as f64;
    let per_plain = plain as f64 / n_plain as f64;
    println!("per output: masked {per_masked:.1}, unmasked {per_plain:.1}");
    // 4×4 causal: 6 of 16 positions masked and the first row free; rows of 4 vs 6.
    assert!(per_masked < 0.6 * per_plain);
}

#[test]
fn a_mask_without_a_softmax_is_refused() {
    // Where(mask, -inf, x) read by anything but a Softmax has no finite meaning.
    use zkinfer_circuits::compile;
    let model = mask_then("Relu");
    let err = compile(&model, &settings())
        .err()
        .expect("must be refused")
        .to_string();
    assert!(err.contains("Softmax") && err.contains("mask"), "{err}");
}

/// `Where(cond, -inf, x)` on a `[1, 2, 2]` input with an initializer condition (0/1 floats;
/// lowering reads any non-zero as true), then `op`.
fn mask_then(op: &str) -> Vec<u8> {
    use support::{model, node};
    model(
        &[1, 2, 2],
        vec![
            node(
                "Where",
                "where",
                &["cond", "ninf", "input"],
                "masked",
                vec![],
            ),
            node(op, "after", &["masked"], "output", vec![]),
        ],
        &[
            ("cond", vec![2, 2], vec![0.0, 1.0, 0.0, 0.0]),
            ("ninf", vec![], vec![f32::NEG_INFINITY]),
        ],
    )
}

#[test]
fn calibration_compiles_masked_attention() {
    // Calibration's measuring compile never fuses: the masked Where then stands alone (its
    // masked positions at the lowest value of its bits, whose exp is 0) and the Softmax reads
    // it; the real compile fuses again. Both policies must compile and agree with the float.
    use zkinfer_circuits::{compile_calibrated, infer, quantize_input, BitsPolicy};
    for name in [
        "softmax_masked",
        "softmax_masked_large_neg",
        "attention_head",
    ] {
        let bytes = common::read(&format!("ops/{name}.onnx"));
        let spec: serde_json::Value =
            serde_json::from_slice(&common::read(&format!("ops/{name}.json"))).unwrap();
        let input: Vec<f64> = spec["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let want: Vec<f64> = spec["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let policies = [
            BitsPolicy::WorstCase { max_bits: 24 },
            BitsPolicy::Calibrated {
                samples: vec![input.clone()],
                margin: 1.5,
                calibrate_input: false,
            },
        ];
        for policy in policies {
            let g = compile_calibrated(&bytes, &settings(), &policy)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .graph;
            assert!(
                g.nodes.iter().all(|n| n.op_type != "Where"),
                "{name}: the mask must be fused"
            );
            let t = infer(&g, &quantize_input(&g, &input).unwrap()).unwrap();
            let err = t
                .output(&g)
                .iter()
                .zip(&want)
                .map(|(&q, w)| {
                    (zkinfer_circuits::fixed::dequantize(q, g.output_info().scale) - w).abs()
                })
                .fold(0f64, f64::max);
            let kind = match policy {
                BitsPolicy::WorstCase { .. } => "worst case",
                _ => "calibrated",
            };
            println!("{name} ({kind}): max error {err:.5}");
            assert!(err < 0.03, "{name}: {err}");
        }
    }
}

#[test]
fn witness_only_synthesis_and_graph_matrices_agree() {
    // A prover builds the matrices once from the graph (placeholder values) and then only the
    // witness: both must be the matrices and assignment of the full synthesis.
    use zkinfer_circuits::{compile, constraint_matrices, infer, quantize_input, synthesize};
    for name in ["attention_head", "softmax_masked", "matmul_act_broadcast"] {
        let bytes = common::read(&format!("ops/{name}.onnx"));
        let spec: serde_json::Value =
            serde_json::from_slice(&common::read(&format!("ops/{name}.json"))).unwrap();
        let input: Vec<f64> = spec["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let g = compile(&bytes, &settings()).unwrap().graph;
        let t = infer(&g, &quantize_input(&g, &input).unwrap()).unwrap();
        let full = synthesize(&g, &t, true).unwrap();
        let witness = synthesize(&g, &t, false).unwrap();
        assert_eq!(full.assignment, witness.assignment, "{name}");
        let m = constraint_matrices(&g).unwrap();
        assert!(
            m == full.r1cs,
            "{name}: graph matrices differ from the trace's"
        );
        assert!(m.is_satisfied(&witness.assignment), "{name}");
    }
}

#[test]
fn matmul_costs_k_plus_one_requantisation_per_output() {
    // [1,2,4,8] × [1,2,8,4]: K = 8 multiplications, then a shift of 8 + 8 - 8 bits and an
    // 18-bit range check per output; the Transpose is free.
    let s = settings();
    for name in ["matmul_act", "attention_head"] {
        let g = zkinfer_circuits::compile(&common::read(&format!("ops/{name}.onnx")), &s)
            .unwrap()
            .graph;
        let size = zkinfer_circuits::measure(&g).unwrap();
        println!("{name}: {:?}", size.per_layer);
        if name == "matmul_act" {
            let (_, cost) = size
                .per_layer
                .iter()
                .find(|(l, _)| l == "matmul")
                .expect("a matmul layer");
            assert_eq!(*cost, 32 * (8 + 8 + 18));
        }
    }
}
