//! The graph fuzzer: random small ONNX graphs over every supported op, compiled under random
//! settings, each checked end to end:
//! - compiling never panics (a refusal is a `CompileError`, exit 2 at the CLI);
//! - for random inputs within the input's range, integer inference agrees with the float model
//!   (tract, in process) within the error bound the compiler states for the output layer, and
//!   never fails under worst-case bits;
//! - the trace satisfies the circuit, whose matrices are the same for every input (they are
//!   built from the graph alone);
//! - the same witness with one output value changed (public inputs re-packed) does not satisfy,
//!   and neither does the witness with one of a sample of its variables changed.
//!
//! A graph is a list of op specs read by a small interpreter, so any list is a valid graph
//! and proptest shrinks a failure to a minimal one (fewer ops, smaller choices). CI runs
//! `ZKINFER_FUZZ_CASES` graphs (default 48); the README gives the longer run.

mod support;
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{attr_float, attr_int, attr_ints, model_full, node, IntInit};
use tract_onnx::pb;
use zkinfer_circuits::reference::FloatModel;
use zkinfer_circuits::{
    compile_calibrated, constraint_matrices, fixed, infer, quantize_input, synthesize, BitsPolicy,
    Settings,
};

/// One op of a random graph: which op, which earlier tensor it reads, two small choices and
/// a seed for its constants.
#[derive(Clone, Debug)]
struct OpSpec {
    kind: u8,
    pick: u8,
    a: u8,
    b: u8,
    seed: u64,
}

/// How a case compiles: scales, the bits policy and the graph output.
#[derive(Clone, Debug)]
struct Setup {
    nchw: bool,
    scale: i32,
    weight_scale: i32,
    policy: u8,
    flat_bits: u32,
    margin_x4: u8,
    /// Some(i): the graph output is an intermediate tensor (read by later nodes too).
    output_pick: Option<u8>,
    input_seed: u64,
}

const KINDS: u8 = 24;

fn op_spec() -> impl Strategy<Value = OpSpec> {
    (
        0..KINDS,
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u64>(),
    )
        .prop_map(|(kind, pick, a, b, seed)| OpSpec {
            kind,
            pick,
            a,
            b,
            seed,
        })
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        4i32..=8,
        4i32..=8,
        0u8..3,
        10u32..=24,
        4u8..=8,
        proptest::option::weighted(0.25, any::<u8>()),
        any::<u64>(),
    )
        .prop_map(
            |(nchw, scale, weight_scale, policy, flat_bits, margin_x4, output_pick, input_seed)| {
                Setup {
                    nchw,
                    scale,
                    weight_scale,
                    policy,
                    flat_bits,
                    margin_x4,
                    output_pick,
                    input_seed,
                }
            },
        )
}

/// A graph under construction: its tensors (name, shape) and ONNX pieces.
struct Graph {
    tensors: Vec<(String, Vec<usize>)>,
    nodes: Vec<pb::NodeProto>,
    floats: Vec<(String, Vec<usize>, Vec<f32>)>,
    ints: Vec<IntInit>,
}

impl Graph {
    fn fresh(&self, what: &str) -> String {
        format!(
            "{what}{}",
            self.nodes.len() + self.floats.len() + self.ints.len()
        )
    }

    fn float(&mut self, dims: Vec<usize>, rng: &mut StdRng, lo: f32, hi: f32) -> String {
        let name = self.fresh("c");
        let n = dims.iter().product();
        let data = (0..n).map(|_| rng.gen_range(lo..hi)).collect();
        self.floats.push((name.clone(), dims, data));
        name
    }

    fn int(&mut self, data: Vec<i64>) -> String {
        let name = self.fresh("i");
        self.ints.push((name.clone(), vec![data.len()], data));
        name
    }

    fn push(
        &mut self,
        op: &str,
        inputs: &[&str],
        shape: Vec<usize>,
        attrs: Vec<pb::AttributeProto>,
    ) {
        let out = self.fresh("t");
        let label = format!("{}_{}", op.to_lowercase(), self.nodes.len());
        self.nodes.push(node(op, &label, inputs, &out, attrs));
        self.tensors.push((out, shape));
    }

