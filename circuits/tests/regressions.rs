//! Regression tests for the findings of the compiler audit (issue 8): each builds the graph
//! the audit reproduced and checks that the circuit computes the ONNX model. Each failed
//! before its fix.

mod support;
use support::{attr_int, attr_ints, model, node, Init};
use zkinfer_circuits::reference::FloatModel;
use zkinfer_circuits::{
    compile, compile_calibrated, constraint_matrices, fixed, infer, measure, quantize_input,
    synthesize, BitsPolicy, CompileError, QGraph, Settings,
};

fn settings() -> Settings {
    Settings {
        scale: 7,
        weight_scale: 7,
        bits: 16,
        input_bits: 10,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

/// Every policy the compiler offers, with `samples` for calibration.
fn policies(samples: &[Vec<f64>]) -> Vec<(&'static str, BitsPolicy)> {
    vec![
        ("flat", BitsPolicy::Flat),
        ("worst case", BitsPolicy::WorstCase { max_bits: 40 }),
        (
            "calibrated",
            BitsPolicy::Calibrated {
                samples: samples.to_vec(),
                margin: 1.25,
                calibrate_input: false,
            },
        ),
    ]
}

/// Integer inference's output, dequantised; the trace satisfies the circuit, whose matrices
/// are the graph's own.
fn run(g: &QGraph, x: &[f64]) -> Vec<f64> {
    let q = quantize_input(g, x).unwrap_or_else(|e| panic!("input {x:?}: {e}"));
    let t = infer(g, &q).unwrap_or_else(|e| panic!("input {x:?}: {e}"));
    let s = synthesize(g, &t, true).unwrap();
    assert!(s.r1cs.is_satisfied(&s.assignment), "trace unsatisfied");
    assert_eq!(
        s.r1cs,
        constraint_matrices(g).unwrap(),
        "matrices depend on the input"
    );
    let out = g.output_info();
    t.output(g)
        .iter()
        .map(|&v| fixed::dequantize(v, out.scale))
        .collect()
}

/// Compiles `bytes` under every policy and checks integer inference against tract's float
/// model on `inputs`, within `tol`.
fn assert_matches_float(bytes: &[u8], shape: &[usize], inputs: &[Vec<f64>], tol: f64) {
    let float = FloatModel::load(bytes, shape).unwrap();
    for (what, policy) in policies(inputs) {
        let g = compile_calibrated(bytes, &settings(), &policy)
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .graph;
        for x in inputs {
            let want = float.run(x).unwrap();
            let got = run(&g, x);
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a - b).abs() <= tol,
                    "{what}: input {x:?}: got {got:?}, onnx {want:?}"
                );
            }
        }
    }
}

fn identity2() -> Init<'static> {
    ("w", vec![2, 2], vec![1.0, 0.0, 0.0, 1.0])
}

/// Finding 1: `h = Gemm(x, I)`, `h2 = Identity(h)`, `r = Relu(h2)`, `y = Add(h, r)`. The ReLU
/// must not be fused into the Gemm: the Add reads `h` too.
#[test]
fn relu_is_not_fused_through_an_alias_another_node_reads() {
    let bytes = model(
        &[1, 2],
        vec![
            node("Gemm", "gemm", &["input", "w"], "h", vec![]),
            node("Identity", "id", &["h"], "h2", vec![]),
            node("Relu", "relu", &["h2"], "r", vec![]),
            node("Add", "add", &["h", "r"], "output", vec![]),
        ],
        &[identity2()],
    );
    let g = compile(&bytes, &settings()).unwrap().graph;
    assert_eq!(run(&g, &[-1.0, 0.5]), vec![-1.0, 1.0]);
    assert_matches_float(&bytes, &[1, 2], &[vec![-1.0, 0.5], vec![0.75, -0.25]], 0.02);
}

/// Finding 1, bias and BatchNorm folds: a constant Add or a BatchNormalization reading the
/// alias must not fold into the Gemm while the Gemm's output is read elsewhere.
#[test]
fn bias_and_batchnorm_do_not_fold_through_a_shared_alias() {
    let bias = model(
        &[1, 2],
        vec![
            node("MatMul", "mm", &["input", "w"], "h", vec![]),
            node("Identity", "id", &["h"], "h2", vec![]),
            node("Add", "bias", &["h2", "b"], "hb", vec![]),
            node("Add", "add", &["h", "hb"], "output", vec![]),
        ],
        &[identity2(), ("b", vec![2], vec![0.5, -0.25])],
    );
    let g = compile(&bias, &settings()).unwrap().graph;
    // 2h + b
    assert_eq!(run(&g, &[-1.0, 0.5]), vec![-1.5, 0.75]);
    assert_matches_float(&bias, &[1, 2], &[vec![-1.0, 0.5], vec![0.25, 1.0]], 0.02);

    let bn = model(
        &[1, 2],
        vec![
            node("Gemm", "gemm", &["input", "w"], "h", vec![]),
            node("Identity", "id", &["h"], "h2", vec![]),
            node(
                "BatchNormalization",
                "bn",
                &["h2", "gamma", "beta", "mean", "var"],
                "hn",
                vec![],
            ),
            node("Add", "add", &["h", "hn"], "output", vec![]),
        ],
        &[
            identity2(),
            ("gamma", vec![2], vec![2.0, 0.5]),
            ("beta", vec![2], vec![0.25, 0.0]),
            ("mean", vec![2], vec![0.0, 0.0]),
            ("var", vec![2], vec![1.0, 1.0]),
        ],
    );
    assert_matches_float(&bn, &[1, 2], &[vec![-1.0, 0.5], vec![0.5, -1.0]], 0.03);
}

