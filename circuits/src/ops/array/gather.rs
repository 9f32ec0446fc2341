//! Data movement: Transpose, Concat and constant Pad as one op whose every output element is
//! an element of one of its inputs (times `2^shift` to align scales) or a constant. Outputs
//! are linear combinations: zero constraints. The index map is stored compactly (the op's
//! geometry), not as a per-element table; an output copied without a shift keeps its input's
//! range proof.

use crate::fixed;
use crate::gadgets::fr;
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// Where the output elements come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Layout {
    /// `out[o] = in[i]` with `i[perm[d]] = o[d]`.
    Transpose {
        in_shape: Vec<usize>,
        perm: Vec<usize>,
    },
    /// The inputs, of the given shapes, one after another along `axis`.
    Concat {
        axis: usize,
        shapes: Vec<Vec<usize>>,
    },
    /// ONNX `Slice` with non-negative steps: `out[o] = in[starts + o · steps]` per axis.
    Slice {
        in_shape: Vec<usize>,
        starts: Vec<usize>,
        steps: Vec<usize>,
        out_shape: Vec<usize>,
    },
    /// `Expand`: `in` (its shape right-aligned to `out_shape`'s rank) repeated along the axes
    /// where it has size 1.
    Broadcast {
        in_shape: Vec<usize>,
        out_shape: Vec<usize>,
    },
    /// ONNX `Gather` with constant indices along `axis`: viewing the input as
    /// `[outer, in_shape[axis], inner]`, `out[o, k, r] = in[o, indices[k], r]`.
    Take {
        in_shape: Vec<usize>,
        axis: usize,
        indices: Vec<usize>,
        out_shape: Vec<usize>,
    },
    /// `out[o] = in[o - begin]` inside the input, `value` elsewhere (negative pads crop).
    Pad {
        in_shape: Vec<usize>,
        begin: Vec<i64>,
        out_shape: Vec<usize>,
        value: i64,
    },
}

/// The source of one output element.
enum Src {
    Input(usize, usize),
    Const(i64),
}

/// A data-movement op: [`Layout`] plus a left shift per input (scale alignment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gather {
    pub layout: Layout,
    pub shifts: Vec<u32>,
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

impl Layout {
    /// The output's shape.
    pub fn out_shape(&self) -> Vec<usize> {
        match self {
            Layout::Transpose { in_shape, perm } => perm.iter().map(|&p| in_shape[p]).collect(),
            Layout::Concat { axis, shapes } => {
                let mut s = shapes[0].clone();
                s[*axis] = shapes.iter().map(|s| s[*axis]).sum();
                s
            }
            Layout::Pad { out_shape, .. }
            | Layout::Slice { out_shape, .. }
            | Layout::Broadcast { out_shape, .. }
            | Layout::Take { out_shape, .. } => out_shape.clone(),
        }
    }

