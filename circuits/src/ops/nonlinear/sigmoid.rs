//! Sigmoid and Tanh as one integer function shared by inference and the circuit: piecewise
//! quadratic on a window, constant outside it.
//!
//! For an input `x` (scale `s_in`) and the window `[-L, L)` with `L = 2^(p-1)` (integer units;
//! 8.0 real for Sigmoid, 4.0 for Tanh):
//! 1. `x + L = q · 2^p + u` with `u ∈ [0, 2^p)`: `q` is range-checked (a few bits, only when the
//!    input's range reaches beyond the window) and `u` is range-checked to `p` bits; `q = 0`
//!    means `x` lies in the window, `q > 0` above it, `q < 0` below it.
//! 2. The top `m` bits of `u` select one of `2^m` segments, the low `w = p - m` bits are the
//!    offset `t`. Per segment the function is the quadratic `A + B·(t/2^w) + C·(t/2^w)^2`
//!    (coefficients at scale `K = s_out + 4`, interpolated at Chebyshev nodes). A table selected
//!    by bits is a multilinear polynomial in them: the `2^m - m - 1` products of index bits
//!    are shared by the three coefficient tables, which are then linear combinations.
//! 3. `acc = A·2^(2w) + (B·2^w + C·t)·t` (two multiplications), requantised to the output
//!    scale with [`gadgets::requantize`]; outside the window the output is a constant (the
//!    midpoint of the function's values there), selected with a zero test of `q`.
//!
//! Measured maximum error against the float function over the whole quantised input domain
//! (16-bit input at scale 8, output scale 8, every one of the 65,536 inputs; see the tests):
//! **Sigmoid 0.00245, Tanh 0.00270** (the output's own rounding, 2^-9 = 0.00195, is most of it).
//! Cost at that setting: **64 constraints per Sigmoid, 62 per Tanh** (5 / 6 for `q`, 12 / 11
//! for `u`, 3 for the zero test, 11 bit products, 2 multiplications, 30 / 28 for the
//! requantisation, 1 for the selection); when the input cannot leave the window, `q`, the zero
//! test and the selection disappear.

use crate::fixed;
use crate::gadgets::{self, fr, pow2, RangeError};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// Which function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Curve {
    Sigmoid,
    Tanh,
}

impl Curve {
    /// The float function.
    pub fn f(self, x: f64) -> f64 {
        match self {
            Curve::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Curve::Tanh => x.tanh(),
        }
    }

    /// `log2` of the window's half-width in real units: the function is within 2^-10 of its
    /// asymptote beyond it.
    fn window_log2(self) -> i32 {
        match self {
            Curve::Sigmoid => 3,
            Curve::Tanh => 2,
        }
    }

    fn limits(self) -> (f64, f64) {
        match self {
            Curve::Sigmoid => (0.0, 1.0),
            Curve::Tanh => (-1.0, 1.0),
        }
    }
}

/// Index bits (segments = 2^INDEX_BITS) and guard bits of the coefficients.
const INDEX_BITS: u32 = 4;
const GUARD_BITS: u32 = 4;

/// Sigmoid or Tanh on a tensor whose values fit `in_bits` signed bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sigmoid {
    pub curve: Curve,
    pub in_bits: u32,
    /// `p`: the window is `[-2^(p-1), 2^(p-1))` in input units.
    pub window_bits: u32,
    /// `m`: segments are selected by the top `m` bits of `u`.
    pub index_bits: u32,
    /// Bits of `q` (0 when the input cannot leave the window).
    pub q_bits: u32,
    /// Per-segment coefficients at the coefficient scale.
    pub a: Vec<i64>,
    pub b: Vec<i64>,
    pub c: Vec<i64>,
    /// Bits dropped by the final requantisation: `K + 2w - s_out`.
    pub shift: u32,
    /// Outputs below and above the window (output scale).
    pub sat_lo: i64,
    pub sat_hi: i64,
    pub out_bits: u32,
    /// The output's interval (for bounds).
    pub out_lo: i64,
    pub out_hi: i64,
    /// The output's scale (for the error bound).
    pub out_scale: i32,
}

/// The intermediate integers of one evaluation, shared by inference and the witness.
struct Steps {
    q: i128,
    u: i128,
    seg: usize,
    /// `C·t` and `(B·2^w + C·t)·t`.
    v: i128,
    p: i128,
    acc: i128,
    y_tab: i128,
    y: i128,
}

