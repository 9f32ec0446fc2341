//! ONNX `Slice` and `Split` on activations: data movement ([`Layout::Slice`]), zero constraints.

use crate::lower::{CompileError, LowerCtx};
use crate::ops::array::gather::{emit_nth, norm_axis, Gather, Layout};

/// ONNX `Slice` (opset ≥ 10: starts, ends, axes, steps as constant inputs) with positive steps.
pub fn lower_slice(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let rank = info.shape.len();
    let ints = |c: crate::onnx::Const| c.data.iter().map(|&v| v as i64).collect::<Vec<i64>>();
    let starts = ints(ctx.const_input(1)?);
    let ends = ints(ctx.const_input(2)?);
    let axes = match ctx.optional_const_input(3)? {
        Some(c) => ints(c),
        None => (0..starts.len() as i64).collect(),
    };
    let steps = match ctx.optional_const_input(4)? {
        Some(c) => ints(c),
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(ctx.bad_model("starts, ends, axes and steps differ in length".into()));
    }
    let mut start = vec![0usize; rank];
    let mut step = vec![1usize; rank];
    let mut out_shape = info.shape.clone();
    for i in 0..starts.len() {
        let a = norm_axis(ctx, axes[i], rank)?;
        if steps[i] <= 0 {
            return Err(ctx.unsupported("Slice with a step that is not positive"));
        }
        let dim = info.shape[a] as i64;
        // ONNX semantics: negative indices count from the end, then clamp to [0, dim].
        let clampi = |v: i64| (if v < 0 { v + dim } else { v }).clamp(0, dim);
        let (s, e) = (clampi(starts[i]), clampi(ends[i]));
        // A step past the axis keeps one element; clamping it keeps the arithmetic in range.
        let st = steps[i].min(dim.max(1));
        let n = if e > s { (e - s + st - 1) / st } else { 0 };
        start[a] = s as usize;
        step[a] = st as usize;
        out_shape[a] = n as usize;
    }
    if out_shape.contains(&0) {
        return Err(ctx.unsupported(&format!("Slice producing an empty tensor {out_shape:?}")));
    }
    let op = Gather {
        layout: Layout::Slice {
            in_shape: info.shape.clone(),
            starts: start,
            steps: step,
            out_shape,
        },
        shifts: vec![0],
    };
    emit_nth(ctx, 0, op, vec![x], info.scale)
}

/// ONNX `Split` (opset 13+: sizes as an optional constant input; earlier: the `split`
/// attribute; neither: equal parts): one slice per output.
pub fn lower_split(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let rank = info.shape.len();
    let axis = norm_axis(ctx, ctx.attr_int("axis", 0), rank)?;
    let dim = info.shape[axis];
    let parts = ctx.num_outputs();
    let sizes: Vec<usize> = match ctx.optional_const_input(1)? {
        Some(c) => c.data.iter().map(|&v| v as usize).collect(),
        None => match ctx.attr_ints("split") {
            Some(s) => s.iter().map(|&v| v as usize).collect(),
            None => {
                if parts == 0 || !dim.is_multiple_of(parts) {
                    return Err(ctx.bad_model(format!("{dim} does not split into {parts} parts")));
                }
                vec![dim / parts; parts]
            }
        },
    };
    let total = sizes.iter().try_fold(0usize, |acc, &v| acc.checked_add(v));
    if sizes.len() != parts || total != Some(dim) || sizes.contains(&0) {
        return Err(ctx.bad_model(format!(
            "split sizes {sizes:?} do not cover axis {axis} of {:?} in {parts} outputs",
            info.shape
        )));
    }
    let mut offset = 0;
    for (k, &n) in sizes.iter().enumerate() {
        let mut starts = vec![0; rank];
        starts[axis] = offset;
        let mut out_shape = info.shape.clone();
        out_shape[axis] = n;
        offset += n;
        if ctx.output_name(k).is_empty() {
            continue;
        }
        let op = Gather {
            layout: Layout::Slice {
                in_shape: info.shape.clone(),
                starts,
                steps: vec![1; rank],
                out_shape,
            },
            shifts: vec![0],
        };
        emit_nth(ctx, k, op, vec![x], info.scale)?;
    }
    Ok(())
}

