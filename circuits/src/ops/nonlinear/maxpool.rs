//! MaxPool over the spatial dimensions of an `[N, C, spatial...]` tensor.
//!
//! Each output is the maximum of its window, proven pairwise: `max(a, m) = m + relu(a - m)`,
//! the ReLU taking its sign from a range check of the difference (`bits + 1` bits for inputs
//! of `bits` bits), so a window of `w` cells costs `(w - 1) · (bits + 2)` constraints and the
//! output is a linear combination (no extra variable). Pairwise maxima are cheaper than
//! checking `m - x_i ≥ 0` for every candidate plus a product proving one of them is zero.
//! Padding cells are not candidates (ONNX semantics: padding acts as −∞).

use crate::lower::{CompileError, LowerCtx};
use crate::ops::{compare, CTensor, Op, OpError};
use crate::r1cs::Builder;
use serde::{Deserialize, Serialize};

/// Max pooling with a fixed geometry on a tensor whose values fit `bits` signed bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaxPool {
    /// `[N, C, spatial...]`.
    pub in_shape: Vec<usize>,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    /// Padding before each spatial dimension (padding after only changes the output size).
    pub pads_begin: Vec<usize>,
    /// Output spatial dimensions.
    pub out_spatial: Vec<usize>,
    /// Signed bits of the input values (the differences are checked to `bits + 1`).
    pub bits: u32,
}

impl MaxPool {
    fn out_len(&self) -> usize {
        self.in_shape[..2].iter().product::<usize>() * self.out_spatial.iter().product::<usize>()
    }

    /// For every output spatial position, the flat offsets (within one `[spatial...]` plane)
    /// of the input cells in its window, padding excluded, in row-major kernel order.
    fn windows(&self) -> Vec<Vec<usize>> {
        let sp = &self.in_shape[2..];
        let rank = sp.len();
        let positions: usize = self.out_spatial.iter().product();
        let kernel_cells: usize = self.kernel.iter().product();
        (0..positions)
            .map(|p| {
                let o = unravel(p, &self.out_spatial);
                (0..kernel_cells)
                    .filter_map(|kc| {
                        let k = unravel(kc, &self.kernel);
                        let mut flat = 0usize;
                        for d in 0..rank {
                            let i = (o[d] * self.strides[d] + k[d]) as isize
                                - self.pads_begin[d] as isize;
                            if i < 0 || i >= sp[d] as isize {
                                return None;
                            }
                            flat = flat * sp[d] + i as usize;
                        }
                        Some(flat)
                    })
                    .collect()
            })
            .collect()
    }

    /// Calls `f(output index, input indices of its window)` for every output in order.
    fn for_each_window(
        &self,
        mut f: impl FnMut(usize, &mut dyn Iterator<Item = usize>) -> Result<(), OpError>,
    ) -> Result<(), OpError> {
        let windows = self.windows();
        let plane: usize = self.in_shape[2..].iter().product();
        let planes: usize = self.in_shape[..2].iter().product();
        let mut index = 0;
        for c in 0..planes {
            for w in &windows {
                f(index, &mut w.iter().map(|&off| c * plane + off))?;
                index += 1;
            }
        }
        Ok(())
    }
}

/// The multi-index of flat index `i` in a row-major array of shape `dims`.
fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        out[d] = i % dims[d];
        i /= dims[d];
    }
    out
}

impl Op for MaxPool {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        let x = inputs[0];
        // The differences are checked to `bits + 1`: enough only for inputs of `bits` bits.
        crate::ops::check_input_bits(x, self.bits)?;
        let mut out = Vec::with_capacity(self.out_len());
        self.for_each_window(|_, w| {
            let first = w.next().expect("lowering rejects empty windows");
            out.push(w.fold(x[first], |m, i| x[i].max(m)));
            Ok(())
        })?;
        Ok(out)
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let x = inputs[0];
        let mut out = Vec::with_capacity(self.out_len());
        self.for_each_window(|index, w| {
            let first = w.next().expect("lowering rejects empty windows");
            let mut m = x[first].clone();
            for i in w {
                m = compare::max(b, &x[i], &m, self.bits + 1)
                    .map_err(|range| OpError { index, range })?;
            }
            out.push(m);
            Ok(())
        })?;
        Ok(out)
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        Ok(inputs[0])
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        errors[0] // max is exact and 1-Lipschitz
    }
}