    /// Calls `f` with the source of every output element, in row-major order.
    fn for_each(
        &self,
        mut f: impl FnMut(usize, Src) -> Result<(), OpError>,
    ) -> Result<(), OpError> {
        let out = self.out_shape();
        let n: usize = out.iter().product();
        let mut idx = vec![0usize; out.len()];
        let in_strides = match self {
            Layout::Transpose { in_shape, .. }
            | Layout::Pad { in_shape, .. }
            | Layout::Slice { in_shape, .. }
            | Layout::Broadcast { in_shape, .. } => strides(in_shape),
            Layout::Concat { .. } | Layout::Take { .. } => vec![],
        };
        let concat_strides: Vec<Vec<usize>> = match self {
            Layout::Concat { shapes, .. } => shapes.iter().map(|s| strides(s)).collect(),
            _ => vec![],
        };
        for i in 0..n {
            let src = match self {
                Layout::Transpose { perm, .. } => Src::Input(
                    0,
                    perm.iter()
                        .zip(&idx)
                        .map(|(&p, &o)| o * in_strides[p])
                        .sum(),
                ),
                Layout::Concat { axis, shapes } => {
                    let (mut k, mut along) = (0, idx[*axis]);
                    while along >= shapes[k][*axis] {
                        along -= shapes[k][*axis];
                        k += 1;
                    }
                    let flat = idx
                        .iter()
                        .enumerate()
                        .map(|(d, &o)| (if d == *axis { along } else { o }) * concat_strides[k][d])
                        .sum();
                    Src::Input(k, flat)
                }
                Layout::Slice { starts, steps, .. } => Src::Input(
                    0,
                    (0..idx.len())
                        .map(|d| (starts[d] + idx[d] * steps[d]) * in_strides[d])
                        .sum(),
                ),
                Layout::Broadcast { in_shape, .. } => Src::Input(
                    0,
                    (0..idx.len())
                        .map(|d| {
                            if in_shape[d] == 1 {
                                0
                            } else {
                                idx[d] * in_strides[d]
                            }
                        })
                        .sum(),
                ),
                Layout::Take {
                    in_shape,
                    axis,
                    indices,
                    ..
                } => {
                    let inner: usize = in_shape[axis + 1..].iter().product();
                    let n = indices.len();
                    let (o, k, r) = (i / (n * inner), (i / inner) % n, i % inner);
                    Src::Input(0, (o * in_shape[*axis] + indices[k]) * inner + r)
                }
                Layout::Pad {
                    in_shape,
                    begin,
                    value,
                    ..
                } => {
                    let mut flat = Some(0usize);
                    for d in 0..idx.len() {
                        let j = idx[d] as i64 - begin[d];
                        if j < 0 || j >= in_shape[d] as i64 {
                            flat = None;
                            break;
                        }
                        flat = flat.map(|f| f + j as usize * in_strides[d]);
                    }
                    flat.map_or(Src::Const(*value), |f| Src::Input(0, f))
                }
            };
            f(i, src)?;
            // Advance the row-major multi-index.
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < out[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(())
    }

    /// Whether some output is a constant, and which.
    fn constant(&self) -> Option<i64> {
        match self {
            Layout::Pad {
                in_shape,
                begin,
                out_shape,
                value,
            } => {
                let covers = (0..in_shape.len())
                    .all(|d| begin[d] <= 0 && begin[d] + in_shape[d] as i64 >= out_shape[d] as i64);
                (!covers).then_some(*value)
            }
            _ => None,
        }
    }
}

impl Op for Gather {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        let mut out = Vec::new();
        self.layout.for_each(|_, src| {
            out.push(match src {
                Src::Input(k, j) => inputs[k][j] << self.shifts[k],
                Src::Const(v) => v,
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn synthesize(&self, _b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let mut out = Vec::new();
        self.layout.for_each(|_, src| {
            out.push(match src {
                Src::Input(k, j) if self.shifts[k] == 0 => inputs[k][j].clone(),
                Src::Input(k, j) => {
                    let x = &inputs[k][j];
                    CValue {
                        lc: x.lc.scaled(fr(1i128 << self.shifts[k])),
                        value: x.value << self.shifts[k],
                        range: None,
                    }
                }
                Src::Const(v) => CValue {
                    lc: Lc::constant(fr(i128::from(v))),
                    value: i128::from(v),
                    range: None,
                },
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // Data movement is exact; a shift aligns an input to the output's scale; a padding
        // constant is rounded to that scale.
        let moved = errors
            .iter()
            .zip(&self.shifts)
            .map(|(e, &s)| e * 2f64.powi(s as i32))
            .fold(0f64, f64::max);
        moved.max(if self.layout.constant().is_some() {
            0.5
        } else {
            0.0
        })
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        let mut it = inputs
            .iter()
            .zip(&self.shifts)
            .map(|(&(a, z), &s)| (a << s, z << s));
        let first = it.next().expect("at least one input");
        let (mut lo, mut hi) = it.fold(first, |(a, z), (b, y)| (a.min(b), z.max(y)));
        if let Some(v) = self.layout.constant() {
            (lo, hi) = (lo.min(i128::from(v)), hi.max(i128::from(v)));
        }
        Ok((lo, hi))
    }
}

/// Emits a data-movement node on ONNX output `k`, its bits those of its sources.
pub(crate) fn emit_nth(
    ctx: &mut LowerCtx,
    k: usize,
    op: Gather,
    inputs: Vec<usize>,
    scale: i32,
) -> Result<(), CompileError> {
    let intervals: Vec<(i128, i128)> = inputs
        .iter()
        .map(|&t| crate::ops::compare::signed_interval(ctx.tensor(t).bits))
        .collect();
    let (lo, hi) = op.bounds(&intervals).map_err(|why| ctx.bad_model(why))?;
    let shape = op.layout.out_shape();
    let op_type = ctx.op_type().to_string();
    ctx.emit_output(
        k,
        &op_type,
        crate::ops::QOp::Gather(op),
        inputs,
        shape,
        scale,
        fixed::bits_for_range(lo, hi),
    );
    Ok(())
}

fn emit(
    ctx: &mut LowerCtx,
    op: Gather,
    inputs: Vec<usize>,
    scale: i32,
) -> Result<(), CompileError> {
    emit_nth(ctx, 0, op, inputs, scale)
}

/// An axis attribute normalised against `rank` (negative counts from the end).
pub fn norm_axis(ctx: &LowerCtx, axis: i64, rank: usize) -> Result<usize, CompileError> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if !(0..rank as i64).contains(&a) {
        return Err(ctx.bad_model(format!("axis {axis} for a rank-{rank} tensor")));
    }
    Ok(a as usize)
}

/// ONNX `Transpose` (`perm`, default: reverse the axes).
pub fn lower_transpose(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let rank = info.shape.len();
    let perm = ctx
        .attr_ints("perm")
        .unwrap_or_else(|| (0..rank as i64).rev().collect());
    let mut seen = vec![false; rank];
    let mut p = Vec::with_capacity(rank);
    for &a in &perm {
        let a = norm_axis(ctx, a, rank)?;
        if seen[a] {
            return Err(ctx.bad_model(format!("perm {perm:?} is not a permutation")));
        }
        seen[a] = true;
        p.push(a);
    }
    if p.len() != rank {
        return Err(ctx.bad_model(format!("perm {perm:?} for a rank-{rank} tensor")));
    }
    let op = Gather {
        layout: Layout::Transpose {
            in_shape: info.shape.clone(),
            perm: p,
        },
        shifts: vec![0],
    };
    emit(ctx, op, vec![x], info.scale)
}

/// ONNX `Concat` of activations along `axis`; scales are aligned to the largest.
pub fn lower_concat(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let n = ctx.num_inputs();
    if n == 0 {
        return Err(ctx.bad_model("Concat without inputs".into()));
    }
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        if ctx.is_const_input(i) {
            return Err(ctx.unsupported("Concat with a constant input"));
        }
        ids.push(ctx.activation_input(i)?);
    }
    let infos: Vec<_> = ids.iter().map(|&t| ctx.tensor(t).clone()).collect();
    let rank = infos[0].shape.len();
    let axis = norm_axis(ctx, ctx.attr_int("axis", 0), rank)?;
    for inf in &infos {
        let same = inf.shape.len() == rank
            && (0..rank).all(|d| d == axis || inf.shape[d] == infos[0].shape[d]);
        if !same {
            return Err(ctx.bad_model(format!(
                "Concat of shapes {:?} along axis {axis}",
                infos.iter().map(|i| &i.shape).collect::<Vec<_>>()
            )));
        }
    }
    let scale = infos.iter().map(|i| i.scale).max().expect("non-empty");
    if infos.iter().any(|i| scale - i.scale > 30) {
        return Err(ctx.unsupported("Concat of inputs whose scales differ by more than 30"));
    }
    let shifts = infos.iter().map(|i| (scale - i.scale) as u32).collect();
    let layout = Layout::Concat {
        axis,
        shapes: infos.iter().map(|i| i.shape.clone()).collect(),
    };
    emit(ctx, Gather { layout, shifts }, ids, scale)
}

/// ONNX `Pad`, mode `constant`: pads from the constant input (opset ≥ 11) or the attribute,
/// optional `axes` (opset 18), the constant value quantised at the input's scale.
pub fn lower_pad(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let mode = ctx.attr_str("mode").unwrap_or_else(|| "constant".into());
    if mode != "constant" {
        return Err(ctx.unsupported(&format!("mode '{mode}' (only 'constant')")));
    }
    let rank = info.shape.len();
    let pads: Vec<i64> = match ctx.optional_const_input(1)? {
        Some(c) => c.data.iter().map(|&v| v as i64).collect(),
        None => ctx
            .attr_ints("pads")
            .ok_or_else(|| ctx.bad_model("Pad without pads".into()))?,
    };
    let axes: Vec<usize> = match ctx.optional_const_input(3)? {
        Some(c) => c
            .data
            .iter()
            .map(|&a| norm_axis(ctx, a as i64, rank))
            .collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(ctx.bad_model(format!("{} pads for {} axes", pads.len(), axes.len())));
    }
    let value = match ctx.optional_const_input(2)? {
        Some(c) if c.data.len() == 1 => c.data[0],
        Some(c) => {
            return Err(ctx.bad_model(format!(
                "Pad value of shape {:?}, expected a scalar",
                c.shape
            )))
        }
        None => ctx.attr_float("value", 0.0),
    };
    let value = ctx.quantize_all(&[value], info.scale, "pad value")?[0];
    let (mut begin, mut out_shape) = (vec![0i64; rank], info.shape.clone());
    for (k, &a) in axes.iter().enumerate() {
        let (b, e) = (pads[k], pads[k + axes.len()]);
        let d = info.shape[a] as i64 + b + e;
        if d < 0 {
            return Err(ctx.bad_model(format!("pads {pads:?} crop axis {a} below zero")));
        }
        begin[a] = b;
        out_shape[a] = d as usize;
    }
    let op = Gather {
        layout: Layout::Pad {
            in_shape: info.shape.clone(),
            begin,
            out_shape,
            value,
        },
        shifts: vec![0],
    };
    emit(ctx, op, vec![x], info.scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_move_the_right_elements() {
        let t = Gather {
            layout: Layout::Transpose {
                in_shape: vec![2, 3],
                perm: vec![1, 0],
            },
            shifts: vec![0],
        };
        assert_eq!(
            t.eval(&[&[0, 1, 2, 3, 4, 5]]).unwrap(),
            vec![0, 3, 1, 4, 2, 5]
        );
        let c = Gather {
            layout: Layout::Concat {
                axis: 1,
                shapes: vec![vec![2, 1], vec![2, 2]],
            },
            shifts: vec![1, 0],
        };
        assert_eq!(
            c.eval(&[&[1, 2], &[10, 11, 12, 13]]).unwrap(),
            vec![2, 10, 11, 4, 12, 13]
        );
        assert_eq!(c.bounds(&[(-2, 1), (-5, 5)]).unwrap(), (-5, 5));
        let p = Gather {
            layout: Layout::Pad {
                in_shape: vec![2, 2],
                begin: vec![1, -1],
                out_shape: vec![3, 1],
                value: 7,
            },
            shifts: vec![0],
        };
        assert_eq!(p.eval(&[&[1, 2, 3, 4]]).unwrap(), vec![7, 2, 4]);
        assert_eq!(p.bounds(&[(-1, 4)]).unwrap(), (-1, 7));
        let mut b = Builder::new(vec![], true);
        let xs: CTensor = (1..=4)
            .map(|v| crate::ops::compare::tests::input(&mut b, v, 4, true))
            .collect();
        let y = p.synthesize(&mut b, &[&xs]).unwrap();
        assert_eq!(y.iter().map(|v| v.value).collect::<Vec<_>>(), vec![7, 2, 4]);
        assert!(y[1].range.is_some() && y[0].range.is_none());
        assert_eq!(b.num_constraints(), 4 * 4);
    }
}
