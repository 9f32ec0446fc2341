//! Bucket accumulation in affine coordinates with batched inversions (Montgomery's trick).
//!
//! Points stream in one at a time, each for one bucket. A point whose bucket is empty is
//! stored as it is; otherwise the pair joins a *batch* of pending additions, at most one per
//! bucket. When the batch is full its denominators `x₂ − x₁` share one field inversion and
//! every pending bucket gets its sum: an affine addition then costs about 6 multiplications
//! against 10 for a mixed XYZZ addition. A point whose bucket is already pending waits in a
//! queue for the next batch; when the queue grows past a few batches (scalars piling into a
//! few buckets, as bits do) it is drained into XYZZ side buckets instead, so no distribution
//! of digits costs more than plain XYZZ accumulation.
//!
//! The buckets live in one array of `2^(c−1)` points, touched in the order digits arrive; the
//! points themselves are read in order, so memory traffic is streaming except for the buckets.

use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ff::Field;

use super::field_ops::{self, FieldOps};
use super::xyzz::Xyzz;

/// An affine point; `(0, 0)` is the point at infinity (it is on neither BN254 curve, whose
/// equations are `y² = x³ + b` with `b ≠ 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pt<F> {
    pub(crate) x: F,
    pub(crate) y: F,
}

impl<F: Field> Pt<F> {
    pub(crate) const INF: Self = Pt {
        x: F::ZERO,
        y: F::ZERO,
    };

    #[inline]
    pub(crate) fn is_inf(&self) -> bool {
        self.x.is_zero() && self.y.is_zero()
    }
}

/// `2^(c−1)` buckets being filled; see the module docs.
pub(crate) struct Accumulator<P: SWCurveConfig> {
    buckets: Vec<Pt<P::BaseField>>,
    /// Whether a bucket has a pending addition in the batch.
    pending: Vec<bool>,
    /// The batch: (bucket, point to add).
    batch: Vec<(u32, Pt<P::BaseField>)>,
    /// Points whose bucket was pending when they came.
    queue: Vec<(u32, Pt<P::BaseField>)>,
    /// XYZZ side buckets, allocated the first time the queue overflows.
    side: Vec<Xyzz<P>>,
    /// Denominators, then their inverses; prefix products.
    den: Vec<P::BaseField>,
    prefix: Vec<P::BaseField>,
    /// Rows of the eight-lane batch addition ([`super::ifma`]), for BN254 G1 where the CPU
    /// has AVX-512 IFMA.
    #[cfg(target_arch = "x86_64")]
    rows: super::ifma::simd::Scratch,
    /// Whether batches run on eight lanes ([`super::ifma::runs`] said so).
    eight_lanes: bool,
    capacity: usize,
}

/// Batch size for `nb` buckets: large enough that the inversion (about 230 multiplications)
/// is a small share of each addition, small enough that few points find their bucket already
/// pending (about `B/2nb` of them, here an eighth at most). On eight lanes
/// ([`super::ifma`]) an addition costs a third of a scalar one while the inversion does not
/// shrink, so batches are twice as large: a quarter of the points then wait a batch, which
/// measured 5–8 % faster at `2^14`–`2^16` points than the smaller batches.
pub(crate) fn batch_capacity(nb: usize, eight_lanes: bool) -> usize {
    if eight_lanes {
        (nb / 2).clamp(128, 2048)
    } else {
        (nb / 4).clamp(128, 1024)
    }
}

impl<P: SWCurveConfig> Accumulator<P> {
    /// Empty buckets `0 .. nb`, added on eight lanes where [`super::ifma::runs`].
    pub(crate) fn new(nb: usize) -> Self {
        Self::with_lanes(nb, super::ifma::runs::<P::BaseField>())
    }

    /// Empty buckets `0 .. nb`, added on eight lanes if `eight_lanes` (which needs
    /// [`super::ifma::runs`]), else one addition at a time: the tests run both paths.
    pub(crate) fn with_lanes(nb: usize, eight_lanes: bool) -> Self {
        Self::with_capacity(nb, eight_lanes, batch_capacity(nb, eight_lanes))
    }

    /// [`Self::with_lanes`] with batches of `capacity` additions.
    fn with_capacity(nb: usize, eight_lanes: bool, capacity: usize) -> Self {
        assert!(
            !eight_lanes || super::ifma::runs::<P::BaseField>(),
            "eight lanes need BN254 G1 and AVX-512 IFMA"
        );
        Accumulator {
            buckets: vec![Pt::INF; nb],
            pending: vec![false; nb],
            batch: Vec::with_capacity(capacity),
            queue: Vec::new(),
            side: Vec::new(),
            den: Vec::with_capacity(capacity),
            prefix: Vec::with_capacity(capacity),
            #[cfg(target_arch = "x86_64")]
            rows: Default::default(),
            eight_lanes,
            capacity,
        }
    }

