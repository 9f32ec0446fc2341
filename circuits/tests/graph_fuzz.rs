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
use support::{
    attr_float, attr_int, attr_ints, attr_tensor_f32, model_with_bools, node, BoolInit, IntInit,
};
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

const KINDS: u8 = 40;

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
    bools: Vec<BoolInit>,
}

impl Graph {
    fn fresh(&self, what: &str) -> String {
        format!(
            "{what}{}",
            self.nodes.len() + self.floats.len() + self.ints.len() + self.bools.len()
        )
    }

    /// A float constant of the given values.
    fn float_of(&mut self, dims: Vec<usize>, data: Vec<f32>) -> String {
        let name = self.fresh("c");
        self.floats.push((name.clone(), dims, data));
        name
    }

    /// An int64 constant of any shape (a scalar index is `dims = []`).
    fn int_dims(&mut self, dims: Vec<usize>, data: Vec<i64>) -> String {
        let name = self.fresh("i");
        self.ints.push((name.clone(), dims, data));
        name
    }

    /// A bool constant (a condition).
    fn bool_of(&mut self, dims: Vec<usize>, data: Vec<bool>) -> String {
        let name = self.fresh("b");
        self.bools.push((name.clone(), dims, data));
        name
    }

    /// A node whose output is not offered to later ops (an intermediate of a pattern, a
    /// constant subgraph); returns its output.
    fn hidden(&mut self, op: &str, inputs: &[&str], attrs: Vec<pb::AttributeProto>) -> String {
        let out = self.fresh("h");
        let label = format!("{}_{}", op.to_lowercase(), self.nodes.len());
        self.nodes.push(node(op, &label, inputs, &out, attrs));
        out
    }

    /// The last tensor pushed.
    fn last(&self) -> String {
        self.tensors.last().unwrap().0.clone()
    }

    /// Either a hidden intermediate or, when `expose`, one later ops may read too (which must
    /// stop a pattern rewrite).
    fn step(
        &mut self,
        expose: bool,
        op: &str,
        inputs: &[&str],
        shape: &[usize],
        attrs: Vec<pb::AttributeProto>,
    ) -> String {
        if expose {
            self.push(op, inputs, shape.to_vec(), attrs);
            self.last()
        } else {
            self.hidden(op, inputs, attrs)
        }
    }

    /// Transpose of the last two axes (hidden unless `expose`).
    fn swap_last(&mut self, x: &str, shape: &[usize], expose: bool) -> (String, Vec<usize>) {
        let r = shape.len();
        let mut perm: Vec<usize> = (0..r).collect();
        perm.swap(r - 2, r - 1);
        let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let perm: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
        let name = self.step(
            expose,
            "Transpose",
            &[x],
            &out,
            vec![attr_ints("perm", &perm)],
        );
        (name, out)
    }

