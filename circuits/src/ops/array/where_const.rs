//! `Where(cond, a, b)` with a constant condition: every output element is an element of `a` or
//! of `b` (numpy broadcasting of all three), chosen at compile time. Each branch is an
//! activation (aligned to the output's scale by a left shift) or a constant (quantised at the
//! output's scale). The output is data movement and constants: zero constraints.
//!
//! **Masks.** A constant branch that is `-inf` or very negative (≤ -1e4 real, or at or below
//! the lowest value the output's bits can hold) is an attention mask: its positions are
//! *masked*. Only a Softmax can give them a meaning (they come out as exactly 0), so a Where
//! that selects a masked position is lowered only when a Softmax is its only reader, and that
//! Softmax fuses the Where ([`crate::ops::nonlinear::softmax`]) so that masked positions cost
//! nothing and stay out of the row's max and sum. Standing alone (only in calibration's
//! measuring compile, which never fuses), a masked position holds the lowest value of the
//! output's bits.

use crate::fixed;
use crate::gadgets::fr;
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// A real constant at or below this is a mask (PyTorch exports use -inf, -1e9, or the dtype's
/// lowest value; no model adds a finite value that large to attention scores).
pub const MASK_THRESHOLD: f64 = -1e4;

/// One branch of a [`Where`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Branch {
    /// Node input `input` (its shape padded with leading 1s to the output's rank), times
    /// `2^shift` to align its scale to the output's.
    Input {
        input: usize,
        shape: Vec<usize>,
        shift: u32,
    },
    /// A constant at the output's scale (shape padded like an input's); `None` is masked.
    Const {
        shape: Vec<usize>,
        values: Vec<Option<i64>>,
    },
}

impl Branch {
    fn shape(&self) -> &[usize] {
        match self {
            Branch::Input { shape, .. } | Branch::Const { shape, .. } => shape,
        }
    }
}

/// Where an output element comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Element `index` of node input `input`, times `2^shift`.
    Input {
        input: usize,
        index: usize,
        shift: u32,
    },
    /// A constant.
    Const(i64),
    /// A masked position (see the module doc).
    Masked,
}

/// `cond ? then : otherwise` element-wise, the condition a compile-time constant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Where {
    /// The output's shape: the broadcast of the condition's and both branches' shapes.
    pub shape: Vec<usize>,
    /// The condition (padded to the output's rank) and its values.
    pub cond_shape: Vec<usize>,
    pub cond: Vec<bool>,
    pub then_branch: Branch,
    pub else_branch: Branch,
    /// What a masked position holds when no Softmax absorbs the Where: the lowest value of the
    /// output's bits.
    pub masked_value: i64,
}

/// The flat index, in a row-major tensor of `shape` (padded to the rank of `out`, size-1 axes
/// broadcasting), of the element that output element `i` of shape `out` reads.
pub fn broadcast_index(out: &[usize], shape: &[usize], mut i: usize) -> usize {
    let (mut idx, mut stride) = (0, 1);
    for d in (0..out.len()).rev() {
        let o = i % out[d];
        i /= out[d];
        if shape[d] != 1 {
            idx += o * stride;
        }
        stride *= shape[d];
    }
    idx
}

/// The numpy broadcast of `shapes` (each right-aligned), or `None` when they do not broadcast.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Option<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        let pad = rank - s.len();
        for (d, &n) in s.iter().enumerate() {
            let o = &mut out[d + pad];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return None;
            }
        }
    }
    Some(out)
}

/// `shape` with leading 1s up to `rank`.
pub fn pad_shape(shape: &[usize], rank: usize) -> Vec<usize> {
    let mut s = vec![1; rank - shape.len()];
    s.extend_from_slice(shape);
    s
}

impl Where {
    /// Number of output elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the output has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source of output element `i`.
    pub fn source(&self, i: usize) -> Source {
        let c = self.cond[broadcast_index(&self.shape, &self.cond_shape, i)];
        let branch = if c {
            &self.then_branch
        } else {
            &self.else_branch
        };
        let j = broadcast_index(&self.shape, branch.shape(), i);
        match branch {
            Branch::Input { input, shift, .. } => Source::Input {
                input: *input,
                index: j,
                shift: *shift,
            },
            Branch::Const { values, .. } => values[j].map_or(Source::Masked, Source::Const),
        }
    }

    /// Whether any output element is masked.
    pub fn has_mask(&self) -> bool {
        (0..self.len()).any(|i| self.source(i) == Source::Masked)
    }
}

