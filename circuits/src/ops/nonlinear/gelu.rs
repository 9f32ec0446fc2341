//! GELU (erf and tanh forms) and SiLU as one integer function shared by inference and the
//! circuit: a piecewise cubic on a window, the identity above it and zero below it.
//!
//! For an input `x` (scale `s_in`) and the window `[-L, L)` with `L = 2^(p-1)` input units
//! (4.0 real for GELU, 16.0 for SiLU, whose tails converge slowly: `|x·σ(x) - relu(x)| ≤
//! 16·e^-16 = 1.8e-6` beyond 16, against 0.0027 beyond 8):
//! 1. `x + L = q · 2^p + u` with `u ∈ [0, 2^p)` range-checked to `p` bits and `q` to a few
//!    signed bits (only when the input's range reaches beyond the window): `q = 0` in the
//!    window, `q > 0` above it, `q < 0` below it.
//! 2. The top `m` bits of `u` select one of `2^m` segments (16 for GELU, 32 for SiLU), the low
//!    `w = p - m` bits are the offset `t`. Per segment the function is a cubic in `t / 2^w`
//!    (coefficients at scale `K = s_out + 5`, interpolated at Chebyshev nodes). A table
//!    selected by bits is a multilinear polynomial in them, so the `2^m - m - 1` products of
//!    index bits are shared by the four coefficient tables, which are then linear combinations.
//! 3. Horner's rule, one multiplication per degree:
//!    `acc = ((C3·t + C2·2^w)·t + C1·2^(2w))·t + C0·2^(3w)`, requantised to the output scale by
//!    [`gadgets::requantize`] (the table's own, small, bits).
//! 4. Outside the window: `y = [q > 0] · x · 2^(s_out - s_in) + [q = 0] · y_table`, with
//!    `[q = 0]` from a zero test of `q` and `[q ≥ 0]` its sign bit (two multiplications).
//!
//! Measured maximum error against the float function over the whole quantised input domain
//! (16-bit input at scale 8, output scale 8, all 65,536 inputs; 20-bit at scale 10, all 2^20;
//! see the tests): **GELU (erf) 0.00201 / 0.00053, GELU (tanh) 0.00202 / 0.00053, SiLU
//! 0.00211 / 0.00060** — the output's own rounding (2^-9 = 0.00195, 2^-11 = 0.00049) is most of
//! it; the approximation alone is below 1.3e-4 (the erf GELU's tail at 4, `4·Φ(-4)`).
//! Cost per element at 16-bit input, scale 8: **GELU 73, SiLU 93 constraints** (q 6 / 4, u
//! 11 / 13, 11 / 26 bit products, 3 Horner steps, requantisation 26 + 11 / 29 + 13, zero test 3,
//! selection 2); an input that cannot leave the window needs no q, zero test or selection.

use crate::fixed;
use crate::gadgets::{self, fr, pow2, RangeError};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{relu::ensure_signed, CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use serde::{Deserialize, Serialize};

/// Which function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Func {
    /// `x · Φ(x) = 0.5·x·(1 + erf(x/√2))` (ONNX `Gelu`, approximate = "none").
    GeluErf,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (ONNX `Gelu`, approximate = "tanh").
    GeluTanh,
    /// `x · σ(x)`.
    Silu,
}

impl Func {
    /// The float function.
    pub fn f(self, x: f64) -> f64 {
        match self {
            Func::GeluErf => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Func::GeluTanh => {
                let k = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
            }
            Func::Silu => x / (1.0 + (-x).exp()),
        }
    }

    /// `log2` of the window's half-width in real units.
    fn window_log2(self) -> i32 {
        match self {
            Func::GeluErf | Func::GeluTanh => 2,
            Func::Silu => 4,
        }
    }

    /// Segments are `2^index_bits`.
    fn index_bits(self) -> u32 {
        match self {
            Func::GeluErf | Func::GeluTanh => 4,
            Func::Silu => 5,
        }
    }

    /// The largest slope `|f'|` (GELU 1.129 at x ≈ 1.41, SiLU 1.0998 at x ≈ 2.4).
    fn lipschitz(self) -> f64 {
        match self {
            Func::GeluErf | Func::GeluTanh => 1.13,
            Func::Silu => 1.1,
        }
    }

