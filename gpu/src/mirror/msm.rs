//! Signed-digit Pippenger with sort-by-bucket, exactly as `kernels/msm.cu` runs it.
//!
//! Steps (one kernel each on the device; the host-side planning functions here are the ones the
//! CUDA backend calls):
//! 1. **Digits** ([`signed_scalar`], [`signed_digits`]). A scalar `s` becomes `k = s` or
//!    `k = r − s` (then the point is negated), whichever is below `r/2`, so small *negative*
//!    witness values are small too. `k` is cut into `nw = ⌈254/c⌉` windows of `c` bits recoded to
//!    signed digits in `(−2^(c−1), 2^(c−1)]`. Only non-zero digits produce work, so a 0/±1 scalar
//!    costs one bucket entry and a 16-bit one at most `⌈17/c⌉`, instead of `nw` — this is how
//!    scalars are grouped by bit length: the cost of each follows its own length.
//! 2. **Sort by bucket** ([`sort_by_bucket`]). Digit `d ≠ 0` of window `j` goes to bucket key
//!    `j·B + |d| − 1` (`B = 2^(c−1)`) as the entry `index | sign << 31`. A counting sort: count
//!    per key, exclusive scan (on the host, [`exclusive_scan`]), scatter. The device scatter
//!    claims slots with atomics, so the order *within* a bucket differs from this mirror's; sums
//!    are exact group elements, so the result does not.
//! 3. **Accumulate** ([`plan_level`], [`accumulate_entries`], [`reduce_partials`]). Every bucket
//!    is cut into segments of [`SEGMENT`] entries, one thread per segment (mixed XYZZ additions),
//!    then partials are again cut into segments and summed, level after level, until each bucket
//!    holds one point. A bucket with millions of entries (all the 1s of a bit-decomposed witness
//!    land in one bucket) is thus summed in parallel, not by one thread.
//! 4. **Bucket reduction** ([`reduce_windows`]). Window `j`'s buckets are split into
//!    [`reduce_segments`] runs; a thread computes its run's `Σ (b − lo + 1)·bucket_b` by the
//!    running-sum trick plus `(lo − 1)·Σ bucket_b` by double-and-add.
//! 5. **Final** ([`combine_windows`], host): per-window sums, then Horner over windows.

use ark_bn254::Fr;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, PrimeGroup};
use ark_ff::{BigInteger, PrimeField};
use rayon::prelude::*;

use super::limbs::{to_limbs, Limbs};
use super::xyzz::{to_projective, xy_of, Xyzz};

/// Entries (level 0) or partial sums (later levels) one thread adds up.
pub const SEGMENT: u32 = 32;
/// Largest window, in bits (`B = 2^15` buckets per window).
pub const MAX_WINDOW_BITS: u32 = 16;
/// Most threads (runs of buckets) per window in the bucket reduction.
pub const MAX_REDUCE_SEGMENTS: u32 = 256;
/// Bits of `k` after the `min(s, r − s)` step: `k ≤ (r − 1)/2 < 2^253`; one more bit is needed
/// for the final signed-digit carry.
pub const SCALAR_BITS: u32 = 254;
/// Flag bit of an entry marking a negated point.
pub const SIGN_BIT: u32 = 1 << 31;

/// Window size for an MSM of `n` points: grows with `n` so bucket reduction (`∝ nw·2^c`) stays
/// small next to accumulation (`∝ n·nw`), capped at [`MAX_WINDOW_BITS`].
pub fn window_bits(n: usize) -> u32 {
    let log = usize::BITS - n.max(1).leading_zeros() - 1;
    log.saturating_sub(4).clamp(4, MAX_WINDOW_BITS)
}

/// Number of windows for window size `c`: `⌈254 / c⌉` always absorbs the last carry (see
/// [`SCALAR_BITS`]).
pub fn num_windows(c: u32) -> u32 {
    SCALAR_BITS.div_ceil(c)
}

/// `(r − 1) / 2` in limbs: scalars above it are replaced by `r − s` and a negation.
pub fn fr_half() -> Limbs {
    let mut h = Fr::MODULUS;
    h.div2();
    to_limbs(&h)
}

