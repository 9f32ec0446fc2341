//! Per-op fixtures for the ops of the first milestone: float agreement and soundness.

mod common;
use zkinfer_circuits::Settings;

fn settings() -> Settings {
    Settings {
        scale: 8,
        weight_scale: 8,
        bits: 16,
        input_bits: 10,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

#[test]
fn gemm_relu() {
    common::check_op_fixture("gemm_relu", &settings(), 0.03);
}

#[test]
fn matmul_add() {
    common::check_op_fixture("matmul_add", &settings(), 0.03);
}

#[test]
fn reshape() {
    common::check_op_fixture("reshape", &settings(), 0.03);
}

#[test]
fn flatten_identity() {
    common::check_op_fixture("flatten_identity", &settings(), 0.03);
}
