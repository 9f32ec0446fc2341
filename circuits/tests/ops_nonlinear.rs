//! Per-op fixtures for pooling, clamps, activations, residual adds and data movement: float
//! agreement and soundness (every sampled witness value pinned). Fixtures that start with a
//! Conv need the Conv op. Tolerances are in real units; the measured errors are printed.

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

// The CNN and residual-block fixtures as whole models are tested in ops_linear.rs and models.rs.