/// Step 1a: `(k, neg)` with `k = s` or `r − s`, whichever is `≤ (r−1)/2`, `neg` when the latter.
pub fn signed_scalar(s: &Fr) -> (Limbs, bool) {
    let k = s.into_bigint();
    let mut half = Fr::MODULUS;
    half.div2();
    if k > half {
        let mut m = Fr::MODULUS;
        m.sub_with_borrow(&k);
        (to_limbs(&m), true)
    } else {
        (to_limbs(&k), false)
    }
}

/// Step 1b: the signed digit of window `j`, given the carry out of window `j − 1`; returns
/// `(digit, carry)`. Bits past 256 read as zero.
pub fn window_digit(k: &Limbs, c: u32, j: u32, carry: u32) -> (i32, u32) {
    let bit = j * c;
    let limb = (bit / 32) as usize;
    let off = bit % 32;
    let lo = if limb < 8 { k[limb] as u64 } else { 0 };
    let hi = if limb + 1 < 8 { k[limb + 1] as u64 } else { 0 };
    let raw = (((lo | (hi << 32)) >> off) & ((1u64 << c) - 1)) as i32;
    let d = raw + carry as i32;
    if d > (1 << (c - 1)) {
        (d - (1 << c), 1)
    } else {
        (d, 0)
    }
}

/// All signed digits `(window, digit)` of `k`, non-zero ones only, as the kernel emits them.
pub fn signed_digits(k: &Limbs, c: u32) -> Vec<(u32, i32)> {
    let nw = num_windows(c);
    let mut out = Vec::new();
    let mut carry = 0;
    for j in 0..nw {
        let (d, cy) = window_digit(k, c, j, carry);
        carry = cy;
        if d != 0 {
            out.push((j, d));
        }
    }
    debug_assert_eq!(carry, 0, "the top window absorbs the carry");
    out
}

/// Bucket key of digit `d ≠ 0` in window `j`.
pub fn bucket_key(c: u32, j: u32, d: i32) -> u32 {
    j * (1 << (c - 1)) + d.unsigned_abs() - 1
}

/// Result of step 2: entries grouped by bucket key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketSort {
    /// Entries per key.
    pub counts: Vec<u32>,
    /// Exclusive prefix sums of `counts` (length `keys + 1`); bucket `k` is `offsets[k]..offsets[k+1]`.
    pub offsets: Vec<u32>,
    /// `point index | SIGN_BIT if negated`, grouped by key.
    pub entries: Vec<u32>,
}

/// Exclusive prefix sum with the total appended (`len + 1` values).
pub fn exclusive_scan(counts: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(counts.len() + 1);
    let mut acc = 0u32;
    out.push(0);
    for &c in counts {
        acc += c;
        out.push(acc);
    }
    out
}

/// Step 2: count, scan, scatter (in scalar order within a bucket; see module docs).
pub fn sort_by_bucket(scalars: &[Fr], c: u32) -> BucketSort {
    let keys = (num_windows(c) << (c - 1)) as usize;
    let digits: Vec<(bool, Vec<(u32, i32)>)> = scalars
        .par_iter()
        .map(|s| {
            let (k, neg) = signed_scalar(s);
            (neg, signed_digits(&k, c))
        })
        .collect();
    let mut counts = vec![0u32; keys];
    for (_, ds) in &digits {
        for &(j, d) in ds {
            counts[bucket_key(c, j, d) as usize] += 1;
        }
    }
    let offsets = exclusive_scan(&counts);
    let mut cursor = offsets.clone();
    let mut entries = vec![0u32; offsets[keys] as usize];
    for (i, (neg, ds)) in digits.iter().enumerate() {
        for &(j, d) in ds {
            let key = bucket_key(c, j, d) as usize;
            let sign = (d < 0) ^ neg;
            entries[cursor[key] as usize] = i as u32 | if sign { SIGN_BIT } else { 0 };
            cursor[key] += 1;
        }
    }
    BucketSort {
        counts,
        offsets,
        entries,
    }
}

/// One accumulation level: each bucket's `len` inputs become `⌈len / SEGMENT⌉` outputs.
/// Returns the new lengths and their exclusive scan (where each bucket's outputs go).
pub fn plan_level(lens: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let next: Vec<u32> = lens.iter().map(|&l| l.div_ceil(SEGMENT)).collect();
    let offsets = exclusive_scan(&next);
    (next, offsets)
}

