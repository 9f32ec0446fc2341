//! LayerNormalization and RMSNorm over the trailing axes, on integers shared by inference and
//! the circuit. Nothing is rounded before the reciprocal square root, and the reciprocal square
//! root is a hint the circuit proves, never trusts.
//!
//! Per row of `n` values `x_i` (scale `s_in`):
//! 1. `d_i = n·x_i - Σx` (LayerNorm; RMSNorm: `d_i = n·x_i`): the centred values with the
//!    mean's division folded in, exact and linear (`Σx` is one variable per row).
//! 2. `W = Σ d_i² / n`, exact (`Σd² = n(nΣx² - (Σx)²)`, resp. `n²Σx²`, is a multiple of `n`;
//!    the circuit multiplies by `n⁻¹` in the field): `n` multiplications. The variance plus
//!    epsilon is `(W + ε·n²·2^(2·s_in)) / (n²·2^(2·s_in))`; with `g` guard bits
//!    `v = W·2^g + E`, `E = round(ε·n²·2^(2·s_in + g)) ≥ 1` (epsilon quantised into the
//!    variance's units; `g` makes its rounding negligible).
//! 3. `r = floor(2^K / √v)`, a hint proven by `r²·v ≤ 2^(2K) < (r+1)²·v`: `r` range-checked
//!    to its bits, `r·v` and `r·(r·v)` (two multiplications), both differences
//!    `2^(2K) - r²v` and `(r+1)²v - 2^(2K) - 1 = r²v + 2rv + v - 2^(2K) - 1` range-checked
//!    non-negative. The differences are below `2^(K+1)·√v_max + v_max` and no product comes
//!    near the field's size, so the inequalities hold over the integers and `r` is unique.
//! 4. `(x_i - μ)/√(var + ε) ≈ d_i·r·2^(g/2 - K)`: `t_i = d_i·r` (one multiplication), then
//!    `acc_i = γ_i·t_i + β_i` with γ (scale `s_out + 3 + ⌈log2 √n⌉`) and β (the accumulator's
//!    scale) per-channel circuit constants — linear — requantised to the output scale.
//!
//! `K` and `g` are chosen from the input's bits, `n`, `max|γ|` and ε so that each rounding
//! (of `r`, of `E`, of γ) contributes at most 1/8 of an output unit; [`Op::error_bound`]
//! states the total: those terms, half an output unit, and the input's error through the
//! normalisation's Lipschitz constant `max|γ|·√n/√ε` (capped at the output's own spread
//! `2·max|γ|·√n`, since `|x_i - μ|/σ ≤ √n`).
//!
//! Cost per row: `2n` multiplications, `n` requantisations (`shift + out_bits` each), the bits
//! of `r` and of the two differences, two multiplications, plus one constraint for `Σx`
//! (LayerNorm). At `n = 8`, 16-bit input at scale 8, output scale 8, γ ∈ [0.5, 1.5]: **68.0
//! constraints per element (LayerNorm) / 67.9 (RMSNorm)**: 2 multiplications, the
//! requantisation 36 + 11 (the output needs 11 bits whatever the input), and the row's proof of
//! `r` (29 + 2 + 2·60 bits) shared by its 8 elements (a wider row shares it more, but its
//! shift grows by about `log2 n`, as the normalised values reach `√n`). Measured error on random and adversarial rows (see the tests): **0.00204
//! (LayerNorm) / 0.00202 (RMSNorm)** at that setting, 0.00051 / 0.00051 with 20-bit input at
//! scale 10, against exact float arithmetic on the quantised input; stated bounds 0.00246 /
//! 0.00239 and 0.00061 / 0.00061.

use crate::fixed;
use crate::gadgets::{self, fr, pow2, RangeError};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, CValue, Op, OpError, ACC_LIMIT_BITS};
use crate::r1cs::{Builder, Lc};
use ark_ff::Field;
use serde::{Deserialize, Serialize};

/// Which normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NormKind {
    /// `(x - mean) / √(var + ε) · γ + β`.
    LayerNorm,
    /// `x / √(mean(x²) + ε) · γ`.
    Rms,
}