    /// `bucket[b] += p`.
    #[inline]
    pub(crate) fn add(&mut self, b: u32, p: Pt<P::BaseField>) {
        if p.is_inf() {
            return;
        }
        let bi = b as usize;
        if self.pending[bi] {
            self.queue.push((b, p));
            if self.queue.len() > 4 * self.capacity {
                self.drain_queue_to_side();
            }
            return;
        }
        let cur = self.buckets[bi];
        if cur.is_inf() {
            self.buckets[bi] = p;
            return;
        }
        if cur.x == p.x {
            // p = ±cur: a doubling (rare: the same point twice) or the point at infinity.
            self.buckets[bi] = if cur.y == p.y {
                double_affine(&p)
            } else {
                Pt::INF
            };
            return;
        }
        self.pending[bi] = true;
        self.batch.push((b, p));
        if self.batch.len() == self.capacity {
            self.flush();
            self.requeue();
        }
    }

    /// Adds the batch's pairs with one inversion and clears it.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        if field_ops::adx_for::<P::BaseField>() {
            #[cfg(target_arch = "x86_64")]
            {
                use ark_bn254::Fq;
                if self.eight_lanes {
                    // SAFETY: `adx_for` checked that `P::BaseField` is `Fq` (the same
                    // `TypeId`), so each cast is between identical types; `with_lanes` that
                    // the CPU has AVX-512 IFMA.
                    unsafe {
                        super::ifma::simd::add_batch(
                            &*(self.batch.as_slice() as *const [(u32, Pt<P::BaseField>)]
                                as *const [(u32, Pt<Fq>)]),
                            &mut *(self.buckets.as_mut_slice() as *mut [Pt<P::BaseField>]
                                as *mut [Pt<Fq>]),
                            &mut self.pending,
                            &mut self.rows,
                        );
                    }
                    self.batch.clear();
                    return;
                }
                // SAFETY: `adx_for` checked that `P::BaseField` is `Fq` (the same `TypeId`),
                // so each cast is between identical types.
                unsafe {
                    add_batch::<Fq, field_ops::Adx>(
                        &*(self.batch.as_slice() as *const [(u32, Pt<P::BaseField>)]
                            as *const [(u32, Pt<Fq>)]),
                        &mut *(self.buckets.as_mut_slice() as *mut [Pt<P::BaseField>]
                            as *mut [Pt<Fq>]),
                        &mut self.pending,
                        &mut *(&mut self.den as *mut Vec<P::BaseField> as *mut Vec<Fq>),
                        &mut *(&mut self.prefix as *mut Vec<P::BaseField> as *mut Vec<Fq>),
                    );
                }
            }
        } else {
            add_batch::<P::BaseField, field_ops::Portable>(
                &self.batch,
                &mut self.buckets,
                &mut self.pending,
                &mut self.den,
                &mut self.prefix,
            );
        }
        self.batch.clear();
    }

    /// Offers the queued points again (after a flush nothing is pending).
    fn requeue(&mut self) {
        let queued = std::mem::take(&mut self.queue);
        for &(b, p) in &queued {
            // No recursion into flush while the queue is taken: a full batch flushes in
            // `add`, which then requeues what is queued by then (an empty queue).
            self.add(b, p);
        }
        // Keep the allocation.
        let mut queued = queued;
        queued.clear();
        if self.queue.is_empty() {
            self.queue = queued;
        }
    }

    fn drain_queue_to_side(&mut self) {
        if self.queue.is_empty() {
            // Nothing to drain: no side buckets (nb XYZZ points) allocated for nothing.
            return;
        }
        if self.side.is_empty() {
            self.side = vec![Xyzz::zero(); self.buckets.len()];
        }
        for &(b, p) in &self.queue {
            self.side[b as usize].add_affine(&p);
        }
        self.queue.clear();
    }

    /// Completes the batch and the queue.
    fn settle(&mut self) {
        while !self.batch.is_empty() || !self.queue.is_empty() {
            self.flush();
            if self.queue.len() < self.capacity / 4 {
                // Too few left for a batch to pay for its inversion.
                self.drain_queue_to_side();
            } else {
                self.requeue();
            }
        }
    }

    /// `Σ_b bucket[b]`, unweighted: the buckets used as lanes of one plain sum.
    pub(crate) fn finish_sum(mut self) -> Xyzz<P> {
        self.settle();
        if self.eight_lanes {
            self.fold_side();
            self.halve_in_batches();
        }
        let mut sum = Xyzz::<P>::zero();
        for (b, p) in self.buckets.iter().enumerate() {
            sum.add_affine(p);
            if let Some(s) = self.side.get(b) {
                sum.add(s);
            }
        }
        sum
    }

    /// `Σ_b (offset + b + 1)·bucket[b]`: the batch and queue completed, then the running-sum
    /// reduction from the top bucket down. A non-zero `offset` serves a range of buckets
    /// starting at `offset`: the running sum ends as `Σ_b bucket[b]`, added `offset` times.
    pub(crate) fn finish(mut self, offset: u32) -> Xyzz<P> {
        self.settle();
        if self.eight_lanes && self.buckets.len() >= SEGMENTED_MIN_BUCKETS {
            self.fold_side();
            return self.reduce_in_segments(offset);
        }
        let mut running = Xyzz::<P>::zero();
        let mut sum = Xyzz::<P>::zero();
        let top = (0..self.buckets.len())
            .rev()
            .find(|&b| !self.buckets[b].is_inf() || self.side.get(b).is_some_and(|s| !s.is_zero()));
        let Some(top) = top else {
            return sum;
        };
        for b in (0..=top).rev() {
            running.add_affine(&self.buckets[b]);
            if let Some(s) = self.side.get(b) {
                running.add(s);
            }
            sum.add(&running);
        }
        if offset > 0 {
            sum.add(&running.mul_small(offset));
        }
        sum
    }

    /// Adds the side buckets into the (settled) buckets and drops them: the few buckets with
    /// a side part are summed in XYZZ and made affine together, with one inversion.
    fn fold_side(&mut self) {
        let side = std::mem::take(&mut self.side);
        let touched: Vec<usize> = (0..side.len()).filter(|&b| !side[b].is_zero()).collect();
        if touched.is_empty() {
            return;
        }
        let sums: Vec<Xyzz<P>> = touched
            .iter()
            .map(|&b| {
                let mut t = side[b];
                t.add_affine(&self.buckets[b]);
                t
            })
            .collect();
        for (&b, p) in touched.iter().zip(Xyzz::normalize_batch(&sums)) {
            self.buckets[b] = p;
        }
    }

    /// [`Self::finish`] for settled buckets without side buckets, on `k` segments of `l`
    /// consecutive buckets at once: each step adds a bucket, from the top, to segment `s`'s
    /// running sum and, in the same batch, the running sum as it stood to the segment's
    /// weighted sum, so the `2k` additions of a step share one inversion instead of
    /// being two XYZZ additions each (about 24 multiplications per bucket). Segment `s` then
    /// holds `run_s = Σ_i B_{s,i}` and `sum_s = Σ_i (i + 1)·B_{s,i}`, and the buckets' weighted
    /// sum is `Σ_s sum_s + l·Σ_s s·run_s + offset·Σ_s run_s`, the middle term a running sum
    /// over the `k` segments.
    fn reduce_in_segments(self, offset: u32) -> Xyzz<P> {
        let nb = self.buckets.len();
        // A step costs an inversion, the final sums three XYZZ additions per segment (about
        // 300 and 36 multiplications): k = √(8·nb) balances l·300 against 36·k.
        let k = (((8 * nb) as f64).sqrt() as usize).clamp(1, nb);
        let l = nb.div_ceil(k);
        // Buckets 0..k are the running sums, k..2k the weighted sums.
        let mut seg = Accumulator::<P>::with_capacity(2 * k, self.eight_lanes, 2 * k);
        // Step j adds the running sum as it stands (Σ_{i ≥ j} B_{s,i}) to the weighted sum
        // and bucket j − 1 to the running sum; the last step (j = 0) only the former.
        for j in (0..=l).rev() {
            for s in 0..k {
                let run = seg.buckets[s];
                seg.add((k + s) as u32, run);
                let b = s * l + j;
                if j > 0 && b - 1 < nb {
                    seg.add(s as u32, self.buckets[b - 1]);
                }
            }
            seg.settle();
        }
        debug_assert!(seg.side.is_empty(), "a step adds once to each bucket");
        // Each weighted sum is Σ_j Σ_{i ≥ j} B_{s,i} = Σ_i (i + 1)·B_{s,i}.
        let mut total = Xyzz::<P>::zero();
        let mut runs = Xyzz::<P>::zero();
        let mut weighted = Xyzz::<P>::zero();
        for s in (0..k).rev() {
            total.add_affine(&seg.buckets[k + s]);
            runs.add_affine(&seg.buckets[s]);
            if s > 0 {
                // Σ_{s ≥ 1} Σ_{t ≥ s} run_t = Σ_t t·run_t.
                weighted.add(&runs);
            }
        }
        total.add(&weighted.mul_small(l as u32));
        if offset > 0 {
            total.add(&runs.mul_small(offset));
        }
        total
    }

    /// Halves the settled buckets, without side buckets, in batches until few are left: each
    /// round adds the upper half onto the lower (one inversion per round), so a plain sum of
    /// `nb` buckets costs `nb` batched additions instead of `nb` XYZZ ones. The sum of the
    /// buckets is unchanged; the upper ones are left at infinity.
    fn halve_in_batches(&mut self) {
        let mut len = self.buckets.len();
        while len >= 2 * HALVING_MIN_PAIRS {
            let keep = len.div_ceil(2);
            for i in 0..len - keep {
                let p = std::mem::replace(&mut self.buckets[keep + i], Pt::INF);
                self.add(i as u32, p);
            }
            self.settle();
            len = keep;
        }
        debug_assert!(self.side.is_empty(), "a round adds once to each bucket");
    }
}