/// The bucket owning output slot `s`: the largest `k` with `out_offsets[k] ≤ s` (empty buckets
/// share an offset with the next one and are skipped). The kernel runs the same binary search.
pub fn segment_bucket(out_offsets: &[u32], s: u32) -> usize {
    let keys = out_offsets.len() - 1;
    let (mut lo, mut hi) = (0usize, keys); // invariant: out_offsets[lo] <= s < out_offsets[hi]
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if out_offsets[mid] <= s {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Step 3, level 0: slot `s` of bucket `k` sums entries `in_offsets[k] + (s − out_offsets[k])·SEGMENT ..`
/// (at most `SEGMENT`, within the bucket) with mixed additions, negating flagged points.
pub fn accumulate_entries<P: SWCurveConfig>(
    bases: &[Affine<P>],
    entries: &[u32],
    in_offsets: &[u32],
    out_offsets: &[u32],
) -> Vec<Xyzz<P::BaseField>> {
    let total = *out_offsets.last().unwrap();
    (0..total)
        .into_par_iter()
        .map(|s| {
            let k = segment_bucket(out_offsets, s);
            let start = in_offsets[k] + (s - out_offsets[k]) * SEGMENT;
            let end = (start + SEGMENT).min(in_offsets[k + 1]);
            let mut acc = Xyzz::infinity();
            for &e in &entries[start as usize..end as usize] {
                let (x, y) = xy_of(&bases[(e & !SIGN_BIT) as usize]);
                acc.add_affine(x, if e & SIGN_BIT != 0 { -y } else { y });
            }
            acc
        })
        .collect()
}

/// Step 3, later levels: as [`accumulate_entries`] over the previous level's partial sums.
pub fn reduce_partials<F: ark_ff::Field>(
    partials: &[Xyzz<F>],
    in_offsets: &[u32],
    out_offsets: &[u32],
) -> Vec<Xyzz<F>> {
    let total = *out_offsets.last().unwrap();
    (0..total)
        .into_par_iter()
        .map(|s| {
            let k = segment_bucket(out_offsets, s);
            let start = in_offsets[k] + (s - out_offsets[k]) * SEGMENT;
            let end = (start + SEGMENT).min(in_offsets[k + 1]);
            partials[start as usize..end as usize]
                .iter()
                .fold(Xyzz::infinity(), |acc, p| acc.add(p))
        })
        .collect()
}

/// Once every bucket holds at most one partial: the dense bucket array (infinity when empty).
pub fn dense_buckets<F: ark_ff::Field>(partials: &[Xyzz<F>], offsets: &[u32]) -> Vec<Xyzz<F>> {
    offsets
        .windows(2)
        .map(|w| {
            if w[1] > w[0] {
                partials[w[0] as usize]
            } else {
                Xyzz::infinity()
            }
        })
        .collect()
}

/// Runs of buckets per window in the reduction, and the run length: `(segments, run)`.
pub fn reduce_segments(c: u32) -> (u32, u32) {
    let b = 1u32 << (c - 1);
    let segs = b.min(MAX_REDUCE_SEGMENTS);
    (segs, b.div_ceil(segs))
}

/// Step 4: for window `j` and run `t` (buckets `lo..=hi`, `lo = t·run + 1`), the value
/// `Σ_{b=lo}^{hi} b·bucket_b` computed as running sums from the top plus `(lo − 1)·Σ bucket_b`.
/// Output index `j·segments + t`.
pub fn reduce_windows<F: ark_ff::Field>(dense: &[Xyzz<F>], c: u32) -> Vec<Xyzz<F>> {
    let nw = num_windows(c);
    let b = 1u32 << (c - 1);
    let (segs, run) = reduce_segments(c);
    (0..nw * segs)
        .into_par_iter()
        .map(|i| {
            let (j, t) = (i / segs, i % segs);
            let lo = t * run + 1;
            if lo > b {
                return Xyzz::infinity();
            }
            let hi = (lo + run - 1).min(b);
            let mut running = Xyzz::infinity();
            let mut sum = Xyzz::infinity();
            for bk in (lo..=hi).rev() {
                running = running.add(&dense[(j * b + bk - 1) as usize]);
                sum = sum.add(&running);
            }
            sum.add(&running.mul_u32(lo - 1))
        })
        .collect()
}

/// Step 5 (host, also for CUDA): `Σ_j 2^(c·j) · Σ_t runs[j·segments + t]`.
pub fn combine_windows<P: SWCurveConfig>(runs: &[Projective<P>], c: u32) -> Projective<P> {
    let nw = num_windows(c) as usize;
    let (segs, _) = reduce_segments(c);
    let windows: Vec<Projective<P>> = runs
        .par_chunks(segs as usize)
        .map(|ch| ch.iter().sum())
        .collect();
    debug_assert_eq!(windows.len(), nw);
    let mut acc = Projective::<P>::default();
    for w in windows.iter().rev() {
        for _ in 0..c {
            acc.double_in_place();
        }
        acc += w;
    }
    acc
}

/// Statistics of one MSM, to show where the work goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsmStats {
    /// Window size used.
    pub window_bits: u32,
    /// Bucket entries, i.e. mixed additions at level 0 (non-zero signed digits).
    pub entries: usize,
    /// Accumulation levels run.
    pub levels: usize,
}

/// The whole MSM `Σ scalars[i]·bases[i]` by the kernels' algorithm (`c = window_bits(n)` unless
/// given). Requires `bases.len() >= scalars.len()`.
pub fn msm<P: SWCurveConfig>(
    bases: &[Affine<P>],
    scalars: &[Fr],
    c: Option<u32>,
) -> (Projective<P>, MsmStats) {
    assert!(bases.len() >= scalars.len());
    let c = c.unwrap_or_else(|| window_bits(scalars.len()));
    assert!((2..=MAX_WINDOW_BITS).contains(&c));
    let sort = sort_by_bucket(scalars, c);
    let mut stats = MsmStats {
        window_bits: c,
        entries: sort.entries.len(),
        levels: 1,
    };
    let (mut lens, mut offsets) = plan_level(&sort.counts);
    let mut partials = accumulate_entries(bases, &sort.entries, &sort.offsets, &offsets);
    while lens.iter().any(|&l| l > 1) {
        let (next_lens, next_offsets) = plan_level(&lens);
        partials = reduce_partials(&partials, &offsets, &next_offsets);
        lens = next_lens;
        offsets = next_offsets;
        stats.levels += 1;
    }
    let dense = dense_buckets(&partials, &offsets);
    let runs: Vec<Projective<P>> = reduce_windows(&dense, c)
        .iter()
        .map(to_projective::<P>)
        .collect();
    let _ = Projective::<P>::generator;
    (combine_windows(&runs, c), stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::{Field, UniformRand, Zero};
    use ark_std::rand::{Rng, RngCore};
    use ark_std::test_rng;

    fn random_bases<P: SWCurveConfig>(n: usize, rng: &mut impl RngCore) -> Vec<Affine<P>> {
        // A few distinct points, repeated and with infinities mixed in: exercises P + P and P − P
        // inside buckets as well as skipped bases.
        let distinct: Vec<Projective<P>> = (0..n.clamp(1, 64))
            .map(|_| Projective::<P>::rand(rng))
            .collect();
        let mut v: Vec<Affine<P>> = Projective::normalize_batch(&distinct);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(if rng.gen_ratio(1, 10) {
                Affine::<P>::identity()
            } else {
                v[i % v.len()]
            });
        }
        v.clear();
        out
    }

    fn scalar_sets(n: usize, rng: &mut impl RngCore) -> Vec<(&'static str, Vec<Fr>)> {
        vec![
            ("random", (0..n).map(|_| Fr::rand(rng)).collect()),
            ("zeros", vec![Fr::zero(); n]),
            (
                "bits",
                (0..n).map(|_| Fr::from(rng.gen_range(0u64..2))).collect(),
            ),
            (
                "small signed",
                (0..n)
                    .map(|_| Fr::from(rng.gen_range(-70000i64..70000)))
                    .collect(),
            ),
            (
                "mixed",
                (0..n)
                    .map(|i| match i % 5 {
                        0 => Fr::zero(),
                        1 => Fr::from(1u64),
                        2 => -Fr::from(1u64),
                        3 => Fr::from(rng.gen_range(0u64..1 << 16)),
                        _ => Fr::rand(rng),
                    })
                    .collect(),
            ),
        ]
    }

    fn check<P: SWCurveConfig<ScalarField = Fr>>(sizes: &[usize], cs: &[Option<u32>]) {
        let mut rng = test_rng();
        for &n in sizes {
            let bases = random_bases::<P>(n, &mut rng);
            for (name, scalars) in scalar_sets(n, &mut rng) {
                let want = Projective::<P>::msm_unchecked(&bases, &scalars);
                for &c in cs {
                    let (got, _) = msm(&bases, &scalars, c);
                    assert_eq!(
                        got.into_affine(),
                        want.into_affine(),
                        "n={n} scalars={name} c={c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn mirror_msm_g1_matches_arkworks() {
        check::<ark_bn254::g1::Config>(
            &[1, 2, 3, 7, 31, 100, 257, 1000],
            &[None, Some(2), Some(5), Some(13)],
        );
        let _ = (G1Affine::identity(), G1Projective::zero());
    }

    #[test]
    fn mirror_msm_g2_matches_arkworks() {
        check::<ark_bn254::g2::Config>(&[1, 5, 64, 300], &[None, Some(3), Some(16)]);
        let _ = (G2Affine::identity(), G2Projective::zero());
    }

    #[test]
    fn digits_recompose_to_scalar() {
        let mut rng = test_rng();
        let mut scalars: Vec<Fr> = (0..300).map(|_| Fr::rand(&mut rng)).collect();
        scalars.extend([
            Fr::zero(),
            Fr::from(1u64),
            -Fr::from(1u64),
            Fr::from((1u64 << 63) - 1),
        ]);
        let mut half = Fr::MODULUS;
        half.div2();
        scalars.push(Fr::from_bigint(half).unwrap());
        scalars.push(-Fr::from_bigint(half).unwrap());
        for c in 2..=MAX_WINDOW_BITS {
            for s in &scalars {
                let (k, neg) = signed_scalar(s);
                let mut acc = Fr::zero();
                let base = Fr::from(2u64).pow([c as u64]);
                for (j, d) in signed_digits(&k, c) {
                    assert!(d.unsigned_abs() <= 1 << (c - 1) && d != 0);
                    acc += base.pow([j as u64]) * Fr::from(d as i64);
                }
                assert_eq!(if neg { -acc } else { acc }, *s, "c={c}");
            }
        }
    }

    #[test]
    fn small_scalars_cost_few_entries() {
        let mut rng = test_rng();
        let n = 4096;
        let bits: Vec<Fr> = (0..n).map(|_| Fr::from(rng.gen_range(0u64..2))).collect();
        let ones = bits.iter().filter(|s| !s.is_zero()).count();
        let sort = sort_by_bucket(&bits, window_bits(n));
        assert_eq!(sort.entries.len(), ones, "a 0/1 scalar adds its base once");
        let c = window_bits(n);
        let small: Vec<Fr> = (0..n)
            .map(|_| Fr::from(rng.gen_range(-(1i64 << 15)..(1 << 15))))
            .collect();
        let sort = sort_by_bucket(&small, c);
        assert!(sort.entries.len() <= n * (16usize.div_ceil(c as usize) + 1));
        let random: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let full = sort_by_bucket(&random, c).entries.len();
        assert!(
            full > n * (num_windows(c) as usize - 2),
            "random scalars use every window"
        );
    }

    #[test]
    fn huge_bucket_is_split_over_levels() {
        // 5000 ones land in one bucket: 5000 entries → 157 → 5 → 1 partial sums, three levels.
        let n = 5000;
        let bases = random_bases::<ark_bn254::g1::Config>(n, &mut test_rng());
        let scalars = vec![Fr::from(1u64); n];
        let (got, stats) = msm(&bases, &scalars, None);
        assert_eq!(stats.levels, 3);
        assert_eq!(got, G1Projective::msm_unchecked(&bases, &scalars));
    }

    #[test]
    fn segment_bucket_skips_empty_buckets() {
        let offs = exclusive_scan(&[0, 2, 0, 0, 1, 0]);
        assert_eq!(
            (0..3).map(|s| segment_bucket(&offs, s)).collect::<Vec<_>>(),
            vec![1, 1, 4]
        );
    }
}
