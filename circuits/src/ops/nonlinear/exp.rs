//! `exp(-d)` of a non-negative fixed-point `d` as one integer function shared by inference and
//! the circuit (Softmax's building block): base 2, an exact power-of-two shift, and a piecewise
//! quadratic for the fractional power.
//!
//! For `d ≥ 0` at scale `s_in` (integer units), the result approximates `2^E · e^(-d / 2^s_in)`
//! at scale `E`:
//! 1. `t = d · L` with `L = round(log2(e) · 2^g)`: `t / 2^F` (`F = s_in + g`) is the base-2
//!    exponent. `t` is range-checked to `T` bits; its bits are everything below:
//!    `t = z · 2^F + f`, `f ∈ [0, 2^F)` the fraction, `z` the integer part. The check also
//!    proves `d ≥ 0` (Softmax relies on it to prove its maximum).
//! 2. `2^(-f / 2^F)` as a quadratic per segment (the top `m` bits of `f` select one of `2^m`
//!    segments; the next `w` bits are the variable `τ`, the lower bits are dropped, the
//!    quadratic being fitted at the centre of what they span): `acc = A·2^(2w) + (B·2^w + C·τ)·τ`
//!    with coefficients at scale `K` (Chebyshev nodes), two multiplications; a table selected by
//!    bits is a multilinear polynomial in them (sigmoid's construction).
//! 3. `2^(-z)` from the bits of `z`: the low `zl` bits give `W = Π_j (z_j ? 1 : 2^(2^j)) =
//!    2^(Wm - z_lo)` (`Wm = 2^zl - 1`); any higher bit set means `z ≥ 2^zl > E`, where the
//!    result rounds to 0: `W` is multiplied by `[z_hi = 0]`. Then
//!    `e = round(acc · W / 2^(K + 2w + Wm - E))` by [`gadgets::requantize`].
//!
//! Parameters follow a target precision `p` (relative error about `2^-(p+1)`): `g = p`,
//! `m ≥ 2` segment bits (the cheapest; more only if the Chebyshev error exceeds `2^-(p+2)`),
//! `w = p + 2 - m`, `K = p + 4`. Softmax asks for `p = s_out + 3`.
//!
//! **Error bound** (checked for every input of the range by the exhaustive tests):
//! `|e - 2^E·e^(-x)| ≤ 2^E·e^(-x)·(ε + δ·x)·1.01 + 1` for real `x = d/2^s_in`, with
//! `ε = `[`ExpNeg::rel_error`] (quadratics, dropped bits, coefficient rounding) and
//! `δ = `[`ExpNeg::log2e_error`] (`L`'s rounding makes the exponent `x(1 ± δ)`); the `+1` is the
//! final rounding plus the cut-off (`z ≥ 2^zl`: the true value is below half a unit).
//! **Measured** at the default settings (input scale 7, 16-bit differences, `E = 13`, `p = 10`:
//! `ε = 2.9e-4`, `δ = 2.2e-4`), over all 65,536 inputs: max error **1.45 units of 2^-13
//! (1.8e-4 of exp's range [0, 1])**; the result is monotone (non-increasing in `d`).
//! **Cost** at that setting: **89 constraints** = 27 (range check of `t`) + 1 (segment-bit
//! product) + 2 (quadratic) + 3 (zero test of `z_hi`) + 4 (`W`'s factors) + 1 (`acc·W`) + 51
//! (requantisation: 36 remainder bits, 15 output bits).

use crate::fixed;
use crate::gadgets::{self, fr, pow2, RangeError, Signed};
use crate::r1cs::{Builder, Lc, Var};
use serde::{Deserialize, Serialize};
use std::f64::consts::LOG2_E;

/// Segment bits are at most this (the table's products grow as `2^m`).
const MAX_SEG_BITS: u32 = 4;