    /// Another tensor of `shape` (scanning from `pick`), or `t` itself.
    fn partner(&self, t: usize, pick: u8) -> usize {
        let n = self.tensors.len();
        (0..n)
            .map(|i| (i + pick as usize) % n)
            .find(|&i| i != t && self.tensors[i].1 == self.tensors[t].1)
            .unwrap_or(t)
    }
}

/// Adds one op to `g`; ops that do not fit the chosen tensor's rank are skipped.
fn add_op(g: &mut Graph, s: &OpSpec) {
    let mut rng = StdRng::seed_from_u64(s.seed);
    // Read mostly recent tensors, so graphs get deep, and sometimes older ones (fan-out).
    let t = g.tensors.len() - 1 - (s.pick as usize % g.tensors.len().min(3));
    let (x, shape) = g.tensors[t].clone();
    let rank = shape.len();
    let channels = if rank == 4 {
        shape[1]
    } else {
        *shape.last().unwrap()
    };
    // A per-channel constant's dims for this tensor (channel axis 1 for NCHW, last otherwise).
    let per_channel = |rank: usize| -> Vec<usize> {
        if rank == 4 {
            vec![channels, 1, 1]
        } else {
            vec![channels]
        }
    };
    let spatial_ok = rank == 4 && shape[2] >= 2 && shape[3] >= 2;
    match s.kind {
        0 | 1 if rank == 2 => {
            // Gemm (optionally with a bias, transB) or MatMul by a constant.
            let (k, n) = (shape[1], 1 + s.a as usize % 4);
            let gemm = s.kind == 0;
            let trans = gemm && s.b % 2 == 1;
            let wdims = if trans { vec![n, k] } else { vec![k, n] };
            let w = g.float(wdims, &mut rng, -1.0, 1.0);
            if gemm && s.b % 4 >= 2 {
                let b = g.float(vec![n], &mut rng, -1.0, 1.0);
                g.push(
                    "Gemm",
                    &[&x, &w, &b],
                    vec![shape[0], n],
                    vec![attr_int("transB", i64::from(trans))],
                );
            } else if gemm {
                g.push(
                    "Gemm",
                    &[&x, &w],
                    vec![shape[0], n],
                    vec![attr_int("transB", i64::from(trans))],
                );
            } else {
                g.push("MatMul", &[&x, &w], vec![shape[0], n], vec![]);
            }
        }
        2 => g.push("Relu", &[&x], shape, vec![]),
        3 => g.push("Identity", &[&x], shape, vec![]),
        4 => {
            // Add of a constant: per channel (a bias fold candidate) or a scalar.
            let dims = if s.a % 2 == 0 {
                per_channel(rank)
            } else {
                vec![1]
            };
            let c = g.float(dims, &mut rng, -1.0, 1.0);
            let ins = if s.b % 2 == 0 {
                [x.as_str(), c.as_str()]
            } else {
                [c.as_str(), x.as_str()]
            };
            g.push("Add", &ins, shape, vec![]);
        }
        5 | 6 => {
            let y = g.tensors[g.partner(t, s.a)].0.clone();
            g.push(
                if s.kind == 5 { "Add" } else { "Sub" },
                &[&x, &y],
                shape,
                vec![],
            );
        }
        7 => {
            let lo = if s.a % 3 == 0 {
                String::new()
            } else {
                g.float(vec![], &mut rng, -1.5, -0.1)
            };
            let hi = if s.b % 3 == 0 {
                String::new()
            } else {
                g.float(vec![], &mut rng, 0.1, 1.5)
            };
            g.push("Clip", &[&x, &lo, &hi], shape, vec![]);
        }
        8 => {
            let alpha = [0.01, 0.1, 0.2, 0.5][s.a as usize % 4];
            g.push("LeakyRelu", &[&x], shape, vec![attr_float("alpha", alpha)]);
        }
        9 => g.push("Sigmoid", &[&x], shape, vec![]),
        10 => g.push("Tanh", &[&x], shape, vec![]),
        11 => {
            let dims = if s.a % 2 == 0 {
                per_channel(rank)
            } else {
                vec![1]
            };
            let c = g.float(dims, &mut rng, -1.5, 1.5);
            g.push("Mul", &[&x, &c], shape, vec![]);
        }
        12 if rank == 2 || rank == 4 => {
            let gamma = g.float(vec![channels], &mut rng, 0.25, 1.5);
            let beta = g.float(vec![channels], &mut rng, -0.5, 0.5);
            let mean = g.float(vec![channels], &mut rng, -0.5, 0.5);
            let var = g.float(vec![channels], &mut rng, 0.5, 2.0);
            g.push(
                "BatchNormalization",
                &[&x, &gamma, &beta, &mean, &var],
                shape,
                vec![],
            );
        }
        13 => {
            let n: usize = shape.iter().product();
            if s.a % 2 == 0 {
                g.push("Flatten", &[&x], vec![shape[0], n / shape[0]], vec![]);
            } else {
                let target = g.int(vec![shape[0] as i64, -1]);
                g.push(
                    "Reshape",
                    &[&x, &target],
                    vec![shape[0], n / shape[0]],
                    vec![],
                );
            }
        }
        14 if spatial_ok => {
            let k = if s.a % 2 == 0 && shape[2] >= 3 && shape[3] >= 3 {
                3
            } else {
                1
            };
            let pad = usize::from(k == 3 && s.b % 2 == 0);
            let c_out = 1 + s.b as usize % 3;
            let w = g.float(vec![c_out, shape[1], k, k], &mut rng, -0.5, 0.5);
            let (h, wd) = (shape[2] + 2 * pad - k + 1, shape[3] + 2 * pad - k + 1);
            let p = pad as i64;
            let attrs = vec![
                attr_ints("kernel_shape", &[k as i64, k as i64]),
                attr_ints("pads", &[p, p, p, p]),
            ];
            if s.a % 4 >= 2 {
                let b = g.float(vec![c_out], &mut rng, -0.5, 0.5);
                g.push("Conv", &[&x, &w, &b], vec![1, c_out, h, wd], attrs);
            } else {
                g.push("Conv", &[&x, &w], vec![1, c_out, h, wd], attrs);
            }
        }
        15 | 16 if spatial_ok => {
            let stride = 1 + s.a as usize % 2;
            let pad = usize::from(s.kind == 16 && s.b % 2 == 1);
            let out = |d: usize| (d + 2 * pad - 2) / stride + 1;
            let p = pad as i64;
            let mut attrs = vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[stride as i64, stride as i64]),
                attr_ints("pads", &[p, p, p, p]),
            ];
            let op = if s.kind == 15 {
                "MaxPool"
            } else {
                "AveragePool"
            };
            if s.kind == 16 {
                attrs.push(attr_int("count_include_pad", i64::from(s.b % 4 >= 2)));
            }
            g.push(
                op,
                &[&x],
                vec![1, shape[1], out(shape[2]), out(shape[3])],
                attrs,
            );
        }
        17 if rank == 4 => g.push("GlobalAveragePool", &[&x], vec![1, shape[1], 1, 1], vec![]),
        18 if rank >= 2 => {
            let y = g.tensors[g.partner(t, s.a)].0.clone();
            let mut out = shape.clone();
            out[1] *= 2;
            g.push("Concat", &[&x, &y], out, vec![attr_int("axis", 1)]);
        }
        19 if rank == 2 || rank == 4 => {
            let perm: Vec<usize> = if rank == 2 {
                vec![1, 0]
            } else {
                vec![0, 1, 3, 2]
            };
            let out = perm.iter().map(|&p| shape[p]).collect();
            let perm: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
            g.push("Transpose", &[&x], out, vec![attr_ints("perm", &perm)]);
        }
        20 if rank == 4 => {
            let pads = g.int(vec![0, 0, 1, 0, 0, 0, 0, 1]);
            let v = g.float(vec![], &mut rng, -1.0, 1.0);
            g.push(
                "Pad",
                &[&x, &pads, &v],
                vec![1, shape[1], shape[2] + 1, shape[3] + 1],
                vec![],
            );
        }
        21 => {
            let axes = g.int(vec![0]);
            let mut out = vec![1];
            out.extend(&shape);
            g.push("Unsqueeze", &[&x, &axes], out, vec![]);
        }
        22 if shape[0] == 1 && rank >= 2 => {
            let axes = g.int(vec![0]);
            g.push("Squeeze", &[&x, &axes], shape[1..].to_vec(), vec![]);
        }
        23 => {
            // Max of the tensor and a shifted copy of itself through a Relu: a tensor read by
            // several consumers with a fusion candidate in between.
            g.push("Relu", &[&x], shape.clone(), vec![]);
            let r = g.tensors.last().unwrap().0.clone();
            g.push("Sub", &[&x, &r], shape, vec![]);
        }
        _ => {}
    }
}

