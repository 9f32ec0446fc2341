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
//! - rayon over chunks of scalars and over passes (groups of `f` windows) or, with precomputed
//!   multiples, over ranges of the buckets (each task's buckets fit a core's L2 cache, so wider
//!   windows, with fewer additions, pay, and the bucket reduction is split instead of
//!   repeated per chunk). Results are exact group elements, hence the same whatever the split.
//!
//! Works for any `a = 0` short Weierstrass curve with a GLV endomorphism (BN254 G1 and G2).

mod batch_affine;
mod field_ops;
mod glv;
mod ifma;
mod inverse;
mod precompute;
mod xyzz;

use std::sync::atomic::{AtomicUsize, Ordering};

use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ff::{AdditiveGroup, Field, PrimeField, Zero};
use rayon::prelude::*;

use batch_affine::{Accumulator, Pt};
use glv::{limbs, Glv, GLV_BITS};

/// Default cap on the precompute factor `f` (stored multiples per base), see
/// [`set_precompute_factor_cap`].
pub const DEFAULT_PRECOMPUTE_FACTOR_CAP: usize = 1;

static PRECOMPUTE_CAP: AtomicUsize = AtomicUsize::new(DEFAULT_PRECOMPUTE_FACTOR_CAP);

/// Caps the precompute factor of bases prepared from now on: a prepared set of `n` bases with
/// `f ≤ cap` multiples each holds `2f·n` points (each multiple and its image under `φ`), plus
/// the `n` bases once more when `f > 1` ([`PreparedBases::memory_bytes`]). `cap = 1` stores the
/// bases and their images only (plain Pippenger, one pass per window). Process-wide because
/// [`crate::CpuBackend`] is a unit struct used by value throughout the workspace.
pub fn set_precompute_factor_cap(cap: usize) {
    PRECOMPUTE_CAP.store(cap.max(1), Ordering::Relaxed);
}

/// The largest cap whose tables fit `budget` bytes for bases taking `bases_bytes` (the most
/// `f` with `(2f + 1)·bases_bytes ≤ budget`), and at least 1: bases alone always fit.
pub fn precompute_factor_for(budget: u64, bases_bytes: u64) -> usize {
    let units = budget / bases_bytes.max(1);
    (units.saturating_sub(1) / 2).max(1) as usize
}

/// The current cap (see [`set_precompute_factor_cap`]).
pub fn precompute_factor_cap() -> usize {
    PRECOMPUTE_CAP.load(Ordering::Relaxed)
}

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
    /// `φ` of every table entry, `(β·x, y)`: computed once here instead of one multiplication
    /// in every addition of a second GLV half.
    table_endo: Vec<Pt<P::BaseField>>,
    /// The bases alone (every `factor`-th table entry), kept apart when `factor > 1`: the sums
    /// of small scalars use no multiples, and read them here in order instead of at a stride
    /// of `factor` table entries (a cache line each). Empty when `factor = 1`.
    bases_only: Vec<Pt<P::BaseField>>,
    glv: Glv,
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

/// Widest window for passes over the bases alone, each task with all `2^(c−1)` buckets:
/// `2^12` buckets of 64 bytes (256 KiB) stay in a core's L2 cache; wider windows save
/// additions but lose more to cache misses on random bucket reads.
const MAX_WINDOW_BITS: u32 = 13;

/// Widest window with precomputed multiples, whose buckets are split among the threads
/// ([`bucket_splits`]): fewer windows mean fewer additions, each thread's share of the
/// buckets is what must stay near its cache, and the bucket reduction is done once.
const MAX_PRECOMPUTED_WINDOW_BITS: u32 = 16;

/// Relative costs used to pick the window width, in sixteenths of a scalar field
/// multiplication: a batched affine addition (with the queue's share; the inversion's share is
/// added per batch size), an inversion, a bucket in the reduction (two XYZZ additions), and what
/// a point costs to read when a task's points are spread over the table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Costs {
    batch_add: usize,
    inversion: usize,
    bucket: usize,
    scattered_read: usize,
    /// Whether the batches run on eight lanes ([`ifma`]), which sizes them.
    eight_lanes: bool,
}

