//! The NTT exactly as `kernels/ntt.cu` runs it: optional coset scaling, bit-reversal fused into
//! the first pass, decimation-in-time stages grouped into passes of up to `r_max` stages, each
//! pass one kernel launch whose blocks load `2^r` elements into shared memory, run `r` stages and
//! write back — so a 2^24 transform reads and writes memory `⌈24 / r_max⌉` times instead of 24.
//!
//! Stage `s` (0-based, butterfly span `2^s`) pairs `i` and `i + 2^s` for `i` with bit `s` clear,
//! with twiddle `ω^(jj · 2^(log_n − 1 − s))`, `jj = i mod 2^s`, read from one table of
//! `ω^t, t < n/2`. A pass over stages `s0..s0+r` handles, per block `q`, the `2^r` positions
//! `hi·2^(s0+r) + m·2^s0 + lo` (`lo = q mod 2^s0`, `hi = q / 2^s0`, `m < 2^r`), which no other
//! block touches, so passes after the first run in place.
//!
//! Powers `c·g^i` (twiddles, coset factors) come from two small tables, `lo[i mod 2^L]·hi[i >> L]`,
//! computed on the host and expanded on the device by one multiplication per element.

use ark_bn254::Fr;
use ark_ff::{FftField, Field, One};
use rayon::prelude::*;

use crate::NttKind;

/// Stages per pass used by the CUDA backend when the device allows `2^12 · 32` bytes of shared
/// memory per block (H100: 227 KiB), otherwise [`R_MAX_FALLBACK`].
pub const R_MAX_LARGE: u32 = 12;
/// Stages per pass within the default 48 KiB of shared memory (`2^10 · 32` bytes).
pub const R_MAX_FALLBACK: u32 = 10;

/// The passes `(s0, r)` for a transform of `2^log_n` points: as few as `r_max` allows, with the
/// stages spread evenly (earlier passes take the remainder) so no pass is tiny.
pub fn plan(log_n: u32, r_max: u32) -> Vec<(u32, u32)> {
    if log_n == 0 {
        return Vec::new();
    }
    let passes = log_n.div_ceil(r_max);
    let (base, extra) = (log_n / passes, log_n % passes);
    let mut s0 = 0;
    (0..passes)
        .map(|p| {
            let r = base + u32::from(p < extra);
            let out = (s0, r);
            s0 += r;
            out
        })
        .collect()
}

/// Two-level power tables: `value(i) = scale · g^i = lo[i & (2^L − 1)] · hi[i >> L]` for
/// `i < 2^log_count`, `L = ⌈log_count / 2⌉`. Returns `(lo, hi, L)`.
pub fn power_tables(g: Fr, scale: Fr, log_count: u32) -> (Vec<Fr>, Vec<Fr>, u32) {
    let l = log_count.div_ceil(2);
    let mut lo = Vec::with_capacity(1 << l);
    let mut x = scale;
    for _ in 0..(1u64 << l) {
        lo.push(x);
        x *= g;
    }
    let step = g.pow([1u64 << l]);
    let hi_len = 1u64 << (log_count - l);
    let mut hi = Vec::with_capacity(hi_len as usize);
    let mut y = Fr::one();
    for _ in 0..hi_len {
        hi.push(y);
        y *= step;
    }
    (lo, hi, l)
}

/// Expands power tables as the `powers` kernel does: `out[i] = hi[i >> L] · lo[i & mask]`.
pub fn expand_powers(lo: &[Fr], hi: &[Fr], l: u32, count: usize) -> Vec<Fr> {
    let mask = (1usize << l) - 1;
    (0..count)
        .into_par_iter()
        .map(|i| hi[i >> l] * lo[i & mask])
        .collect()
}

/// The twiddle table `ω^t` (`ω^{-t}` when `inverse`), `t < n/2`, for `n = 2^log_n`.
pub fn twiddles(log_n: u32, inverse: bool) -> Vec<Fr> {
    if log_n == 0 {
        return Vec::new();
    }
    let mut w = Fr::get_root_of_unity(1u64 << log_n).expect("BN254 Fr has 2-adicity 28");
    if inverse {
        w = w.inverse().unwrap();
    }
    let (lo, hi, l) = power_tables(w, Fr::one(), log_n - 1);
    expand_powers(&lo, &hi, l, 1 << (log_n - 1))
}

/// `rev(i)` over `log_n` bits.
pub fn bit_reverse(i: u32, log_n: u32) -> u32 {
    if log_n == 0 {
        0
    } else {
        i.reverse_bits() >> (32 - log_n)
    }
}

/// One pass (the `ntt_pass` kernel): for every block `q`, gather `2^r` elements (through the
/// bit-reversal on the first pass), run stages `s0..s0+r`, scatter.
pub fn run_pass(src: &[Fr], dst: &mut [Fr], tw: &[Fr], log_n: u32, s0: u32, r: u32, first: bool) {
    let n = 1usize << log_n;
    let size = 1usize << r;
    let blocks = n >> r;
    let lo_mask = (1usize << s0) - 1;
    let pos = |q: usize, m: usize| ((q >> s0) << (s0 + r)) | (m << s0) | (q & lo_mask);
    let results: Vec<(usize, Vec<Fr>)> = (0..blocks)
        .into_par_iter()
        .map(|q| {
            let mut sh: Vec<Fr> = (0..size)
                .map(|m| {
                    let p = pos(q, m);
                    if first {
                        src[bit_reverse(p as u32, log_n) as usize]
                    } else {
                        src[p]
                    }
                })
                .collect();
            for t in 0..r {
                let s = s0 + t;
                let half = 1usize << t;
                for b in 0..size / 2 {
                    let m = ((b >> t) << (t + 1)) | (b & (half - 1));
                    let jj = ((m & (half - 1)) << s0) | (q & lo_mask);
                    let w = tw[jj << (log_n - 1 - s)];
                    let u = sh[m];
                    let v = sh[m + half] * w;
                    sh[m] = u + v;
                    sh[m + half] = u - v;
                }
            }
            (q, sh)
        })
        .collect();
    for (q, sh) in results {
        for (m, v) in sh.into_iter().enumerate() {
            dst[pos(q, m)] = v;
        }
    }
}

