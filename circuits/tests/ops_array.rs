//! Data movement, constant folding, token embeddings and element-wise ops by constants, each
//! against onnxruntime's float output (`fixtures/ops`), with the soundness check of
//! [`common::check_op_fixture`] (every sampled witness value pinned).

mod common;

use zkinfer_circuits::{compile, infer, quantize_input, InferenceError, Settings};

fn settings() -> Settings {
    Settings {
        scale: 8,
        weight_scale: 8,
        bits: 16,
        input_bits: 12,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

#[test]
fn div_sub_and_neg_by_broadcast_constants() {
    common::check_op_fixture("div_sub_neg_const", &settings(), 0.01);
}

#[test]
fn slice_split_and_concat() {
    common::check_op_fixture("slice_split_concat", &settings(), 0.0021);
}

#[test]
fn transpose_of_a_4d_tensor() {
    common::check_op_fixture("transpose_4d", &settings(), 0.0021);
}

#[test]
fn matmul_by_a_constant_on_a_sequence() {
    common::check_op_fixture("matmul_const_3d", &settings(), 0.03);
}

#[test]
fn token_embedding_is_exact_up_to_the_tables_rounding() {
    let (err, constraints) = common::check_op_fixture("embedding", &settings(), 0.5f64.powi(9));
    // 6 tokens, a 16-row table: 16 booleanity + 2 constraints per token, plus the input's
    // packing checks (no more than a few per token).
    assert!(constraints >= 6 * 18, "{constraints}");
    assert!(err <= 0.5f64.powi(9));
}

#[test]
fn a_token_outside_the_vocabulary_is_a_clear_error() {
    let g = compile(&common::read("ops/embedding.onnx"), &settings())
        .unwrap()
        .graph;
    assert_eq!(g.input_info().scale, 0, "token ids are read at scale 0");
    assert_eq!(
        g.input_info().bits,
        5,
        "ids of a 16-row table need 5 signed bits"
    );
    for (bad, want_id) in [(16.0, 16), (-1.0, -1)] {
        let ids = [3.0, bad, 0.0, 1.0, 2.0, 4.0];
        match quantize_input(&g, &ids) {
            Err(
                e @ InferenceError::TokenRange {
                    position: 1,
                    id,
                    vocab: 16,
                    ..
                },
            ) => {
                assert_eq!(id, want_id);
                assert!(
                    e.to_string().contains("outside the vocabulary [0, 16)"),
                    "{e}"
                );
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(matches!(
        quantize_input(&g, &[3.0, 1.5, 0.0, 1.0, 2.0, 4.0]),
        Err(InferenceError::NotAToken { position: 1, .. })
    ));
    // Integer inference refuses the id too, for a caller that skips quantize_input.
    assert!(matches!(
        infer(&g, &[3, -1, 0, 1, 2, 4]),
        Err(InferenceError::TokenRange { position: 1, .. })
    ));
}

#[test]
fn expand_cast_and_where_on_a_constant_condition() {
    common::check_op_fixture("expand_cast_where", &settings(), 0.0021);
}

#[test]
fn constant_subgraphs_fold_whatever_their_ops() {
    // gpt's position ids come from Shape → Gather → Range → Unsqueeze, its masks from
    // ConstantOfShape → Cast → Trilu → Equal, its head from Identity → Transpose of the token
    // table, llama's rotary tables from Range → Cast → Mul → Concat → Cos/Sin → Unsqueeze →
    // Expand: no node of these lowers, every one folds, and none is left in the graph.
    for name in ["gpt", "llama"] {
        let c = compile(&common::read(&format!("{name}/model.onnx")), &settings())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for n in &c.graph.nodes {
            for folded in [
                "Shape",
                "Range",
                "Trilu",
                "ConstantOfShape",
                "Equal",
                "Cos",
                "Sin",
                "Expand",
            ] {
                assert!(
                    !n.op_type.split('+').any(|t| t == folded),
                    "{name}: {} left",
                    n.op_type
                );
            }
        }
    }
}