/// Buckets from which [`Accumulator::finish`] on eight lanes reduces in segments (below, the
/// inversions of the steps cost more than the XYZZ additions they save).
pub(crate) const SEGMENTED_MIN_BUCKETS: usize = 512;

/// Fewest additions a round of [`Accumulator::halve_in_batches`] makes (below, its inversion
/// costs more than the XYZZ additions it saves).
const HALVING_MIN_PAIRS: usize = 64;

/// `buckets[b] += p` for every `(b, p)` of `batch` (distinct buckets, `p.x ≠ buckets[b].x`,
/// neither at infinity), sharing one inversion among the denominators (Montgomery's trick),
/// with the multiplications of `O`; clears the buckets' pending flags. `den` and `prefix` are
/// scratch space.
#[inline(always)]
pub(crate) fn add_batch<F: Field, O: FieldOps<F>>(
    batch: &[(u32, Pt<F>)],
    buckets: &mut [Pt<F>],
    pending: &mut [bool],
    den: &mut Vec<F>,
    prefix: &mut Vec<F>,
) {
    den.clear();
    prefix.clear();
    let mut acc = F::ONE;
    for (i, &(b, p)) in batch.iter().enumerate() {
        // The buckets are read in the digits' random order: ask for a later one early so
        // its cache miss overlaps this one's arithmetic.
        if let Some(&(ahead, _)) = batch.get(i + PREFETCH_AHEAD) {
            prefetch(&buckets[ahead as usize]);
        }
        let d = O::sub(&p.x, &buckets[b as usize].x);
        prefix.push(acc);
        O::mul(&mut acc, &d);
        den.push(d);
    }
    let mut inv =
        O::inverse(&acc).expect("denominators are non-zero: equal x are handled before batching");
    for (i, &(b, p)) in batch.iter().enumerate().rev() {
        let mut d_inv = inv;
        O::mul(&mut d_inv, &prefix[i]);
        O::mul(&mut inv, &den[i]);
        let q = &mut buckets[b as usize];
        let mut lambda = O::sub(&p.y, &q.y);
        O::mul(&mut lambda, &d_inv);
        let mut x3 = lambda;
        O::square(&mut x3);
        x3 = O::sub(&x3, &q.x);
        x3 = O::sub(&x3, &p.x);
        let mut y3 = O::sub(&q.x, &x3);
        O::mul(&mut y3, &lambda);
        y3 = O::sub(&y3, &q.y);
        q.x = x3;
        q.y = y3;
        pending[b as usize] = false;
    }
}

