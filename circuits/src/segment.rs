//! Cutting a model into consecutive segments, each its own circuit and key (DESIGN.md, "Scale:
//! segments"), so that no key has to hold the whole model.
//!
//! A cut before node `p` splits the nodes into `..p` and `p..`; the tensors crossing it (made
//! before `p`, read at or after `p`, or the model output) are the boundary: the segment before
//! proves their Poseidon hash as its output, the segment after takes the same hash as its input
//! and range-checks the values it reads. A tensor that crosses several cuts (a residual kept for
//! a later block) is passed through the segments between.

use crate::graph::{QGraph, TensorId};
use serde::{Deserialize, Serialize};

/// One segment: the nodes `start..end` of the graph, the tensors it reads from before `start`
/// and the tensors it hands on (both in increasing tensor order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
}

/// The tensors crossing a cut before node `p`: the model input at `p = 0`, the model output at
/// `p = nodes`, and in between every tensor made before `p` (the input counts as made before
/// node 0) that a node at or after `p` reads, or that is the model output.
pub fn crossing(g: &QGraph, p: usize) -> Vec<TensorId> {
    let n = g.nodes.len();
    if p == 0 {
        return vec![g.input];
    }
    if p >= n {
        return vec![g.output];
    }
    let mut made_before = vec![false; g.tensors.len()];
    made_before[g.input] = true;
    for node in &g.nodes[..p] {
        made_before[node.output] = true;
    }
    let mut read_after = vec![false; g.tensors.len()];
    read_after[g.output] = true;
    for node in &g.nodes[p..] {
        for &t in &node.inputs {
            read_after[t] = true;
        }
    }
    (0..g.tensors.len())
        .filter(|&t| made_before[t] && read_after[t])
        .collect()
}

/// Constraints a boundary of `tensors` costs the segment on each side, at most: every value
/// range-checked to its bits (the reader always checks; the writer when its op does not
/// already bound it), the Poseidon hash of the packed values, and binding it to a public input.
pub fn boundary_cost(g: &QGraph, tensors: &[TensorId]) -> usize {
    let mut range = 0usize;
    let mut elements = 0usize;
    for &t in tensors {
        let info = &g.tensors[t];
        range += info.len() * info.bits as usize;
        elements += crate::circuit::tensor_layout(g, t).num_elements();
    }
    range + crate::gadgets::poseidon::constraints_for(elements) + 1
}

/// How the nodes were cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub segments: Vec<Segment>,
    /// `(node, constraints)` of each node whose segment alone exceeds the limit: it gets a
    /// segment of its own.
    pub oversized: Vec<(usize, usize)>,
}

/// Cuts the nodes into the fewest consecutive segments of at most `max_constraints`
/// constraints each (estimated: the nodes' own constraints `per_node` plus both boundaries at
/// their [`boundary_cost`], the model's input and output sides at `input_cost` and
/// `output_cost`), and among those the cuts that hash the fewest values. A node whose segment
/// cannot fit even alone gets a segment of its own and is listed in [`Plan::oversized`].
pub fn plan(
    g: &QGraph,
    per_node: &[usize],
    input_cost: usize,
    output_cost: usize,
    max_constraints: usize,
) -> Plan {
    let n = g.nodes.len();
    assert_eq!(per_node.len(), n, "one count per node");
    let cuts: Vec<Vec<TensorId>> = (0..=n).map(|p| crossing(g, p)).collect();
    let side: Vec<usize> = (0..=n)
        .map(|p| match p {
            0 => input_cost,
            p if p == n => output_cost,
            _ => boundary_cost(g, &cuts[p]),
        })
        .collect();
    let values: Vec<usize> = cuts
        .iter()
        .map(|c| c.iter().map(|&t| g.tensors[t].len()).sum())
        .collect();
    let mut prefix = vec![0usize; n + 1];
    for (i, c) in per_node.iter().enumerate() {
        prefix[i + 1] = prefix[i] + c;
    }
    let cost = |i: usize, j: usize| prefix[j] - prefix[i] + side[i] + side[j];
    // best[j]: (segments, values hashed, previous cut) of the best cutting of nodes ..j.
    let mut best: Vec<Option<(usize, usize, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0, 0));
    for j in 1..=n {
        for i in (0..j).rev() {
            let fits = cost(i, j) <= max_constraints;
            if !fits && i + 1 < j {
                // Costs grow as i moves left (nodes only add), except that a cut's own side
                // cost varies; keep scanning: n is the number of nodes, at most thousands.
                continue;
            }
            let Some((segs, hashed, _)) = best[i] else {
                continue;
            };
            let extra = if j < n { values[j] } else { 0 };
            let cand = (segs + 1, hashed + extra, i);
            if best[j].is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                best[j] = Some(cand);
            }
        }
    }
    let mut bounds = vec![n];
    let mut j = n;
    while j > 0 {
        j = best[j]
            .expect("every prefix can be cut, one node a segment")
            .2;
        bounds.push(j);
    }
    bounds.reverse();
    let mut segments = Vec::new();
    let mut oversized = Vec::new();
    for w in bounds.windows(2) {
        let (i, j) = (w[0], w[1]);
        if j == i + 1 && cost(i, j) > max_constraints {
            oversized.push((i, per_node[i]));
        }
        segments.push(Segment {
            start: i,
            end: j,
            inputs: cuts[i].clone(),
            outputs: cuts[j].clone(),
        });
    }
    Plan {
        segments,
        oversized,
    }
}
