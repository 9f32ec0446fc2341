//! The model circuit: the quantised graph's ops as R1CS over a trace.
//!
//! Public inputs are the packed input then the packed output (DESIGN.md); the input values
//! are range-checked to the input's bits, every op proves its own outputs, and the output
//! values are proven to fit the output's bits before they are packed.

use crate::gadgets;
use crate::graph::{QGraph, TensorId, Visibility};
use crate::inference::{InferenceError, Trace};
use crate::ops::{relu::ensure_signed, CTensor, CValue};
use crate::r1cs::{Builder, Lc, R1cs, Synthesis};
use ark_bn254::Fr;
use ark_ff::One;
use std::ops::Range;
use zkinfer_verifier::TensorLayout;

/// What one circuit proves: a consecutive range of the graph's nodes, from its input tensors to
/// its output tensors. Its public inputs are the input side then the output side, each either
/// the tensors' packed values or one Poseidon hash of them all (DESIGN.md, "Scale: segments").
/// The whole graph is one view ([`QGraph::whole`]); a segmented model has one per segment
/// ([`QGraph::segment_view`]).
#[derive(Clone, Debug)]
pub struct View<'g> {
    pub graph: &'g QGraph,
    /// The nodes `graph.nodes[nodes]` this circuit proves.
    pub nodes: Range<usize>,
    /// The tensors read before the range, in order; range-checked to their bits in the circuit.
    pub inputs: Vec<TensorId>,
    /// The tensors the range hands on, in order; proven to fit their bits before they are public.
    pub outputs: Vec<TensorId>,
    pub input_visibility: Visibility,
    pub output_visibility: Visibility,
}

impl QGraph {
    /// The whole graph as one circuit: the input to the output, with the settings' visibilities.
    pub fn whole(&self) -> View<'_> {
        View {
            graph: self,
            nodes: 0..self.nodes.len(),
            inputs: vec![self.input],
            outputs: vec![self.output],
            input_visibility: self.settings.input_visibility,
            output_visibility: self.settings.output_visibility,
        }
    }

    /// Segment `k`'s circuit: the model's input visibility for the first segment's input and
    /// its output visibility for the last one's output; every other side is hashed.
    pub fn segment_view(&self, k: usize) -> View<'_> {
        let s = &self.segments[k];
        let last = k + 1 == self.segments.len();
        View {
            graph: self,
            nodes: s.start..s.end,
            inputs: s.inputs.clone(),
            outputs: s.outputs.clone(),
            input_visibility: if k == 0 {
                self.settings.input_visibility
            } else {
                Visibility::Hashed
            },
            output_visibility: if last {
                self.settings.output_visibility
            } else {
                Visibility::Hashed
            },
        }
    }

    /// The circuits the model is proven in: one per segment, or the whole graph.
    pub fn views(&self) -> Vec<View<'_>> {
        if self.is_segmented() {
            (0..self.segments.len())
                .map(|k| self.segment_view(k))
                .collect()
        } else {
            vec![self.whole()]
        }
    }
}

/// A tensor's layout as the verifier packs it.
pub fn tensor_layout(g: &QGraph, t: TensorId) -> TensorLayout {
    let i = &g.tensors[t];
    TensorLayout {
        shape: i.shape.clone(),
        scale: i.scale,
        bits: i.bits,
    }
}