    /// A lower-triangular (causal) `[n, n]` condition built from constants only, folded at
    /// compile time: `ConstantOfShape → Trilu → Equal`, true where a row may attend. `way`
    /// picks one of four constructions (lower with diagonal, or strictly upper compared with
    /// 0); with `keep_true == false` the condition is negated (true where masked).
    fn causal_cond(&mut self, n: usize, way: u8, keep_true: bool) -> String {
        let dims = self.int(vec![n as i64, n as i64]);
        let ones = self.hidden(
            "ConstantOfShape",
            &[&dims],
            vec![attr_tensor_f32("value", 1.0)],
        );
        // lower (upper = 0, k = 0): ones where allowed; strictly upper (upper = 1, k = 1):
        // ones where masked.
        let lower = way.is_multiple_of(2);
        let tri = if lower {
            if way.is_multiple_of(4) {
                self.hidden("Trilu", &[&ones], vec![attr_int("upper", 0)])
            } else {
                let k = self.int_dims(vec![], vec![0]);
                self.hidden("Trilu", &[&ones, &k], vec![attr_int("upper", 0)])
            }
        } else {
            let k = self.int_dims(vec![], vec![1]);
            self.hidden("Trilu", &[&ones, &k], vec![attr_int("upper", 1)])
        };
        // Equal(tri, 1) is "allowed" for lower, "masked" for upper.
        let one_is_allowed = lower;
        let want = if one_is_allowed == keep_true {
            1.0
        } else {
            0.0
        };
        let c = self.float_of(vec![], vec![want]);
        self.hidden("Equal", &[&tri, &c], vec![])
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
        debug_assert!(shape.iter().all(|&d| d > 0), "{op} {shape:?}");
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
            let dims = if s.a.is_multiple_of(2) {
                per_channel(rank)
            } else {
                vec![1]
            };
            let c = g.float(dims, &mut rng, -1.0, 1.0);
            let ins = if s.b.is_multiple_of(2) {
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
            let lo = if s.a.is_multiple_of(3) {
                String::new()
            } else {
                g.float(vec![], &mut rng, -1.5, -0.1)
            };
            let hi = if s.b.is_multiple_of(3) {
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
            let dims = if s.a.is_multiple_of(2) {
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
            if s.a.is_multiple_of(2) {
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
            let k = if s.a.is_multiple_of(2) && shape[2] >= 3 && shape[3] >= 3 {
                3
            } else {
                1
            };
            let pad = usize::from(k == 3 && s.b.is_multiple_of(2));
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
        24 if rank >= 2 => {
            // MatMul of two activations (batched over the leading axes).
            let expose = s.b % 8 == 7;
            let (m, n) = (shape[rank - 2], shape[rank - 1]);
            let y = g.tensors[g.partner(t, s.b)].0.clone();
            match s.a % 4 {
                0 => {
                    // x · xᵀ
                    let (xt, _) = g.swap_last(&x, &shape, expose);
                    let mut out = shape.clone();
                    out[rank - 1] = m;
                    g.push("MatMul", &[&x, &xt], out, vec![]);
                }
                1 => {
                    // xᵀ · y, y a second branch of x's shape
                    let (xt, _) = g.swap_last(&x, &shape, expose);
                    let mut out = shape.clone();
                    out[rank - 2] = n;
                    g.push("MatMul", &[&xt, &y], out, vec![]);
                }
                2 => {
                    // x · yᵀ, yᵀ sometimes sliced to one batch element (broadcast batch axis)
                    let (mut yt, mut yshape) = g.swap_last(&y, &shape, expose);
                    if let Some(ax) = (0..rank - 2).find(|&i| shape[i] > 1) {
                        if s.b.is_multiple_of(2) {
                            let j = (s.b as usize / 2) % shape[ax];
                            let (st, en, axes) = (
                                g.int(vec![j as i64]),
                                g.int(vec![j as i64 + 1]),
                                g.int(vec![ax as i64]),
                            );
                            yshape[ax] = 1;
                            yt = g.step(expose, "Slice", &[&yt, &st, &en, &axes], &yshape, vec![]);
                        }
                    }
                    let mut out = shape.clone();
                    out[rank - 1] = m;
                    g.push("MatMul", &[&x, &yt], out, vec![]);
                }
                _ => {
                    // x times a lower-rank activation: [n, k] (or [k, n] transposed), or [n]
                    let other = (0..g.tensors.len()).find(|&i| {
                        let sh = &g.tensors[i].1;
                        i != t && ((sh.len() == 2 && sh.contains(&n)) || sh == &vec![n])
                    });
                    match other {
                        Some(i) => {
                            let (u, ush) = g.tensors[i].clone();
                            if ush.len() == 1 {
                                g.push("MatMul", &[&x, &u], shape[..rank - 1].to_vec(), vec![]);
                            } else {
                                let (u, ush) =
                                    if ush[0] == n && (ush[1] != n || s.b.is_multiple_of(2)) {
                                        (u, ush)
                                    } else {
                                        g.swap_last(&u, &ush, expose)
                                    };
                                let mut out = shape.clone();
                                out[rank - 1] = ush[1];
                                g.push("MatMul", &[&x, &u], out, vec![]);
                            }
                        }
                        None => {
                            let (xt, _) = g.swap_last(&x, &shape, expose);
                            let mut out = shape.clone();
                            out[rank - 2] = n;
                            g.push("MatMul", &[&xt, &x], out, vec![]);
                        }
                    }
                }
            }
        }
        25 if rank >= 2 => {
            // Softmax over the last axis; on square last two dims, sometimes masked causally.
            let n = shape[rank - 1];
            let attrs = match s.a % 3 {
                0 => vec![],
                1 => vec![attr_int("axis", -1)],
                _ => vec![attr_int("axis", rank as i64 - 1)],
            };
            let input = if shape[rank - 2] == n && !s.b.is_multiple_of(4) {
                let keep_true = s.b % 8 < 4;
                let cond = g.causal_cond(n, s.b / 8, keep_true);
                let fill = [f32::NEG_INFINITY, -1e9, f32::MIN, -1e4, -30.0][(s.a / 3) as usize % 5];
                let m = g.float_of(vec![], vec![fill]);
                let ins = if keep_true {
                    [cond.as_str(), x.as_str(), m.as_str()]
                } else {
                    [cond.as_str(), m.as_str(), x.as_str()]
                };
                // Exposed, the mask may be read elsewhere or be the output: it must be refused
                // or computed right, never silently wrong.
                g.step(s.a % 16 == 15, "Where", &ins, &shape, vec![])
            } else {
                x.clone()
            };
            g.push("Softmax", &[&input], shape, attrs);
        }
        26 => {
            // Where with a constant condition (given, or computed from constants).
            let n = shape[rank - 1];
            let cdims = if s.a.is_multiple_of(2) {
                shape.clone()
            } else {
                vec![n]
            };
            let len: usize = cdims.iter().product();
            let cond = if s.b % 6 >= 3 {
                let c = g.float(cdims, &mut rng, -1.0, 1.0);
                let z = g.float_of(vec![], vec![0.0]);
                g.hidden("Less", &[&c, &z], vec![])
            } else {
                let bits = (0..len).map(|_| rng.gen()).collect();
                g.bool_of(cdims, bits)
            };
            let other = match s.b % 3 {
                0 => g.float(vec![], &mut rng, -1.0, 1.0),
                1 => g.float(shape.clone(), &mut rng, -1.0, 1.0),
                _ => g.tensors[g.partner(t, s.a)].0.clone(),
            };
            let ins = if s.a % 4 >= 2 {
                [cond.as_str(), x.as_str(), other.as_str()]
            } else {
                [cond.as_str(), other.as_str(), x.as_str()]
            };
            g.push("Where", &ins, shape, vec![]);
        }
        27 => {
            // Mul of two activations: two branches, a square, or a broadcast size-1 slice.
            let n = shape[rank - 1];
            match s.a % 3 {
                0 => {
                    let y = g.tensors[g.partner(t, s.b)].0.clone();
                    g.push("Mul", &[&x, &y], shape, vec![]);
                }
                1 => g.push("Mul", &[&x, &x], shape, vec![]),
                _ => {
                    let j = s.b as usize % n;
                    let (st, en, axes) = (
                        g.int(vec![j as i64]),
                        g.int(vec![j as i64 + 1]),
                        g.int(vec![-1]),
                    );
                    let mut sshape = shape.clone();
                    sshape[rank - 1] = 1;
                    let sl = g.step(
                        s.b % 8 == 7,
                        "Slice",
                        &[&x, &st, &en, &axes],
                        &sshape,
                        vec![],
                    );
                    let ins = if s.b.is_multiple_of(2) {
                        [&x, &sl]
                    } else {
                        [&sl, &x]
                    };
                    g.push("Mul", &[ins[0], ins[1]], shape, vec![]);
                }
            }
        }
        28 => {
            // LayerNormalization over the last axis (or the last two), fused or decomposed.
            let n = shape[rank - 1];
            let eps = [1e-5f32, 1e-3, 0.1][s.b as usize % 3];
            let (lo, hi) = if s.b % 8 == 7 {
                (-1.5, 1.5)
            } else {
                (0.25, 1.5)
            };
            if s.a.is_multiple_of(2) {
                let two = rank >= 3 && s.a % 8 == 6;
                let gdims = if two {
                    shape[rank - 2..].to_vec()
                } else {
                    vec![n]
                };
                let gamma = g.float(gdims.clone(), &mut rng, lo, hi);
                let beta = g.float(gdims, &mut rng, -0.5, 0.5);
                let mut attrs = vec![attr_float("epsilon", eps)];
                if two {
                    attrs.push(attr_int("axis", -2));
                } else if s.a % 4 == 2 {
                    attrs.push(attr_int("axis", rank as i64 - 1));
                }
                if s.b % 4 == 3 {
                    g.push("LayerNormalization", &[&x, &gamma], shape, attrs);
                } else {
                    g.push("LayerNormalization", &[&x, &gamma, &beta], shape, attrs);
                }
            } else {
                let ex = s.b % 16 == 15;
                let mean_attrs = || vec![attr_ints("axes", &[-1]), attr_int("keepdims", 1)];
                let mut row = shape.clone();
                row[rank - 1] = 1;
                let mean = g.step(ex, "ReduceMean", &[&x], &row, mean_attrs());
                let d = g.hidden("Sub", &[&x, &mean], vec![]);
                let sq = if s.a % 4 == 1 {
                    let two = g.float_of(vec![], vec![2.0]);
                    g.hidden("Pow", &[&d, &two], vec![])
                } else {
                    g.hidden("Mul", &[&d, &d], vec![])
                };
                let var = g.hidden("ReduceMean", &[&sq], mean_attrs());
                let e = g.float_of(vec![], vec![eps]);
                let ve = g.hidden("Add", &[&var, &e], vec![]);
                let sd = g.hidden("Sqrt", &[&ve], vec![]);
                let affine = s.a % 8 >= 4;
                if !affine {
                    g.push("Div", &[&d, &sd], shape, vec![]);
                } else {
                    let y = g.hidden("Div", &[&d, &sd], vec![]);
                    let gamma = g.float(vec![n], &mut rng, lo, hi);
                    let beta = g.float(vec![n], &mut rng, -0.5, 0.5);
                    let yg = g.hidden("Mul", &[&y, &gamma], vec![]);
                    g.push("Add", &[&yg, &beta], shape, vec![]);
                }
            }
        }
        29 => {
            // RMSNorm as exported: Pow 2 → ReduceMean → Add ε → Sqrt → Reciprocal → Mul x [→ Mul w].
            let n = shape[rank - 1];
            let ex = s.b % 16 == 15;
            let eps = [1e-6f32, 1e-5, 1e-2][s.b as usize % 3];
            let sq = if s.a.is_multiple_of(2) {
                let two = g.float_of(vec![], vec![2.0]);
                g.hidden("Pow", &[&x, &two], vec![])
            } else {
                g.hidden("Mul", &[&x, &x], vec![])
            };
            let mut row = shape.clone();
            row[rank - 1] = 1;
            let ms = g.hidden(
                "ReduceMean",
                &[&sq],
                vec![attr_ints("axes", &[-1]), attr_int("keepdims", 1)],
            );
            let e = g.float_of(vec![], vec![eps]);
            let ve = if s.b.is_multiple_of(2) {
                g.hidden("Add", &[&ms, &e], vec![])
            } else {
                g.hidden("Add", &[&e, &ms], vec![])
            };
            let sd = g.step(ex, "Sqrt", &[&ve], &row, vec![]);
            let weighted = s.a % 8 >= 4;
            let y = match (s.a / 2) % 3 {
                0 => {
                    let r = g.hidden("Reciprocal", &[&sd], vec![]);
                    if weighted {
                        g.hidden("Mul", &[&x, &r], vec![])
                    } else {
                        g.push("Mul", &[&r, &x], shape.clone(), vec![]);
                        g.last()
                    }
                }
                1 => {
                    let one = g.float_of(vec![], vec![1.0]);
                    let r = g.hidden("Div", &[&one, &sd], vec![]);
                    if weighted {
                        g.hidden("Mul", &[&r, &x], vec![])
                    } else {
                        g.push("Mul", &[&x, &r], shape.clone(), vec![]);
                        g.last()
                    }
                }
                _ => {
                    if weighted {
                        g.hidden("Div", &[&x, &sd], vec![])
                    } else {
                        g.push("Div", &[&x, &sd], shape.clone(), vec![]);
                        g.last()
                    }
                }
            };
            if weighted {
                let w = g.float(vec![n], &mut rng, 0.25, 1.5);
                g.push("Mul", &[&y, &w], shape, vec![]);
            }
        }
        30 => {
            // GELU as exported: erf form (Div √2 or Mul 1/√2) or tanh form, 0.5 anywhere.
            let ex = s.b % 16 == 15;
            let f = if s.a % 3 != 2 {
                let u = if s.a.is_multiple_of(3) {
                    let c = g.float_of(vec![], vec![std::f32::consts::SQRT_2]);
                    g.hidden("Div", &[&x, &c], vec![])
                } else {
                    let c = g.float_of(vec![], vec![std::f32::consts::FRAC_1_SQRT_2]);
                    g.hidden("Mul", &[&x, &c], vec![])
                };
                g.step(ex, "Erf", &[&u], &shape, vec![])
            } else {
                let cube = if s.b.is_multiple_of(2) {
                    let three = g.float_of(vec![], vec![3.0]);
                    g.hidden("Pow", &[&x, &three], vec![])
                } else {
                    let sq = g.hidden("Mul", &[&x, &x], vec![]);
                    g.hidden("Mul", &[&sq, &x], vec![])
                };
                let k = g.float_of(vec![], vec![0.044715]);
                let c3 = g.hidden("Mul", &[&cube, &k], vec![]);
                let inner = g.hidden("Add", &[&x, &c3], vec![]);
                let r = g.float_of(vec![], vec![(2.0f32 / std::f32::consts::PI).sqrt()]);
                let z = g.hidden("Mul", &[&inner, &r], vec![]);
                g.step(ex, "Tanh", &[&z], &shape, vec![])
            };
            let one = g.float_of(vec![], vec![1.0]);
            let half = g.float_of(vec![], vec![0.5]);
            match (s.a / 3) % 3 {
                0 => {
                    let p = g.hidden("Add", &[&f, &one], vec![]);
                    let xp = g.hidden("Mul", &[&x, &p], vec![]);
                    g.push("Mul", &[&xp, &half], shape, vec![]);
                }
                1 => {
                    let p = g.hidden("Add", &[&one, &f], vec![]);
                    let xh = g.hidden("Mul", &[&x, &half], vec![]);
                    g.push("Mul", &[&xh, &p], shape, vec![]);
                }
                _ => {
                    let p = g.hidden("Add", &[&f, &one], vec![]);
                    let ph = g.hidden("Mul", &[&p, &half], vec![]);
                    g.push("Mul", &[&x, &ph], shape, vec![]);
                }
            }
        }
        31 => {
            // SiLU as exported: Sigmoid → Mul x (either order).
            let sig = g.step(s.b % 8 == 7, "Sigmoid", &[&x], &shape, vec![]);
            if s.a.is_multiple_of(2) {
                g.push("Mul", &[&x, &sig], shape, vec![]);
            } else {
                g.push("Mul", &[&sig, &x], shape, vec![]);
            }
        }
        32 => {
            // Slice along one axis, sometimes with negative indices, an end past the axis,
            // a step of 2, or no axes input.
            let axis = s.a as usize % rank;
            let dim = shape[axis];
            let start = rng.gen_range(0..dim);
            let end = rng.gen_range(start + 1..=dim);
            // Steps of 2 on any axis (tract's declutter once moved a strided Slice of the last
            // axis above a Softmax; the float reference no longer declutters).
            let step = if s.b % 3 == 2 { 2 } else { 1 };
            let mut out = shape.clone();
            out[axis] = (end - start).div_ceil(step);
            let st = if s.b % 4 == 1 {
                start as i64 - dim as i64
            } else {
                start as i64
            };
            let en = if end == dim && s.b.is_multiple_of(5) {
                i64::MAX
            } else if s.b % 7 == 3 {
                end as i64 - dim as i64
            } else {
                end as i64
            };
            // end - dim is 0 when end == dim (an empty slice): keep those positive.
            let en = if en == 0 { end as i64 } else { en };
            let (st, en) = (g.int(vec![st]), g.int(vec![en]));
            if axis == 0 && s.b % 6 == 5 {
                g.push("Slice", &[&x, &st, &en], out, vec![]);
            } else {
                let ax = if s.a % 2 == 1 {
                    axis as i64 - rank as i64
                } else {
                    axis as i64
                };
                let ax = g.int(vec![ax]);
                if step == 1 && s.b.is_multiple_of(2) {
                    g.push("Slice", &[&x, &st, &en, &ax], out, vec![]);
                } else {
                    let sp = g.int(vec![step as i64]);
                    g.push("Slice", &[&x, &st, &en, &ax, &sp], out, vec![]);
                }
            }
        }
        33 => {
            // Split along an axis into equal parts or given sizes; every part is a tensor.
            let axis = s.a as usize % rank;
            let dim = shape[axis];
            if dim >= 2 {
                let sizes: Vec<usize> = if s.b.is_multiple_of(2) && dim % 2 == 0 {
                    vec![dim / 2; 2]
                } else if s.b.is_multiple_of(2) && dim % 3 == 0 {
                    vec![dim / 3; 3]
                } else {
                    let k = 1 + s.b as usize % (dim - 1);
                    vec![k, dim - k]
                };
                let equal = sizes.iter().all(|&k| k == sizes[0]) && s.b.is_multiple_of(4);
                let ax = if s.a % 2 == 1 {
                    axis as i64 - rank as i64
                } else {
                    axis as i64
                };
                let inputs = if equal {
                    vec![x.clone()]
                } else {
                    let sp = g.int(sizes.iter().map(|&k| k as i64).collect());
                    vec![x.clone(), sp]
                };
                let base = g.fresh("t");
                let outs: Vec<String> = (0..sizes.len()).map(|k| format!("{base}_{k}")).collect();
                let label = format!("split_{}", g.nodes.len());
                let mut nd = node("Split", &label, &[], &outs[0], vec![attr_int("axis", ax)]);
                nd.input = inputs;
                nd.output = outs.clone();
                g.nodes.push(nd);
                for (o, &k) in outs.iter().zip(&sizes) {
                    let mut sh = shape.clone();
                    sh[axis] = k;
                    g.tensors.push((o.clone(), sh));
                }
            }
        }
        34 => {
            // Expand a size-1 axis (or a new leading one) to 2 or 3.
            let k = 2 + s.b as usize % 2;
            let n: usize = shape.iter().product();
            if n * k <= 96 {
                let ones: Vec<usize> = (0..rank).filter(|&i| shape[i] == 1).collect();
                let mut target = shape.clone();
                if ones.is_empty() || s.a % 4 == 3 {
                    target.insert(0, k);
                } else {
                    target[ones[s.a as usize % ones.len()]] = k;
                }
                // The shape input: the target, or the target with the kept axes as 1.
                let given: Vec<i64> = target
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| {
                        let off = target.len() - rank;
                        if s.b % 4 >= 2 && i >= off && shape[i - off] == d {
                            1
                        } else {
                            d as i64
                        }
                    })
                    .collect();
                let sh = g.int(given);
                g.push("Expand", &[&x, &sh], target, vec![]);
            }
        }
        35 => {
            // Gather by constant indices along an axis (a scalar index drops the axis).
            let axis = s.a as usize % rank;
            let dim = shape[axis] as i64;
            let ax = if s.a % 2 == 1 {
                axis as i64 - rank as i64
            } else {
                axis as i64
            };
            let idx = |rng: &mut StdRng| {
                let i = rng.gen_range(0..dim);
                if rng.gen::<bool>() {
                    i - dim
                } else {
                    i
                }
            };
            if s.b.is_multiple_of(3) && rank >= 2 {
                let i = g.int_dims(vec![], vec![idx(&mut rng)]);
                let mut out = shape.clone();
                out.remove(axis);
                g.push("Gather", &[&x, &i], out, vec![attr_int("axis", ax)]);
            } else {
                let len = 1 + s.b as usize % 3;
                let data = (0..len).map(|_| idx(&mut rng)).collect();
                let i = g.int(data);
                let mut out = shape.clone();
                out[axis] = len;
                g.push("Gather", &[&x, &i], out, vec![attr_int("axis", ax)]);
            }
        }
        36 => g.push("Neg", &[&x], shape, vec![]),
        37 => {
            // Div by a constant: a scalar or per channel, away from 0, either sign.
            let dims = if s.a.is_multiple_of(2) {
                per_channel(rank)
            } else {
                vec![1]
            };
            let len = dims.iter().product();
            let data = (0..len)
                .map(|_| {
                    let v: f32 = rng.gen_range(0.5..2.0);
                    if rng.gen::<bool>() {
                        -v
                    } else {
                        v
                    }
                })
                .collect();
            let c = g.float_of(dims, data);
            g.push("Div", &[&x, &c], shape, vec![]);
        }
        38 => {
            // Cast to float (sometimes through double).
            if s.a % 3 == 2 {
                let d = g.hidden("Cast", &[&x], vec![attr_int("to", 11)]);
                g.push("Cast", &[&d], shape, vec![attr_int("to", 1)]);
            } else {
                g.push("Cast", &[&x], shape, vec![attr_int("to", 1)]);
            }
        }
        39 => {
            // A constant computed by a constant-only subgraph (folded at compile time).
            let n = shape[rank - 1];
            match s.a % 4 {
                0 => {
                    let c1 = g.float(per_channel(rank), &mut rng, -1.0, 1.0);
                    let c2 = g.float(vec![1], &mut rng, -1.0, 1.0);
                    let c = g.hidden("Add", &[&c1, &c2], vec![]);
                    g.push("Add", &[&x, &c], shape, vec![]);
                }
                1 => {
                    let c1 = g.float(vec![], &mut rng, 0.25, 1.5);
                    let c = g.hidden("Neg", &[&c1], vec![]);
                    g.push("Mul", &[&c, &x], shape, vec![]);
                }
                2 if rank >= 2 && shape[rank - 2] == n => {
                    // x times a constant lower-triangular matrix (mask by product)
                    let dims = g.int(vec![n as i64, n as i64]);
                    let ones = g.hidden(
                        "ConstantOfShape",
                        &[&dims],
                        vec![attr_tensor_f32("value", 1.0)],
                    );
                    let tri = g.hidden("Trilu", &[&ones], vec![attr_int("upper", 0)]);
                    g.push("Mul", &[&x, &tri], shape, vec![]);
                }
                _ if rank == 2 => {
                    let k = 1 + s.b as usize % 4;
                    let w = g.float(vec![k, n], &mut rng, -1.0, 1.0);
                    let wt = g.hidden("Transpose", &[&w], vec![attr_ints("perm", &[1, 0])]);
                    g.push("MatMul", &[&x, &wt], vec![shape[0], k], vec![]);
                }
                _ => {
                    let c1 = g.float(vec![n], &mut rng, 0.5, 1.5);
                    let c = g.hidden("Sqrt", &[&c1], vec![]);
                    g.push("Div", &[&x, &c], shape, vec![]);
                }
            }
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
        bools: vec![],
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
    (
        model_with_bools(&input, g.nodes, &floats, &g.ints, &g.bools, &out),
        input,
    )
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
        input_visibility: Default::default(),
        output_visibility: Default::default(),
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
