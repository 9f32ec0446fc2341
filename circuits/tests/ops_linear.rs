//! Per-op fixtures for the constant linear ops (Conv, AveragePool, GlobalAveragePool,
//! BatchNormalization, Mul by a constant): float agreement, soundness and cost, plus the
//! refusals (grouped conv, dilation) and BatchNormalization folding.
//!
//! Tolerances are absolute, in real units, at scale 8 / weight scale 8: inputs and weights
//! are each rounded to 2^-9, so an output summing `K` terms of |w| ≤ 0.5, |x| ≤ 1 can be off
//! by about `K · 2^-9 · (|w| + |x|)` in the worst case plus 2^-9 of output rounding; the
//! measured errors (printed) are well below the stated bounds.

mod common;
mod support;
use support::{attr_int, attr_ints, attr_str, model, node};
use tract_onnx::pb;
use zkinfer_circuits::{
    compile, compile_with, infer, measure, quantize_input, CompileError, Overrides, Settings,
};

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

/// Constraints per output value of each layer of a fixture: (layer, op type, per output).
fn per_output(bytes: &[u8], s: &Settings, overrides: &Overrides) -> Vec<(String, String, f64)> {
    let g = compile_with(bytes, s, overrides).unwrap().graph;
    let size = measure(&g).unwrap();
    g.nodes
        .iter()
        .map(|n| {
            let c = size
                .per_layer
                .iter()
                .find(|(l, _)| *l == n.name)
                .map_or(0, |(_, c)| *c);
            (
                n.name.clone(),
                n.op_type.clone(),
                c as f64 / g.tensors[n.output].len() as f64,
            )
        })
        .collect()
}

fn report(name: &str) -> Vec<(String, String, f64)> {
    let r = per_output(
        &common::read(&format!("ops/{name}.onnx")),
        &settings(),
        &Overrides::default(),
    );
    for (layer, op, c) in &r {
        println!("{name}: layer {layer} ({op}): {c} constraints per output");
    }
    r
}

#[test]
fn conv_basic() {
    // 18 terms per output.
    common::check_op_fixture("conv_basic", &settings(), 0.02);
    // requantise by 8 bits + a 16-bit range check.
    assert_eq!(report("conv_basic")[0].2, 24.0);
}

#[test]
fn conv_stride_pad() {
    common::check_op_fixture("conv_stride_pad", &settings(), 0.02);
    report("conv_stride_pad");
}

#[test]
fn conv_depthwise() {
    common::check_op_fixture("conv_depthwise", &settings(), 0.02);
    report("conv_depthwise");
}

#[test]
fn avgpool() {
    // 2×2 windows: weight exactly 1 at weight scale 2, so only the input and output rounding.
    let (err, _) = common::check_op_fixture("avgpool", &settings(), 0.004);
    assert!(
        err <= 2.0 * 2f64.powi(-9) + 1e-6,
        "exact pooling is off by {err}"
    );
    assert_eq!(report("avgpool")[0].2, 2.0 + 16.0);
}

#[test]
fn global_avgpool() {
    let (err, _) = common::check_op_fixture("global_avgpool", &settings(), 0.004);
    assert!(
        err <= 2.0 * 2f64.powi(-9) + 1e-6,
        "exact pooling is off by {err}"
    );
    assert_eq!(report("global_avgpool")[0].2, 4.0 + 16.0);
}

#[test]
fn batchnorm_alone() {
    common::check_op_fixture("batchnorm_alone", &settings(), 0.01);
    let r = report("batchnorm_alone");
    assert_eq!((r[0].1.as_str(), r[0].2), ("BatchNormalization", 24.0));
}

#[test]
fn conv_bn() {
    common::check_op_fixture("conv_bn", &settings(), 0.03);
    let r = report("conv_bn");
    assert_eq!(r.len(), 1, "BatchNormalization is folded into the Conv");
    assert_eq!(
        (r[0].0.as_str(), r[0].1.as_str(), r[0].2),
        ("conv1+bn1", "Conv+BatchNormalization", 24.0)
    );
}

#[test]
fn mul_const() {
    common::check_op_fixture("mul_const", &settings(), 0.01);
    assert_eq!(report("mul_const")[0].2, 24.0);
}