impl View<'_> {
    fn side_len(&self, tensors: &[TensorId], vis: Visibility) -> usize {
        match vis {
            Visibility::Public => tensors
                .iter()
                .map(|&t| tensor_layout(self.graph, t).num_elements())
                .sum(),
            Visibility::Hashed => 1,
        }
    }

    /// Number of public inputs: the input side's then the output side's.
    pub fn num_public_inputs(&self) -> usize {
        self.side_len(&self.inputs, self.input_visibility)
            + self.side_len(&self.outputs, self.output_visibility)
    }

    /// The packed elements of `tensors` in `trace`, each tensor starting a new element; a value
    /// outside its tensor's bits is an [`InferenceError::ActivationRange`] naming the tensor.
    fn packed(&self, tensors: &[TensorId], trace: &Trace) -> Result<Vec<Fr>, InferenceError> {
        let g = self.graph;
        let mut out = Vec::new();
        for &t in tensors {
            let info = &g.tensors[t];
            let values = &trace.tensors[t];
            if let Some((index, &v)) = values
                .iter()
                .enumerate()
                .find(|(_, &v)| !crate::fixed::fits_bits(i128::from(v), info.bits))
            {
                return Err(InferenceError::ActivationRange {
                    layer: info.name.clone(),
                    op_type: "boundary".into(),
                    index,
                    value: i128::from(v),
                    real: v as f64 * 2f64.powi(-info.scale),
                    bits: info.bits,
                });
            }
            out.extend(
                zkinfer_verifier::pack_tensor(&tensor_layout(g, t), values, &info.name)
                    .expect("values checked against the tensor's bits"),
            );
        }
        Ok(out)
    }

    fn side(
        &self,
        tensors: &[TensorId],
        vis: Visibility,
        trace: &Trace,
    ) -> Result<Vec<Fr>, InferenceError> {
        let packed = self.packed(tensors, trace)?;
        Ok(match vis {
            Visibility::Public => packed,
            Visibility::Hashed => vec![zkinfer_verifier::poseidon::hash_elements(&packed)],
        })
    }

    /// The Poseidon hash of the input tensors' packed values in `trace` (whatever the input
    /// visibility): what the previous segment's output hash must be.
    pub fn input_hash(&self, trace: &Trace) -> Result<Fr, InferenceError> {
        self.side(&self.inputs, Visibility::Hashed, trace)
            .map(|v| v[0])
    }

    /// The Poseidon hash of the output tensors' packed values in `trace`.
    pub fn output_hash(&self, trace: &Trace) -> Result<Fr, InferenceError> {
        self.side(&self.outputs, Visibility::Hashed, trace)
            .map(|v| v[0])
    }

    /// The public inputs for `trace`, as the verifier rebuilds them.
    pub fn public_inputs(&self, trace: &Trace) -> Result<Vec<Fr>, InferenceError> {
        let mut p = self.side(&self.inputs, self.input_visibility, trace)?;
        p.extend(self.side(&self.outputs, self.output_visibility, trace)?);
        Ok(p)
    }

    /// Synthesises this circuit for `trace` (see [`synthesize`]).
    pub fn synthesize(
        &self,
        trace: &Trace,
        build_matrices: bool,
    ) -> Result<Synthesis, InferenceError> {
        let b = Builder::new(self.public_inputs(trace)?, build_matrices);
        let inputs: Vec<&[i64]> = self.inputs.iter().map(|&t| &trace.tensors[t][..]).collect();
        synthesize_into(self, b, &inputs, Some(trace))
    }

    /// The constraint matrices of this circuit, from the graph alone (see [`constraint_matrices`]).
    pub fn constraint_matrices(&self) -> Result<R1cs, InferenceError> {
        Ok(self.structure(true)?.r1cs)
    }

    /// The sizes of the constraint matrices, counted from the graph alone without holding
    /// them: what key sizes and memory estimates need before setup.
    pub fn matrix_counts(&self) -> Result<MatrixCounts, InferenceError> {
        let s = self.synthesize_structure(Builder::for_counting(self.num_public_inputs()))?;
        Ok(MatrixCounts {
            constraints: s.num_constraints,
            num_instance: s.r1cs.num_instance,
            num_witness: s.r1cs.num_witness,
            nonzeros: s.nonzeros,
        })
    }

    /// The circuit from the graph alone: public inputs and placeholder values all zero, gadgets
    /// that do not refuse out-of-range placeholders ([`Builder::for_structure`]).
    fn structure(&self, build_matrices: bool) -> Result<Synthesis, InferenceError> {
        self.synthesize_structure(Builder::for_structure(
            self.num_public_inputs(),
            build_matrices,
        ))
    }

    fn synthesize_structure(&self, b: Builder) -> Result<Synthesis, InferenceError> {
        let zeros: Vec<Vec<i64>> = self
            .inputs
            .iter()
            .map(|&t| vec![0i64; self.graph.tensors[t].len()])
            .collect();
        let inputs: Vec<&[i64]> = zeros.iter().map(|v| &v[..]).collect();
        synthesize_into(self, b, &inputs, None)
    }
}

/// Sizes of a circuit's constraint matrices ([`View::matrix_counts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatrixCounts {
    pub constraints: usize,
    /// Instance variables, the constant one included.
    pub num_instance: usize,
    pub num_witness: usize,
    /// Nonzeros of A, B and C together.
    pub nonzeros: usize,
}

/// Synthesises the whole-graph circuit for `trace`. With `build_matrices = false` only the
/// assignment is produced (the constraint matrices do not depend on the trace, so a prover
/// builds them once with [`constraint_matrices`]).
pub fn synthesize(
    g: &QGraph,
    trace: &Trace,
    build_matrices: bool,
) -> Result<Synthesis, InferenceError> {
    g.whole().synthesize(trace, build_matrices)
}

/// The constraint matrices of the whole-graph circuit, from the graph alone: no input is run,
/// so they exist for every graph the compiler accepts, whatever input range it was calibrated
/// for, and are the same matrices every proof's assignment satisfies.
pub fn constraint_matrices(g: &QGraph) -> Result<R1cs, InferenceError> {
    g.whole().constraint_matrices()
}