/// Finding 2: Gemm → Identity → Clip ±0.5, and a BatchNormalization of the Gemm's output added
/// to it. Clip's plan (which sides can bind) must hold for the tensor it reads, and inference
/// and constraints follow that one plan.
#[test]
fn clip_reads_the_tensor_it_was_planned_for() {
    let bytes = model(
        &[1, 2],
        vec![
            node("Gemm", "gemm", &["input", "w"], "h", vec![]),
            node("Identity", "id", &["h"], "h2", vec![]),
            node("Clip", "clip", &["h2", "lo", "hi"], "c", vec![]),
            node(
                "BatchNormalization",
                "bn",
                &["h", "gamma", "beta", "mean", "var"],
                "hn",
                vec![],
            ),
            node("Add", "add", &["c", "hn"], "output", vec![]),
        ],
        &[
            ("w", vec![2, 2], vec![0.25, 0.0, 0.0, 0.25]),
            ("lo", vec![], vec![-0.5]),
            ("hi", vec![], vec![0.5]),
            ("gamma", vec![2], vec![4.0, 4.0]),
            ("beta", vec![2], vec![0.0, 0.0]),
            ("mean", vec![2], vec![0.0, 0.0]),
            ("var", vec![2], vec![1.0, 1.0]),
        ],
    );
    assert_matches_float(
        &bytes,
        &[1, 2],
        &[vec![3.0, -3.5], vec![0.5, 1.0], vec![-2.0, 2.0]],
        0.05,
    );
}

/// Finding 2, the op itself: a Clip whose input lies beyond the bits it was planned for is
/// refused by inference as by the constraints, never clamped by one and not the other.
#[test]
fn clip_inference_refuses_inputs_beyond_its_plan() {
    use zkinfer_circuits::ops::{clip::Clip, Op};
    let op = Clip {
        lo: Some(-64),
        hi: Some(64),
        in_bits: 6, // [-32, 32): neither side can bind, the plan drops both
    };
    assert_eq!(op.eval(&[&[-32, 0, 31]]).unwrap(), vec![-32, 0, 31]);
    let e = op.eval(&[&[100]]).unwrap_err();
    assert_eq!((e.index, e.range.value, e.range.bits), (0, 100, 6));
}

/// Finding 3: a bias folded into a MatMul widens the tensor's range; the bits chosen for the
/// sum (worst case, or calibrated) must be the ones checked.
#[test]
fn folded_bias_takes_the_bits_of_the_sum() {
    let bytes = model(
        &[1, 1],
        vec![
            node("MatMul", "mm", &["input", "w"], "h", vec![]),
            node("Add", "bias", &["h", "b"], "output", vec![]),
        ],
        &[("w", vec![1, 1], vec![1.0]), ("b", vec![1], vec![4.0])],
    );
    let s = Settings {
        input_bits: 9,
        ..settings()
    };
    // Input 255 (the top of 9 bits at scale 7) plus 4.
    let top = 255.0 / 128.0;
    let worst = compile_calibrated(&bytes, &s, &BitsPolicy::WorstCase { max_bits: 40 })
        .unwrap()
        .graph;
    assert_eq!(run(&worst, &[top]), vec![top + 4.0]);
    assert_eq!(run(&worst, &[-2.0]), vec![2.0]);
    let calibrated = compile_calibrated(
        &bytes,
        &s,
        &BitsPolicy::Calibrated {
            samples: vec![vec![top], vec![0.0]],
            margin: 1.0,
            calibrate_input: false,
        },
    )
    .unwrap()
    .graph;
    assert_eq!(run(&calibrated, &[top]), vec![top + 4.0]);
}