    /// A bound on `|f - f̃|` in real units, `f̃` the cubic segments with exact coefficients in
    /// the window and the tails outside: the cubic fits (2.9e-5 GELU, 1.23e-4 SiLU) and the
    /// tails at the window's edges (`4·Φ(-4) = 1.27e-4`, 7.0e-5 for the tanh form, `16·σ(-16) =
    /// 1.8e-6`), with margin. [`tests::approximation_error_is_as_stated`] checks it.
    fn approx_error(self) -> f64 {
        match self {
            Func::GeluErf => 1.3e-4,
            Func::GeluTanh => 8.0e-5,
            Func::Silu => 1.3e-4,
        }
    }
}

/// Degree of the per-segment polynomials.
const DEGREE: usize = 3;
/// Guard bits of the coefficients below the output's scale.
const GUARD_BITS: u32 = 5;

/// GELU or SiLU on a tensor whose values fit `in_bits` signed bits (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gelu {
    /// The function.
    pub func: Func,
    /// Signed bits of the input.
    pub in_bits: u32,
    /// The input's scale.
    pub in_scale: i32,
    /// The output's scale (at least the input's).
    pub out_scale: i32,
    /// `p`: the window is `[-2^(p-1), 2^(p-1))` in input units.
    pub window_bits: u32,
    /// `m`: segments are selected by the top `m` bits of `u`.
    pub index_bits: u32,
    /// Bits of `q` (0 when the input cannot leave the window).
    pub q_bits: u32,
    /// `coefs[j][seg]`: the coefficient of `(t/2^w)^j` of segment `seg` at scale `K`.
    pub coefs: Vec<Vec<i64>>,
    /// Bits dropped by the table's requantisation: `K + 3w - s_out`.
    pub shift: u32,
    /// Signed bits of the table's outputs (their range check).
    pub table_bits: u32,
    /// The smallest output of the table.
    pub table_lo: i64,
    /// The largest output of the table.
    pub table_hi: i64,
    /// Above the window `y = x · tail_mul` (`2^(s_out - s_in)`).
    pub tail_mul: i64,
    /// Range-check every output to these bits (when the derived bits exceed the chosen ones).
    pub check_bits: Option<u32>,
}

/// The intermediate integers of one evaluation, shared by inference and the witness.
struct Steps {
    q: i128,
    u: i128,
    seg: usize,
    t: i128,
    /// The Horner products, highest degree first.
    prods: Vec<i128>,
    acc: i128,
    y_tab: i128,
    y: i128,
}

impl Gelu {
    fn w(&self) -> u32 {
        self.window_bits - self.index_bits
    }

    /// Horner's rule on segment `seg` at offset `t`: the products and the accumulator.
    fn horner(&self, seg: usize, t: i128) -> (Vec<i128>, i128) {
        let w = self.w();
        let mut h = i128::from(self.coefs[DEGREE][seg]);
        let mut prods = Vec::with_capacity(DEGREE);
        for j in (0..DEGREE).rev() {
            let p = h * t;
            prods.push(p);
            h = p + (i128::from(self.coefs[j][seg]) << ((DEGREE - j) as u32 * w));
        }
        (prods, h)
    }