impl Sigmoid {
    fn w(&self) -> u32 {
        self.window_bits - self.index_bits
    }

    fn acc(&self, seg: usize, t: i128) -> (i128, i128, i128) {
        let w = self.w();
        let v = i128::from(self.c[seg]) * t;
        let p = ((i128::from(self.b[seg]) << w) + v) * t;
        (v, p, (i128::from(self.a[seg]) << (2 * w)) + p)
    }

    fn steps(&self, x: i128) -> Steps {
        let p = self.window_bits;
        let v0 = x + (1i128 << (p - 1));
        let q = v0 >> p;
        let u = v0 - (q << p);
        let w = self.w();
        let (seg, t) = ((u >> w) as usize, u & ((1i128 << w) - 1));
        let (v, pr, acc) = self.acc(seg, t);
        let y_tab = fixed::requantize(acc, self.shift).0;
        let y = match q {
            0 => y_tab,
            q if q > 0 => i128::from(self.sat_hi),
            _ => i128::from(self.sat_lo),
        };
        Steps {
            q,
            u,
            seg,
            v,
            p: pr,
            acc,
            y_tab,
            y,
        }
    }

    /// The checks the circuit makes, on integers, so that inference fails where proving would.
    fn check(&self, s: &Steps) -> Result<(), RangeError> {
        let q_ok = if self.q_bits == 0 {
            s.q == 0
        } else {
            fixed::fits_bits(s.q, self.q_bits)
        };
        if !q_ok {
            return Err(RangeError {
                value: s.q,
                bits: self.q_bits,
            });
        }
        if !fixed::fits_bits(s.y_tab, self.out_bits) {
            return Err(RangeError {
                value: s.y_tab,
                bits: self.out_bits,
            });
        }
        Ok(())
    }

    fn one(&self, b: &mut Builder, x: &CValue) -> Result<CValue, RangeError> {
        let st = self.steps(x.value);
        if !b.structure_only() {
            self.check(&st)?;
        }
        let (p, m, w) = (self.window_bits, self.index_bits, self.w());
        // 1. x + L = q·2^p + u.
        let q = if self.q_bits > 0 {
            Some(gadgets::signed(b, st.q, self.q_bits)?)
        } else {
            None
        };
        let u_lc = || {
            let mut lc = x.lc.clone();
            lc.add_constant(pow2(p - 1));
            if let Some(q) = &q {
                lc.add_term(q.var, -pow2(p));
            }
            lc
        };
        let rb = gadgets::range_check(b, st.u, p, u_lc)?;
        let bit = |j: u32| -> Lc {
            if j + 1 < p {
                rb.low[j as usize].into()
            } else {
                rb.top(&u_lc())
            }
        };
        // 2. offset and the products of index bits (monomials of the multilinear tables).
        let t_lc = || {
            let mut lc = Lc::with_capacity(w as usize);
            for j in 0..w {
                lc.add_scaled(&bit(j), pow2(j));
            }
            lc
        };
        let n = 1usize << m;
        let mut mono: Vec<Lc> = Vec::with_capacity(n);
        mono.push(Lc::constant(fr(1)));
        for set in 1..n {
            let high = usize::BITS - 1 - set.leading_zeros();
            let rest = set ^ (1 << high);
            if rest == 0 {
                mono.push(if b.builds_matrices() {
                    bit(w + high)
                } else {
                    Lc::zero()
                });
            } else {
                let val = i128::from(st.seg & set == set);
                let var = b.alloc(fr(val));
                let (l, r) = (
                    &mono[rest],
                    if b.builds_matrices() {
                        bit(w + high)
                    } else {
                        Lc::zero()
                    },
                );
                b.enforce(|| l.clone(), || r, || var.into());
                mono.push(var.into());
            }
        }
        let table = |coef: &[i64], scale: u32| -> Lc {
            let mut lc = Lc::with_capacity(n);
            for (set, k) in mobius(coef).into_iter().enumerate() {
                lc.add_scaled(&mono[set], fr(k) * pow2(scale));
            }
            lc
        };
        // 3. acc = A·2^(2w) + (B·2^w + C·t)·t.
        let v = b.alloc(fr(st.v));
        b.enforce(|| table(&self.c, 0), t_lc, || v.into());
        let pv = b.alloc(fr(st.p));
        b.enforce(
            || {
                let mut lc = table(&self.b, w);
                lc.add_term(v, fr(1));
                lc
            },
            t_lc,
            || pv.into(),
        );
        let y_tab = gadgets::requantize(b, st.acc, self.shift, self.out_bits, || {
            let mut lc = table(&self.a, 2 * w);
            lc.add_term(pv, fr(1));
            lc
        })?;
        debug_assert_eq!(y_tab.value, st.y_tab);
        let Some(q) = q else {
            return Ok(CValue {
                lc: y_tab.var.into(),
                value: st.y,
                range: Some(y_tab),
            });
        };
        // Outside the window: y = y_sat + [q == 0]·(y_tab - y_sat), y_sat by the sign of q.
        let z = gadgets::is_zero(b, st.q, || q.var.into());
        let (lo, hi) = (i128::from(self.sat_lo), i128::from(self.sat_hi));
        let y_sat = || {
            let mut lc = q.nonneg_bit().scaled(fr(hi - lo));
            lc.add_constant(fr(lo));
            lc
        };
        let sat_value = if st.q >= 0 { hi } else { lo };
        let sel = b.alloc(fr(if st.q == 0 { st.y_tab - sat_value } else { 0 }));
        b.enforce(
            || z.into(),
            || {
                let mut lc = Lc::from(y_tab.var);
                lc.add_scaled(&y_sat(), -fr(1));
                lc
            },
            || sel.into(),
        );
        let mut lc = if b.builds_matrices() {
            y_sat()
        } else {
            Lc::zero()
        };
        lc.add_term(sel, fr(1));
        Ok(CValue {
            lc,
            value: st.y,
            range: None,
        })
    }
}