/// ONNX `MaxPool` (kernel_shape, strides, pads or auto_pad; ceil_mode 0, dilations 1; the
/// optional Indices output is not produced).
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    if info.shape.len() < 3 {
        return Err(ctx.bad_model(format!(
            "MaxPool input of shape {:?}, expected [N, C, spatial...]",
            info.shape
        )));
    }
    let sp: Vec<usize> = info.shape[2..].to_vec();
    let rank = sp.len();
    let kernel = ctx
        .attr_ints("kernel_shape")
        .ok_or_else(|| ctx.bad_model("MaxPool without kernel_shape".into()))?;
    let strides = ctx.attr_ints("strides").unwrap_or_else(|| vec![1; rank]);
    let dilations = ctx.attr_ints("dilations").unwrap_or_else(|| vec![1; rank]);
    if kernel.len() != rank || strides.len() != rank || dilations.len() != rank {
        return Err(ctx.bad_model(format!(
            "kernel_shape {kernel:?}, strides {strides:?}, dilations {dilations:?} for {rank} spatial dimensions"
        )));
    }
    if kernel.iter().chain(&strides).any(|&v| v < 1) {
        return Err(ctx.bad_model(format!(
            "kernel_shape {kernel:?} and strides {strides:?} must be positive"
        )));
    }
    if dilations.iter().any(|&d| d != 1) {
        return Err(ctx.unsupported(&format!("dilations {dilations:?} (only 1)")));
    }
    if ctx.attr_int("ceil_mode", 0) != 0 {
        return Err(ctx.unsupported("ceil_mode = 1"));
    }
    let kernel: Vec<usize> = kernel.iter().map(|&v| v as usize).collect();
    let strides: Vec<usize> = strides.iter().map(|&v| v as usize).collect();
    let (begin, end) = pads(ctx, &sp, &kernel, &strides)?;
    let mut out_spatial = Vec::with_capacity(rank);
    for d in 0..rank {
        let padded = sp[d] + begin[d] + end[d];
        if padded < kernel[d] {
            return Err(ctx.bad_model(format!(
                "kernel {} larger than the padded input {padded}",
                kernel[d]
            )));
        }
        if begin[d] >= kernel[d] || end[d] >= kernel[d] {
            // A window made only of padding would have no maximum.
            return Err(ctx.bad_model(format!(
                "padding {:?}/{:?} not smaller than the kernel {kernel:?}",
                begin, end
            )));
        }
        out_spatial.push((padded - kernel[d]) / strides[d] + 1);
    }
    let mut shape = info.shape[..2].to_vec();
    shape.extend(&out_spatial);
    let op = MaxPool {
        in_shape: info.shape.clone(),
        kernel,
        strides,
        pads_begin: begin,
        out_spatial,
        bits: info.bits,
    };
    if op.windows().iter().any(Vec::is_empty) {
        return Err(ctx.bad_model("a pooling window lies entirely in the padding".into()));
    }
    ctx.emit(
        "MaxPool",
        crate::ops::QOp::MaxPool(op),
        vec![x],
        shape,
        info.scale,
        info.bits,
    );
    Ok(())
}

/// Padding before and after each spatial dimension, from `pads` or `auto_pad`.
fn pads(
    ctx: &LowerCtx,
    sp: &[usize],
    kernel: &[usize],
    strides: &[usize],
) -> Result<(Vec<usize>, Vec<usize>), CompileError> {
    let rank = sp.len();
    let auto = ctx.attr_str("auto_pad").unwrap_or_else(|| "NOTSET".into());
    match auto.as_str() {
        "NOTSET" => {
            let p = ctx.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * rank]);
            if p.len() != 2 * rank || p.iter().any(|&v| v < 0) {
                return Err(ctx.bad_model(format!("pads {p:?} for {rank} spatial dimensions")));
            }
            Ok((
                p[..rank].iter().map(|&v| v as usize).collect(),
                p[rank..].iter().map(|&v| v as usize).collect(),
            ))
        }
        "VALID" => Ok((vec![0; rank], vec![0; rank])),
        "SAME_UPPER" | "SAME_LOWER" => {
            let (mut begin, mut end) = (Vec::new(), Vec::new());
            for d in 0..rank {
                let out = sp[d].div_ceil(strides[d]);
                let total = ((out - 1) * strides[d] + kernel[d]).saturating_sub(sp[d]);
                let small = total / 2;
                let (b, e) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                begin.push(b);
                end.push(e);
            }
            Ok((begin, end))
        }
        other => Err(ctx.bad_model(format!("auto_pad {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::{assert_pinned, input};

    fn pool() -> MaxPool {
        // 1×1×3×3 input, 2×2 kernel, stride 1, padding 1 before: 3×3 outputs whose corner
        // window holds a single cell and whose others hold 2 or 4.
        MaxPool {
            in_shape: vec![1, 1, 3, 3],
            kernel: vec![2, 2],
            strides: vec![1, 1],
            pads_begin: vec![1, 1],
            out_spatial: vec![3, 3],
            bits: 8,
        }
    }

    #[test]
    fn windows_exclude_padding() {
        let w = pool().windows();
        assert_eq!(w[0], vec![0]);
        assert_eq!(w[1], vec![0, 1]);
        assert_eq!(w[4], vec![0, 1, 3, 4]);
        let x: Vec<i64> = vec![-5, -9, -1, -7, -128, -3, -2, -6, -4];
        // All negative: a zero padding would wrongly win; ONNX pads with −∞.
        assert_eq!(
            pool().eval(&[&x]).unwrap(),
            vec![-5, -5, -1, -5, -5, -1, -2, -2, -3]
        );
    }

    #[test]
    fn circuit_matches_eval_and_is_pinned() {
        let p = pool();
        let x: Vec<i64> = vec![-5, 127, -1, -7, -128, 3, 2, -6, 0];
        let want = p.eval(&[&x]).unwrap();
        let mut b = Builder::new(vec![], true);
        let xs: CTensor = x
            .iter()
            .map(|&v| input(&mut b, i128::from(v), 8, false))
            .collect();
        let y = p.synthesize(&mut b, &[&xs]).unwrap();
        let s = b.finish();
        for (c, &w) in y.iter().zip(&want) {
            assert_eq!(c.value, i128::from(w));
            assert_eq!(c.lc.eval(&s.assignment), crate::gadgets::fr(i128::from(w)));
        }
        // Windows of 1, 2, 2 / 2, 4, 4 / 2, 4, 4 cells: 16 pairwise maxima of 9 + 1 constraints.
        assert_eq!(s.r1cs.num_constraints(), 16 * 10);
        assert_pinned(&s, 1 + x.len());
    }
}
