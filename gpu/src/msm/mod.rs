//! The CPU backend's MSM over fixed (prepared) bases: signed-digit Pippenger with
//! - fixed-base precomputation ([`precompute`]): each base is stored with its multiples by
//!   `2^(c·j)` for `j < f`, so the digits of `f` windows share one set of buckets; with
//!   `f = W` (all windows) one pass of buckets serves the whole scalar;
//! - the GLV endomorphism ([`glv`]): a scalar wider than 126 bits becomes two halves below 2^126
//!   on `P` and `φ(P) = (β·x, y)`, so the table needs half the windows;
//! - bucket accumulation in affine coordinates with batched inversions ([`batch_affine`]),
//!   XYZZ where batches are small ([`xyzz`]);
//! - the witness shape kept cheap: a scalar is first reduced to a signed magnitude (`r − 1` is
//!   `−1`), zero costs nothing, a small magnitude skips GLV and has digits only in its low
//!   windows (`±1` is one addition into bucket 1), and empty passes and buckets cost nothing;
//! - rayon over chunks of scalars and over passes (groups of `f` windows). Results are exact
//!   group elements, hence the same whatever the split.
//!
//! Works for any `a = 0` short Weierstrass curve with a GLV endomorphism (BN254 G1 and G2).

mod batch_affine;
mod glv;
mod precompute;
mod xyzz;

use std::sync::atomic::{AtomicUsize, Ordering};

use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ff::{AdditiveGroup, Field, PrimeField, Zero};
use rayon::prelude::*;

use batch_affine::{bucket_sums, Pt, Scratch};
use glv::{limbs, Glv, GLV_BITS};

/// Default cap on the precompute factor `f` (stored multiples per base), see
/// [`set_precompute_factor_cap`].
pub const DEFAULT_PRECOMPUTE_FACTOR_CAP: usize = 1;

static PRECOMPUTE_CAP: AtomicUsize = AtomicUsize::new(DEFAULT_PRECOMPUTE_FACTOR_CAP);

/// Caps the precompute factor of bases prepared from now on: a prepared set of `n` bases holds
/// at most `cap·n` points (`cap` times the memory of the bases themselves). `cap = 1` stores
/// the bases only (plain Pippenger, one pass per window). Process-wide because
/// [`crate::CpuBackend`] is a unit struct used by value throughout the workspace.
pub fn set_precompute_factor_cap(cap: usize) {
    PRECOMPUTE_CAP.store(cap.max(1), Ordering::Relaxed);
}

/// The current cap (see [`set_precompute_factor_cap`]).
pub fn precompute_factor_cap() -> usize {
    PRECOMPUTE_CAP.load(Ordering::Relaxed)
}

/// Table indices use the low 30 bits of an entry.
const IDX_BITS: u32 = 30;
const NEG: u32 = 1 << 31;
const ENDO: u32 = 1 << 30;

/// Bases prepared for repeated MSMs (see the module docs).
pub struct PreparedBases<P: GLVConfig> {
    n: usize,
    /// Window width in bits.
    c: u32,
    /// Windows per GLV half: `c·windows ≥ GLV_BITS + 1`.
    windows: u32,
    /// Stored multiples per base.
    factor: u32,
    table: Vec<Pt<P::BaseField>>,
    glv: Glv,
    /// The endomorphism's `β` (`φ(x, y) = (β·x, y)`).
    beta: P::BaseField,
}

impl<P: GLVConfig> std::fmt::Debug for PreparedBases<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedBases")
            .field("n", &self.n)
            .field("c", &self.c)
            .field("windows", &self.windows)
            .field("factor", &self.factor)
            .finish()
    }
}

fn windows_for(c: u32) -> u32 {
    (GLV_BITS + 1).div_ceil(c)
}

/// Relative costs (in field multiplications) used to pick the window width.
const COST_BATCH_ADD: usize = 7;
const COST_BUCKET: usize = 24;