impl Costs {
    /// One addition at a time: 5M + 1S and the queue's share. The scattered read is measured:
    /// the windows where it decides, `c = 16` against 13 at `2^15`–`2^18` points, come out as
    /// `msm_tune` found them.
    const SCALAR: Costs = Costs {
        batch_add: 7 * 16,
        inversion: 230 * 16,
        bucket: 26 * 16,
        scattered_read: 16,
        eight_lanes: false,
    };

    /// Eight lanes: measured under `perf` at `2^14` random scalars, an addition costs about
    /// 2.3 scalar multiplications and an inversion about 300 (the inversion stays scalar).
    /// The bucket cost is that of the XYZZ reduction; from
    /// [`batch_affine::SEGMENTED_MIN_BUCKETS`] buckets on, the reduction in segments costs
    /// about 10 ([`Costs::bucket`]).
    const EIGHT_LANES: Costs = Costs {
        batch_add: 37,
        inversion: 300 * 16,
        bucket: 26 * 16,
        scattered_read: 16,
        eight_lanes: true,
    };

    /// The costs of the batch addition that buckets over `F` run.
    pub(crate) fn of<F: 'static>() -> Costs {
        if ifma::runs::<F>() {
            Costs::EIGHT_LANES
        } else {
            Costs::SCALAR
        }
    }

    /// An addition's cost with `nb` buckets, the inversion's share included.
    fn per_add(&self, nb: usize) -> usize {
        self.batch_add + self.inversion / batch_affine::batch_capacity(nb, self.eight_lanes)
    }

    /// A bucket's cost in the reduction of `nb` buckets: two batched additions, a share of
    /// the steps' inversions and of the segments' sums (about 10 multiplications at 2^11
    /// buckets) where the accumulator reduces in segments, else two XYZZ additions.
    fn bucket(&self, nb: usize) -> usize {
        if self.eight_lanes && nb >= batch_affine::SEGMENTED_MIN_BUCKETS {
            10 * 16
        } else {
            self.bucket
        }
    }
}

/// The `(c, f)` with the least estimated cost for `n` bases of random scalars (two GLV halves
/// each) on `threads` threads, `f ≤ cap`.
pub(crate) fn choose_window(n: usize, cap: usize, threads: usize, costs: Costs) -> (u32, u32) {
    let halves = 2 * n.max(1);
    let threads = threads.max(1);
    let mut best = (usize::MAX, 4, 1);
    for c in 4..=MAX_PRECOMPUTED_WINDOW_BITS {
        let w = windows_for(c) as usize;
        let f = w.min(cap).max(1);
        let passes = w.div_ceil(f);
        let nb = 1usize << (c - 1);
        // Buckets per task, and how many sets of them are reduced.
        let (task_buckets, bucket_sets) = if f > 1 {
            (nb / bucket_splits(passes, threads, nb), passes)
        } else {
            (nb, passes * chunk_count(halves, passes, threads))
        };
        if f == 1 && c > MAX_WINDOW_BITS || task_buckets > 1 << (MAX_PRECOMPUTED_WINDOW_BITS - 2) {
            continue;
        }
        let mut per_add = costs.per_add(nb);
        if f > 1 && bucket_splits(passes, threads, nb) > threads {
            // A task's points are spread over the table: each one a cache miss.
            per_add += costs.scattered_read;
        }
        let entries = halves * w;
        let cost = entries * per_add + bucket_sets * nb * costs.bucket(nb);
        if cost < best.0 {
            best = (cost, c, f as u32);
        }
    }
    (best.1, best.2)
}

/// Magnitudes below `2^SMALL_BITS` are summed apart from the rest (see [`PreparedBases::msm`]).
const SMALL_BITS: u32 = 24;