/// Finding 4: the matrices, the counts and setup come from the graph alone, so a circuit
/// calibrated on inputs far from zero (whose zero input is out of range) still has them.
#[test]
fn matrices_do_not_need_the_zero_input_in_range() {
    let bytes = model(
        &[1, 1],
        vec![node("Gemm", "gemm", &["input", "w", "b"], "output", vec![])],
        &[("w", vec![1, 1], vec![1.0]), ("b", vec![1], vec![-4.0])],
    );
    let g = compile_calibrated(
        &bytes,
        &settings(),
        &BitsPolicy::Calibrated {
            samples: vec![vec![4.0], vec![4.5]],
            margin: 1.0,
            calibrate_input: true,
        },
    )
    .unwrap()
    .graph;
    // The zero input itself is refused by inference...
    assert!(infer(&g, &vec![0; g.input_info().len()]).is_err());
    // ...yet the circuit has its size and matrices, and a proof's trace satisfies them.
    let size = measure(&g).unwrap();
    let r1cs = constraint_matrices(&g).unwrap();
    assert_eq!(size.constraints, r1cs.num_constraints());
    assert_eq!(run(&g, &[4.25]), vec![0.25]);
}

/// Finding 5: AveragePool with a pad as wide as its kernel and padding not counted would
/// average windows of padding alone: refused with a clear error, not a division by zero.
#[test]
fn avgpool_with_pads_as_wide_as_the_kernel_is_refused() {
    let bytes = model(
        &[1, 1, 4, 4],
        vec![node(
            "AveragePool",
            "pool",
            &["input"],
            "output",
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("pads", &[2, 0, 0, 0]),
                attr_int("count_include_pad", 0),
            ],
        )],
        &[],
    );
    match compile(&bytes, &settings()) {
        Err(CompileError::Malformed(m)) => {
            assert!(m.contains("pool") && m.contains("pads"), "{m}")
        }
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|c| c.graph.nodes.len())
        ),
    }
}

/// Finding 6: calibration (which compiles without fusion first) finds the bits of a tensor
/// under every name it has, so a Gemm read through an Identity still gets calibrated bits.
#[test]
fn calibration_sees_through_identity_aliases() {
    let bytes = model(
        &[1, 2],
        vec![
            node("Gemm", "gemm", &["input", "w"], "h", vec![]),
            node("Identity", "id", &["h"], "h2", vec![]),
            node("Relu", "relu", &["h2"], "output", vec![]),
        ],
        &[identity2()],
    );
    let compiled = compile_calibrated(
        &bytes,
        &settings(),
        &BitsPolicy::Calibrated {
            samples: vec![vec![0.5, -0.5], vec![-0.25, 0.25]],
            margin: 1.0,
            calibrate_input: false,
        },
    )
    .unwrap();
    let gemm = compiled
        .layers
        .iter()
        .find(|l| l.op_type.starts_with("Gemm"))
        .unwrap();
    // |h| ≤ 0.5 at scale 7: 64 needs 8 signed bits, far below the default 16.
    assert_eq!(gemm.bits, 8, "{:?}", compiled.layers);
}

/// Found by the graph fuzzer: a graph whose output is its input (through Identity) panicked
/// when its matrices were built (the output tensor was moved out before the input was read).
#[test]
fn a_graph_whose_output_is_its_input_has_a_circuit() {
    let bytes = model(
        &[1, 4],
        vec![node("Identity", "id", &["input"], "output", vec![])],
        &[],
    );
    let g = compile(&bytes, &settings()).unwrap().graph;
    assert_eq!(g.output, g.input);
    assert_eq!(run(&g, &[0.5, -1.0, 0.25, 2.0]), vec![0.5, -1.0, 0.25, 2.0]);
}

/// Fuzzer finding (the float reference, not the circuit): input `[1, 4]` → Softmax → Split in
/// two → Slice of the second part with step 2. tract's declutter moved the strided Slice above
/// the Softmax and computed a softmax over the kept elements alone (0.668 instead of 0.505);
/// the reference now runs the model as written. Both must agree with the exact value.
#[test]
fn the_float_reference_is_the_model_as_written() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/softmax_split_strided_slice.onnx"),
    )
    .unwrap();
    let x = [0.1f64, 0.5, -0.7, 1.2];
    let e: Vec<f64> = x.iter().map(|v| v.exp()).collect();
    let exact = e[3] / e.iter().sum::<f64>(); // Split [2, 2]: second part is [2, 3]; slice 1..2
    let float = zkinfer_circuits::reference::FloatModel::load(&bytes, &[1, 4])
        .unwrap()
        .run(&x)
        .unwrap();
    assert!(
        (float[0] - exact).abs() < 1e-5,
        "tract {} vs {exact}",
        float[0]
    );
    let s = zkinfer_circuits::Settings {
        scale: 8,
        weight_scale: 8,
        bits: 16,
        input_bits: 12,
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let g = zkinfer_circuits::compile(&bytes, &s).unwrap().graph;
    let t =
        zkinfer_circuits::infer(&g, &zkinfer_circuits::quantize_input(&g, &x).unwrap()).unwrap();
    let got = zkinfer_circuits::fixed::dequantize(t.output(&g)[0], g.output_info().scale);
    assert!((got - exact).abs() < 0.01, "zkinfer {got} vs {exact}");
}