/// The `(c, f)` with the least estimated cost for `n` bases of random scalars (two GLV halves
/// each) on `threads` threads, `f ≤ cap`.
pub(crate) fn choose_window(n: usize, cap: usize, threads: usize) -> (u32, u32) {
    let halves = 2 * n.max(1);
    let threads = threads.max(1);
    let mut best = (usize::MAX, 4, 1);
    for c in 4..=20u32 {
        let w = windows_for(c) as usize;
        let f = w.min(cap).max(1);
        let passes = w.div_ceil(f);
        let chunks = chunk_count(halves, passes, threads);
        let entries = halves * w;
        let buckets = passes * chunks * (1usize << (c - 1));
        let cost = entries * COST_BATCH_ADD + buckets * COST_BUCKET;
        if cost < best.0 {
            best = (cost, c, f as u32);
        }
    }
    (best.1, best.2)
}

/// How many chunks of scalars to split an MSM into: enough tasks for the threads, no more
/// (each chunk repeats the bucket reduction).
fn chunk_count(halves: usize, passes: usize, threads: usize) -> usize {
    if passes >= 2 * threads {
        1
    } else {
        threads.min(halves.div_ceil(1024)).max(1)
    }
}

impl<P: GLVConfig> PreparedBases<P> {
    /// Prepares `bases` with the process-wide precompute cap
    /// ([`set_precompute_factor_cap`]).
    pub fn new(bases: Vec<Affine<P>>) -> Self {
        Self::with_cap(bases, precompute_factor_cap())
    }

    /// Prepares `bases` storing at most `cap` multiples of each.
    pub fn with_cap(bases: Vec<Affine<P>>, cap: usize) -> Self {
        let n = bases.len();
        let cap = cap.max(1).min(((1usize << IDX_BITS) / n.max(1)).max(1));
        assert!(n < 1 << IDX_BITS, "too many bases");
        let (c, factor) = choose_window(n, cap, rayon::current_num_threads());
        let table = precompute::build_table(&bases, c, factor as usize);
        PreparedBases {
            n,
            c,
            windows: windows_for(c),
            factor,
            table,
            glv: Glv::new::<P>(),
            beta: P::ENDO_COEFFS[0],
        }
    }

    /// Number of bases.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no bases.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The bases as prepared (every `factor`-th table entry).
    pub fn bases(&self) -> Vec<Affine<P>> {
        self.table
            .iter()
            .step_by(self.factor as usize)
            .map(|p| {
                if p.is_inf() {
                    Affine::identity()
                } else {
                    Affine::new_unchecked(p.x, p.y)
                }
            })
            .collect()
    }

    /// Bytes held by the table.
    pub fn memory_bytes(&self) -> usize {
        self.table.len() * std::mem::size_of::<Pt<P::BaseField>>()
    }

    /// `(c, windows, factor)`: window width, windows per scalar half, stored multiples per base.
    pub fn shape(&self) -> (u32, u32, u32) {
        (self.c, self.windows, self.factor)
    }

    /// `Σ scalars[i]·bases[i]` over the first `scalars.len()` bases (`scalars.len() ≤ len()`).
    pub fn msm(&self, scalars: &[P::ScalarField]) -> Projective<P> {
        assert!(scalars.len() <= self.n, "more scalars than bases");
        if scalars.is_empty() {
            return Projective::zero();
        }
        let threads = rayon::current_num_threads();
        // Signed halves, in parallel over chunks of scalars.
        let per = scalars.len().div_ceil(threads).max(256);
        let halves: Vec<Vec<(u32, Half)>> = scalars
            .par_chunks(per)
            .enumerate()
            .map(|(ci, chunk)| self.decompose(ci * per, chunk))
            .collect();
        let total: usize = halves.iter().map(Vec::len).sum();
        if total == 0 {
            return Projective::zero();
        }
        // Passes needed: the highest window with a digit (small scalars need few).
        let max_mag = halves
            .iter()
            .flatten()
            .map(|(_, (_, m))| *m)
            .max()
            .unwrap_or(0);
        let bits = 128 - max_mag.leading_zeros() + 1; // +1: the signed digits' carry
        let used_windows = bits.div_ceil(self.c).min(self.windows);
        let f = self.factor;
        let passes = used_windows.div_ceil(f) as usize;
        // Re-chunk the halves so every task has a similar share.
        let chunks = chunk_count(total, passes, threads);
        let all: Vec<(u32, Half)> = if halves.len() == 1 {
            halves.into_iter().next().unwrap()
        } else {
            halves.into_iter().flatten().collect()
        };
        let per = all.len().div_ceil(chunks);
        let tasks: Vec<(usize, &[(u32, Half)])> = (0..passes)
            .flat_map(|p| all.chunks(per).map(move |ch| (p, ch)))
            .collect();
        let sums: Vec<Projective<P>> = tasks
            .par_iter()
            .map(|&(p, ch)| self.pass(p as u32, used_windows, ch).into_projective())
            .collect();
        // Σ_p 2^(c·f·p)·S_p (Horner, top pass first).
        let mut acc = Projective::<P>::zero();
        for p in (0..passes).rev() {
            for _ in 0..self.c * f {
                acc.double_in_place();
            }
            for (q, s) in tasks.iter().zip(&sums) {
                if q.0 == p {
                    acc += s;
                }
            }
        }
        acc
    }