/// Coefficients of the multilinear polynomial in the index bits that equals `table[i]` when the
/// bits spell `i` (the Möbius transform over subsets).
pub(crate) fn mobius(table: &[i64]) -> Vec<i128> {
    let mut f: Vec<i128> = table.iter().map(|&v| i128::from(v)).collect();
    let n = f.len();
    let mut j = 1;
    while j < n {
        for set in 0..n {
            if set & j != 0 {
                f[set] -= f[set ^ j];
            }
        }
        j <<= 1;
    }
    f
}

impl Op for Sigmoid {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        inputs[0]
            .iter()
            .enumerate()
            .map(|(index, &x)| {
                let s = self.steps(i128::from(x));
                self.check(&s).map_err(|range| OpError { index, range })?;
                Ok(s.y as i64)
            })
            .collect()
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        inputs[0]
            .iter()
            .enumerate()
            .map(|(index, x)| self.one(b, x).map_err(|range| OpError { index, range }))
            .collect()
    }

    fn bounds(&self, _inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        Ok((i128::from(self.out_lo), i128::from(self.out_hi)))
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // Lipschitz 1/4 (Sigmoid) or 1 (Tanh) on the input's error rescaled to the output's
        // scale; the quadratic segments and the saturated constants stay within 2^-8 of the
        // function (the exhaustive tests measure 2^-9 with the rounding); the output rounding.
        let s_in = self.window_bits as i32 - self.curve.window_log2() - 1;
        let lipschitz = match self.curve {
            Curve::Sigmoid => 0.25,
            Curve::Tanh => 1.0,
        };
        let rescale = 2f64.powi(self.out_scale - s_in);
        lipschitz * errors[0] * rescale + 2f64.powi(self.out_scale - 8) + 0.5
    }
}