impl Op for Where {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        Ok((0..self.len())
            .map(|i| match self.source(i) {
                Source::Input {
                    input,
                    index,
                    shift,
                } => inputs[input][index] << shift,
                Source::Const(v) => v,
                Source::Masked => self.masked_value,
            })
            .collect())
    }

    fn synthesize(&self, _b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        Ok((0..self.len())
            .map(|i| match self.source(i) {
                Source::Input {
                    input,
                    index,
                    shift: 0,
                } => inputs[input][index].clone(),
                Source::Input {
                    input,
                    index,
                    shift,
                } => {
                    let x = &inputs[input][index];
                    CValue {
                        lc: x.lc.scaled(fr(1i128 << shift)),
                        value: x.value << shift,
                        range: None,
                    }
                }
                Source::Const(v) => constant(i128::from(v)),
                Source::Masked => constant(i128::from(self.masked_value)),
            })
            .collect())
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let (mut lo, mut hi) = (i128::MAX, i128::MIN);
        for i in 0..self.len() {
            let (a, z) = match self.source(i) {
                Source::Input { input, shift, .. } => {
                    (inputs[input].0 << shift, inputs[input].1 << shift)
                }
                Source::Const(v) => (i128::from(v), i128::from(v)),
                Source::Masked => (i128::from(self.masked_value), i128::from(self.masked_value)),
            };
            lo = lo.min(a);
            hi = hi.max(z);
        }
        if lo > hi {
            return Ok((0, 0));
        }
        Ok((lo, hi))
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // Selection is exact; a shifted input's error scales with it; a finite constant is
        // rounded to the output's scale. A masked position stands for -inf: no finite bound
        // holds for it alone, which is why lowering admits one only before a Softmax.
        let mut worst = 0f64;
        for i in 0..self.len() {
            worst = worst.max(match self.source(i) {
                Source::Input { input, shift, .. } => errors[input] * 2f64.powi(shift as i32),
                Source::Const(_) => 0.5,
                Source::Masked => f64::INFINITY,
            });
        }
        worst
    }
}

fn constant(v: i128) -> CValue {
    CValue {
        lc: Lc::constant(fr(v)),
        value: v,
        range: None,
    }
}

/// The ONNX node reading this node's output when it is that output's only reader (the graph
/// output counts as a reader), so that a Where can tell whether a Softmax will absorb its mask.
fn sole_onnx_reader<'a>(ctx: &LowerCtx<'a>) -> Option<&'a tract_onnx::pb::NodeProto> {
    let out = ctx.node.output.first()?;
    if ctx.consumers.get(out).copied() != Some(1) {
        return None;
    }
    let onnx: &'a crate::onnx::OnnxGraph = ctx.onnx;
    onnx.nodes.iter().find(|n| n.input.iter().any(|i| i == out))
}