/// The model bytes, its input shape and the name of its output.
fn build(setup: &Setup, ops: &[OpSpec]) -> (Vec<u8>, Vec<usize>) {
    let input = if setup.nchw {
        vec![1, 2, 4, 4]
    } else {
        vec![1, 4]
    };
    let mut g = Graph {
        tensors: vec![("input".into(), input.clone())],
        nodes: vec![],
        floats: vec![],
        ints: vec![],
    };
    for s in ops {
        add_op(&mut g, s);
    }
    if g.nodes.is_empty() {
        g.push("Identity", &["input"], input.clone(), vec![]);
    }
    let out = match setup.output_pick {
        Some(i) => g.tensors[1 + i as usize % (g.tensors.len() - 1)].0.clone(),
        None => g.tensors.last().unwrap().0.clone(),
    };
    let floats: Vec<support::Init> = g
        .floats
        .iter()
        .map(|(n, d, v)| (n.as_str(), d.clone(), v.clone()))
        .collect();
    (model_full(&input, g.nodes, &floats, &g.ints, &out), input)
}

/// Inputs within the input's range: real values in about ±1.9 (the input has scale + 2 bits).
fn inputs(setup: &Setup, len: usize, n: usize) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(setup.input_seed);
    let edge = 1.9;
    (0..n)
        .map(|k| {
            (0..len)
                .map(|_| match k {
                    0 => edge,
                    1 => -edge,
                    _ => rng.gen_range(-edge..edge),
                })
                .collect()
        })
        .collect()
}