    /// The non-zero halves of `chunk` (scalars from index `offset`): `(table base, half)`,
    /// with the endomorphism flag in bit 31 of the base index.
    fn decompose(&self, offset: usize, chunk: &[P::ScalarField]) -> Vec<(u32, Half)> {
        let half_r = P::ScalarField::MODULUS_MINUS_ONE_DIV_TWO;
        let mut out = Vec::with_capacity(chunk.len());
        let r_minus_one = limbs(&-P::ScalarField::ONE);
        let half_r = limbs_of(&half_r);
        for (i, s) in chunk.iter().enumerate() {
            let b = limbs(s);
            if b == [0; 4] {
                continue;
            }
            let base = (offset + i) as u32;
            // The signed magnitude: r − 1 is −1.
            let (neg, k) = if lt(&half_r, &b) {
                (true, sub_plus_one(&r_minus_one, &b))
            } else {
                (false, b)
            };
            // Small magnitudes (bits, small signed integers) skip the decomposition.
            if k[2] == 0 && k[3] == 0 && (k[1] >> (GLV_BITS - 64)) == 0 {
                out.push((base, (neg, k[0] as u128 | (k[1] as u128) << 64)));
                continue;
            }
            // k = k1 + λ·k2, so −k = −k1 + λ·(−k2).
            let ((n1, m1), (n2, m2)) = self.glv.decompose(&k);
            if m1 != 0 {
                out.push((base, (n1 != neg, m1)));
            }
            if m2 != 0 {
                out.push((base | ENDO_FLAG, (n2 != neg, m2)));
            }
        }
        out
    }

    /// Bucket sum of pass `p` (windows `p·f .. (p+1)·f`) over `halves`.
    fn pass(&self, p: u32, used_windows: u32, halves: &[(u32, Half)]) -> xyzz::Xyzz<P> {
        let c = self.c;
        let f = self.factor;
        let lo = p * f;
        let hi = ((p + 1) * f).min(used_windows);
        let nb = 1usize << (c - 1);
        let mask = (1u128 << c) - 1;
        let half = 1i64 << (c - 1);
        let mut counts = vec![0u32; nb];
        let mut entries: Vec<(u32, u32)> = Vec::with_capacity(halves.len() * (hi - lo) as usize);
        for &(base, (neg, m)) in halves {
            let endo = base & ENDO_FLAG != 0;
            let idx = (base & !ENDO_FLAG) * f;
            let mut carry = 0i64;
            for j in 0..hi {
                let w = ((m >> (c * j)) & mask) as i64 + carry;
                let d = if w > half {
                    carry = 1;
                    w - (1 << c)
                } else {
                    carry = 0;
                    w
                };
                if j < lo || d == 0 {
                    continue;
                }
                let bucket = d.unsigned_abs() as u32 - 1;
                let mut r = idx + (j - lo);
                if neg != (d < 0) {
                    r |= NEG;
                }
                if endo {
                    r |= ENDO;
                }
                counts[bucket as usize] += 1;
                entries.push((bucket, r));
            }
        }
        if entries.is_empty() {
            return xyzz::Xyzz::zero();
        }
        // Counting sort by bucket, gathering the (signed, endomorphism-mapped) points.
        let mut starts = Vec::with_capacity(nb);
        let mut acc = 0u32;
        for &k in &counts {
            starts.push(acc);
            acc += k;
        }
        let mut next = starts.clone();
        let mut buf = vec![Pt::<P::BaseField>::INF; entries.len()];
        for &(b, r) in &entries {
            let mut pt = self.table[(r & ((1 << IDX_BITS) - 1)) as usize];
            if !pt.is_inf() {
                if r & ENDO != 0 {
                    pt.x *= self.beta;
                }
                if r & NEG != 0 {
                    pt.y = -pt.y;
                }
            }
            let slot = &mut next[b as usize];
            buf[*slot as usize] = pt;
            *slot += 1;
        }
        drop(entries);
        let mut scratch = Scratch::default();
        bucket_sums::<P>(&mut buf, &starts, &mut counts, &mut scratch)
    }
}