/// The folded Conv+BN and the unfolded Conv → BN agree with the float model to within
/// quantisation error; folding removes a requantisation, so it is no less accurate here.
#[test]
fn batchnorm_fold_changes_nothing_beyond_quantisation() {
    let bytes = common::read("ops/conv_bn.onnx");
    let spec: serde_json::Value =
        serde_json::from_slice(&common::read("ops/conv_bn.json")).unwrap();
    let floats = |k: &str| -> Vec<f64> {
        spec[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (input, want) = (floats("input"), floats("output"));
    let err = |fuse: bool| -> (usize, f64) {
        let g = compile_with(
            &bytes,
            &settings(),
            &Overrides {
                fuse,
                ..Overrides::default()
            },
        )
        .unwrap()
        .graph;
        let t = infer(&g, &quantize_input(&g, &input).unwrap()).unwrap();
        let got = t
            .output(&g)
            .iter()
            .map(|&v| zkinfer_circuits::fixed::dequantize(v, g.output_info().scale));
        (
            g.nodes.len(),
            got.zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max),
        )
    };
    let (folded_nodes, folded) = err(true);
    let (unfolded_nodes, unfolded) = err(false);
    println!("conv_bn: folded max error {folded:.5}, unfolded {unfolded:.5}");
    assert_eq!((folded_nodes, unfolded_nodes), (1, 2));
    assert!(folded <= 0.03 && unfolded <= 0.03);
    assert!(
        folded <= unfolded + 2f64.powi(-8),
        "folding lost accuracy: {folded} vs {unfolded}"
    );
}

// ---- small models built here, for refusals and the fused ReLU ----

/// Deterministic weights in ±0.5.
fn weights(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 37 % 101) as f32 / 100.0) - 0.5)
        .collect()
}

/// A 3×3 Conv `c_in → c_out` on a 5×5 input with extra attributes.
fn conv_model(c_in: usize, c_out: usize, group: usize, extra: Vec<pb::AttributeProto>) -> Vec<u8> {
    let mut attrs = vec![
        attr_int("group", group as i64),
        attr_ints("kernel_shape", &[3, 3]),
    ];
    attrs.extend(extra);
    let w = weights(c_out * (c_in / group) * 9);
    model(
        &[1, c_in, 5, 5],
        vec![node("Conv", "myconv", &["input", "w"], "output", attrs)],
        &[("w", vec![c_out, c_in / group, 3, 3], w)],
    )
}

fn unsupported(bytes: &[u8]) -> String {
    match compile(bytes, &settings()) {
        Err(e @ CompileError::Unsupported { .. }) => e.to_string(),
        Err(e) => panic!("expected an unsupported error, got {e}"),
        Ok(_) => panic!("expected an unsupported error, compiled"),
    }
}

#[test]
fn grouped_conv_other_than_depthwise_is_refused() {
    let msg = unsupported(&conv_model(4, 4, 2, vec![]));
    println!("{msg}");
    assert!(
        msg.contains("Conv") && msg.contains("myconv") && msg.contains("group"),
        "{msg}"
    );
    // group 1 and depthwise (group 4 of 4) of the same shape compile.
    compile(&conv_model(4, 4, 1, vec![]), &settings()).unwrap();
    compile(&conv_model(4, 4, 4, vec![]), &settings()).unwrap();
}

#[test]
fn dilated_conv_is_refused() {
    let msg = unsupported(&conv_model(1, 1, 1, vec![attr_ints("dilations", &[2, 2])]));
    assert!(
        msg.contains("Conv") && msg.contains("myconv") && msg.contains("dilation"),
        "{msg}"
    );
    compile(
        &conv_model(1, 1, 1, vec![attr_ints("dilations", &[1, 1])]),
        &settings(),
    )
    .unwrap();
}

#[test]
fn same_padding_is_refused() {
    let msg = unsupported(&conv_model(
        1,
        1,
        1,
        vec![attr_str("auto_pad", "SAME_UPPER")],
    ));
    assert!(msg.contains("auto_pad") && msg.contains("myconv"), "{msg}");
}

#[test]
fn wrong_conv_weight_shape_is_a_malformed_model() {
    let bytes = model(
        &[1, 2, 5, 5],
        vec![node("Conv", "myconv", &["input", "w"], "output", vec![])],
        &[("w", vec![3, 2, 3], weights(18))],
    );
    match compile(&bytes, &settings()) {
        Err(e @ CompileError::Malformed(_)) => assert!(e.to_string().contains("myconv"), "{e}"),
        Err(e) => panic!("expected malformed, got {e}"),
        Ok(_) => panic!("compiled a 3-D kernel"),
    }
}