    fn steps(&self, x: i128) -> Steps {
        let p = self.window_bits;
        let v0 = x + (1i128 << (p - 1));
        let q = v0 >> p;
        let u = v0 - (q << p);
        let w = self.w();
        let (seg, t) = ((u >> w) as usize, u & ((1i128 << w) - 1));
        let (prods, acc) = self.horner(seg, t);
        let y_tab = fixed::requantize(acc, self.shift).0;
        let y = match q {
            0 => y_tab,
            q if q > 0 => x * i128::from(self.tail_mul),
            _ => 0,
        };
        Steps {
            q,
            u,
            seg,
            t,
            prods,
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
        if !fixed::fits_bits(s.y_tab, self.table_bits) {
            return Err(RangeError {
                value: s.y_tab,
                bits: self.table_bits,
            });
        }
        match self.check_bits {
            Some(bits) if !fixed::fits_bits(s.y, bits) => Err(RangeError { value: s.y, bits }),
            _ => Ok(()),
        }
    }

    fn one(&self, b: &mut Builder, x: &CValue) -> Result<CValue, RangeError> {
        let st = self.steps(x.value);
        if !b.structure_only() {
            self.check(&st)?;
        }
        let (p, m, w) = (self.window_bits, self.index_bits, self.w());
        let build = b.builds_matrices();
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
            if !build {
                Lc::zero()
            } else if j + 1 < p {
                rb.low[j as usize].into()
            } else {
                rb.top(&u_lc())
            }
        };
        // 2. The offset and the products of index bits (the multilinear tables' monomials).
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
                mono.push(bit(w + high));
            } else {
                let var = b.alloc(fr(i128::from(st.seg & set == set)));
                let (l, r) = (mono[rest].clone(), bit(w + high));
                b.enforce(|| l, || r, || var.into());
                mono.push(var.into());
            }
        }
        let table = |j: usize, scale: u32| -> Lc {
            let mut lc = Lc::with_capacity(n);
            if build {
                for (set, k) in super::sigmoid::mobius(&self.coefs[j])
                    .into_iter()
                    .enumerate()
                {
                    lc.add_scaled(&mono[set], fr(k) * pow2(scale));
                }
            }
            lc
        };
        // 3. Horner: one multiplication per degree.
        debug_assert_eq!(st.t, st.u & ((1 << w) - 1));
        let mut left = table(DEGREE, 0);
        for (k, j) in (0..DEGREE).rev().enumerate() {
            let pv = b.alloc(fr(st.prods[k]));
            b.enforce(|| left, t_lc, || pv.into());
            left = table(j, (DEGREE - j) as u32 * w);
            left.add_term(pv, fr(1));
        }
        let y_tab = gadgets::requantize(b, st.acc, self.shift, self.table_bits, || left)?;
        let y = match q {
            None => CValue {
                lc: y_tab.var.into(),
                value: st.y,
                range: Some(y_tab),
            },
            Some(q) => {
                // 4. y = [q > 0]·x·2^(s_out - s_in) + [q = 0]·y_tab, [q > 0] = [q ≥ 0] - [q = 0].
                let z = gadgets::is_zero(b, st.q, || q.var.into());
                let above = b.alloc(fr(if st.q > 0 { x.value } else { 0 }));
                b.enforce(
                    || {
                        let mut pos = q.nonneg_bit();
                        pos.add_term(z, -fr(1));
                        pos
                    },
                    || x.lc.clone(),
                    || above.into(),
                );
                let sel = b.alloc(fr(if st.q == 0 { st.y_tab } else { 0 }));
                b.enforce(|| z.into(), || y_tab.var.into(), || sel.into());
                let mut lc = Lc::from(above).scaled(fr(i128::from(self.tail_mul)));
                lc.add_term(sel, fr(1));
                CValue {
                    lc,
                    value: st.y,
                    range: None,
                }
            }
        };
        match self.check_bits {
            None => Ok(y),
            Some(bits) => {
                let r = ensure_signed(b, &y, bits)?;
                Ok(CValue {
                    lc: r.var.into(),
                    value: y.value,
                    range: Some(r),
                })
            }
        }
    }

    /// Builds the op for inputs of `in_bits` bits at scale `s_in`, outputs at `s_out`
    /// (`s_out ≥ s_in`, so that the identity tail is exact).
    pub fn new(func: Func, in_bits: u32, s_in: i32, s_out: i32) -> Result<Gelu, String> {
        let p = func.window_log2() + 1 + s_in;
        if !(1..=40).contains(&p) || !(0..=30).contains(&s_out) || s_out < s_in {
            return Err(format!(
                "input scale {s_in} and output scale {s_out} are out of the supported range \
                 (the output scale must be at least the input's)"
            ));
        }
        let p = p as u32;
        let m = func.index_bits().min(p);
        let w = p - m;
        let k = s_out as u32 + GUARD_BITS;
        let scale_in = 2f64.powi(s_in);
        let mut coefs: Vec<Vec<_>> = (0..=DEGREE).map(|_| Vec::with_capacity(1 << m)).collect();
        let q = |v: f64| (v * 2f64.powi(k as i32)).round() as i64;
        for seg in 0..1i64 << m {
            // The segment covers inputs x0 + t/2^s_in for t in [0, 2^w); u = t/2^w.
            let x0 = ((seg << w) - (1i64 << (p - 1))) as f64 / scale_in;
            let h = 2f64.powi(w as i32) / scale_in;
            let c = fit_poly(|u| func.f(x0 + h * u), 1.0 - 0.5f64.powi(w as i32));
            for (j, cj) in c.into_iter().enumerate() {
                coefs[j].push(q(cj));
            }
        }
        let (in_lo, in_hi) = crate::ops::compare::signed_interval(in_bits);
        let l = 1i128 << (p - 1);
        let (q_lo, q_hi) = ((in_lo + l) >> p, (in_hi + l) >> p);
        let q_bits = if q_lo == 0 && q_hi == 0 {
            0
        } else {
            fixed::bits_for_range(q_lo, q_hi)
        };
        let mut op = Gelu {
            func,
            in_bits,
            in_scale: s_in,
            out_scale: s_out,
            window_bits: p,
            index_bits: m,
            q_bits,
            coefs,
            shift: k + DEGREE as u32 * w - s_out as u32,
            table_bits: 0,
            table_lo: 0,
            table_hi: 0,
            tail_mul: 1i64 << (s_out - s_in),
            check_bits: None,
        };
        let (lo, hi) = op.table_interval();
        crate::ops::check_acc(lo << op.shift, hi << op.shift)?;
        op.table_bits = fixed::bits_for_range(lo, hi);
        (op.table_lo, op.table_hi) = (lo as i64, hi as i64);
        Ok(op)
    }

    /// The exact interval of the table's outputs. Horner's rule evaluates the cubic exactly, so
    /// on each segment its extremes over integer offsets lie at the ends or next to the real
    /// critical points; requantisation is monotone.
    fn table_interval(&self) -> (i128, i128) {
        let w = self.w();
        let t_max = (1i128 << w) - 1;
        let (mut lo, mut hi) = (i128::MAX, i128::MIN);
        for seg in 0..1usize << self.index_bits {
            let c =
                |j: usize| self.coefs[j][seg] as f64 * 2f64.powi(((DEGREE - j) as u32 * w) as i32);
            // d/dt: 3·C3·t² + 2·C2'·t + C1' with the scaled coefficients.
            let (a, bq, cq) = (3.0 * c(3), 2.0 * c(2), c(1));
            let mut ts = vec![0, t_max];
            let mut roots = Vec::new();
            if a != 0.0 {
                let disc = bq * bq - 4.0 * a * cq;
                if disc >= 0.0 {
                    let s = disc.sqrt();
                    roots.extend([(-bq - s) / (2.0 * a), (-bq + s) / (2.0 * a)]);
                }
            } else if bq != 0.0 {
                roots.push(-cq / bq);
            }
            for r in roots.into_iter().filter(|r| r.is_finite()) {
                let f = r.floor().clamp(-4.0, t_max as f64 + 4.0) as i128;
                ts.extend((f - 2..=f + 3).filter(|t| (0..=t_max).contains(t)));
            }
            for t in ts {
                let y = fixed::requantize(self.horner(seg, t).1, self.shift).0;
                lo = lo.min(y);
                hi = hi.max(y);
            }
        }
        (lo, hi)
    }
}