/// The one synthesis path: a proof's (`trace` given: its values are checked against the
/// circuit's in debug builds) and the structure's (placeholder values).
fn synthesize_into(
    view: &View,
    mut b: Builder,
    input_q: &[&[i64]],
    trace: Option<&Trace>,
) -> Result<Synthesis, InferenceError> {
    let g = view.graph;
    b.begin_region("input");
    let mut values: Vec<Option<CTensor>> = vec![None; g.tensors.len()];
    for (&t, q) in view.inputs.iter().zip(input_q) {
        let info = &g.tensors[t];
        let what = if t == g.input { "input" } else { "boundary" };
        let mut input = Vec::with_capacity(info.len());
        for (index, &v) in q.iter().enumerate() {
            let s = gadgets::signed(&mut b, i128::from(v), info.bits).map_err(|e| {
                range_error(tensor_label(g, t), info.scale, index, e.value, e.bits, what)
            })?;
            input.push(CValue {
                lc: s.var.into(),
                value: s.value,
                range: Some(s),
            });
        }
        values[t] = Some(input);
    }

    for n in &g.nodes[view.nodes.clone()] {
        b.begin_region(n.name.clone());
        let inputs: Vec<&CTensor> = n
            .inputs
            .iter()
            .map(|&t| values[t].as_ref().expect("nodes are topologically ordered"))
            .collect();
        let out =
            n.op.as_op()
                .synthesize(&mut b, &inputs)
                .map_err(|e| crate::inference::op_error(g, n, e))?;
        debug_assert!(trace.is_none_or(|t| out
            .iter()
            .zip(&t.tensors[n.output])
            .all(|(c, &v)| c.value == i128::from(v))));
        values[n.output] = Some(out);
    }

    b.begin_region("public inputs");
    // Every output value proven to fit its tensor's bits, so its packing is unique.
    let mut outputs: Vec<Vec<CValue>> = Vec::with_capacity(view.outputs.len());
    for &t in &view.outputs {
        let info = &g.tensors[t];
        // Cloned, not taken: an output can be an input tensor itself (an Identity-only graph, or
        // a tensor a segment passes through).
        let tensor = values[t].clone().expect("the outputs are computed");
        let bounded = output_is_bounded(view, t);
        let mut checked = Vec::with_capacity(tensor.len());
        for (index, v) in tensor.into_iter().enumerate() {
            if v.range.as_ref().is_some_and(|r| r.bits.n <= info.bits) || bounded {
                checked.push(v);
            } else {
                let s = ensure_signed(&mut b, &v, info.bits).map_err(|e| {
                    range_error(
                        tensor_label(g, t),
                        info.scale,
                        index,
                        e.value,
                        e.bits,
                        "output",
                    )
                })?;
                checked.push(CValue {
                    lc: s.var.into(),
                    value: s.value,
                    range: Some(s),
                });
            }
        }
        outputs.push(checked);
    }
    let inputs: Vec<&[CValue]> = view
        .inputs
        .iter()
        .map(|&t| &values[t].as_ref().expect("input")[..])
        .collect();
    let outputs: Vec<&[CValue]> = outputs.iter().map(|v| &v[..]).collect();
    let used = bind_side(
        &mut b,
        view,
        0,
        &view.inputs,
        &inputs,
        view.input_visibility,
    );
    bind_side(
        &mut b,
        view,
        used,
        &view.outputs,
        &outputs,
        view.output_visibility,
    );
    Ok(b.finish())
}

/// Binds public inputs `first..` to one side of the view: every tensor packed, or the Poseidon
/// hash of all their packed elements. Returns the number of public inputs used.
fn bind_side(
    b: &mut Builder,
    view: &View,
    first: usize,
    tensors: &[TensorId],
    values: &[&[CValue]],
    vis: Visibility,
) -> usize {
    let g = view.graph;
    match vis {
        Visibility::Public => {
            let mut used = first;
            for (&t, vals) in tensors.iter().zip(values) {
                let lcs: Vec<Lc> = vals.iter().map(|v| v.lc.clone()).collect();
                used += gadgets::pack_public(b, used, &lcs, g.tensors[t].bits);
            }
            used - first
        }
        Visibility::Hashed => {
            let mut elements = Vec::new();
            for (&t, vals) in tensors.iter().zip(values) {
                elements.extend(gadgets::packed_elements(b, vals, g.tensors[t].bits));
            }
            let (hash, _) = gadgets::poseidon::hash_elements(b, &elements);
            let p = b.public(first);
            b.enforce_zero(|| {
                let mut lc = hash;
                lc.add_term(p, -Fr::one());
                lc
            });
            1
        }
    }
}