/// The window width for `count` halves of at most `bits` bits (with the carry) over stored
/// bases, by the cost model of [`choose_window`] with no precomputation.
fn choose_width(count: usize, bits: u32, threads: usize, costs: Costs) -> u32 {
    let mut best = (usize::MAX, 1);
    for c in 1..=MAX_WINDOW_BITS.min(bits.max(1)) {
        let w = bits.div_ceil(c) as usize;
        let chunks = chunk_count(count, w, threads);
        let nb = 1usize << (c - 1);
        let cost = count * w * costs.per_add(nb) + w * chunks * nb * costs.bucket(nb);
        if cost < best.0 {
            best = (cost, c);
        }
    }
    best.1
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

/// Into how many ranges to split the `nb` buckets of each of `passes` passes over
/// precomputed multiples: enough that every thread has a task, and that a task's buckets stay
/// in a core's L2 cache (at most [`task_buckets`]). Each task then reads all the digits but
/// adds only those of its buckets, and reduces only those.
fn bucket_splits(passes: usize, threads: usize, nb: usize) -> usize {
    threads
        .div_ceil(passes.max(1))
        .max(nb.div_ceil(task_buckets()))
        .max(1)
}

/// Most buckets a task of [`bucket_splits`] has (`ZKINFER_MSM_TASK_BUCKETS`, for tuning).
fn task_buckets() -> usize {
    static V: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *V.get_or_init(|| {
        std::env::var("ZKINFER_MSM_TASK_BUCKETS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&v: &usize| v > 0)
            .unwrap_or(TASK_BUCKETS)
    })
}

/// See [`task_buckets`]: 2^11 buckets of 64 bytes, 128 KiB.
const TASK_BUCKETS: usize = 1 << 11;

impl<P: GLVConfig> PreparedBases<P> {
    /// Prepares `bases` with the process-wide precompute cap
    /// ([`set_precompute_factor_cap`]).
    pub fn new(bases: Vec<Affine<P>>) -> Self {
        Self::with_cap(bases, precompute_factor_cap())
    }

    /// Prepares `bases` storing at most `cap` multiples of each.
    pub fn with_cap(bases: Vec<Affine<P>>, cap: usize) -> Self {
        let (c, factor) = choose_window(
            bases.len(),
            cap.max(1),
            rayon::current_num_threads(),
            Costs::of::<P::BaseField>(),
        );
        Self::with_window(bases, c, factor)
    }

    /// Prepares `bases` with windows of `c` bits and `factor` stored multiples, whatever the
    /// cost model would choose: for tuning (`gpu/examples/msm_tune.rs`) and tests.
    #[doc(hidden)]
    pub fn with_window(bases: Vec<Affine<P>>, c: u32, factor: u32) -> Self {
        let n = bases.len();
        // Base indices carry the endomorphism flag in bit 31.
        assert!(n < 1 << 31, "too many bases");
        assert!(
            (2..=MAX_PRECOMPUTED_WINDOW_BITS).contains(&c),
            "window width"
        );
        let factor = factor.clamp(1, windows_for(c));
        // Table indices, with the flag, are u32 too.
        assert!((n as u64) * (factor as u64) < 1 << 31, "too many bases");
        let table = precompute::build_table(&bases, c, factor as usize);
        let beta = P::ENDO_COEFFS[0];
        let table_endo = table
            .par_iter()
            .map(|p| {
                if p.is_inf() {
                    *p
                } else {
                    Pt {
                        x: p.x * beta,
                        y: p.y,
                    }
                }
            })
            .collect();
        let bases_only = if factor > 1 {
            table.iter().step_by(factor as usize).copied().collect()
        } else {
            Vec::new()
        };
        PreparedBases {
            n,
            c,
            windows: windows_for(c),
            factor,
            table,
            table_endo,
            bases_only,
            glv: Glv::new::<P>(),
        }
    }

    /// The base (or, with [`ENDO_FLAG`], its image `φ(base)`) a half of a decomposed scalar
    /// refers to, without its multiples.
    #[inline]
    fn base_point(&self, base: u32) -> Pt<P::BaseField> {
        *self.base_point_ref(base)
    }

    /// [`Self::base_point`] in place.
    #[inline]
    fn base_point_ref(&self, base: u32) -> &Pt<P::BaseField> {
        let i = (base & !ENDO_FLAG) as usize;
        if base & ENDO_FLAG != 0 {
            // A GLV half of a larger scalar can be small too; rare, so φ(base) is read from
            // the table rather than kept apart.
            &self.table_endo[i * self.factor as usize]
        } else if self.bases_only.is_empty() {
            &self.table[i]
        } else {
            &self.bases_only[i]
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

    /// Bytes held by the tables (the multiples and their images under `φ`).
    pub fn memory_bytes(&self) -> usize {
        (self.table.len() + self.table_endo.len() + self.bases_only.len())
            * std::mem::size_of::<Pt<P::BaseField>>()
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
        let all: Vec<(u32, Half)> = if halves.len() == 1 {
            halves.into_iter().next().expect("one chunk")
        } else {
            halves.into_iter().flatten().collect()
        };
        // Small magnitudes (bits, small signed integers: the witness shape) and large ones
        // (GLV halves of random scalars) are summed apart, each with windows for its own width
        // and count: one large scalar among thousands of bits must not make every bit pay
        // for ten passes of bucket reductions.
        let (small, large): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|(_, (_, m))| *m < 1u128 << SMALL_BITS);
        let (ones, small): (Vec<_>, Vec<_>) = small.into_iter().partition(|(_, (_, m))| *m == 1);
        let mut acc = self.sum_ones(&ones, threads);
        // The small ones have few windows: a pass of buckets each, over the bases alone,
        // costs less than reading their precomputed multiples.
        acc += self.sum_halves(&small, threads, false);
        acc += self.sum_halves(&large, threads, true);
        acc
    }

    /// `Σ ±base` over halves of magnitude 1 (bits and −1: most of a witness): a plain sum,
    /// spread over lanes so that its additions batch (one bucket would take them one by one).
    fn sum_ones(&self, halves: &[(u32, Half)], threads: usize) -> Projective<P> {
        if halves.is_empty() {
            return Projective::zero();
        }
        let chunks = threads.min(halves.len().div_ceil(4096)).max(1);
        let per = halves.len().div_ceil(chunks);
        halves
            .par_chunks(per)
            .map(|chunk| {
                let lanes = (chunk.len() / 8).clamp(1, 2048);
                let mut acc = Accumulator::<P>::new(lanes);
                for (i, &(base, (neg, _))) in chunk.iter().enumerate() {
                    let mut pt = self.base_point(base);
                    if neg && !pt.is_inf() {
                        pt.y = -pt.y;
                    }
                    acc.add((i % lanes) as u32, pt);
                }
                acc.finish_sum().into_projective()
            })
            .sum()
    }

    /// `Σ ±m·(base or φ(base))` over `halves`, with the precomputed multiples when
    /// `multiples` (and the table has them), else one pass per window over the bases.
    fn sum_halves(&self, halves: &[(u32, Half)], threads: usize, multiples: bool) -> Projective<P> {
        let Some(max_mag) = halves.iter().map(|(_, (_, m))| *m).max() else {
            return Projective::zero();
        };
        // +1: the signed digits' carry.
        let bits = 128 - max_mag.leading_zeros() + 1;
        // Bases stored alone serve any window width; precomputed multiples only theirs.
        let (c, f) = if self.factor == 1 || !multiples {
            (
                choose_width(halves.len(), bits, threads, Costs::of::<P::BaseField>()),
                1,
            )
        } else {
            (self.c, self.factor)
        };
        let used_windows = bits.div_ceil(c);
        let passes = used_windows.div_ceil(f) as usize;
        // Tasks: with precomputed multiples (few passes), the additions of all the halves into
        // a range of the buckets each; over the bases alone, a chunk of the halves into all the
        // buckets.
        let (chunks, splits) = if f > 1 {
            (1, bucket_splits(passes, threads, 1usize << (c - 1)))
        } else {
            (chunk_count(halves.len(), passes, threads), 1)
        };
        // Blocks of halves, each with its signed digits, computed once (a pass then reads its
        // windows' digits instead of recoding every half from its lowest window up: the
        // carries run upwards) and, per pass, routed to the bucket ranges' lists.
        let per = halves
            .len()
            .div_ceil(if splits > 1 { threads } else { chunks });
        let nb = 1u32 << (c - 1);
        let ranges: Vec<std::ops::Range<u32>> = (0..splits as u64)
            .map(|r| {
                let n = nb as u64;
                (n * r / splits as u64) as u32..(n * (r + 1) / splits as u64) as u32
            })
            .collect();
        let blocks: Vec<&[(u32, Half)]> = halves.chunks(per).collect();
        let digits: Vec<Vec<i32>> = blocks
            .par_iter()
            .map(|b| signed_digits(b, c, used_windows))
            .collect();
        // With one range, each task routes its own pass of its own block when it runs, so
        // only the additions of the tasks running at once are held (8 bytes each: all the
        // passes' at once would be twice the digits). With ranges, every range needs every
        // block's additions, so they are routed first and the digits dropped.
        let routed: Vec<Vec<Vec<Addition>>> = if splits > 1 {
            (0..passes * blocks.len())
                .into_par_iter()
                .map(|t| {
                    let (p, k) = (t / blocks.len(), t % blocks.len());
                    self.route(f, p as u32, used_windows, blocks[k], &digits[k], &ranges)
                })
                .collect()
        } else {
            Vec::new()
        };
        let digits = if splits > 1 { Vec::new() } else { digits };
        // (pass, block, range): with ranges, every block's additions into range r; else one
        // block's into all the buckets.
        let tasks: Vec<(usize, usize, usize)> = (0..passes)
            .flat_map(|p| {
                let nblocks = blocks.len();
                let count = if splits > 1 { splits } else { nblocks };
                (0..count).map(move |t| if splits > 1 { (p, 0, t) } else { (p, t, 0) })
            })
            .collect();
        let sums: Vec<Projective<P>> = tasks
            .par_iter()
            .map(|&(p, k, r)| {
                let sum = if splits > 1 {
                    let lists =
                        (0..blocks.len()).map(|k| routed[p * blocks.len() + k][r].as_slice());
                    self.accumulate(f, lists, ranges[r].clone())
                } else {
                    let own = self.route(f, p as u32, used_windows, blocks[k], &digits[k], &ranges);
                    self.accumulate(f, own.iter().map(|l| l.as_slice()), ranges[r].clone())
                };
                sum.into_projective()
            })
            .collect();
        // Σ_p 2^(c·f·p)·S_p (Horner, top pass first).
        let mut acc = Projective::<P>::zero();
        for p in (0..passes).rev() {
            for _ in 0..c * f {
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

    /// The additions of pass `p` (windows `p·f .. (p+1)·f` of width `c`; with `f > 1` these
    /// are the table's multiples, of the prepared width, else `f = 1` and any width) over
    /// `halves`, whose [`signed_digits`] are `digits`, sorted into `ranges` (equal, adjacent
    /// ranges from bucket 0): window `j`'s digit `d` of a half adds the table's
    /// `2^(c·(j − p·f))` multiple of its base to bucket `|d| − 1`.
    fn route(
        &self,
        f: u32,
        p: u32,
        used_windows: u32,
        halves: &[(u32, Half)],
        digits: &[i32],
        ranges: &[std::ops::Range<u32>],
    ) -> Vec<Vec<Addition>> {
        let lo = p * f;
        let hi = ((p + 1) * f).min(used_windows);
        let w = used_windows as usize;
        let splits = ranges.len();
        let nb = ranges.last().map_or(0, |r| r.end);
        let mut out: Vec<Vec<Addition>> = (0..splits)
            .map(|_| Vec::with_capacity(halves.len() * (hi - lo) as usize / splits + 16))
            .collect();
        for (i, &(base, (neg, _))) in halves.iter().enumerate() {
            let ds = &digits[i * w..(i + 1) * w];
            let flag = base & ENDO_FLAG;
            let idx = (base & !ENDO_FLAG) * self.factor;
            for j in lo..hi {
                let d = ds[j as usize];
                if d == 0 {
                    continue;
                }
                let b = d.unsigned_abs() - 1;
                // ⌊b·splits/nb⌋ is the range or, where nb/splits is no integer, one below it.
                let mut r = (b as u64 * splits as u64 / nb as u64) as usize;
                while ranges[r].end <= b {
                    r += 1;
                }
                let sign = ((neg != (d < 0)) as u32) << 31;
                // One window per pass (f = 1) uses the base alone, wherever it is stored.
                let point = if f == 1 { base } else { flag | (idx + j - lo) };
                out[r].push(((b - ranges[r].start) | sign, point));
            }
        }
        out
    }

    /// `Σ (start + b + 1)·point` over `lists` of [`Self::route`]'s additions into the
    /// buckets `range` (numbered from its start).
    fn accumulate<'a>(
        &self,
        f: u32,
        lists: impl Iterator<Item = &'a [Addition]>,
        range: std::ops::Range<u32>,
    ) -> xyzz::Xyzz<P> {
        let point = |r: u32| -> &Pt<P::BaseField> {
            if f == 1 {
                self.base_point_ref(r)
            } else if r & ENDO_FLAG != 0 {
                &self.table_endo[(r & !ENDO_FLAG) as usize]
            } else {
                &self.table[r as usize]
            }
        };
        let mut acc = Accumulator::<P>::new((range.end - range.start) as usize);
        for list in lists {
            // The points of the next block are requested while this block's are added: a
            // block of additions takes far longer than the memory needs for its points (an
            // addition is often just a copy into the batch, too short to hide a miss alone).
            let blocks: Vec<&[Addition]> = list.chunks(POINT_BLOCK).collect();
            for block in blocks.iter().take(POINT_BLOCKS_AHEAD) {
                for &(_, r) in block.iter() {
                    batch_affine::prefetch_point(point(r));
                }
            }
            for (k, block) in blocks.iter().enumerate() {
                if let Some(next) = blocks.get(k + POINT_BLOCKS_AHEAD) {
                    for &(_, r) in next.iter() {
                        batch_affine::prefetch_point(point(r));
                    }
                }
                for &(b, r) in block.iter() {
                    let mut pt = *point(r);
                    if pt.is_inf() {
                        continue;
                    }
                    if b >> 31 != 0 {
                        pt.y = -pt.y;
                    }
                    acc.add(b & !(1 << 31), pt);
                }
            }
        }
        acc.finish(range.start)
    }
}

type Half = glv::Half;

/// Additions per block whose points [`PreparedBases::accumulate`] requests ahead.
const POINT_BLOCK: usize = 64;

/// How many blocks ahead (see [`POINT_BLOCK`]).
const POINT_BLOCKS_AHEAD: usize = 4;

/// One addition into a bucket: (bucket within its range, with the point's sign in bit 31;
/// the point: a table index, or with `f = 1` a base, with [`ENDO_FLAG`] for `φ`).
type Addition = (u32, u32);

/// The signed base-`2^c` digits of `halves`' magnitudes in `windows` windows, half-major
/// (`out[i·windows + j]` is half `i`'s digit `j`), computed in parallel: `m = Σ_j d_j·2^(c·j)`
/// with `−2^(c−1) < d_j ≤ 2^(c−1)`, so `|d_j|` names one of `2^(c−1)` buckets. The magnitudes
/// must fit: `m < 2^(c·windows − 1)`.
fn signed_digits(halves: &[(u32, Half)], c: u32, windows: u32) -> Vec<i32> {
    let w = windows as usize;
    let mut out = vec![0i32; w * halves.len()];
    let mask = (1u128 << c) - 1;
    let half = 1i64 << (c - 1);
    const BLOCK: usize = 4096;
    out.par_chunks_mut(BLOCK * w)
        .zip(halves.par_chunks(BLOCK))
        .for_each(|(out, halves)| {
            for (ds, &(_, (_, m))) in out.chunks_mut(w).zip(halves) {
                let mut carry = 0i64;
                for (j, d) in ds.iter_mut().enumerate() {
                    // c·j < 128 for every window (c·(windows − 1) < GLV_BITS + 1).
                    let v = ((m >> (c * j as u32)) & mask) as i64 + carry;
                    *d = if v > half {
                        carry = 1;
                        (v - (1 << c)) as i32
                    } else {
                        carry = 0;
                        v as i32
                    };
                }
                debug_assert_eq!(carry, 0, "a magnitude wider than its windows");
            }
        });
    out
}

/// Marks a half on `φ(P)` in [`PreparedBases::decompose`]'s output.
const ENDO_FLAG: u32 = 1 << 31;

fn limbs_of<B: AsRef<[u64]>>(b: &B) -> [u64; 4] {
    let l = b.as_ref();
    let mut out = [0u64; 4];
    out[..l.len().min(4)].copy_from_slice(&l[..l.len().min(4)]);
    out
}

/// `a < b` for 256-bit values (four little-endian limbs).
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
    let (mut out, borrow) = field_ops::sub_borrow(r_minus_one, b);
    debug_assert_eq!(borrow, 0);
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
    use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
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
                    // λ and its neighbours: GLV halves of magnitude 0 and 1 (φ(P) alone).
                    let l = <g1::Config as GLVConfig>::LAMBDA;
                    [
                        t,
                        t - Fr::from(1u64),
                        -t,
                        h,
                        h + Fr::from(1u64),
                        -h,
                        l,
                        -l,
                        l + Fr::from(1u64),
                        // GLV halves that are small but not ±1, one on φ(P): summed with
                        // the small scalars, over the bases alone.
                        l * Fr::from(5u64) + Fr::from(3u64),
                        -(l * Fr::from(70_000u64)) - Fr::from(2u64),
                    ][i % 11]
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

    /// Wide windows, whose buckets are split into many ranges, and a thread count that does
    /// not divide the buckets evenly.
    #[test]
    fn wide_windows_and_uneven_bucket_splits_match_arkworks() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut bases = points::<G1Projective>(300, &mut rng);
        bases[7] = G1Affine::identity();
        // (13, 5): two passes of 2 ranges each, fewer ranges than the 3 threads' blocks.
        for (c, f) in [(16, 64), (15, 3), (13, 64), (13, 5), (9, 2)] {
            let prep = PreparedBases::<g1::Config>::with_window(bases.clone(), c, f);
            assert_eq!(prep.shape().0, c);
            for kind in [0, 5, 6, 7, 8] {
                let s = scalars(bases.len(), kind, &mut rng);
                let want = G1Projective::msm_unchecked(&bases, &s);
                assert_eq!(prep.msm(&s), want, "c={c} f={f} kind={kind}");
                let three = rayon::ThreadPoolBuilder::new()
                    .num_threads(3)
                    .build()
                    .expect("a pool");
                assert_eq!(
                    three.install(|| prep.msm(&s)),
                    want,
                    "3 threads c={c} kind={kind}"
                );
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

    /// Buckets filled with hundreds of points in a random order: batches, points waiting for
    /// a pending bucket, queue overflow into XYZZ side buckets (many points for one bucket),
    /// doublings (the same point twice), inverses (P then −P) and infinity.
    #[test]
    fn accumulator_matches_naive_sum() {
        let mut rng = StdRng::seed_from_u64(3);
        let pts: Vec<G1Affine> = points::<G1Projective>(300, &mut rng);
        let pt = |p: &G1Affine| {
            if p.is_zero() {
                Pt::INF
            } else {
                Pt { x: p.x, y: p.y }
            }
        };
        // With an offset the buckets are a range starting there: bucket b weighs offset + b + 1.
        // Both paths of the batch addition: one at a time, and eight lanes where the CPU has
        // them.
        let paths = if ifma::runs::<ark_bn254::Fq>() {
            vec![false, true]
        } else {
            eprintln!("eight-lane path skipped: this CPU has no AVX-512 IFMA");
            vec![false]
        };
        for (nb, skew, offset, eight_lanes) in paths.iter().flat_map(|&e| {
            [
                (8usize, false, 0u32),
                (256, false, 0),
                (4096, false, 0),
                (256, true, 0),
                (256, false, 1000),
                (1000, false, 0),
                (1024, false, 70_000),
                (600, true, 3),
            ]
            .map(|(nb, skew, offset)| (nb, skew, offset, e))
        }) {
            let mut acc = Accumulator::<g1::Config>::with_lanes(nb, eight_lanes);
            let mut plain = Accumulator::<g1::Config>::with_lanes(nb, eight_lanes);
            let mut want = G1Projective::zero();
            let mut want_plain = G1Projective::zero();
            let mut last = vec![G1Affine::identity(); nb];
            for k in 0..5000 {
                // Skewed: most points into bucket 0, as bits put them.
                let b = if skew && k % 8 != 0 {
                    0
                } else {
                    rng.gen_range(0..nb)
                };
                let p = match k % 11 {
                    0 => G1Affine::identity(),
                    1 => last[b],  // equal to the bucket's last point: may double
                    2 => -last[b], // its inverse: may cancel
                    _ => pts[rng.gen_range(0..pts.len())],
                };
                last[b] = p;
                want += p * Fr::from(offset as u64 + b as u64 + 1);
                want_plain += p;
                acc.add(b as u32, pt(&p));
                plain.add(b as u32, pt(&p));
            }
            assert_eq!(
                plain.finish_sum().into_projective(),
                want_plain,
                "plain sum: nb={nb} skew={skew} eight_lanes={eight_lanes}"
            );
            assert_eq!(
                acc.finish(offset).into_projective(),
                want,
                "nb={nb} skew={skew} offset={offset} eight_lanes={eight_lanes}"
            );
        }
        // Doubling and cancelling straight into a bucket holding the point.
        let mut acc = Accumulator::<g1::Config>::new(4);
        acc.add(1, pt(&pts[0]));
        acc.add(1, pt(&pts[0]));
        acc.add(2, pt(&pts[1]));
        acc.add(2, pt(&-pts[1]));
        assert_eq!(
            acc.finish(0).into_projective(),
            G1Projective::from(pts[0]) * Fr::from(4u64)
        );
    }

    #[test]
    fn window_choice_fits_cap_and_memory() {
        for log in [0u32, 4, 10, 12, 16, 18, 20] {
            for cap in [1usize, 2, 8, 16, 64] {
                for costs in [Costs::SCALAR, Costs::EIGHT_LANES] {
                    let (c, f) = choose_window(1 << log, cap, 2, costs);
                    assert!((4..=20).contains(&c));
                    assert!(f as usize <= cap && f <= windows_for(c) && f >= 1);
                }
            }
        }
        let mut rng = StdRng::seed_from_u64(4);
        let bases = points::<G1Projective>(100, &mut rng);
        let prep = PreparedBases::<g1::Config>::with_cap(bases, 4);
        let (_, _, f) = prep.shape();
        assert!(f <= 4);
        let kept_apart = if f > 1 { 100 } else { 0 };
        assert_eq!(
            prep.memory_bytes(),
            (2 * 100 * f as usize + kept_apart) * 64
        );
        // A budget sizes the cap so that the tables fit it.
        let bases = 100 * 64;
        for budget in [0u64, 6_400, 19_199, 19_200, 70_000, 1 << 20] {
            let cap = precompute_factor_for(budget, bases);
            assert!(cap >= 1);
            if cap > 1 {
                assert!((2 * cap as u64 + 1) * bases <= budget, "{budget}: {cap}");
            }
            assert!(
                (2 * (cap as u64 + 1) + 1) * bases > budget,
                "{budget}: {cap} is not the most"
            );
        }
    }
}