/// ONNX `Where(cond, a, b)` with a constant `cond` (after constant folding): see the module doc.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if !ctx.is_const_input(0) {
        return Err(ctx.unsupported(
            "a condition computed from activations (only constant conditions, such as masks)",
        ));
    }
    let cond = ctx.const_input(0)?;
    if ctx.is_const_input(1) && ctx.is_const_input(2) {
        return Err(ctx.unsupported("Where of two constants (fold it before export)"));
    }
    // The activations: their shapes, scales and bits.
    let mut acts = Vec::new(); // (branch 1 or 2, tensor)
    for k in [1, 2] {
        if !ctx.is_const_input(k) {
            acts.push((k, ctx.activation_input(k)?));
        }
    }
    let scale = acts
        .iter()
        .map(|&(_, t)| ctx.tensor(t).scale)
        .max()
        .expect("at least one activation");
    if acts.iter().any(|&(_, t)| scale - ctx.tensor(t).scale > 30) {
        return Err(ctx.unsupported("Where of activations whose scales differ by more than 30"));
    }
    let act_bits = acts
        .iter()
        .map(|&(_, t)| ctx.tensor(t).bits + (scale - ctx.tensor(t).scale) as u32)
        .max()
        .expect("at least one activation");
    let lowest = -(1i64 << (act_bits - 1).min(62));
    let mut shapes: Vec<Vec<usize>> = vec![cond.shape.clone()];
    let mut consts = Vec::new();
    for k in [1, 2] {
        if ctx.is_const_input(k) {
            let c = ctx.const_input(k)?;
            shapes.push(c.shape.clone());
            consts.push((k, c));
        } else {
            let t = acts.iter().find(|a| a.0 == k).expect("an activation").1;
            shapes.push(ctx.tensor(t).shape.clone());
        }
    }
    let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
    let shape = broadcast_shapes(&refs).ok_or_else(|| {
        ctx.bad_model(format!(
            "condition and branches of shapes {shapes:?} do not broadcast"
        ))
    })?;
    let rank = shape.len();
    let mut inputs = Vec::new();
    let mut branch = |k: usize| -> Result<Branch, CompileError> {
        if let Some((_, c)) = consts.iter().find(|c| c.0 == k) {
            let values = c
                .data
                .iter()
                .map(|&v| {
                    if v.is_nan() || v == f64::INFINITY {
                        return Err(ctx.bad_model(format!("Where branch constant {v}")));
                    }
                    if v <= MASK_THRESHOLD {
                        return Ok(None);
                    }
                    let q = fixed::quantize(v, scale)
                        .ok_or_else(|| ctx.bad_model(format!("Where branch constant {v}")))?;
                    Ok((q > lowest).then_some(q))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Branch::Const {
                shape: pad_shape(&c.shape, rank),
                values,
            })
        } else {
            let t = acts.iter().find(|a| a.0 == k).expect("an activation").1;
            let info = ctx.tensor(t);
            inputs.push(t);
            Ok(Branch::Input {
                input: inputs.len() - 1,
                shape: pad_shape(&info.shape, rank),
                shift: (scale - info.scale) as u32,
            })
        }
    };
    let then_branch = branch(1)?;
    let else_branch = branch(2)?;
    let mut op = Where {
        shape: shape.clone(),
        cond_shape: pad_shape(&cond.shape, rank),
        cond: cond.data.iter().map(|&v| v != 0.0).collect(),
        then_branch,
        else_branch,
        masked_value: 0,
    };
    // The output's bits: those of what it selects (no range check: nothing new is computed).
    let intervals: Vec<(i128, i128)> = inputs
        .iter()
        .map(|&t| crate::ops::compare::signed_interval(ctx.tensor(t).bits))
        .collect();
    let (lo, hi) = op.bounds(&intervals).map_err(|why| ctx.bad_model(why))?;
    let bits = fixed::bits_for_range(lo, hi);
    if op.has_mask() {
        let absorbed = sole_onnx_reader(ctx).is_some_and(|n| n.op_type == "Softmax");
        if !absorbed {
            return Err(ctx.unsupported(
                "a -inf (or <= -1e4) constant branch is a mask, supported only when a Softmax is \
                 the Where's only reader (the Softmax then excludes the masked positions)",
            ));
        }
        op.masked_value = -(1i64 << (bits - 1).min(62));
    }
    ctx.emit(
        "Where",
        crate::ops::QOp::Where(op),
        inputs,
        shape,
        scale,
        bits,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::input;

    /// A causal `[1, 2, 3, 3]` Where(mask, -inf, x): masked above the diagonal.
    fn causal() -> Where {
        let n = 3;
        let cond = (0..n * n).map(|i| i % n > i / n).collect();
        Where {
            shape: vec![1, 2, n, n],
            cond_shape: vec![1, 1, n, n],
            cond,
            then_branch: Branch::Const {
                shape: vec![1, 1, 1, 1],
                values: vec![None],
            },
            else_branch: Branch::Input {
                input: 0,
                shape: vec![1, 2, n, n],
                shift: 0,
            },
            masked_value: -128,
        }
    }

    #[test]
    fn selects_with_broadcasting() {
        // cond [3] broadcast over [2, 3]; a scalar constant 7; the activation shifted by 1.
        let op = Where {
            shape: vec![2, 3],
            cond_shape: vec![1, 3],
            cond: vec![true, false, true],
            then_branch: Branch::Input {
                input: 0,
                shape: vec![2, 3],
                shift: 1,
            },
            else_branch: Branch::Const {
                shape: vec![1, 1],
                values: vec![Some(7)],
            },
            masked_value: 0,
        };
        let x: Vec<i64> = (0..6).collect();
        assert_eq!(op.eval(&[&x]).unwrap(), vec![0, 7, 4, 6, 7, 10]);
        assert!(!op.has_mask());
        assert_eq!(op.bounds(&[(-8, 7)]).unwrap(), (-16, 14));
    }

    #[test]
    fn masks_and_costs_nothing() {
        let op = causal();
        assert!(op.has_mask());
        let x: Vec<i64> = (0..18).collect();
        let y = op.eval(&[&x]).unwrap();
        assert_eq!(&y[..9], &[0, -128, -128, 3, 4, -128, 6, 7, 8]);
        let mut b = Builder::new(vec![], true);
        let xs: CTensor = x
            .iter()
            .map(|&v| input(&mut b, i128::from(v), 8, true))
            .collect();
        let n0 = b.num_constraints();
        let out = op.synthesize(&mut b, &[&xs]).unwrap();
        assert_eq!(b.num_constraints(), n0, "data movement costs no constraint");
        let s = b.finish();
        for (c, &v) in out.iter().zip(&y) {
            assert_eq!(c.lc.eval(&s.assignment), fr(i128::from(v)));
        }
        // A copied value keeps its range proof.
        assert!(out[0].range.is_some());
    }

    #[test]
    fn broadcast_helpers() {
        assert_eq!(
            broadcast_shapes(&[&[4, 4], &[1, 2, 4, 4], &[]]),
            Some(vec![1, 2, 4, 4])
        );
        assert_eq!(broadcast_shapes(&[&[3], &[4]]), None);
        // Output [2, 3], tensor [1, 3]: rows repeat.
        assert_eq!(broadcast_index(&[2, 3], &[1, 3], 4), 1);
        assert_eq!(broadcast_index(&[2, 3], &[2, 1], 4), 1);
    }
}