/// Whether output tensor `t` is proven to fit its bits by the op that produced it: a fused
/// ReLU's output is the sign bit times a value already checked to the same bits; a view's input
/// is range-checked to its own bits.
fn output_is_bounded(view: &View, t: TensorId) -> bool {
    use crate::ops::QOp;
    let g = view.graph;
    let bits = g.tensors[t].bits;
    let mut t = t;
    loop {
        if view.inputs.contains(&t) {
            return g.tensors[t].bits <= bits;
        }
        let Some(n) = g.nodes[view.nodes.clone()].iter().find(|n| n.output == t) else {
            return false;
        };
        match &n.op {
            QOp::Affine(a) => return a.out_bits <= bits,
            QOp::Relu(r) => return r.bits <= bits,
            // The output is one of the inputs, or the input clamped: bounded when the input is.
            QOp::Reshape(_) | QOp::MaxPool(_) | QOp::Clip(_) => t = n.inputs[0],
            QOp::Sigmoid(s) => return s.out_bits <= bits,
            // Range-checked to its bits, or the constants 0 (masked) and 2^s (a lone value),
            // which inference and synthesis check against the same bits.
            QOp::Softmax(s) => return s.out_bits <= bits,
            _ => return false,
        }
    }
}

/// How errors name a tensor: "input" and "output" for the model's, else its ONNX name.
fn tensor_label(g: &QGraph, t: TensorId) -> &str {
    if t == g.input {
        "input"
    } else if t == g.output {
        "output"
    } else {
        &g.tensors[t].name
    }
}

fn range_error(
    layer: &str,
    scale: i32,
    index: usize,
    value: i128,
    bits: u32,
    what: &str,
) -> InferenceError {
    InferenceError::ActivationRange {
        layer: layer.to_string(),
        op_type: what.to_string(),
        index,
        value,
        real: value as f64 * 2f64.powi(-scale),
        bits,
    }
}

/// The number of constraints, variables and public inputs of the circuit, and the constraints
/// per layer and per op type, from the graph alone (no input is run, no matrix is built).
pub fn measure(g: &QGraph) -> Result<CircuitSize, InferenceError> {
    g.whole().measure()
}

impl View<'_> {
    /// [`measure`] for this view: `per_node` covers the view's nodes.
    pub fn measure(&self) -> Result<CircuitSize, InferenceError> {
        let s = self.structure(false)?;
        let nodes = &self.graph.nodes[self.nodes.clone()];
        size_of(&s, nodes)
    }
}

fn size_of(s: &Synthesis, nodes: &[crate::graph::QNode]) -> Result<CircuitSize, InferenceError> {
    let mut per_layer = Vec::new();
    for (i, (start, label)) in s.regions.iter().enumerate() {
        let end = s.regions.get(i + 1).map_or(s.num_constraints, |r| r.0);
        per_layer.push((label.clone(), end - start));
    }
    // Regions are "input", one per node in order, then "public inputs".
    let per_node: Vec<usize> = per_layer[1..=nodes.len()].iter().map(|r| r.1).collect();
    let mut per_op_type: Vec<(String, usize, usize)> = Vec::new();
    for (n, &c) in nodes.iter().zip(&per_node) {
        match per_op_type.iter_mut().find(|(t, _, _)| *t == n.op_type) {
            Some(e) => {
                e.1 += 1;
                e.2 += c;
            }
            None => per_op_type.push((n.op_type.clone(), 1, c)),
        }
    }
    for (label, c) in [&per_layer[0], &per_layer[per_layer.len() - 1]] {
        per_op_type.push((format!("({label})"), 1, *c));
    }
    per_op_type.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Ok(CircuitSize {
        constraints: s.num_constraints,
        variables: s.assignment.len(),
        public_inputs: s.r1cs.num_instance - 1,
        per_layer,
        per_node,
        per_op_type,
    })
}

/// Size figures of a circuit.
#[derive(Clone, Debug, PartialEq)]
pub struct CircuitSize {
    pub constraints: usize,
    /// All variables, the constant 1 and the public inputs included.
    pub variables: usize,
    pub public_inputs: usize,
    /// `(layer, constraints)` in order, with "input" and "public inputs" regions.
    pub per_layer: Vec<(String, usize)>,
    /// Constraints of each node of the graph, in the graph's order.
    pub per_node: Vec<usize>,
    /// `(op type, nodes, constraints)` summed over the nodes of each op type (the input's and
    /// the public inputs' range checks as "(input)" and "(public inputs)"), most costly
    /// first; the constraints add up to [`CircuitSize::constraints`].
    pub per_op_type: Vec<(String, usize, usize)>,
}