type Half = glv::Half;

/// Marks a half on `φ(P)` in [`PreparedBases::decompose`]'s output.
const ENDO_FLAG: u32 = 1 << 31;

fn limbs_of<B: AsRef<[u64]>>(b: &B) -> [u64; 4] {
    let l = b.as_ref();
    let mut out = [0u64; 4];
    out[..l.len().min(4)].copy_from_slice(&l[..l.len().min(4)]);
    out
}

fn lt(a: &[u64; 4], b: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// `(r − 1) − b + 1 = r − b` for `0 < b ≤ r − 1`, given `r_minus_one = r − 1`.
fn sub_plus_one(r_minus_one: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d1, o1) = r_minus_one[i].overflowing_sub(b[i]);
        let (d2, o2) = d1.overflowing_sub(borrow as u64);
        out[i] = d2;
        borrow = o1 || o2;
    }
    debug_assert!(!borrow);
    // + 1
    for limb in out.iter_mut() {
        let (v, o) = limb.overflowing_add(1);
        *limb = v;
        if !o {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

    fn points<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
        let step = G::rand(rng);
        let mut p = G::rand(rng);
        let v: Vec<G> = (0..n)
            .map(|_| {
                p += step;
                p
            })
            .collect();
        G::normalize_batch(&v)
    }

    /// Scalar shapes: random, zero, one, −1, small signed, edges, GLV-boundary magnitudes.
    fn scalars(n: usize, kind: usize, rng: &mut StdRng) -> Vec<Fr> {
        (0..n)
            .map(|i| match kind {
                0 => Fr::rand(rng),
                1 => Fr::from(0u64),
                2 => Fr::from(1u64),
                3 => -Fr::from(1u64),
                4 => Fr::from(rng.gen_range(0u64..2)),
                5 => Fr::from(rng.gen_range(-70000i64..70000)),
                6 => [
                    Fr::from(0u64),
                    Fr::from(1u64),
                    -Fr::from(1u64),
                    Fr::rand(rng),
                ][i % 4],
                7 => {
                    // Around 2^126 (the GLV cut-off) and (r−1)/2.
                    let t = Fr::from(2u64).pow([126u64]);
                    let h = Fr::from(Fr::MODULUS_MINUS_ONE_DIV_TWO);
                    [t, t - Fr::from(1u64), -t, h, h + Fr::from(1u64), -h][i % 6]
                }
                _ => {
                    // A mix, as the witness: bits, small integers and some random.
                    match rng.gen_range(0..4) {
                        0 => Fr::from(rng.gen_range(0u64..2)),
                        1 => Fr::from(rng.gen_range(-300i64..300)),
                        2 => Fr::rand(rng),
                        _ => Fr::from(0u64),
                    }
                }
            })
            .collect()
    }

    fn check_g1(bases: &[G1Affine], cap: usize, rng: &mut StdRng) {
        let prep = PreparedBases::<g1::Config>::with_cap(bases.to_vec(), cap);
        for kind in 0..9 {
            for len in [0, 1, bases.len() / 2 + 1, bases.len()] {
                let len = len.min(bases.len());
                let s = scalars(len, kind, rng);
                let want = G1Projective::msm_unchecked(&bases[..len], &s);
                assert_eq!(
                    prep.msm(&s),
                    want,
                    "G1 n={} cap={cap} kind={kind} len={len}",
                    bases.len()
                );
            }
        }
    }

    fn check_g2(bases: &[G2Affine], cap: usize, rng: &mut StdRng) {
        let prep = PreparedBases::<g2::Config>::with_cap(bases.to_vec(), cap);
        for kind in [0, 4, 5, 6, 7, 8] {
            let s = scalars(bases.len(), kind, rng);
            let want = G2Projective::msm_unchecked(bases, &s);
            assert_eq!(
                prep.msm(&s),
                want,
                "G2 n={} cap={cap} kind={kind}",
                bases.len()
            );
        }
    }

    #[test]
    fn g1_matches_arkworks() {
        let mut rng = StdRng::seed_from_u64(1);
        for n in [0usize, 1, 2, 3, 37, 300, 1100] {
            let mut bases = points::<G1Projective>(n, &mut rng);
            // Points at infinity, a repeated base and a base with its negation.
            if n >= 37 {
                bases[3] = G1Affine::identity();
                bases[10] = G1Affine::identity();
                bases[20] = bases[21];
                bases[30] = -bases[31];
            }
            for cap in [1, 3, 64] {
                check_g1(&bases, cap, &mut rng);
            }
        }
    }

    #[test]
    fn g2_matches_arkworks() {
        let mut rng = StdRng::seed_from_u64(2);
        for n in [1usize, 5, 130] {
            let mut bases = points::<G2Projective>(n, &mut rng);
            if n > 4 {
                bases[2] = G2Affine::identity();
                bases[3] = bases[4];
            }
            for cap in [1, 64] {
                check_g2(&bases, cap, &mut rng);
            }
        }
    }

    #[test]
    fn too_many_scalars_panics_not() {
        // The backend checks lengths; here an empty set with no scalars is zero.
        let prep = PreparedBases::<g1::Config>::with_cap(vec![], 4);
        assert!(prep.msm(&[]).is_zero());
        assert!(prep.is_empty());
    }

    /// Buckets with hundreds of points: the batched affine rounds, with doublings (equal
    /// points), inverses (P and −P) and infinity in the same batch.
    #[test]
    fn batch_affine_buckets_match_naive_sum() {
        let mut rng = StdRng::seed_from_u64(3);
        let g = G1Projective::generator();
        let pts: Vec<G1Affine> = points::<G1Projective>(200, &mut rng);
        for sizes in [
            vec![0usize, 1, 2, 3, 64, 65, 200],
            vec![150, 0, 0, 99],
            vec![1; 40],
        ] {
            let mut buf = Vec::new();
            let mut starts = Vec::new();
            let mut lens = Vec::new();
            let mut want = G1Projective::zero();
            for (b, &len) in sizes.iter().enumerate() {
                starts.push(buf.len() as u32);
                lens.push(len as u32);
                let mut seg = Vec::new();
                for k in 0..len {
                    let p = match k % 7 {
                        0 => G1Affine::identity(),
                        1 if k > 1 => seg[k - 1], // equal to the previous: doubling
                        2 if k > 2 => -seg[k - 1], // inverse of the previous
                        _ => pts[rng.gen_range(0..pts.len())],
                    };
                    seg.push(p);
                    want += p * Fr::from(b as u64 + 1);
                }
                buf.extend(seg.iter().map(|p: &G1Affine| {
                    if p.is_zero() {
                        Pt::INF
                    } else {
                        Pt { x: p.x, y: p.y }
                    }
                }));
            }
            let mut scratch = Scratch::default();
            let got = bucket_sums::<g1::Config>(&mut buf, &starts, &mut lens, &mut scratch);
            assert_eq!(got.into_projective(), want);
            let _ = g;
        }
    }

    #[test]
    fn window_choice_fits_cap_and_memory() {
        for log in [0u32, 4, 10, 12, 16, 18, 20] {
            for cap in [1usize, 2, 8, 16, 64] {
                let (c, f) = choose_window(1 << log, cap, 2);
                assert!((4..=20).contains(&c));
                assert!(f as usize <= cap && f <= windows_for(c) && f >= 1);
            }
        }
        let mut rng = StdRng::seed_from_u64(4);
        let bases = points::<G1Projective>(100, &mut rng);
        let prep = PreparedBases::<g1::Config>::with_cap(bases, 4);
        let (_, _, f) = prep.shape();
        assert!(f <= 4);
        assert_eq!(prep.memory_bytes(), 100 * f as usize * 64);
    }
}