/// `exp(-d)` for `d ∈ [0, 2^in_bits)` at scale `in_scale`, to scale `out_scale`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpNeg {
    pub in_scale: i32,
    /// `d < 2^in_bits`.
    pub in_bits: u32,
    /// `L = round(log2(e) · 2^g)`.
    pub log2e: i64,
    pub g: u32,
    /// `F = in_scale + g`: bits of the fraction `f`.
    pub frac_bits: u32,
    /// `T`: the range check of `t = d·L` (at least `F`).
    pub t_bits: u32,
    /// `m`: segment bits (the top bits of `f`).
    pub seg_bits: u32,
    /// `w`: bits of the quadratic's variable (the bits of `f` below the segment bits).
    pub poly_bits: u32,
    /// `zl`: bits of `z` applied as a shift; higher bits of `z` zero the result.
    pub shift_bits: u32,
    /// Per-segment coefficients at scale `coef_scale`.
    pub a: Vec<i64>,
    pub b: Vec<i64>,
    pub c: Vec<i64>,
    pub coef_scale: u32,
    /// Bits dropped by the final requantisation: `K + 2w + Wm - E`.
    pub shift: u32,
    /// `E`: the output's scale.
    pub out_scale: u32,
    /// Signed bits of the output's range check (`E + 2`: the output lies in `[0, 2^E]` up to
    /// the approximation error).
    pub out_bits: u32,
}

/// The intermediate integers of one evaluation, shared by inference and the witness.
struct Steps {
    t: i128,
    seg: usize,
    v: i128,
    pv: i128,
    /// The factors of `W` (low bits, then `[z_hi = 0]` when there are high bits).
    factors: Vec<i128>,
    z_hi: i128,
    w: i128,
    prod: i128,
    e: i128,
}

impl ExpNeg {
    /// The op for `d < 2^in_bits` at `in_scale`, output at scale `out_scale`, precision `p`.
    pub fn new(in_scale: i32, in_bits: u32, out_scale: u32, p: u32) -> Result<ExpNeg, String> {
        let g = p;
        let f = in_scale + g as i32;
        if f < 1 || !(1..=62).contains(&in_bits) || !(1..=40).contains(&p) || out_scale > 60 {
            return Err(format!(
                "exp of an input at scale {in_scale} ({in_bits} bits) to scale {out_scale} is out of range"
            ));
        }
        let f = f as u32;
        let log2e = (LOG2_E * 2f64.powi(g as i32)).round() as i64;
        let target = 2f64.powi(-(p as i32) - 2);
        // Each segment bit costs `2^(m-1) - 1` products and saves two remainder bits of the
        // requantisation (τ loses a bit): 2 is the cheapest, more only for precision.
        let mut m = (2..=MAX_SEG_BITS)
            .find(|&m| cheb_error(m) <= target)
            .unwrap_or(MAX_SEG_BITS);
        m = m.min(f);
        let w = (p + 2).saturating_sub(m).min(f - m);
        let k = p + 4;
        let t_max = ((1i128 << in_bits) - 1) * i128::from(log2e);
        let t_bits = (128 - t_max.leading_zeros()).max(f);
        if t_bits > 200 {
            return Err(format!("exp input of {in_bits} bits is too wide"));
        }
        // 2^zl > E: beyond, the result is below half a unit.
        let zl_want = (0..8).find(|&z| (1u32 << z) > out_scale).expect("E ≤ 60");
        let zl = zl_want.min(t_bits - f);
        let wm = (1u32 << zl) - 1;
        let drop = f - m - w;
        let shift = (k + 2 * w + wm) as i64 - out_scale as i64;
        if shift < 0 || k + 2 * w + wm + 2 > crate::ops::ACC_LIMIT_BITS {
            return Err(format!(
                "exp to scale {out_scale} needs an accumulator of 2^{} bits",
                k + 2 * w + wm + 2
            ));
        }
        let (mut a, mut bb, mut c) = (Vec::new(), Vec::new(), Vec::new());
        let q = |v: f64| (v * 2f64.powi(k as i32)).round() as i64;
        // The dropped bits span [0, 2^drop) below τ: fit at their centre.
        let centre = ((1u64 << drop) - 1) as f64 / 2.0 / 2f64.powi(f as i32);
        for seg in 0..1u32 << m {
            let u0 = f64::from(seg) / 2f64.powi(m as i32) + centre;
            let h = 2f64.powi(-(m as i32));
            let (ca, cb, cc) =
                fit_quadratic(|x| 2f64.powf(-(u0 + h * x)), 1.0 - 2f64.powi(-(w as i32)));
            a.push(q(ca));
            bb.push(q(cb));
            c.push(q(cc));
        }
        Ok(ExpNeg {
            in_scale,
            in_bits,
            log2e,
            g,
            frac_bits: f,
            t_bits,
            seg_bits: m,
            poly_bits: w,
            shift_bits: zl,
            a,
            b: bb,
            c,
            coef_scale: k,
            shift: shift as u32,
            out_scale,
            out_bits: out_scale + 2,
        })
    }

