//! Per-op fixtures for the transformer ops (LayerNorm, RMSNorm, GELU, SiLU, the product of two
//! activations) against onnxruntime, with soundness (sampled witness values pinned); the
//! decompositions exporters emit are fused into one node (`onnx::patterns`), and near misses are
//! not. Settings where the tolerance means something: scale 10, 20-bit activations.

mod common;
mod support;
use support::{attr_float, attr_ints, model, node, Init};
use zkinfer_circuits::reference::FloatModel;
use zkinfer_circuits::{compile, fixed, infer, quantize_input, CompileError, Settings};

fn settings() -> Settings {
    Settings {
        scale: 10,
        weight_scale: 10,
        bits: 20,
        input_bits: 12,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

/// Input quantisation alone at scale 10: half an ulp, plus float32 noise.
const ULP: f64 = 1.0 / 1024.0;

/// The op types compile reports for a fixture.
fn op_types(name: &str) -> Vec<String> {
    let c = compile(&common::read(&format!("ops/{name}.onnx")), &settings()).unwrap();
    c.layers.iter().map(|l| l.op_type.clone()).collect()
}

/// Constraints per output element of each node of a fixture (its region of the synthesis).
fn per_element(name: &str) -> Vec<(String, f64)> {
    let c = compile(&common::read(&format!("ops/{name}.onnx")), &settings()).unwrap();
    let g = &c.graph;
    let q = quantize_input(g, &vec![0.0; g.input_info().len()]).unwrap();
    let s = zkinfer_circuits::synthesize(g, &infer(g, &q).unwrap(), false).unwrap();
    let mut bounds: Vec<usize> = s.regions.iter().map(|r| r.0).collect();
    bounds.push(s.num_constraints);
    let counts: Vec<(String, f64)> = g
        .nodes
        .iter()
        .map(|n| {
            let k = s.regions.iter().position(|r| r.1 == n.name).unwrap();
            let per = (bounds[k + 1] - bounds[k]) as f64 / g.tensors[n.output].len() as f64;
            (n.op_type.clone(), per)
        })
        .collect();
    println!("{name}: constraints per element {counts:?}");
    counts
}

#[test]
fn constraints_per_element() {
    // Scale 10, 20-bit activations (the fixtures' settings here).
    let got: Vec<f64> = [
        "layernorm",
        "rmsnorm",
        "gelu_erf",
        "gelu_tanh",
        "silu",
        "mul_two",
    ]
    .iter()
    .map(|name| per_element(name).last().unwrap().1)
    .collect();
    assert_eq!(got, [67.875, 68.875, 85.0, 85.0, 105.0, 31.0]);
}

#[test]
fn matrices_do_not_depend_on_the_input_and_bounds_cover_the_error() {
    for name in [
        "layernorm",
        "layernorm_decomposed",
        "rmsnorm",
        "gelu_erf",
        "gelu_tanh",
        "silu",
        "mul_two",
    ] {
        let c = compile(&common::read(&format!("ops/{name}.onnx")), &settings()).unwrap();
        let g = &c.graph;
        let spec: serde_json::Value =
            serde_json::from_slice(&common::read(&format!("ops/{name}.json"))).unwrap();
        let floats = |k: &str| -> Vec<f64> {
            spec[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        let t = infer(g, &quantize_input(g, &floats("input")).unwrap()).unwrap();
        let s = zkinfer_circuits::synthesize(g, &t, true).unwrap();
        assert_eq!(
            s.r1cs,
            zkinfer_circuits::constraint_matrices(g).unwrap(),
            "{name}: matrices depend on the input"
        );
        let out = g.output_info();
        let err = t
            .output(g)
            .iter()
            .zip(floats("output"))
            .map(|(&q, w)| (fixed::dequantize(q, out.scale) - w).abs())
            .fold(0f64, f64::max);
        let bound = c.layers.last().unwrap().error_bound;
        println!("{name}: error {err:.5}, compile's bound {bound:.5}");
        assert!(err <= bound, "{name}: {err} > {bound}");
    }
}

#[test]
fn layernorm() {
    // The input's rounding (½ ulp) through 1/σ ≈ 1.7 times γ ≤ 1.5, plus the op's own ~½ ulp.
    let (err, n) = common::check_op_fixture("layernorm", &settings(), 4.0 * ULP);
    println!("layernorm: {:.1} constraints per element", n as f64 / 32.0);
    assert_eq!(op_types("layernorm"), ["LayerNormalization"]);
    assert!(err > 0.0);
}

#[test]
fn layernorm_decomposed_is_fused() {
    common::check_op_fixture("layernorm_decomposed", &settings(), 4.0 * ULP);
    assert_eq!(op_types("layernorm_decomposed"), ["LayerNormalization"]);
    let c = compile(&common::read("ops/layernorm_decomposed.onnx"), &settings()).unwrap();
    // The fused node takes the name of the pattern's first node.
    assert_eq!(c.graph.nodes[0].name, "ln.mean");
}

#[test]
fn rmsnorm_is_fused() {
    let (_, n) = common::check_op_fixture("rmsnorm", &settings(), 4.0 * ULP);
    println!("rmsnorm: {:.1} constraints per element", n as f64 / 32.0);
    assert_eq!(op_types("rmsnorm"), ["RMSNormalization"]);
}

#[test]
fn gelu_erf_is_fused() {
    // The Gemm's error (inputs and weights rounded, |h| up to ~4) times a slope ≤ 1.13, plus
    // GELU's own 0.00053.
    common::check_op_fixture("gelu_erf", &settings(), 0.01);
    assert_eq!(op_types("gelu_erf"), ["Gemm", "Gelu"]);
}

#[test]
fn gelu_tanh_is_fused() {
    common::check_op_fixture("gelu_tanh", &settings(), 0.01);
    assert_eq!(op_types("gelu_tanh"), ["Gemm", "Gelu"]);
}

#[test]
fn silu_is_fused() {
    common::check_op_fixture("silu", &settings(), 0.01);
    assert_eq!(op_types("silu"), ["Gemm", "Silu"]);
}

#[test]
fn mul_two() {
    // Two Gemm outputs' errors times the other factor, plus the product's rounding.
    common::check_op_fixture("mul_two", &settings(), 0.01);
    assert_eq!(op_types("mul_two"), ["Gemm", "Gemm", "Mul"]);
}

fn axes_last() -> tract_onnx::pb::AttributeProto {
    attr_ints("axes", &[-1])
}

/// `Relu → LayerNorm decomposed (ReduceMean, Sub, Pow, ReduceMean, Add ε, Sqrt, Div, Mul γ,
/// Add β)` on `[1, 3, 6]`; `eps_input` is what the ε Add reads besides the variance, `extra`
/// nodes are appended (the graph output stays `output`).
fn layernorm_model(eps_input: &str, extra: Vec<tract_onnx::pb::NodeProto>) -> Vec<u8> {
    let mut nodes = vec![
        node("Relu", "pre", &["input"], "x", vec![]),
        node("ReduceMean", "ln.mean", &["x"], "mean", vec![axes_last()]),
        node("Sub", "ln.sub", &["x", "mean"], "centered", vec![]),
        node("Pow", "ln.pow", &["centered", "two"], "sq", vec![]),
        node("ReduceMean", "ln.var", &["sq"], "var", vec![axes_last()]),
        node("Add", "ln.add_eps", &["var", eps_input], "var_eps", vec![]),
        node("Sqrt", "ln.sqrt", &["var_eps"], "std", vec![]),
        node("Div", "ln.div", &["centered", "std"], "normed", vec![]),
        node("Mul", "ln.mul", &["normed", "gamma"], "scaled", vec![]),
        node("Add", "ln.add", &["beta", "scaled"], "output", vec![]),
    ];
    nodes.extend(extra);
    let inits: Vec<Init> = vec![
        ("two", vec![], vec![2.0]),
        ("eps", vec![], vec![1e-5]),
        ("gamma", vec![6], vec![1.0, 0.5, 1.5, 0.8, 1.2, 1.0]),
        ("beta", vec![6], vec![0.1, -0.2, 0.3, 0.0, 0.05, -0.1]),
    ];
    model(&[1, 3, 6], nodes, &inits)
}

#[test]
fn fused_layernorm_matches_tract() {
    let bytes = layernorm_model("eps", vec![]);
    let c = compile(&bytes, &settings()).unwrap();
    let types: Vec<&str> = c.layers.iter().map(|l| l.op_type.as_str()).collect();
    assert_eq!(types, ["Relu", "LayerNormalization"]);
    let float = FloatModel::load(&bytes, &[1, 3, 6]).unwrap();
    let x: Vec<f64> = (0..18).map(|i| ((i * 7 % 11) as f64 - 3.0) / 4.0).collect();
    let want = float.run(&x).unwrap();
    let q = quantize_input(&c.graph, &x).unwrap();
    let t = infer(&c.graph, &q).unwrap();
    let got: Vec<f64> = t
        .output(&c.graph)
        .iter()
        .map(|&v| fixed::dequantize(v, 10))
        .collect();
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f64, f64::max);
    println!("fused LayerNorm against tract: max error {err:.5}");
    assert!(err <= 4.0 * ULP, "{got:?} vs {want:?}");
    // The compile report's bound covers it.
    assert!(err <= c.layers.last().unwrap().error_bound);
}

/// An unsupported-op error naming one of the pattern's nodes.
fn assert_unfused(r: Result<zkinfer_circuits::Compiled, CompileError>) {
    match r {
        Err(CompileError::Unsupported { op, node, .. }) => {
            println!("not fused: {op} '{node}' unsupported");
            assert!(node.starts_with("ln."), "{node}");
            assert!(
                ["ReduceMean", "Pow", "Sqrt", "Sub", "Add", "Div"].contains(&op.as_str()),
                "{op}"
            );
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(c) => panic!(
            "compiled: {:?}",
            c.layers.iter().map(|l| &l.op_type).collect::<Vec<_>>()
        ),
    }
}

#[test]
fn near_miss_eps_reading_an_activation_is_not_fused() {
    assert_unfused(compile(&layernorm_model("x", vec![]), &settings()));
}

#[test]
fn near_miss_intermediate_with_a_second_reader_is_not_fused() {
    // The variance is also read by another node: fusing would drop a value someone reads.
    let spy = node("Relu", "spy", &["var"], "spied", vec![]);
    assert_unfused(compile(&layernorm_model("eps", vec![spy]), &settings()));
}

#[test]
fn near_miss_wrong_gelu_constant_is_not_fused() {
    // Div by 2 instead of √2 is not GELU: the Erf stays and is refused, by name.
    let nodes = vec![
        node("Relu", "pre", &["input"], "h", vec![]),
        node("Div", "gelu.div", &["h", "two"], "d", vec![]),
        node("Erf", "gelu.erf", &["d"], "e", vec![]),
        node("Add", "gelu.add", &["e", "one"], "e1", vec![]),
        node("Mul", "gelu.mul", &["h", "e1"], "m", vec![]),
        node("Mul", "gelu.half", &["m", "half"], "output", vec![]),
    ];
    let inits: Vec<Init> = vec![
        ("two", vec![], vec![2.0]),
        ("one", vec![], vec![1.0]),
        ("half", vec![], vec![0.5]),
    ];
    match compile(&model(&[1, 4], nodes, &inits), &settings()) {
        Err(CompileError::Unsupported { op, node, .. }) => {
            assert_eq!((op.as_str(), node.as_str()), ("Erf", "gelu.erf"));
        }
        other => panic!(
            "expected Erf unsupported, got {:?}",
            other.map(|c| c.layers.len())
        ),
    }
}

#[test]
fn layernorm_node_attributes_are_honoured() {
    // A native LayerNormalization with ε = 0.01 and no bias, over the last axis.
    let nodes = vec![node(
        "LayerNormalization",
        "ln",
        &["input", "gamma"],
        "output",
        vec![attr_float("epsilon", 0.01)],
    )];
    let inits: Vec<Init> = vec![("gamma", vec![4], vec![1.0, 2.0, 0.5, 1.0])];
    let bytes = model(&[2, 4], nodes, &inits);
    let c = compile(&bytes, &settings()).unwrap();
    let float = FloatModel::load(&bytes, &[2, 4]).unwrap();
    let x = vec![0.1, -0.05, 0.02, 0.0, 1.0, -1.0, 0.5, 0.25];
    let want = float.run(&x).unwrap();
    let t = infer(&c.graph, &quantize_input(&c.graph, &x).unwrap()).unwrap();
    for (&q, w) in t.output(&c.graph).iter().zip(&want) {
        let got = fixed::dequantize(q, 10);
        assert!((got - w).abs() <= 0.02, "{got} vs {w}");
    }
}