impl Op for Gelu {
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

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        // The table's interval, zero below the window and the scaled input above it.
        let (x_lo, x_hi) = inputs[0];
        let l = 1i128 << (self.window_bits - 1);
        let (mut lo, mut hi) = (i128::from(self.table_lo), i128::from(self.table_hi));
        if x_lo < -l {
            lo = lo.min(0);
            hi = hi.max(0);
        }
        if x_hi >= l {
            let k = i128::from(self.tail_mul);
            lo = lo.min(x_lo.max(l) * k);
            hi = hi.max(x_hi * k);
        }
        crate::ops::check_acc(lo, hi)?;
        Ok((lo, hi))
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // The input's error through the slope, rescaled to the output's scale; the stated
        // approximation error; the coefficients' rounding (half a unit at scale K each, times
        // (t/2^w)^j ≤ 1); the output's rounding.
        let out = 2f64.powi(self.out_scale);
        let coef_rounding =
            (DEGREE + 1) as f64 * 0.5 * 2f64.powi(-(self.out_scale + GUARD_BITS as i32));
        self.func.lipschitz() * errors[0] * 2f64.powi(self.out_scale - self.in_scale)
            + (self.func.approx_error() + coef_rounding) * out
            + 0.5
    }
}

/// Monomial coefficients `c[0..=DEGREE]` of the polynomial in `u` interpolating `g` at the
/// Chebyshev nodes of `[0, u_max]` (near-minimax for smooth `g`); a constant when `u_max = 0`.
fn fit_poly(g: impl Fn(f64) -> f64, u_max: f64) -> Vec<f64> {
    let n = DEGREE + 1;
    if u_max <= 0.0 {
        let mut c = vec![0.0; n];
        c[0] = g(0.0);
        return c;
    }
    let nodes: Vec<f64> = (0..n)
        .map(|k| {
            u_max * (1.0 - (std::f64::consts::PI * (2 * k + 1) as f64 / (2 * n) as f64).cos()) / 2.0
        })
        .collect();
    // Newton's divided differences, then expanded into monomials.
    let mut d: Vec<f64> = nodes.iter().map(|&u| g(u)).collect();
    for level in 1..n {
        for i in (level..n).rev() {
            d[i] = (d[i] - d[i - 1]) / (nodes[i] - nodes[i - level]);
        }
    }
    let mut c = vec![0.0; n];
    for i in (0..n).rev() {
        // c ← c·(u - nodes[i]) + d[i]
        let mut next = vec![0.0; n];
        for j in 0..n {
            if j + 1 < n {
                next[j + 1] += c[j];
            }
            next[j] -= c[j] * nodes[i];
        }
        next[0] += d[i];
        c = next;
    }
    c
}

