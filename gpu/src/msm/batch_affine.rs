//! Bucket accumulation in affine coordinates with batched inversions (Montgomery's trick).
//!
//! The points of every bucket lie in one contiguous segment of a buffer. Each round adds the
//! points of every segment in pairs (`p0+p1, p2+p3, …`), writing the sums to the segment's
//! front, so segments halve; all the round's denominators (`x2 − x1`, or `2y` for a doubling)
//! share one field inversion. An affine addition then costs about 6 multiplications against
//! 10 for a mixed XYZZ addition. When a round has fewer than [`MIN_BATCH`] pairs, an inversion
//! would no longer pay for itself: the remaining points of each bucket are added in XYZZ.

use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ff::{AdditiveGroup, Field};

use super::xyzz::Xyzz;

/// Fewest pairs for which a round of batched affine additions is used.
pub(crate) const MIN_BATCH: usize = 32;

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

/// Reusable scratch for [`bucket_sums`].
#[derive(Default)]
pub(crate) struct Scratch<F> {
    den: Vec<F>,
    prefix: Vec<F>,
    active: Vec<u32>,
}

enum Pair {
    /// A general addition or a doubling: needs the inverse of its denominator.
    Invert,
    TakeFirst,
    TakeSecond,
    Infinity,
}

#[inline]
fn classify<F: Field>(a: &Pt<F>, b: &Pt<F>) -> Pair {
    if a.is_inf() {
        Pair::TakeSecond
    } else if b.is_inf() {
        Pair::TakeFirst
    } else if a.x == b.x && a.y != b.y {
        // a = −b (the group has odd order, so no point has y = 0).
        Pair::Infinity
    } else {
        Pair::Invert
    }
}

/// `Σ_b (b+1)·(Σ of the points in segment b)`, with segment `b` being
/// `buf[starts[b] .. starts[b] + lens[b]]`. Clobbers `buf` and `lens`.
pub(crate) fn bucket_sums<P: SWCurveConfig>(
    buf: &mut [Pt<P::BaseField>],
    starts: &[u32],
    lens: &mut [u32],
    scratch: &mut Scratch<P::BaseField>,
) -> Xyzz<P> {
    let Scratch {
        den,
        prefix,
        active,
    } = scratch;
    active.clear();
    active.extend((0..lens.len() as u32).filter(|&b| lens[b as usize] >= 2));
    loop {
        let pairs: usize = active.iter().map(|&b| lens[b as usize] as usize / 2).sum();
        if pairs < MIN_BATCH {
            break;
        }
        // Denominators.
        den.clear();
        for &b in active.iter() {
            let (s, l) = (starts[b as usize] as usize, lens[b as usize] as usize);
            for k in 0..l / 2 {
                let (p, q) = (&buf[s + 2 * k], &buf[s + 2 * k + 1]);
                den.push(match classify(p, q) {
                    Pair::Invert if p.x == q.x => p.y.double(),
                    Pair::Invert => q.x - p.x,
                    _ => P::BaseField::ONE,
                });
            }
        }
        batch_invert(den, prefix);
        // Sums, written to the front of each segment.
        let mut i = 0;
        for &b in active.iter() {
            let (s, l) = (starts[b as usize] as usize, lens[b as usize] as usize);
            for k in 0..l / 2 {
                let (p, q) = (buf[s + 2 * k], buf[s + 2 * k + 1]);
                buf[s + k] = match classify(&p, &q) {
                    Pair::TakeFirst => p,
                    Pair::TakeSecond => q,
                    Pair::Infinity => Pt::INF,
                    Pair::Invert => {
                        let lambda = if p.x == q.x {
                            let x2 = p.x.square();
                            (x2.double() + x2) * den[i]
                        } else {
                            (q.y - p.y) * den[i]
                        };
                        let x3 = lambda.square() - p.x - q.x;
                        let y3 = lambda * (p.x - x3) - p.y;
                        Pt { x: x3, y: y3 }
                    }
                };
                i += 1;
            }
            if l % 2 == 1 {
                buf[s + l / 2] = buf[s + l - 1];
            }
            lens[b as usize] = l.div_ceil(2) as u32;
        }
        active.retain(|&b| lens[b as usize] >= 2);
    }
    // Running-sum reduction, top bucket first; a bucket still holding several points is
    // summed in XYZZ.
    let mut running = Xyzz::<P>::zero();
    let mut sum = Xyzz::<P>::zero();
    let Some(top) = lens.iter().rposition(|&l| l > 0) else {
        return sum;
    };
    for b in (0..=top).rev() {
        let (s, l) = (starts[b] as usize, lens[b] as usize);
        match l {
            0 => {}
            1 => running.add_affine(&buf[s]),
            _ => {
                let mut acc = Xyzz::<P>::zero();
                for p in &buf[s..s + l] {
                    acc.add_affine(p);
                }
                running.add(&acc);
            }
        }
        sum.add(&running);
    }
    sum
}

/// Replaces every element of `v` (all non-zero) by its inverse with one field inversion.
pub(crate) fn batch_invert<F: Field>(v: &mut [F], prefix: &mut Vec<F>) {
    prefix.clear();
    let mut acc = F::ONE;
    for x in v.iter() {
        prefix.push(acc);
        acc *= x;
    }
    let mut inv = acc.inverse().expect("batch_invert: zero denominator");
    for (x, p) in v.iter_mut().zip(prefix.iter()).rev() {
        let t = inv * p;
        inv *= *x;
        *x = t;
    }
}