/// A normalisation over rows of `n` contiguous values (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Norm {
    /// LayerNorm (centred) or RMSNorm.
    pub kind: NormKind,
    /// Values per row (the product of the normalised axes).
    pub n: usize,
    /// Signed bits of the input.
    pub in_bits: u32,
    /// Guard bits of the variance: `v = W·2^g + E` (even, so that `2^(g/2)` is exact).
    pub g: u32,
    /// `E`, epsilon in the units of `v`.
    pub eps_q: i64,
    /// `K`: `r = floor(2^K / √v)`.
    pub k: u32,
    /// Bits of `r` (unsigned).
    pub r_bits: u32,
    /// Bits of each of the two differences proving `r`.
    pub diff_bits: u32,
    /// γ per channel (`n`) at `gamma_scale`.
    pub gamma: Vec<i64>,
    /// β per channel (`n`) at the accumulator's scale (`shift + out_scale`).
    pub beta: Vec<i64>,
    /// Bits dropped by the requantisation: accumulator scale − output scale.
    pub shift: u32,
    /// Signed bits of the output (its range check).
    pub out_bits: u32,
    /// The input's scale.
    pub in_scale: i32,
    /// The output's scale.
    pub out_scale: i32,
    /// The scale of `gamma`.
    pub gamma_scale: i32,
    /// ε as the model states it (for the error bound).
    pub eps: f64,
    /// The largest |γ| (for the error bound).
    pub gamma_max: f64,
}

/// The intermediate integers of one row, shared by inference and the witness.
struct Row {
    sum: i128,
    d: Vec<i128>,
    v: i128,
    r: i128,
    rv: i128,
    rrv: i128,
    t: Vec<i128>,
    acc: Vec<i128>,
    y: Vec<i128>,
}

/// `floor(√a)`.
pub fn isqrt(a: u128) -> u128 {
    if a < 2 {
        return a;
    }
    let mut r = (a as f64).sqrt() as u128;
    while r.checked_mul(r).is_none_or(|s| s > a) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|s| s <= a) {
        r += 1;
    }
    r
}

impl Norm {
    /// `2^(2K)`.
    fn big(&self) -> i128 {
        1i128 << (2 * self.k)
    }

    /// `v`'s largest value: `W ≤ n²·2^(2·in_bits - 2)` (`Σ(x - μ)² ≤ Σx² ≤ n·2^(2·in_bits-2)`).
    fn v_max(&self) -> f64 {
        let n = self.n as f64;
        n * n * 2f64.powi(2 * self.in_bits as i32 - 2) * 2f64.powi(self.g as i32)
            + self.eps_q as f64
    }

    fn row(&self, x: &[i128]) -> Row {
        let n = self.n as i128;
        let sum = match self.kind {
            NormKind::LayerNorm => x.iter().sum(),
            NormKind::Rms => 0,
        };
        let d: Vec<i128> = x.iter().map(|&v| n * v - sum).collect();
        let sq: i128 = d.iter().map(|&v| v * v).sum();
        debug_assert_eq!(sq % n, 0, "Σd² is a multiple of n");
        let v = ((sq / n) << self.g) + i128::from(self.eps_q);
        let r = isqrt(self.big() as u128 / v as u128) as i128;
        debug_assert!(r * r * v <= self.big() && (r + 1) * (r + 1) * v > self.big());
        let t: Vec<i128> = d.iter().map(|&v| v * r).collect();
        let acc: Vec<i128> = t
            .iter()
            .enumerate()
            .map(|(i, &t)| i128::from(self.gamma[i]) * t + i128::from(self.beta[i]))
            .collect();
        let y = acc
            .iter()
            .map(|&a| fixed::requantize(a, self.shift).0)
            .collect();
        Row {
            sum,
            d,
            v,
            r,
            rv: r * v,
            rrv: r * r * v,
            t,
            acc,
            y,
        }
    }

    /// The checks the circuit makes, on integers: the output's bits (the others hold for any
    /// input within its bits). The index is the element's within the row.
    fn check(&self, row: &Row) -> Result<(), (usize, RangeError)> {
        match row
            .y
            .iter()
            .position(|&y| !fixed::fits_bits(y, self.out_bits))
        {
            None => Ok(()),
            Some(i) => Err((
                i,
                RangeError {
                    value: row.y[i],
                    bits: self.out_bits,
                },
            )),
        }
    }