/// The error function to about 1e-15: its Maclaurin series for `|x| < 2.5`, the continued
/// fraction of `erfc` beyond (no float library in std has it).
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let v = if a < 2.5 {
        let (mut term, mut sum, x2) = (a, a, a * a);
        for n in 1..200 {
            term *= -x2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(a) = e^(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + …))))).
        let mut f = a;
        for k in (1..80).rev() {
            f = a + (k as f64 / 2.0) / f;
        }
        1.0 - (-a * a).exp() / (std::f64::consts::PI.sqrt() * f)
    };
    v.copysign(x)
}

/// ONNX `Gelu` (opset 20; also what [`crate::onnx::patterns`] makes of exported
/// decompositions): approximate = "none" (erf) or "tanh".
pub fn lower_gelu(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let func = match ctx.attr_str("approximate").as_deref() {
        None | Some("none") => Func::GeluErf,
        Some("tanh") => Func::GeluTanh,
        Some(other) => return Err(ctx.unsupported(&format!("approximate = \"{other}\""))),
    };
    lower(ctx, func)
}

/// `Silu` (`x · σ(x)`, the node [`crate::onnx::patterns`] makes of `Mul(x, Sigmoid(x))`).
pub fn lower_silu(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    lower(ctx, Func::Silu)
}