/// Conv → Relu fuses into one layer (`Conv+Relu`): one constraint per output more than the
/// Conv alone, and the circuit stays satisfied and pinned.
#[test]
fn conv_relu_fuses() {
    let conv = |relu: bool| {
        let out = if relu { "c" } else { "output" };
        let mut nodes = vec![node(
            "Conv",
            "conv1",
            &["input", "w", "b"],
            out,
            vec![
                attr_ints("pads", &[1, 1, 1, 1]),
                attr_ints("strides", &[2, 1]),
            ],
        )];
        if relu {
            nodes.push(node("Relu", "relu1", &["c"], "output", vec![]));
        }
        model(
            &[1, 2, 5, 5],
            nodes,
            &[
                ("w", vec![3, 2, 3, 3], weights(54)),
                ("b", vec![3], vec![0.1, -0.2, 0.05]),
            ],
        )
    };
    let plain = per_output(&conv(false), &settings(), &Overrides::default());
    let fused = per_output(&conv(true), &settings(), &Overrides::default());
    println!("conv: {plain:?}\nconv+relu: {fused:?}");
    assert_eq!(fused.len(), 1);
    assert_eq!(fused[0].1, "Conv+Relu");
    assert_eq!(fused[0].2, plain[0].2 + 1.0);

    // Satisfied, and the ReLU output is max(conv, 0) of the unfused trace.
    let g = compile(&conv(true), &settings()).unwrap().graph;
    let g0 = compile(&conv(false), &settings()).unwrap().graph;
    let x: Vec<f64> = (0..50)
        .map(|i| ((i * 13 % 29) as f64 / 14.0) - 1.0)
        .collect();
    let t = infer(&g, &quantize_input(&g, &x).unwrap()).unwrap();
    let t0 = infer(&g0, &quantize_input(&g0, &x).unwrap()).unwrap();
    assert!(t
        .output(&g)
        .iter()
        .zip(t0.output(&g0))
        .all(|(&a, &b)| a == b.max(0)));
    let s = zkinfer_circuits::synthesize(&g, &t, true).unwrap();
    assert!(s.r1cs.is_satisfied(&s.assignment));
}

/// AveragePool with padding not counted: windows at the border average fewer values, each
/// weight rounded to `weight_scale + 2` bits; the error stays within the documented bound.
#[test]
fn avgpool_padding_not_counted() {
    let pool = |include: i64| {
        model(
            &[1, 1, 4, 4],
            vec![node(
                "AveragePool",
                "pool",
                &["input"],
                "output",
                vec![
                    attr_ints("kernel_shape", &[3, 3]),
                    attr_ints("pads", &[1, 1, 1, 1]),
                    attr_int("count_include_pad", include),
                ],
            )],
            &[],
        )
    };
    let x: Vec<f64> = (0..16).map(|i| ((i * 7 % 16) as f64 / 8.0) - 1.0).collect();
    for include in [0, 1] {
        let g = compile(&pool(include), &settings()).unwrap().graph;
        let q = quantize_input(&g, &x).unwrap();
        let t = infer(&g, &q).unwrap();
        let mut max_err = 0f64;
        for oy in 0..4i64 {
            for ox in 0..4i64 {
                let (mut sum, mut n) = (0.0, 0);
                for y in oy - 1..=oy + 1 {
                    for xx in ox - 1..=ox + 1 {
                        if (0..4).contains(&y) && (0..4).contains(&xx) {
                            sum += x[(y * 4 + xx) as usize];
                            n += 1;
                        }
                    }
                }
                let want = sum / if include == 1 { 9.0 } else { f64::from(n) };
                let got =
                    zkinfer_circuits::fixed::dequantize(t.output(&g)[(oy * 4 + ox) as usize], 8);
                max_err = max_err.max((got - want).abs());
            }
        }
        println!("avgpool 3×3 pad 1 count_include_pad={include}: max error {max_err:.5}");
        // Documented bound: output rounding 2^-9 + weight rounding 2^-9 · max|x| (= 1).
        assert!(max_err <= 2.0 * 2f64.powi(-9) + 1e-9, "error {max_err}");
        let s = zkinfer_circuits::synthesize(&g, &t, true).unwrap();
        assert!(s.r1cs.is_satisfied(&s.assignment));
    }
}