    fn synth_row(&self, b: &mut Builder, x: &[CValue]) -> Result<Vec<CValue>, (usize, RangeError)> {
        let xs: Vec<i128> = x.iter().map(|c| c.value).collect();
        let st = self.row(&xs);
        if !b.structure_only() {
            self.check(&st)?;
        }
        let n = self.n;
        let at0 = |e: RangeError| (0usize, e);
        // 1. Σx as one variable, so that each d_i is a short combination.
        let sum = match self.kind {
            NormKind::LayerNorm => {
                let s = b.alloc(fr(st.sum));
                b.enforce_zero(|| {
                    let mut lc = Lc::with_capacity(n + 1);
                    for c in x {
                        lc.add_scaled(&c.lc, fr(1));
                    }
                    lc.add_term(s, -fr(1));
                    lc
                });
                Some(s)
            }
            NormKind::Rms => None,
        };
        let d_lc = |i: usize| -> Lc {
            let mut lc = x[i].lc.scaled(fr(n as i128));
            if let Some(s) = sum {
                lc.add_term(s, -fr(1));
            }
            lc
        };
        // 2. d_i², and v = 2^g·n⁻¹·Σd² + E (exact: Σd² is a multiple of n).
        let mut sq = Vec::with_capacity(n);
        for (i, &d) in st.d.iter().enumerate() {
            let var = b.alloc(fr(d * d));
            b.enforce(|| d_lc(i), || d_lc(i), || var.into());
            sq.push(var);
        }
        let v_coef = pow2(self.g) * fr(n as i128).inverse().expect("n > 0");
        let v_lc = || {
            let mut lc = Lc::with_capacity(n + 1);
            for &s in &sq {
                lc.add_term(s, v_coef);
            }
            lc.add_constant(fr(i128::from(self.eps_q)));
            lc
        };
        // 3. r = floor(2^K/√v): r²v ≤ 2^(2K) < (r+1)²v.
        let r = b.alloc(fr(st.r));
        gadgets::range_check(b, st.r, self.r_bits, || r.into()).map_err(at0)?;
        let rv = b.alloc(fr(st.rv));
        b.enforce(|| r.into(), v_lc, || rv.into());
        let rrv = b.alloc(fr(st.rrv));
        b.enforce(|| r.into(), || rv.into(), || rrv.into());
        let big = self.big();
        gadgets::range_check(b, big - st.rrv, self.diff_bits, || {
            let mut lc = Lc::from(rrv).scaled(-fr(1));
            lc.add_constant(pow2(2 * self.k));
            lc
        })
        .map_err(at0)?;
        gadgets::range_check(
            b,
            st.rrv + 2 * st.rv + st.v - big - 1,
            self.diff_bits,
            || {
                let mut lc = v_lc();
                lc.add_term(rrv, fr(1));
                lc.add_term(rv, fr(2));
                lc.add_constant(-pow2(2 * self.k) - fr(1));
                lc
            },
        )
        .map_err(at0)?;
        // 4. t_i = d_i·r, y_i = requant(γ_i·t_i + β_i).
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let t = b.alloc(fr(st.t[i]));
            b.enforce(|| d_lc(i), || r.into(), || t.into());
            let (g, be) = (self.gamma[i], self.beta[i]);
            let y = gadgets::requantize(b, st.acc[i], self.shift, self.out_bits, || {
                let mut lc = Lc::from(t).scaled(fr(i128::from(g)));
                lc.add_constant(fr(i128::from(be)));
                lc
            })
            .map_err(|e| (i, e))?;
            out.push(CValue {
                lc: y.var.into(),
                value: y.value,
                range: Some(y),
            });
        }
        Ok(out)
    }

    /// The accumulators' interval: `|t| ≤ √n·2^(K - g/2)` whatever the input, since
    /// `|d_i| ≤ √(Σd²) = √(n·W)` and `v ≥ W·2^g`.
    fn acc_interval(&self) -> (i128, i128) {
        let t_max = ((self.n as f64).sqrt() * 2f64.powi(self.k as i32 - (self.g / 2) as i32)).ceil()
            as i128;
        let (mut lo, mut hi) = (i128::MAX, i128::MIN);
        for (&g, &be) in self.gamma.iter().zip(&self.beta) {
            let span = i128::from(g).abs() * t_max;
            lo = lo.min(i128::from(be) - span);
            hi = hi.max(i128::from(be) + span);
        }
        (lo, hi)
    }

    /// Builds the op: rows of `n` values of `in_bits` bits at scale `s_in`, γ and β per channel
    /// (`n` each), ε, output at `s_out` with at most `out_bits` bits (fewer when its worst case
    /// needs fewer). `Err` says why the parameters are out of reach (a value beyond
    /// [`ACC_LIMIT_BITS`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: NormKind,
        n: usize,
        in_bits: u32,
        s_in: i32,
        s_out: i32,
        eps: f64,
        gamma: &[f64],
        beta: &[f64],
        out_bits: u32,
    ) -> Result<Norm, String> {
        if n == 0 || gamma.len() != n || beta.len() != n {
            return Err(format!(
                "{n} values per row with {} scales and {} biases",
                gamma.len(),
                beta.len()
            ));
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(format!("epsilon {eps} (zkinfer needs ε > 0)"));
        }
        if gamma.iter().chain(beta).any(|v| !v.is_finite()) {
            return Err("a scale or bias that is not finite".into());
        }
        let nf = n as f64;
        let sqrt_n = nf.sqrt();
        let gamma_max = gamma
            .iter()
            .fold(0f64, |m, v| m.max(v.abs()))
            .max(2f64.powi(-30));
        let gamma_scale = s_out + 3 + sqrt_n.log2().ceil() as i32;
        // E large enough that its rounding costs ≤ 1/8 output unit (see `own_error`).
        let e_target = gamma_max * sqrt_n * 2f64.powi(s_out + 2);
        let e_true = |g: u32| eps * nf * nf * 2f64.powi(2 * s_in + g as i32);
        let mut g = 0;
        while e_true(g) < e_target && g < 60 {
            g += 2;
        }
        let eps_q = e_true(g).round().max(1.0);
        if eps_q >= 2f64.powi(62) {
            return Err(format!("epsilon {eps} is too large for scale {s_in}"));
        }
        let mut op = Norm {
            kind,
            n,
            in_bits,
            g,
            eps_q: eps_q as i64,
            k: 0,
            r_bits: 0,
            diff_bits: 0,
            gamma: vec![],
            beta: vec![],
            shift: 0,
            out_bits,
            in_scale: s_in,
            out_scale: s_out,
            gamma_scale,
            eps,
            gamma_max,
        };
        let v_max = op.v_max();
        // The floor of r costs ≤ max|γ|·√(n·v_max)/2^K ≤ 1/8 output unit.
        let k = ((nf * v_max).sqrt() * gamma_max).log2().ceil() as i32 + s_out + 3;
        let k = k.max((g / 2) as i32 + 1).max(1) as u32;
        if 2 * k + 2 > ACC_LIMIT_BITS {
            return Err(format!(
                "the reciprocal square root needs 2^{} for {n} values of {in_bits} bits, beyond the \
                 2^{ACC_LIMIT_BITS} zkinfer allows; lower --bits or --scale",
                2 * k
            ));
        }
        op.k = k;
        let r_max = isqrt((1u128 << (2 * k)) / op.eps_q as u128);
        op.r_bits = (128 - r_max.leading_zeros()).max(1);
        let diff_max = 2f64.powi(k as i32 + 1) * v_max.sqrt() + v_max;
        op.diff_bits = diff_max.log2().ceil() as u32 + 1;
        // No product of range-checked values may wrap: r²·v < 2^(2·r_bits)·v_max.
        if 2 * op.r_bits + v_max.log2().ceil() as u32 + 4 > 240 || op.diff_bits > 240 {
            return Err(format!(
                "epsilon {eps} is too small for the field at scale {s_in}"
            ));
        }
        let acc_scale = k as i32 - (g / 2) as i32 + gamma_scale;
        op.shift = (acc_scale - s_out) as u32;
        let q = |v: f64, s: i32| {
            fixed::quantize(v, s)
                .filter(|q| q.unsigned_abs() < 1 << 62)
                .ok_or_else(|| format!("scale or bias {v} cannot be quantised at scale {s}"))
        };
        op.gamma = gamma
            .iter()
            .map(|&v| q(v, gamma_scale))
            .collect::<Result<_, _>>()?;
        op.beta = beta
            .iter()
            .map(|&v| q(v, acc_scale))
            .collect::<Result<_, _>>()?;
        let (lo, hi) = op.acc_interval();
        crate::ops::check_acc(lo, hi)?;
        let (y_lo, y_hi) = (
            fixed::requantize(lo, op.shift).0,
            fixed::requantize(hi, op.shift).0,
        );
        op.out_bits = out_bits.min(fixed::bits_for_range(y_lo, y_hi));
        Ok(op)
    }

    /// This op's own error in real units (all but the input's): the floor of `r`, the rounding
    /// of `E`, of γ and of β (the output's rounding is added by the caller).
    fn own_error(&self) -> f64 {
        let nf = self.n as f64;
        let sqrt_n = nf.sqrt();
        // |d_i|·2^(g/2)·(1/√v - r/2^K) ≤ √(n·v)/2^K.
        let floor_r = (nf * self.v_max()).sqrt() * 2f64.powi(-(self.k as i32));
        // |1/√v - 1/√v'| ≤ |ΔE|/(2·min^1.5) and |d_i|·2^(g/2) ≤ √(n·min).
        let e_true = self.eps * nf * nf * 2f64.powi(2 * self.in_scale + self.g as i32);
        let eps_round =
            sqrt_n * (self.eps_q as f64 - e_true).abs() / (2.0 * e_true.min(self.eps_q as f64));
        // The normalised value is at most √n.
        let gamma_round = sqrt_n * 0.5 * 2f64.powi(-self.gamma_scale);
        let acc_scale = (self.shift as i32) + self.out_scale;
        let beta_round = 0.5 * 2f64.powi(-acc_scale);
        self.gamma_max * (floor_r + eps_round) + gamma_round + beta_round
    }
}