    fn drop_bits(&self) -> u32 {
        self.frac_bits - self.seg_bits - self.poly_bits
    }

    fn high_bits(&self) -> u32 {
        self.t_bits - self.frac_bits - self.shift_bits
    }

    /// A bound on the relative error of everything but the final rounding and the cut-off:
    /// the quadratics (Chebyshev bound), dropping `f`'s low bits (half their span, at the
    /// centre), the coefficients' rounding; `L`'s rounding adds `δ·d` (real `d`), see
    /// [`ExpNeg::log2e_error`].
    pub fn rel_error(&self) -> f64 {
        let cheb = cheb_error(self.seg_bits);
        let trunc = if self.drop_bits() == 0 {
            0.0
        } else {
            std::f64::consts::LN_2 * 2f64.powi(-((self.seg_bits + self.poly_bits) as i32) - 1)
        };
        let coef = 3.0 * 2f64.powi(-(self.coef_scale as i32));
        cheb + trunc + coef
    }

    /// `|L / 2^g - log2(e)| / log2(e)`: the relative error of the exponent, i.e. the result
    /// is `e^(-d (1 ± δ))` before the other errors.
    pub fn log2e_error(&self) -> f64 {
        ((self.log2e as f64) / 2f64.powi(self.g as i32) - LOG2_E).abs() / LOG2_E
    }

    /// The float function at the output's scale, for `d` in input units.
    pub fn ideal(&self, d: i128) -> f64 {
        2f64.powi(self.out_scale as i32) * (-(d as f64) / 2f64.powi(self.in_scale)).exp()
    }

    /// Number of constraints per evaluation.
    pub fn cost(&self) -> usize {
        let m = self.seg_bits as usize;
        let products = (1usize << m) - m - 1;
        let factors = self.shift_bits as usize + usize::from(self.high_bits() > 0);
        let zero_test = if self.high_bits() > 0 { 3 } else { 0 };
        self.t_bits as usize
            + products
            + 2
            + factors.saturating_sub(1)
            + zero_test
            + usize::from(factors > 0)
            + self.shift as usize
            + self.out_bits as usize
    }

    fn poly(&self, seg: usize, tau: i128) -> (i128, i128, i128) {
        let w = self.poly_bits;
        let v = i128::from(self.c[seg]) * tau;
        let pv = ((i128::from(self.b[seg]) << w) + v) * tau;
        (v, pv, (i128::from(self.a[seg]) << (2 * w)) + pv)
    }

    fn steps(&self, d: i128) -> Result<Steps, RangeError> {
        let t = d * i128::from(self.log2e);
        if d < 0 || t >> self.t_bits != 0 {
            return Err(RangeError {
                value: d,
                bits: self.in_bits,
            });
        }
        let (f_bits, m, w) = (self.frac_bits, self.seg_bits, self.poly_bits);
        let f = t & ((1i128 << f_bits) - 1);
        let seg = (f >> (f_bits - m)) as usize;
        let tau = (f >> self.drop_bits()) & ((1i128 << w) - 1);
        let (v, pv, acc) = self.poly(seg, tau);
        let z = t >> f_bits;
        let mut factors: Vec<i128> = (0..self.shift_bits)
            .map(|j| {
                let bit = (z >> j) & 1;
                if bit == 1 {
                    1
                } else {
                    1i128 << (1u32 << j)
                }
            })
            .collect();
        let z_hi = z >> self.shift_bits;
        if self.high_bits() > 0 {
            factors.push(i128::from(z_hi == 0));
        }
        let w_val = factors.iter().product::<i128>();
        let prod = acc * w_val;
        let e = fixed::requantize(prod, self.shift).0;
        Ok(Steps {
            t,
            seg,
            v,
            pv,
            factors,
            z_hi,
            w: w_val,
            prod,
            e,
        })
    }