/// Mul by a scalar constant on either side, and by a constant varying along two adjacent axes.
#[test]
fn mul_scalar_and_block_constants() {
    let mul = |c_shape: Vec<usize>, c: Vec<f32>, const_first: bool| {
        let inputs: &[&str] = if const_first {
            &["c", "input"]
        } else {
            &["input", "c"]
        };
        model(
            &[1, 2, 3, 2],
            vec![node("Mul", "mul", inputs, "output", vec![])],
            &[("c", c_shape, c)],
        )
    };
    let x: Vec<f64> = (0..12).map(|i| (i as f64 / 8.0) - 0.75).collect();
    let cases = [
        (vec![], vec![0.75f32], true),
        (vec![1], vec![-1.25f32], false),
        (
            vec![2, 3, 1],
            vec![0.5f32, -0.25, 1.0, 1.5, -2.0, 0.125],
            false,
        ),
    ];
    for (shape, c, first) in cases {
        let g = compile(&mul(shape.clone(), c.clone(), first), &settings())
            .unwrap()
            .graph;
        let t = infer(&g, &quantize_input(&g, &x).unwrap()).unwrap();
        for (i, &v) in t.output(&g).iter().enumerate() {
            let ci = if c.len() == 1 { 0 } else { i / 2 };
            let want = x[i] * f64::from(c[ci]);
            // All values are exact at scale 8 here except the product's rounding.
            assert!(
                (zkinfer_circuits::fixed::dequantize(v, 8) - want).abs() <= 2f64.powi(-9),
                "{shape:?} {i}"
            );
        }
    }
    // Non-adjacent varying axes (a broadcast map): x[a, b, c, d] · k[b, d] on [1, 2, 3, 2].
    let k = [1.0f32, 2.0, 3.0, 4.0];
    let g = compile(&mul(vec![2, 1, 2], k.to_vec(), false), &settings())
        .unwrap()
        .graph;
    let t = infer(&g, &quantize_input(&g, &x).unwrap()).unwrap();
    for (i, &v) in t.output(&g).iter().enumerate() {
        let (b, d) = (i / 6, i % 2);
        let want = x[i] * f64::from(k[b * 2 + d]);
        assert!(
            (zkinfer_circuits::fixed::dequantize(v, 8) - want).abs() <= 2f64.powi(-9),
            "broadcast {i}"
        );
    }
}

/// A bundled model end to end (five samples): float agreement, the predicted class, and a
/// satisfied circuit for the first sample. Returns the max error.
fn model_end_to_end(dir: &str, tol: f64, check_labels: bool) -> f64 {
    let bytes = common::read(&format!("{dir}/model.onnx"));
    let samples: serde_json::Value =
        serde_json::from_slice(&common::read(&format!("{dir}/samples.json"))).unwrap();
    let flat = |v: &serde_json::Value| -> Vec<f64> {
        fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                x => out.push(x.as_f64().unwrap()),
            }
        }
        let mut out = Vec::new();
        walk(v, &mut out);
        out
    };
    let g = compile(&bytes, &settings()).unwrap().graph;
    let size = measure(&g).unwrap();
    for n in &g.nodes {
        let c = size
            .per_layer
            .iter()
            .find(|(l, _)| *l == n.name)
            .map_or(0, |(_, c)| *c);
        println!(
            "{dir}: layer {} ({}): {c} constraints, {} outputs",
            n.name,
            n.op_type,
            g.tensors[n.output].len()
        );
    }
    let mut max_err = 0f64;
    for (i, input) in samples["inputs"].as_array().unwrap().iter().enumerate() {
        let t = infer(&g, &quantize_input(&g, &flat(input)).unwrap()).unwrap();
        let got: Vec<f64> = t
            .output(&g)
            .iter()
            .map(|&v| zkinfer_circuits::fixed::dequantize(v, g.output_info().scale))
            .collect();
        let want = flat(&samples["outputs"][i]);
        max_err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(max_err, f64::max);
        if check_labels {
            assert_eq!(
                common::argmax(&got),
                samples["labels"][i].as_u64().unwrap() as usize,
                "{dir} sample {i}"
            );
        }
        if i == 0 {
            let s = zkinfer_circuits::synthesize(&g, &t, true).unwrap();
            assert!(s.r1cs.is_satisfied(&s.assignment), "{dir}: unsatisfied");
        }
    }
    println!(
        "{dir}: max error {max_err:.5} over 5 samples, {} constraints in all",
        size.constraints
    );
    assert!(max_err <= tol, "{dir}: max error {max_err}");
    max_err
}

/// The CNN fixture (Conv → Relu → MaxPool → Flatten → Gemm): all five samples classified
/// as onnxruntime does; logits up to 28 in magnitude.
#[test]
fn cnn_fixture_end_to_end() {
    model_end_to_end("cnn", 0.15, true);
}

/// The residual block (Conv → BatchNormalization → Relu → Conv → Add(input) → Relu).
#[test]
fn resblock_fixture_end_to_end() {
    model_end_to_end("resblock", 0.03, false);
}