impl Sigmoid {
    /// Builds the op for inputs of `in_bits` bits at `s_in` and outputs at `s_out`.
    pub fn new(curve: Curve, in_bits: u32, s_in: i32, s_out: i32) -> Result<Sigmoid, String> {
        let p = curve.window_log2() + 1 + s_in;
        if !(1..=40).contains(&p) || !(0..=40).contains(&s_out) {
            return Err(format!(
                "input scale {s_in} and output scale {s_out} are out of the supported range"
            ));
        }
        let p = p as u32;
        let m = INDEX_BITS.min(p);
        let w = p - m;
        let k = s_out as u32 + GUARD_BITS;
        let scale_in = 2f64.powi(s_in);
        let (mut a, mut bb, mut c) = (Vec::new(), Vec::new(), Vec::new());
        let q = |v: f64| (v * 2f64.powi(k as i32)).round() as i64;
        for seg in 0..1i64 << m {
            // The segment covers inputs x0 + t/2^s_in for t in [0, 2^w); u = t/2^w.
            let x0 = ((seg << w) - (1i64 << (p - 1))) as f64 / scale_in;
            let h = 2f64.powi(w as i32) / scale_in;
            let (ca, cb, cc) = fit_quadratic(|u| curve.f(x0 + h * u), 1.0 - 0.5f64.powi(w as i32));
            a.push(q(ca));
            bb.push(q(cb));
            c.push(q(cc));
        }
        let (lim_lo, lim_hi) = curve.limits();
        let half = 2f64.powi(curve.window_log2());
        let out = |v: f64| fixed::quantize(v, s_out).expect("a value in [-1, 1]");
        let sat_lo = out((lim_lo + curve.f(-half)) / 2.0);
        let sat_hi = out((lim_hi + curve.f(half)) / 2.0);
        let (in_lo, in_hi) = crate::ops::compare::signed_interval(in_bits);
        let l = 1i128 << (p - 1);
        let (q_lo, q_hi) = ((in_lo + l) >> p, (in_hi + l) >> p);
        let q_bits = if q_lo == 0 && q_hi == 0 {
            0
        } else {
            fixed::bits_for_range(q_lo, q_hi)
        };
        let mut op = Sigmoid {
            curve,
            in_bits,
            window_bits: p,
            index_bits: m,
            q_bits,
            a,
            b: bb,
            c,
            shift: k + 2 * w - s_out as u32,
            sat_lo,
            sat_hi,
            out_bits: 0,
            out_lo: 0,
            out_hi: 0,
            out_scale: s_out,
        };
        // The exact interval of the table's outputs: per segment the quadratic's extremes lie
        // at the ends or next to the vertex; requantisation is monotone.
        let (mut lo, mut hi) = (
            i128::from(sat_lo.min(sat_hi)),
            i128::from(sat_lo.max(sat_hi)),
        );
        let t_max = (1i128 << w) - 1;
        for seg in 0..1usize << m {
            let mut ts = vec![0, t_max];
            if op.c[seg] != 0 {
                let vertex = -(i128::from(op.b[seg]) << w) / (2 * i128::from(op.c[seg]));
                ts.extend(
                    [vertex - 1, vertex, vertex + 1]
                        .into_iter()
                        .filter(|t| (0..=t_max).contains(t)),
                );
            }
            for t in ts {
                let y = fixed::requantize(op.acc(seg, t).2, op.shift).0;
                lo = lo.min(y);
                hi = hi.max(y);
            }
        }
        op.out_bits = fixed::bits_for_range(lo, hi);
        (op.out_lo, op.out_hi) = (lo as i64, hi as i64);
        Ok(op)
    }
}

/// `(a, b, c)` with `a + b·u + c·u²` interpolating `g` at the three Chebyshev nodes of
/// `[0, u_max]` (near-minimax for smooth `g`); a constant when `u_max = 0`.
fn fit_quadratic(g: impl Fn(f64) -> f64, u_max: f64) -> (f64, f64, f64) {
    if u_max <= 0.0 {
        return (g(0.0), 0.0, 0.0);
    }
    let nodes: Vec<f64> = (0..3)
        .map(|k| u_max * (1.0 - (std::f64::consts::PI * (2 * k + 1) as f64 / 6.0).cos()) / 2.0)
        .collect();
    let ys: Vec<f64> = nodes.iter().map(|&u| g(u)).collect();
    // Newton form: y0 + d1 (u - u0) + d2 (u - u0)(u - u1).
    let d01 = (ys[1] - ys[0]) / (nodes[1] - nodes[0]);
    let d12 = (ys[2] - ys[1]) / (nodes[2] - nodes[1]);
    let d2 = (d12 - d01) / (nodes[2] - nodes[0]);
    let (u0, u1) = (nodes[0], nodes[1]);
    (ys[0] - d01 * u0 + d2 * u0 * u1, d01 - d2 * (u0 + u1), d2)
}

/// ONNX `Sigmoid`.
pub fn lower_sigmoid(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    lower(ctx, Curve::Sigmoid)
}

/// ONNX `Tanh`.
pub fn lower_tanh(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    lower(ctx, Curve::Tanh)
}