fn lower(ctx: &mut LowerCtx, func: Func) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let s_out = ctx.settings().scale.max(info.scale);
    let mut op =
        Gelu::new(func, info.bits, info.scale, s_out).map_err(|why| ctx.unsupported(&why))?;
    let (lo, hi) = op
        .bounds(&[crate::ops::compare::signed_interval(info.bits)])
        .map_err(|why| ctx.bad_model(why))?;
    let derived = fixed::bits_for_range(lo, hi);
    let chosen = ctx.out_bits();
    let bits = if derived <= chosen {
        derived
    } else {
        op.check_bits = Some(chosen);
        chosen
    };
    let op_type = ctx.op_type().to_string();
    ctx.emit(
        &op_type,
        crate::ops::QOp::Gelu(op),
        vec![x],
        info.shape,
        s_out,
        bits,
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ops::compare::tests::{assert_pinned, input};

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.1, 0.1124629160182849),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527),
            (2.49, 0.9995707121322661),
            (2.5, 0.999_593_047_982_555),
            (3.0, 0.9999779095030014),
            (-1.5, -0.9661051464753108),
            (5.0, 0.9999999999984626),
        ] {
            assert!(
                (erf(x) - want).abs() < 1e-14,
                "erf({x}) = {} != {want}",
                erf(x)
            );
        }
    }

    /// Max |error| against the float function over every input of `bits` bits at scale `s`.
    fn exhaustive_error(func: Func, bits: u32, s: i32) -> f64 {
        let op = Gelu::new(func, bits, s, s).unwrap();
        let (lo, hi) = crate::ops::compare::signed_interval(bits);
        let xs: Vec<i64> = (lo as i64..=hi as i64).collect();
        let ys = op.eval(&[&xs]).unwrap();
        let (b_lo, b_hi) = op.bounds(&[(lo, hi)]).unwrap();
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                assert!(
                    (b_lo..=b_hi).contains(&i128::from(y)),
                    "{func:?}: {y} outside bounds"
                );
                (fixed::dequantize(y, s) - func.f(fixed::dequantize(x, s))).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exhaustive_error_is_as_documented() {
        for (func, at8, at10) in [
            (Func::GeluErf, 0.00201, 0.00053),
            (Func::GeluTanh, 0.00202, 0.00053),
            (Func::Silu, 0.00211, 0.00060),
        ] {
            let e8 = exhaustive_error(func, 16, 8);
            let e10 = exhaustive_error(func, 20, 10);
            println!(
                "{func:?}: max error {e8:.5} (16 bits, scale 8), {e10:.5} (20 bits, scale 10)"
            );
            assert!(e8 <= at8, "{func:?} at scale 8: {e8}");
            assert!(e10 <= at10, "{func:?} at scale 10: {e10}");
            // The stated bound holds too (zero input error: the input is exact here).
            let op = Gelu::new(func, 16, 8, 8).unwrap();
            let bound = op.error_bound(&[(-32768, 32767)], &[0.0]) / 256.0;
            assert!(e8 <= bound, "{func:?}: {e8} > bound {bound}");
        }
    }

    #[test]
    fn approximation_error_is_as_stated() {
        // The exact-coefficient segments and the tails, sampled densely in real units.
        for func in [Func::GeluErf, Func::GeluTanh, Func::Silu] {
            let half = 2f64.powi(func.window_log2());
            let m = func.index_bits();
            let h = 2.0 * half / f64::from(1u32 << m);
            let mut worst = 0f64;
            for seg in 0..1u32 << m {
                let x0 = -half + h * f64::from(seg);
                let c = fit_poly(|u| func.f(x0 + h * u), 1.0);
                for i in 0..=400 {
                    let u = f64::from(i) / 400.0;
                    let p: f64 = c.iter().rev().fold(0.0, |acc, &cj| acc * u + cj);
                    worst = worst.max((p - func.f(x0 + h * u)).abs());
                }
            }
            for i in 0..=2000 {
                let x = half + f64::from(i) * 0.05;
                worst = worst.max((func.f(x) - x).abs()).max(func.f(-x).abs());
            }
            println!("{func:?}: approximation error {worst:.2e}");
            assert!(worst <= func.approx_error(), "{func:?}: {worst}");
        }
    }

    #[test]
    fn table_interval_is_exact() {
        for func in [Func::GeluErf, Func::Silu] {
            let op = Gelu::new(func, 16, 8, 8).unwrap();
            let (mut lo, mut hi) = (i128::MAX, i128::MIN);
            for u in 0..1i128 << op.window_bits {
                let x = u - (1 << (op.window_bits - 1));
                let y = op.steps(x).y_tab;
                lo = lo.min(y);
                hi = hi.max(y);
            }
            assert_eq!(
                (lo, hi),
                (op.table_lo.into(), op.table_hi.into()),
                "{func:?}"
            );
        }
    }

    fn circuit(
        func: Func,
        in_bits: u32,
        xs: &[i64],
        checked: bool,
    ) -> (crate::r1cs::Synthesis, usize, usize) {
        let op = Gelu::new(func, in_bits, 8, 8).unwrap();
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
        // Both tails, the window's edges, segment boundaries and the middle.
        let xs: Vec<i64> = vec![
            -32768, -4097, -4096, -1025, -1024, -1023, -129, -128, -1, 0, 1, 63, 64, 1023, 1024,
            4095, 4096, 32767,
        ];
        for (func, cost) in [(Func::GeluErf, 73), (Func::GeluTanh, 73), (Func::Silu, 93)] {
            let (s, first, per) = circuit(func, 16, &xs, false);
            let op = Gelu::new(func, 16, 8, 8).unwrap();
            println!(
                "{func:?}: {per} constraints per element (q {} bits, u {}, shift {}, table {} bits)",
                op.q_bits, op.window_bits, op.shift, op.table_bits
            );
            assert_eq!(per, cost, "{func:?}");
            assert_pinned(&s, first);
        }
        // An input that cannot leave the window needs no q, zero test or selection.
        let (s, first, per) = circuit(Func::GeluErf, 11, &[-1024, -5, 0, 7, 1023], true);
        assert_eq!(per, 73 - 6 - 3 - 2);
        assert_pinned(&s, first);
    }

    #[test]
    fn perturbing_any_witness_value_is_rejected() {
        // Beyond the pinning test's +1: several offsets on every variable, in and out of the
        // window.
        for x in [-20000, 300, 20000] {
            let (s, first, _) = circuit(Func::Silu, 16, &[x], false);
            for i in first..s.assignment.len() {
                for d in [-1i128, 1, 2] {
                    let mut z = s.assignment.clone();
                    z[i] += fr(d);
                    assert!(!s.r1cs.is_satisfied(&z), "x {x}: variable {i} + {d}");
                }
            }
        }
    }
}