impl Op for Norm {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        crate::ops::check_input_bits(inputs[0], self.in_bits)?;
        let mut out = Vec::with_capacity(inputs[0].len());
        for (k, chunk) in inputs[0].chunks(self.n).enumerate() {
            let xs: Vec<i128> = chunk.iter().map(|&v| i128::from(v)).collect();
            let row = self.row(&xs);
            self.check(&row).map_err(|(i, range)| OpError {
                index: k * self.n + i,
                range,
            })?;
            out.extend(row.y.iter().map(|&y| y as i64));
        }
        Ok(out)
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let mut out = Vec::with_capacity(inputs[0].len());
        for (k, chunk) in inputs[0].chunks(self.n).enumerate() {
            let y = self.synth_row(b, chunk).map_err(|(i, range)| OpError {
                index: k * self.n + i,
                range,
            })?;
            out.extend(y);
        }
        Ok(out)
    }

    fn bounds(&self, _inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        // Whatever the input: the normalised value is at most √n in magnitude.
        let (lo, hi) = self.acc_interval();
        crate::ops::check_acc(lo, hi)?;
        Ok((
            fixed::requantize(lo, self.shift).0,
            fixed::requantize(hi, self.shift).0,
        ))
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        // The input's error through the normalisation (Lipschitz 1/√(var + ε) ≤ 1/√ε in the
        // 2-norm, so ≤ √n·e/√ε per element), capped by the spread of its values (2·√n), times
        // max|γ|; this op's own roundings; the output's rounding.
        let sqrt_n = (self.n as f64).sqrt();
        let e_in = errors[0] * 2f64.powi(-self.in_scale);
        let propagated = (sqrt_n * e_in / self.eps.sqrt()).min(2.0 * sqrt_n) * self.gamma_max;
        (propagated + self.own_error()) * 2f64.powi(self.out_scale) + 0.5
    }
}

