//! The model circuit: the quantised graph's ops as R1CS over a trace.
//!
//! Public inputs are the packed input then the packed output (DESIGN.md); the input values
//! are range-checked to the input's bits, every op proves its own outputs, and the output
//! values are proven to fit the output's bits before they are packed.

use crate::gadgets;
use crate::graph::QGraph;
use crate::inference::{InferenceError, Trace};
use crate::ops::{relu::ensure_signed, CTensor, CValue};
use crate::r1cs::{Builder, Lc, R1cs, Synthesis};
use ark_bn254::Fr;

/// Synthesises the circuit for `trace`. With `build_matrices = false` only the assignment is
/// produced (the constraint matrices do not depend on the trace, so a prover builds them once
/// with [`constraint_matrices`]).
pub fn synthesize(
    g: &QGraph,
    trace: &Trace,
    build_matrices: bool,
) -> Result<Synthesis, InferenceError> {
    let layout = g.public_layout();
    let public: Vec<Fr> =
        zkinfer_verifier::pack_public_inputs(&layout, &trace.tensors[g.input], trace.output(g))
            .map_err(|e| range_error(g, "output", 0, 0, g.output_info().bits, &e.to_string()))?;
    let b = Builder::new(public, build_matrices);
    synthesize_into(g, b, &trace.tensors[g.input], Some(trace))
}

/// The constraint matrices of `g`, from the graph alone: no input is run, so they exist for
/// every graph the compiler accepts, whatever input range it was calibrated for, and are the
/// same matrices every proof's assignment satisfies.
pub fn constraint_matrices(g: &QGraph) -> Result<R1cs, InferenceError> {
    Ok(structure(g, true)?.r1cs)
}

/// The circuit from the graph alone: public inputs and placeholder values all zero, gadgets
/// that do not refuse out-of-range placeholders ([`Builder::for_structure`]).
fn structure(g: &QGraph, build_matrices: bool) -> Result<Synthesis, InferenceError> {
    let n_public = g.public_layout().num_public_inputs();
    let b = Builder::for_structure(n_public, build_matrices);
    let zero = vec![0i64; g.input_info().len()];
    synthesize_into(g, b, &zero, None)
}

/// The one synthesis path: a proof's (`trace` given: its values are checked against the
/// circuit's in debug builds) and the structure's (placeholder values).
fn synthesize_into(
    g: &QGraph,
    mut b: Builder,
    input_q: &[i64],
    trace: Option<&Trace>,
) -> Result<Synthesis, InferenceError> {
    b.begin_region("input");
    let info = g.input_info();
    let mut values: Vec<Option<CTensor>> = vec![None; g.tensors.len()];
    let mut input = Vec::with_capacity(info.len());
    for (index, &v) in input_q.iter().enumerate() {
        let s = gadgets::signed(&mut b, i128::from(v), info.bits)
            .map_err(|e| range_error(g, "input", index, e.value, e.bits, "input"))?;
        input.push(CValue {
            lc: s.var.into(),
            value: s.value,
            range: Some(s),
        });
    }
    values[g.input] = Some(input);

    for n in &g.nodes {
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
    let out_bits = g.output_info().bits;
    // Cloned, not taken: the output can be the input tensor itself (an Identity-only graph).
    let output = values[g.output].clone().expect("the output is computed");
    let mut out_lcs = Vec::with_capacity(output.len());
    for (index, v) in output.iter().enumerate() {
        if v.range.as_ref().is_some_and(|r| r.bits.n <= out_bits) || output_is_bounded(g) {
            out_lcs.push(v.lc.clone());
        } else {
            let s = ensure_signed(&mut b, v, out_bits)
                .map_err(|e| range_error(g, "output", index, e.value, e.bits, "output"))?;
            out_lcs.push(Lc::from(s.var));
        }
    }
    let input_lcs: Vec<Lc> = values[g.input]
        .as_ref()
        .expect("input")
        .iter()
        .map(|v| v.lc.clone())
        .collect::<Vec<_>>();
    let used = gadgets::pack_public(&mut b, 0, &input_lcs, info.bits);
    gadgets::pack_public(&mut b, used, &out_lcs, out_bits);
    Ok(b.finish())
}

/// Whether the output tensor is proven to fit its bits by the op that produced it: a fused
/// ReLU's output is the sign bit times a value already checked to the same bits.
fn output_is_bounded(g: &QGraph) -> bool {
    use crate::ops::QOp;
    let mut t = g.output;
    loop {
        let Some(n) = g.nodes.iter().find(|n| n.output == t) else {
            return t == g.input;
        };
        match &n.op {
            QOp::Affine(a) => return a.out_bits <= g.output_info().bits,
            QOp::Relu(r) => return r.bits <= g.output_info().bits,
            // The output is one of the inputs, or the input clamped: bounded when the input is.
            QOp::Reshape(_) | QOp::MaxPool(_) | QOp::Clip(_) => t = n.inputs[0],
            QOp::Sigmoid(s) => return s.out_bits <= g.output_info().bits,
            // Range-checked to its bits, or the constants 0 (masked) and 2^s (a lone value),
            // which inference and synthesis check against the same bits.
            QOp::Softmax(s) => return s.out_bits <= g.output_info().bits,
            _ => return false,
        }
    }
}

fn range_error(
    g: &QGraph,
    layer: &str,
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
        real: value as f64 * 2f64.powi(-g.output_info().scale),
        bits,
    }
}

/// The number of constraints, variables and public inputs of the circuit, and the constraints
/// per layer and per op type, from the graph alone (no input is run, no matrix is built).
pub fn measure(g: &QGraph) -> Result<CircuitSize, InferenceError> {
    let s = structure(g, false)?;
    let mut per_layer = Vec::new();
    for (i, (start, label)) in s.regions.iter().enumerate() {
        let end = s.regions.get(i + 1).map_or(s.num_constraints, |r| r.0);
        per_layer.push((label.clone(), end - start));
    }
    // Regions are "input", one per node in order, then "public inputs".
    let per_node: Vec<usize> = per_layer[1..=g.nodes.len()].iter().map(|r| r.1).collect();
    let mut per_op_type: Vec<(String, usize, usize)> = Vec::new();
    for (n, &c) in g.nodes.iter().zip(&per_node) {
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