    /// The result for `d` (integer inference), or the range error proving would hit.
    pub fn eval(&self, d: i128) -> Result<i128, RangeError> {
        let s = self.steps(d)?;
        if !fixed::fits_bits(s.e, self.out_bits) {
            return Err(RangeError {
                value: s.e,
                bits: self.out_bits,
            });
        }
        Ok(s.e)
    }

    /// Proves `e = exp(d)` for the expression `d_lc` whose value is `d`; the result is
    /// range-checked to [`ExpNeg::out_bits`]. Also proves `0 ≤ d < 2^T / L`.
    pub fn synthesize(&self, b: &mut Builder, d: i128, d_lc: &Lc) -> Result<Signed, RangeError> {
        let st = if b.structure_only() {
            // Placeholders may lie anywhere; the constraints do not depend on them.
            self.steps(d.clamp(0, (1i128 << self.in_bits) - 1))
                .expect("in range")
        } else {
            self.steps(d)?
        };
        let mats = b.builds_matrices();
        let (f_bits, m, w) = (self.frac_bits, self.seg_bits, self.poly_bits);
        let l = fr(i128::from(self.log2e));
        let t_lc = || d_lc.scaled(l);
        // 1. t = d·L to T bits.
        let rb = gadgets::range_check(b, st.t, self.t_bits, t_lc)?;
        let top = if mats { rb.top(&t_lc()) } else { Lc::zero() };
        let bit = |j: u32| -> Lc {
            if !mats {
                Lc::zero()
            } else if j + 1 < self.t_bits {
                rb.low[j as usize].into()
            } else {
                top.clone()
            }
        };
        // 2. The quadratic of the segment.
        let tau_lc = || {
            let mut lc = Lc::with_capacity(w as usize);
            for j in 0..w {
                lc.add_scaled(&bit(self.drop_bits() + j), pow2(j));
            }
            lc
        };
        let n = 1usize << m;
        let mut mono: Vec<Lc> = Vec::with_capacity(n);
        mono.push(Lc::constant(fr(1)));
        for set in 1..n {
            let high = usize::BITS - 1 - set.leading_zeros();
            let rest = set ^ (1 << high);
            let bit_lc = bit(f_bits - m + high);
            if rest == 0 {
                mono.push(bit_lc);
            } else {
                let var = b.alloc(fr(i128::from(st.seg & set == set)));
                let l = &mono[rest];
                b.enforce(|| l.clone(), || bit_lc, || var.into());
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
        let v = b.alloc(fr(st.v));
        b.enforce(|| table(&self.c, 0), tau_lc, || v.into());
        let pv = b.alloc(fr(st.pv));
        b.enforce(
            || {
                let mut lc = table(&self.b, w);
                lc.add_term(v, fr(1));
                lc
            },
            tau_lc,
            || pv.into(),
        );
        let acc_lc = || {
            let mut lc = table(&self.a, 2 * w);
            lc.add_term(pv, fr(1));
            lc
        };
        // 3. W = Π factors, then acc·W.
        let mut factor_lcs: Vec<Lc> = (0..self.shift_bits)
            .map(|j| {
                // z_j ? 1 : 2^(2^j)  =  2^(2^j) - z_j·(2^(2^j) - 1)
                let big = 1i128 << (1u32 << j);
                let mut lc = bit(f_bits + j).scaled(-fr(big - 1));
                lc.add_constant(fr(big));
                lc
            })
            .collect();
        if self.high_bits() > 0 {
            let base = f_bits + self.shift_bits;
            let hi = self.high_bits();
            let z_hi_lc = || {
                let mut lc = Lc::with_capacity(hi as usize);
                for j in 0..hi {
                    lc.add_scaled(&bit(base + j), pow2(j));
                }
                lc
            };
            let zero = gadgets::is_zero(b, st.z_hi, z_hi_lc);
            factor_lcs.push(zero.into());
        }
        let mut w_lc: Option<Lc> = None;
        let mut w_val: i128 = 1;
        for (lc, &fv) in factor_lcs.into_iter().zip(&st.factors) {
            w_val *= fv;
            w_lc = Some(match w_lc {
                None => lc,
                Some(prev) => {
                    let var: Var = b.alloc(fr(w_val));
                    b.enforce(|| prev, || lc, || var.into());
                    var.into()
                }
            });
        }
        debug_assert_eq!(w_val, st.w);
        let prod_lc = match w_lc {
            None => acc_lc(),
            Some(w_lc) => {
                let prod = b.alloc(fr(st.prod));
                b.enforce(acc_lc, || w_lc, || prod.into());
                prod.into()
            }
        };
        let e = gadgets::requantize(b, st.prod, self.shift, self.out_bits, || prod_lc)?;
        debug_assert_eq!(e.value, st.e);
        Ok(e)
    }
}

/// The Chebyshev interpolation error of `2^-x` by a quadratic on an interval of width
/// `2^-m`: `max|f'''| / 3! · 2 (h/4)^3` with `f''' ≤ ln(2)^3`.
fn cheb_error(m: u32) -> f64 {
    let h = 2f64.powi(-(m as i32));
    std::f64::consts::LN_2.powi(3) / 6.0 * 2.0 * (h / 4.0).powi(3)
}

/// Coefficients of the multilinear polynomial in the index bits that equals `table[i]` when the
/// bits spell `i` (the Möbius transform over subsets).
fn mobius(table: &[i64]) -> Vec<i128> {
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

/// `(a, b, c)` with `a + b·u + c·u²` interpolating `g` at the three Chebyshev nodes of
/// `[0, u_max]`; a constant when `u_max = 0`.
fn fit_quadratic(g: impl Fn(f64) -> f64, u_max: f64) -> (f64, f64, f64) {
    if u_max <= 0.0 {
        return (g(0.0), 0.0, 0.0);
    }
    let nodes: Vec<f64> = (0..3)
        .map(|k| u_max * (1.0 - (std::f64::consts::PI * (2 * k + 1) as f64 / 6.0).cos()) / 2.0)
        .collect();
    let ys: Vec<f64> = nodes.iter().map(|&u| g(u)).collect();
    let d01 = (ys[1] - ys[0]) / (nodes[1] - nodes[0]);
    let d12 = (ys[2] - ys[1]) / (nodes[2] - nodes[1]);
    let d2 = (d12 - d01) / (nodes[2] - nodes[0]);
    let (u0, u1) = (nodes[0], nodes[1]);
    (ys[0] - d01 * u0 + d2 * u0 * u1, d01 - d2 * (u0 + u1), d2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::assert_pinned;

    /// Max error over every `d` of the range: (absolute in units of 2^-E, the largest excess
    /// over the stated bound; ≤ 0 means the bound holds everywhere).
    fn exhaustive(op: &ExpNeg) -> (f64, f64) {
        let (mut worst, mut excess) = (0f64, f64::MIN);
        let (eps, delta) = (op.rel_error(), op.log2e_error());
        for d in 0..1i128 << op.in_bits {
            let e = op.eval(d).unwrap() as f64;
            let want = op.ideal(d);
            let err = (e - want).abs();
            let dr = d as f64 / 2f64.powi(op.in_scale);
            let bound = want * (eps + delta * dr) * 1.01 + 1.0;
            worst = worst.max(err);
            excess = excess.max(err - bound);
        }
        (worst, excess)
    }

    #[test]
    fn exhaustive_error_at_the_default_settings() {
        // Settings::default(): scale 7, 16 bits; a row of 16 gives E = 7 + 4 + 2, p = 7 + 3.
        let op = ExpNeg::new(7, 16, 13, 10).unwrap();
        let (worst, excess) = exhaustive(&op);
        println!(
            "exp (s_in 7, 16 bits, E 13): max error {worst:.3} units of 2^-13 over 65536 inputs, \
             rel_error {:.2e}, log2e error {:.2e}, {} constraints",
            op.rel_error(),
            op.log2e_error(),
            op.cost()
        );
        assert!(excess <= 0.0, "bound exceeded by {excess}");
        assert!(worst <= 1.5, "{worst}");
        // Monotone: a larger logit never gets a smaller exp.
        println!("exp(0) = {} (2^13 = 8192)", op.eval(0).unwrap());
        let mut prev = i128::MAX;
        for d in 0..1i128 << 16 {
            let e = op.eval(d).unwrap();
            assert!(e <= prev && e >= 0, "not monotone at {d}");
            prev = e;
        }
    }

    #[test]
    fn exhaustive_error_at_other_settings() {
        for (s_in, bits, e_scale, p) in [
            (8, 16, 14, 11),
            (10, 18, 16, 13),
            (4, 12, 10, 7),
            (8, 12, 22, 11),
        ] {
            let op = ExpNeg::new(s_in, bits, e_scale, p).unwrap();
            let (worst, excess) = exhaustive(&op);
            println!(
                "exp (s_in {s_in}, {bits} bits, E {e_scale}, p {p}): max error {worst:.3} units, \
                 {} constraints",
                op.cost()
            );
            assert!(excess <= 0.0, "s_in {s_in}: bound exceeded by {excess}");
        }
    }

    fn circuit(op: &ExpNeg, ds: &[i128]) -> (crate::r1cs::Synthesis, usize, usize) {
        let mut b = Builder::new(vec![], true);
        let vars: Vec<Var> = ds.iter().map(|&d| b.alloc(fr(d))).collect();
        let first = b.num_witness() + 1;
        let n0 = b.num_constraints();
        let mut outs = Vec::new();
        for (&d, &v) in ds.iter().zip(&vars) {
            outs.push(op.synthesize(&mut b, d, &v.into()).unwrap());
        }
        let per = (b.num_constraints() - n0) / ds.len();
        let s = b.finish();
        for (o, &d) in outs.iter().zip(ds) {
            assert_eq!(o.value, op.eval(d).unwrap());
            assert_eq!(s.assignment[o.var.0 as usize], fr(o.value));
        }
        (s, first, per)
    }

    #[test]
    fn circuit_matches_eval_is_pinned_and_costs_as_stated() {
        let op = ExpNeg::new(7, 16, 13, 10).unwrap();
        // 0, segment edges, the cut-off (z = 16 ⇔ d ≈ 11.09 real), and the far end.
        let ds = [0i128, 1, 44, 45, 88, 89, 1419, 1420, 1500, 20000, 65535];
        let (s, first, per) = circuit(&op, &ds);
        println!("exp: {per} constraints per evaluation: {op:?}");
        assert_eq!(per, 89);
        assert_eq!(per, op.cost());
        assert_pinned(&s, first);
    }

    #[test]
    fn negative_or_too_large_inputs_are_refused() {
        let op = ExpNeg::new(7, 8, 13, 10).unwrap();
        assert!(op.eval(-1).is_err());
        assert!(op.eval(255).is_ok());
        let mut b = Builder::new(vec![], true);
        let v = b.alloc(fr(-1));
        assert!(op.synthesize(&mut b, -1, &v.into()).is_err());
    }

    #[test]
    fn a_forged_negative_input_fails_the_range_check() {
        // d = -1 with an honest-looking witness for d = 0 leaves t = -L unprovable.
        let op = ExpNeg::new(7, 8, 13, 10).unwrap();
        let mut b = Builder::new(vec![], true);
        let v = b.alloc(fr(0));
        op.synthesize(&mut b, 0, &v.into()).unwrap();
        let s = b.finish();
        assert!(s.r1cs.is_satisfied(&s.assignment));
        let mut z = s.assignment.clone();
        z[1] = fr(-1);
        assert!(!s.r1cs.is_satisfied(&z));
    }
}