fn lower(ctx: &mut LowerCtx, curve: Curve) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let s_out = ctx.settings().scale;
    let op =
        Sigmoid::new(curve, info.bits, info.scale, s_out).map_err(|why| ctx.unsupported(&why))?;
    let bits = op.out_bits;
    let op_type = ctx.op_type().to_string();
    ctx.emit(
        &op_type,
        crate::ops::QOp::Sigmoid(op),
        vec![x],
        info.shape,
        s_out,
        bits,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::{assert_pinned, input};

    /// Max |error| against the float function over every input of `bits` bits at scale `s`.
    fn exhaustive_error(curve: Curve, bits: u32, s: i32) -> f64 {
        let op = Sigmoid::new(curve, bits, s, s).unwrap();
        let (lo, hi) = crate::ops::compare::signed_interval(bits);
        let xs: Vec<i64> = (lo as i64..=hi as i64).collect();
        let ys = op.eval(&[&xs]).unwrap();
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| (fixed::dequantize(y, s) - curve.f(fixed::dequantize(x, s))).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn exhaustive_error_is_as_documented() {
        for (curve, stated) in [(Curve::Sigmoid, 0.00246), (Curve::Tanh, 0.00271)] {
            let err = exhaustive_error(curve, 16, 8);
            println!("{curve:?}: max error {err:.5} over all 65536 inputs (scale 8)");
            assert!(err <= stated, "{curve:?}: {err} > {stated}");
            assert!(err <= 0.5f64.powi(6));
        }
        // Other scales stay within a few output ulps.
        for s in [4, 6, 10] {
            for curve in [Curve::Sigmoid, Curve::Tanh] {
                let err = exhaustive_error(curve, (s + 6) as u32, s);
                println!("{curve:?} at scale {s}: max error {err:.5}");
                assert!(
                    err <= 1.2 * 0.5f64.powi(s + 1) + 0.001,
                    "{curve:?} scale {s}: {err}"
                );
            }
        }
    }

    fn circuit(
        curve: Curve,
        in_bits: u32,
        xs: &[i64],
        checked: bool,
    ) -> (crate::r1cs::Synthesis, usize, usize) {
        let op = Sigmoid::new(curve, in_bits, 8, 8).unwrap();
        let want = op.eval(&[xs]).unwrap();
        let mut b = Builder::new(vec![], true);
        let x: CTensor = xs
            .iter()
            .map(|&v| input(&mut b, i128::from(v), in_bits, checked))
            .collect();
        let first = b.num_witness() + 1;
        let n0 = b.num_constraints();
        let y = op.synthesize(&mut b, &[&x]).unwrap();
        let per = (b.num_constraints() - n0) / xs.len();
        let s = b.finish();
        for (c, &w) in y.iter().zip(&want) {
            assert_eq!(c.value, i128::from(w));
            assert_eq!(c.lc.eval(&s.assignment), fr(i128::from(w)));
        }
        (s, first, per)
    }

    #[test]
    fn circuit_matches_eval_is_pinned_and_costs_as_documented() {
        // Both saturated sides, the window edges, segment boundaries and the middle.
        let xs: Vec<i64> = vec![
            -32768, -2049, -2048, -2047, -1025, -1024, -1, 0, 1, 255, 256, 1023, 1024, 2047, 2048,
            32767,
        ];
        for (curve, cost) in [(Curve::Sigmoid, 64), (Curve::Tanh, 62)] {
            let (s, first, per) = circuit(curve, 16, &xs, false);
            println!("{curve:?}: {per} constraints per activation");
            assert_eq!(per, cost);
            assert_pinned(&s, first);
        }
        // An input that cannot leave the window needs no q, zero test or selection.
        let (s, first, per) = circuit(Curve::Sigmoid, 12, &[-2048, -5, 0, 7, 2047], true);
        assert_eq!(per, 64 - 5 - 3 - 1);
        assert_pinned(&s, first);
    }

    #[test]
    fn perturbing_any_witness_value_of_a_saturated_input_is_rejected() {
        // Beyond the pinning test's +1: any of several offsets on any variable is caught.
        let (s, first, _) = circuit(Curve::Sigmoid, 16, &[20000], false);
        for i in first..s.assignment.len() {
            for d in [-1i128, 1, 2] {
                let mut z = s.assignment.clone();
                z[i] += fr(d);
                assert!(!s.r1cs.is_satisfied(&z));
            }
        }
    }
}