/// Graphs the compiler refused, and inputs proven (every check passed), over the run.
static REFUSED: AtomicUsize = AtomicUsize::new(0);
static PROVEN: AtomicUsize = AtomicUsize::new(0);
static CASES: AtomicUsize = AtomicUsize::new(0);

/// Runs one case; `Err` describes a violated property.
fn check_case(setup: &Setup, ops: &[OpSpec]) -> Result<(), String> {
    let (bytes, shape) = build(setup, ops);
    let settings = Settings {
        scale: setup.scale,
        weight_scale: setup.weight_scale,
        bits: setup.flat_bits,
        input_bits: setup.scale as u32 + 2,
    };
    let len: usize = shape.iter().product();
    let samples = inputs(setup, len, 6);
    let policy = match setup.policy {
        0 => BitsPolicy::Flat,
        1 => BitsPolicy::WorstCase { max_bits: 48 },
        _ => BitsPolicy::Calibrated {
            samples: samples[..3].to_vec(),
            margin: f64::from(setup.margin_x4) / 4.0,
            calibrate_input: false,
        },
    };
    let compiled = match catch_unwind(AssertUnwindSafe(|| {
        compile_calibrated(&bytes, &settings, &policy)
    })) {
        Err(_) => return Err("compile panicked".into()),
        Ok(Err(_refused)) => {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Ok(Ok(c)) => c,
    };
    let g = &compiled.graph;
    let must_succeed =
        matches!(policy, BitsPolicy::WorstCase { .. }) && compiled.warnings.is_empty();
    let bound = match g.nodes.iter().position(|n| n.output == g.output) {
        Some(i) => compiled.layers[i].error_bound,
        None => 0.5 * 2f64.powi(-g.input_info().scale),
    };
    let float = FloatModel::load(&bytes, &shape).map_err(|e| format!("tract: {e}"))?;
    let matrices = catch_unwind(AssertUnwindSafe(|| constraint_matrices(g)))
        .map_err(|_| "constraint_matrices panicked".to_string())?
        .map_err(|e| format!("constraint_matrices: {e}"))?;
    let out_scale = g.output_info().scale;
    let mut proven = 0;
    for x in &samples {
        let q = quantize_input(g, x).map_err(|e| format!("quantize {x:?}: {e}"))?;
        let trace = match catch_unwind(AssertUnwindSafe(|| infer(g, &q))) {
            Err(_) => return Err("inference panicked".into()),
            Ok(Err(e)) if must_succeed => return Err(format!("worst-case bits failed: {e}")),
            Ok(Err(_)) => continue,
            Ok(Ok(t)) => t,
        };
        let want = float.run(x).map_err(|e| format!("tract run: {e}"))?;
        let got = trace.output(g);
        if got.len() != want.len() {
            return Err(format!(
                "output length {} vs onnx {}",
                got.len(),
                want.len()
            ));
        }
        for (i, (&q, &f)) in got.iter().zip(&want).enumerate() {
            let err = (fixed::dequantize(q, out_scale) - f).abs();
            let slack = 1e-5 * (1.0 + f.abs()) * g.nodes.len() as f64;
            if err > bound + slack {
                return Err(format!(
                    "output {i}: error {err} beyond the stated bound {bound} (input {x:?})"
                ));
            }
        }
        let s = catch_unwind(AssertUnwindSafe(|| synthesize(g, &trace, true)))
            .map_err(|_| "synthesize panicked".to_string())?
            .map_err(|e| format!("synthesize after a successful inference: {e}"))?;
        if let Some(row) = s.r1cs.first_unsatisfied(&s.assignment) {
            return Err(format!("trace unsatisfied at constraint {row}"));
        }
        if s.r1cs != matrices {
            return Err("the matrices depend on the input".into());
        }
        // One output value changed, public inputs re-packed: unsatisfied.
        let mut forged = trace.clone();
        let k = (setup.input_seed as usize) % got.len();
        let o = &mut forged.tensors[g.output][k];
        let bits = g.output_info().bits;
        *o = if fixed::fits_bits(i128::from(*o) + 1, bits) {
            *o + 1
        } else {
            *o - 1
        };
        // The honest witness under the public inputs of the forged output.
        let public = zkinfer_verifier::pack_public_inputs(
            &g.public_layout(),
            &forged.tensors[g.input],
            forged.output(g),
        )
        .map_err(|e| format!("packing the forged output: {e}"))?;
        let mut z = s.assignment.clone();
        z[1..=public.len()].copy_from_slice(&public);
        if matrices.is_satisfied(&z) {
            return Err(format!("a forged output (index {k}) satisfies the circuit"));
        }
        // A sample of witness variables, each changed by one: unsatisfied.
        let n = s.assignment.len();
        let first = matrices.num_instance;
        let mut rng = StdRng::seed_from_u64(setup.input_seed ^ proven);
        for _ in 0..8.min(n - first) {
            let i = rng.gen_range(first..n);
            let mut z = s.assignment.clone();
            z[i] += ark_bn254::Fr::from(1u64);
            if matrices.is_satisfied(&z) {
                return Err(format!("witness variable {i} of {n} is not pinned"));
            }
        }
        proven += 1;
        PROVEN.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("ZKINFER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_graphs_compile_to_circuits_that_compute_them(
        setup in setup(),
        ops in proptest::collection::vec(op_spec(), 1..7),
    ) {
        let result = check_case(&setup, &ops);
        if result.is_ok() && CASES.fetch_add(1, Ordering::Relaxed) + 1 == cases() as usize {
            eprintln!(
                "graph fuzzer: {} graphs, {} refused by the compiler, {} inputs proven and checked",
                cases(),
                REFUSED.load(Ordering::Relaxed),
                PROVEN.load(Ordering::Relaxed)
            );
        }
        if let Err(why) = result {
            let (bytes, _) = build(&setup, &ops);
            let path = std::env::temp_dir().join("zkinfer-fuzz-failure.onnx");
            std::fs::write(&path, &bytes).ok();
            prop_assert!(false, "{why}\nsetup {setup:?}\nops {ops:#?}\nmodel written to {}", path.display());
        }
    }
}
