//! Extended Jacobian ("XYZZ") coordinates for short Weierstrass curves with `a = 0`:
//! `x = X/ZZ`, `y = Y/ZZZ`, `ZZ³ = ZZZ²`. Used where batches are too small for batched affine
//! additions (the tail of a bucket, the bucket reduction). Formulas: EFD `madd-2008-s`,
//! `add-2008-s`, `dbl-2008-s-1`, `mdbl-2008-s-1`.

use ark_ec::short_weierstrass::{Projective, SWCurveConfig};
use ark_ff::{AdditiveGroup, Field, Zero};

use super::batch_affine::Pt;

/// A point in XYZZ coordinates; `ZZ = 0` is the point at infinity.
pub(crate) struct Xyzz<P: SWCurveConfig> {
    x: P::BaseField,
    y: P::BaseField,
    zz: P::BaseField,
    zzz: P::BaseField,
}

impl<P: SWCurveConfig> Clone for Xyzz<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: SWCurveConfig> Copy for Xyzz<P> {}

impl<P: SWCurveConfig> Xyzz<P> {
    pub(crate) fn zero() -> Self {
        Xyzz {
            x: P::BaseField::ONE,
            y: P::BaseField::ONE,
            zz: P::BaseField::ZERO,
            zzz: P::BaseField::ZERO,
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.zz.is_zero()
    }

    pub(crate) fn from_affine(p: &Pt<P::BaseField>) -> Self {
        if p.is_inf() {
            return Self::zero();
        }
        Xyzz {
            x: p.x,
            y: p.y,
            zz: P::BaseField::ONE,
            zzz: P::BaseField::ONE,
        }
    }

    /// `self += p` for an affine `p` (madd-2008-s; doubling and inverses handled).
    pub(crate) fn add_affine(&mut self, p: &Pt<P::BaseField>) {
        if p.is_inf() {
            return;
        }
        if self.is_zero() {
            *self = Self::from_affine(p);
            return;
        }
        let pp = p.x * self.zz - self.x;
        let r = p.y * self.zzz - self.y;
        if pp.is_zero() {
            if r.is_zero() {
                *self = Self::double_affine(p);
            } else {
                *self = Self::zero();
            }
            return;
        }
        let ppp_sq = pp.square();
        let ppp = pp * ppp_sq;
        let q = self.x * ppp_sq;
        let x3 = r.square() - ppp - q.double();
        let y3 = r * (q - x3) - self.y * ppp;
        self.x = x3;
        self.y = y3;
        self.zz *= ppp_sq;
        self.zzz *= ppp;
    }

    /// `self += other` (add-2008-s; doubling and inverses handled).
    pub(crate) fn add(&mut self, o: &Self) {
        if o.is_zero() {
            return;
        }
        if self.is_zero() {
            *self = *o;
            return;
        }
        let u1 = self.x * o.zz;
        let u2 = o.x * self.zz;
        let s1 = self.y * o.zzz;
        let s2 = o.y * self.zzz;
        let pp = u2 - u1;
        let r = s2 - s1;
        if pp.is_zero() {
            if r.is_zero() {
                self.double_in_place();
            } else {
                *self = Self::zero();
            }
            return;
        }
        let pp2 = pp.square();
        let ppp = pp * pp2;
        let q = u1 * pp2;
        let x3 = r.square() - ppp - q.double();
        let y3 = r * (q - x3) - s1 * ppp;
        self.x = x3;
        self.y = y3;
        self.zz = self.zz * o.zz * pp2;
        self.zzz = self.zzz * o.zzz * ppp;
    }

    /// `2·p` for an affine `p` (mdbl-2008-s-1, `a = 0`).
    fn double_affine(p: &Pt<P::BaseField>) -> Self {
        let u = p.y.double();
        let v = u.square();
        let w = u * v;
        let s = p.x * v;
        let x2 = p.x.square();
        let m = x2.double() + x2;
        let x3 = m.square() - s.double();
        let y3 = m * (s - x3) - w * p.y;
        Xyzz {
            x: x3,
            y: y3,
            zz: v,
            zzz: w,
        }
    }

    /// `self = 2·self` (dbl-2008-s-1, `a = 0`).
    pub(crate) fn double_in_place(&mut self) {
        if self.is_zero() {
            return;
        }
        let u = self.y.double();
        let v = u.square();
        let w = u * v;
        let s = self.x * v;
        let x2 = self.x.square();
        let m = x2.double() + x2;
        let x3 = m.square() - s.double();
        let y3 = m * (s - x3) - w * self.y;
        self.x = x3;
        self.y = y3;
        self.zz *= v;
        self.zzz *= w;
    }

    /// The affine points of `points`, sharing one inversion (Montgomery's trick over every
    /// `ZZ` and `ZZZ`); the point at infinity is [`Pt::INF`].
    pub(crate) fn normalize_batch(points: &[Self]) -> Vec<Pt<P::BaseField>> {
        let mut inv: Vec<P::BaseField> = points.iter().flat_map(|p| [p.zz, p.zzz]).collect();
        // Zeros (points at infinity) are skipped by arkworks' batch inversion.
        ark_ff::batch_inversion(&mut inv);
        points
            .iter()
            .zip(inv.chunks_exact(2))
            .map(|(p, i)| {
                if p.is_zero() {
                    Pt::INF
                } else {
                    Pt {
                        x: p.x * i[0],
                        y: p.y * i[1],
                    }
                }
            })
            .collect()
    }

    /// `k·self` for a small `k` (double-and-add from the top bit).
    pub(crate) fn mul_small(&self, k: u32) -> Self {
        let mut acc = Self::zero();
        for bit in (0..32 - k.leading_zeros()).rev() {
            acc.double_in_place();
            if k >> bit & 1 == 1 {
                acc.add(self);
            }
        }
        acc
    }

    /// To arkworks' Jacobian coordinates without an inversion: with `ZZ = z²`, `ZZZ = z³`,
    /// `(X·ZZ², Y·ZZZ², ZZZ)` is the same point.
    pub(crate) fn into_projective(self) -> Projective<P> {
        if self.is_zero() {
            return Projective::zero();
        }
        Projective::new_unchecked(
            self.x * self.zz.square(),
            self.y * self.zzz.square(),
            self.zzz,
        )
    }
}