/// ONNX `LayerNormalization` (opset 17): X, Scale, optional B; `axis` (default -1), `epsilon`
/// (default 1e-5). The optional Mean and InvStdDev outputs must be unused.
pub fn lower_layer_norm(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    lower(ctx, NormKind::LayerNorm)
}

/// ONNX `RMSNormalization` (opset 23; also what [`crate::onnx::patterns`] makes of Llama's
/// decomposition): X, scale; `axis` (default -1), `epsilon` (default 1e-5).
pub fn lower_rms_norm(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    lower(ctx, NormKind::Rms)
}

/// A per-channel constant over the `n` normalised values: `n` values (any leading axes of size
/// 1) or one value for all.
fn per_channel(
    ctx: &LowerCtx,
    c: &crate::onnx::Const,
    n: usize,
    what: &str,
) -> Result<Vec<f64>, CompileError> {
    match c.data.len() {
        1 => Ok(vec![c.data[0]; n]),
        len if len == n => Ok(c.data.clone()),
        _ => Err(ctx.unsupported(&format!(
            "{what} of shape {:?} for rows of {n} values",
            c.shape
        ))),
    }
}

fn lower(ctx: &mut LowerCtx, kind: NormKind) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    let info = ctx.tensor(x).clone();
    let rank = info.shape.len() as i64;
    let axis = ctx.attr_int("axis", -1);
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(ctx.bad_model(format!("axis {axis} of a rank-{rank} input")));
    }
    for (k, name) in ctx.node.output.iter().enumerate().skip(1) {
        if !name.is_empty() && ctx.consumers.get(name).copied().unwrap_or(0) > 0 {
            return Err(ctx.unsupported(&format!(
                "output {k} (the mean or inverse deviation) is read"
            )));
        }
    }
    let n: usize = info.shape[axis as usize..].iter().product();
    let gamma = per_channel(ctx, &ctx.const_input(1)?, n, "scale")?;
    let beta = match kind {
        NormKind::LayerNorm => match ctx.optional_const_input(2)? {
            Some(c) => per_channel(ctx, &c, n, "bias")?,
            None => vec![0.0; n],
        },
        NormKind::Rms => vec![0.0; n],
    };
    let eps = ctx.attr_float("epsilon", 1e-5);
    let s_out = ctx.settings().scale;
    let op = Norm::new(
        kind,
        n,
        info.bits,
        info.scale,
        s_out,
        eps,
        &gamma,
        &beta,
        ctx.out_bits(),
    )
    .map_err(|why| ctx.unsupported(&why))?;
    let bits = op.out_bits;
    let op_type = ctx.op_type().to_string();
    ctx.emit(
        &op_type,
        crate::ops::QOp::Norm(op),
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
    use rand::{Rng, SeedableRng};

    fn float(kind: NormKind, x: &[f64], eps: f64, gamma: &[f64], beta: &[f64]) -> Vec<f64> {
        let n = x.len() as f64;
        let mu = match kind {
            NormKind::LayerNorm => x.iter().sum::<f64>() / n,
            NormKind::Rms => 0.0,
        };
        let var = x.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / n;
        x.iter()
            .zip(gamma.iter().zip(beta))
            .map(|(v, (g, b))| (v - mu) / (var + eps).sqrt() * g + b)
            .collect()
    }

    fn params(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let g = (0..n).map(|_| rng.gen_range(0.5..1.5)).collect();
        let b = (0..n).map(|_| rng.gen_range(-0.5..0.5)).collect();
        (g, b)
    }

    #[test]
    fn isqrt_is_the_floor() {
        for a in 0u128..5000 {
            let r = isqrt(a);
            assert!(r * r <= a && (r + 1) * (r + 1) > a, "{a}");
        }
        for a in [
            u128::from(u64::MAX),
            1 << 100,
            (1 << 100) - 1,
            u128::MAX >> 2,
        ] {
            let r = isqrt(a);
            assert!(r * r <= a && (r + 1) * (r + 1) > a, "{a}");
        }
    }

    /// Max error over random rows (and rows built to be hard: constant, one spike, extremes)
    /// against exact float arithmetic on the quantised input.
    fn measured_error(kind: NormKind, n: usize, bits: u32, s: i32) -> (f64, f64) {
        let (gamma, beta) = params(n, 7);
        let beta = if kind == NormKind::Rms {
            vec![0.0; n]
        } else {
            beta
        };
        let eps = if kind == NormKind::Rms { 1e-6 } else { 1e-5 };
        let op = Norm::new(kind, n, bits, s, s, eps, &gamma, &beta, 24).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let half = 1i64 << (bits - 1);
        let mut rows: Vec<Vec<i64>> = (0..3000)
            .map(|k| {
                // Spreads from a few units to the whole range.
                let spread = 1i64 << (k % (bits as usize - 1));
                (0..n)
                    .map(|_| rng.gen_range(-spread..spread).clamp(-half, half - 1))
                    .collect()
            })
            .collect();
        rows.push(vec![5; n]);
        rows.push(vec![-half; n]);
        let mut spike = vec![0; n];
        spike[3] = half - 1;
        rows.push(spike);
        rows.push(
            (0..n)
                .map(|i| if i % 2 == 0 { -half } else { half - 1 })
                .collect(),
        );
        rows.push((0..n as i64).collect());
        let mut worst = 0f64;
        for x in &rows {
            let y = op.eval(&[x]).unwrap();
            let xf: Vec<f64> = x.iter().map(|&v| fixed::dequantize(v, s)).collect();
            let want = float(kind, &xf, eps, &gamma, &beta);
            for (&q, w) in y.iter().zip(&want) {
                worst = worst.max((fixed::dequantize(q, s) - w).abs());
            }
        }
        let bound =
            op.error_bound(&[crate::ops::compare::signed_interval(bits)], &[0.0]) * 2f64.powi(-s);
        (worst, bound)
    }

    #[test]
    fn error_is_within_the_stated_bound() {
        for kind in [NormKind::LayerNorm, NormKind::Rms] {
            for (n, bits, s) in [(8, 16, 8), (8, 20, 10), (64, 16, 8), (5, 12, 6)] {
                let (err, bound) = measured_error(kind, n, bits, s);
                println!("{kind:?} n {n}, {bits} bits at scale {s}: max error {err:.5}, bound {bound:.5}");
                assert!(err <= bound, "{kind:?} n {n}: {err} > {bound}");
                // Within a little more than the output's own rounding.
                assert!(err <= 0.75 * 2f64.powi(-s), "{kind:?} n {n}: {err}");
            }
        }
    }

    #[test]
    fn epsilon_is_included() {
        // A row of tiny values: var ≈ ε, so the result differs visibly from ε = 0.
        let n = 4;
        let op = Norm::new(
            NormKind::LayerNorm,
            n,
            16,
            10,
            10,
            1e-3,
            &[1.0; 4],
            &[0.0; 4],
            16,
        )
        .unwrap();
        let x = [-32i64, -32, 32, 32]; // ±1/32: var = 1/1024 ≈ 0.98e-3
        let y = op.eval(&[&x]).unwrap();
        let want = float(
            NormKind::LayerNorm,
            &[-1.0 / 32.0, -1.0 / 32.0, 1.0 / 32.0, 1.0 / 32.0],
            1e-3,
            &[1.0; 4],
            &[0.0; 4],
        );
        for (&q, w) in y.iter().zip(&want) {
            assert!(
                (fixed::dequantize(q, 10) - w).abs() <= 0.6 / 1024.0,
                "{q} vs {w}"
            );
        }
        assert!(want[0].abs() < 0.75); // not 1, which ε = 0 would give
    }

    fn circuit(kind: NormKind, xs: &[i64], n: usize) -> (crate::r1cs::Synthesis, usize, f64, Norm) {
        let (gamma, beta) = params(n, 3);
        let op = Norm::new(kind, n, 16, 8, 8, 1e-5, &gamma, &beta, 16).unwrap();
        let want = op.eval(&[xs]).unwrap();
        let mut b = Builder::new(vec![], true);
        let x: CTensor = xs
            .iter()
            .map(|&v| input(&mut b, i128::from(v), 16, false))
            .collect();
        let first = b.num_witness() + 1;
        let y = op.synthesize(&mut b, &[&x]).unwrap();
        let per = b.num_constraints() as f64 / xs.len() as f64;
        let s = b.finish();
        for (c, &w) in y.iter().zip(&want) {
            assert_eq!(c.value, i128::from(w));
            assert_eq!(c.lc.eval(&s.assignment), fr(i128::from(w)));
        }
        (s, first, per, op)
    }

    #[test]
    fn circuit_matches_eval_is_pinned_and_costs_as_documented() {
        let xs: Vec<i64> = vec![
            100, -300, 7, 0, 255, -256, 1000, 12, // a random row
            5, 5, 5, 5, 5, 5, 5, 5, // zero variance
            -32768, 32767, -32768, 32767, -32768, 32767, -32768, 32767, // the extremes
        ];
        let mut costs = vec![];
        for kind in [NormKind::LayerNorm, NormKind::Rms] {
            let (s, first, per, op) = circuit(kind, &xs, 8);
            println!(
                "{kind:?}: {per:.1} constraints per element (shift {}, out bits {}, r {} bits, differences {} bits, K {}, g {})",
                op.shift, op.out_bits, op.r_bits, op.diff_bits, op.k, op.g
            );
            assert_pinned(&s, first);
            costs.push(per);
        }
        assert_eq!(costs, vec![68.0, 67.875]);
    }

    #[test]
    fn a_forged_reciprocal_square_root_is_rejected() {
        // r ± 1 with r's bits, both products and the differences' low bits recomputed
        // consistently: one difference is negative, so its derived top bit is not a bit and the
        // proof of r fails (before any later constraint could be blamed).
        let xs = [100i64, -300, 7, 0, 255, -256, 1000, 12];
        let (s, first, _, op) = circuit(NormKind::LayerNorm, &xs, 8);
        let row = op.row(&xs.iter().map(|&v| i128::from(v)).collect::<Vec<_>>());
        // Witness after the inputs: Σx, 8 squares, r, r's low bits, rv, rrv, the differences'
        // low bits.
        let r_at = first + 1 + 8;
        assert_eq!(s.assignment[r_at], fr(row.r));
        let rv_at = r_at + op.r_bits as usize;
        let proof_end = 1 + 8 + op.r_bits as usize + 2 + 2 * op.diff_bits as usize;
        let set_bits = |z: &mut Vec<ark_bn254::Fr>, at: usize, v: i128, n: u32| {
            let v = v.rem_euclid(1 << n);
            for j in 0..n - 1 {
                z[at + j as usize] = fr((v >> j) & 1);
            }
        };
        for forged in [row.r - 1, row.r + 1] {
            let mut z = s.assignment.clone();
            z[r_at] = fr(forged);
            set_bits(&mut z, r_at + 1, forged, op.r_bits);
            let (rv, rrv) = (forged * row.v, forged * forged * row.v);
            z[rv_at] = fr(rv);
            z[rv_at + 1] = fr(rrv);
            let big = op.big();
            set_bits(&mut z, rv_at + 2, big - rrv, op.diff_bits);
            let d2 = rrv + 2 * rv + row.v - big - 1;
            set_bits(
                &mut z,
                rv_at + 2 + op.diff_bits as usize - 1,
                d2,
                op.diff_bits,
            );
            let bad = s.r1cs.first_unsatisfied(&z).expect("forged r accepted");
            assert!(
                bad < proof_end,
                "r = {forged}: first failure {bad} is not in r's proof"
            );
        }
    }

    #[test]
    fn refuses_parameters_beyond_the_limits() {
        assert!(Norm::new(
            NormKind::LayerNorm,
            8,
            16,
            8,
            8,
            0.0,
            &[1.0; 8],
            &[0.0; 8],
            16
        )
        .is_err());
        assert!(Norm::new(
            NormKind::LayerNorm,
            8,
            60,
            8,
            8,
            1e-5,
            &[1.0; 8],
            &[0.0; 8],
            16
        )
        .is_err());
        assert!(Norm::new(
            NormKind::LayerNorm,
            8,
            16,
            8,
            8,
            1e-5,
            &[1.0; 7],
            &[0.0; 8],
            16
        )
        .is_err());
    }
}