/// The whole transform, same result as ark-poly's radix-2 domain (see [`NttKind`]).
pub fn ntt(data: &mut [Fr], kind: NttKind, r_max: u32) {
    let n = data.len();
    assert!(n.is_power_of_two());
    let log_n = n.trailing_zeros();
    let n_inv = Fr::from(n as u64).inverse().unwrap();
    // Pre-scaling (coset forward): x_i *= g^i.
    if let NttKind::CosetForward(g) = kind {
        let (lo, hi, l) = power_tables(g, Fr::one(), log_n);
        scale_by_powers(data, &lo, &hi, l);
    }
    let inverse = matches!(kind, NttKind::Inverse | NttKind::CosetInverse(_));
    let tw = twiddles(log_n, inverse);
    let mut buf = data.to_vec();
    for (p, &(s0, r)) in plan(log_n, r_max).iter().enumerate() {
        if p == 0 {
            run_pass(data, &mut buf, &tw, log_n, s0, r, true);
        } else {
            let src = buf.clone();
            run_pass(&src, &mut buf, &tw, log_n, s0, r, false);
        }
    }
    data.copy_from_slice(&buf);
    // Post-scaling: inverse x_i *= n^{-1}; coset inverse x_i *= n^{-1} g^{-i}.
    match kind {
        NttKind::Inverse => {
            let (lo, hi, l) = power_tables(Fr::one(), n_inv, log_n);
            scale_by_powers(data, &lo, &hi, l);
        }
        NttKind::CosetInverse(g) => {
            let (lo, hi, l) = power_tables(g.inverse().unwrap(), n_inv, log_n);
            scale_by_powers(data, &lo, &hi, l);
        }
        _ => {}
    }
}

/// The `scale_powers` kernel: `x_i *= hi[i >> L] · lo[i & mask]`.
pub fn scale_by_powers(data: &mut [Fr], lo: &[Fr], hi: &[Fr], l: u32) {
    let mask = (1usize << l) - 1;
    data.par_iter_mut()
        .enumerate()
        .for_each(|(i, x)| *x *= hi[i >> l] * lo[i & mask]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    use ark_std::test_rng;

    #[test]
    fn plan_covers_all_stages_evenly() {
        for log_n in 0..=26 {
            for r_max in [1, 2, 3, 10, 12] {
                let p = plan(log_n, r_max);
                assert_eq!(p.iter().map(|x| x.1).sum::<u32>(), log_n);
                assert!(p.iter().all(|&(_, r)| r >= 1 && r <= r_max));
                assert_eq!(p.len() as u32, log_n.div_ceil(r_max));
            }
        }
        assert_eq!(plan(24, 12), vec![(0, 12), (12, 12)]);
        assert_eq!(plan(24, 10), vec![(0, 8), (8, 8), (16, 8)]);
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn mirror_ntt_matches_arkworks() {
        let mut rng = test_rng();
        let g = Fr::GENERATOR;
        for log_n in 0..=11u32 {
            let n = 1usize << log_n;
            let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap();
            let coset = domain.get_coset(g).unwrap();
            let x: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            for r_max in [1, 3, 10, 12] {
                let cases: [(NttKind, Box<dyn Fn(&mut Vec<Fr>)>); 4] = [
                    (
                        NttKind::Forward,
                        Box::new(|v: &mut Vec<Fr>| domain.fft_in_place(v)),
                    ),
                    (
                        NttKind::Inverse,
                        Box::new(|v: &mut Vec<Fr>| domain.ifft_in_place(v)),
                    ),
                    (
                        NttKind::CosetForward(g),
                        Box::new(|v: &mut Vec<Fr>| coset.fft_in_place(v)),
                    ),
                    (
                        NttKind::CosetInverse(g),
                        Box::new(|v: &mut Vec<Fr>| coset.ifft_in_place(v)),
                    ),
                ];
                for (kind, reference) in cases.iter() {
                    let mut want = x.clone();
                    reference(&mut want);
                    let mut got = x.clone();
                    ntt(&mut got, *kind, r_max);
                    assert_eq!(got, want, "log_n={log_n} r_max={r_max} kind={kind:?}");
                }
            }
        }
    }

    #[test]
    fn twiddles_are_powers_of_omega() {
        for log_n in 1..=9 {
            let w = Fr::get_root_of_unity(1u64 << log_n).unwrap();
            let tw = twiddles(log_n, false);
            assert_eq!(tw.len(), 1 << (log_n - 1));
            for (t, x) in tw.iter().enumerate() {
                assert_eq!(*x, w.pow([t as u64]));
            }
        }
    }
}