/// How many batch entries ahead [`add_batch`] prefetches a bucket.
const PREFETCH_AHEAD: usize = 8;

/// A hint that `*p` will be read soon (no effect on results).
#[inline(always)]
pub(crate) fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; it never faults or changes memory.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const T as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A hint that the point `*p` will be read soon: its first and last cache lines, which are
/// all of a 64-byte G1 point's (it may straddle two); a G2 point's middle line is left to the
/// hardware prefetcher.
#[inline(always)]
pub(crate) fn prefetch_point<F>(p: &Pt<F>) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; it never faults or changes memory.
    unsafe {
        let a = p as *const Pt<F> as *const i8;
        std::arch::x86_64::_mm_prefetch(a, std::arch::x86_64::_MM_HINT_T0);
        std::arch::x86_64::_mm_prefetch(
            a.wrapping_add(std::mem::size_of::<Pt<F>>() - 1),
            std::arch::x86_64::_MM_HINT_T0,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `2·p` in affine coordinates (one inversion).
fn double_affine<F: Field>(p: &Pt<F>) -> Pt<F> {
    // The group has odd order, so no point has y = 0.
    let x2 = p.x.square();
    let lambda = (x2.double() + x2) * p.y.double().inverse().expect("y ≠ 0");
    let x3 = lambda.square() - p.x.double();
    Pt {
        x: x3,
        y: lambda * (p.x - x3) - p.y,
    }
}