/// ONNX `Expand` of an activation to a constant shape (numpy broadcasting).
pub fn lower_expand(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let target: Vec<i64> = ctx.const_input(1)?.data.iter().map(|&v| v as i64).collect();
    let rank = info.shape.len().max(target.len());
    let pad = |s: &[usize]| {
        let mut v = vec![1usize; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let in_shape = pad(&info.shape);
    let mut tgt = vec![1i64; rank - target.len()];
    tgt.extend_from_slice(&target);
    let mut out_shape = Vec::with_capacity(rank);
    for d in 0..rank {
        let (a, b) = (in_shape[d], tgt[d]);
        out_shape.push(match (a, b) {
            (_, b) if b <= 0 => return Err(ctx.bad_model(format!("Expand to dimension {b}"))),
            (a, b) if a as i64 == b || b == 1 => a,
            (1, b) => b as usize,
            _ => {
                return Err(ctx.bad_model(format!(
                    "shape {:?} does not broadcast to {target:?}",
                    info.shape
                )))
            }
        });
    }
    let op = Gather {
        layout: Layout::Broadcast {
            in_shape,
            out_shape,
        },
        shifts: vec![0],
    };
    emit_nth(ctx, 0, op, vec![x], info.scale)
}

/// ONNX `Gather`: from a constant table by the token ids (an embedding,
/// [`crate::ops::array::embedding`]), or from an activation by constant indices (e.g. the last
/// position's hidden state, `indices = [-1]`).
pub fn lower_gather(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if ctx.is_const_input(0) {
        return crate::ops::array::embedding::lower(ctx);
    }
    if !ctx.is_const_input(1) {
        return Err(ctx.unsupported("Gather from an activation by activation indices"));
    }
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let rank = info.shape.len();
    let axis = norm_axis(ctx, ctx.attr_int("axis", 0), rank)?;
    let idx = ctx.const_input(1)?;
    let dim = info.shape[axis] as i64;
    let mut indices = Vec::with_capacity(idx.data.len());
    for &v in &idx.data {
        let i = v as i64;
        let j = if i < 0 { i + dim } else { i };
        if !(0..dim).contains(&j) {
            return Err(ctx.bad_model(format!("index {i} out of range for axis of size {dim}")));
        }
        indices.push(j as usize);
    }
    let mut out_shape = info.shape[..axis].to_vec();
    out_shape.extend_from_slice(&idx.shape);
    out_shape.extend_from_slice(&info.shape[axis + 1..]);
    let op = Gather {
        layout: Layout::Take {
            in_shape: info.shape.clone(),
            axis,
            indices,
            out_shape,
        },
        shifts: vec![0],
    };
    emit_nth(ctx, 0, op, vec![x], info.scale)
}

#[cfg(test)]
mod tests {
    use crate::ops::array::gather::{Gather, Layout};
    use crate::ops::Op;

    fn eval(layout: Layout, x: &[i64]) -> Vec<i64> {
        Gather {
            layout,
            shifts: vec![0],
        }
        .eval(&[x])
        .unwrap()
    }

    #[test]
    fn slice_broadcast_and_take_move_the_right_elements() {
        let x: Vec<i64> = (0..12).collect(); // [2, 3, 2]
        let s = Layout::Slice {
            in_shape: vec![2, 3, 2],
            starts: vec![0, 1, 1],
            steps: vec![1, 1, 1],
            out_shape: vec![2, 2, 1],
        };
        assert_eq!(eval(s, &x), vec![3, 5, 9, 11]);
        let b = Layout::Broadcast {
            in_shape: vec![1, 3],
            out_shape: vec![2, 3],
        };
        assert_eq!(eval(b, &[7, 8, 9]), vec![7, 8, 9, 7, 8, 9]);
        let t = Layout::Take {
            in_shape: vec![2, 3, 2],
            axis: 1,
            indices: vec![2],
            out_shape: vec![2, 1, 2],
        };
        assert_eq!(eval(t, &x), vec![4, 5, 10, 11]);
        let strided = Layout::Slice {
            in_shape: vec![6],
            starts: vec![1],
            steps: vec![2],
            out_shape: vec![3],
        };
        assert_eq!(eval(strided, &[0, 1, 2, 3, 4, 5]), vec![1, 3, 5]);
    }
}
