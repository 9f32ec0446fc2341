//! XYZZ ("extended Jacobian") point arithmetic for `y² = x³ + b`, exactly the formulas of
//! `kernels/curve.cuh`. A point `(X, Y, ZZ, ZZZ)` with `ZZ³ = ZZZ²` stands for
//! `(X/ZZ, Y/ZZZ)`; `ZZ = 0` is the point at infinity. Mixed addition of an affine point costs
//! 8M + 2S and needs no inversion, which is why bucket accumulation uses this form. Affine points
//! are `(x, y)` with `(0, 0)` for infinity (never on the curve since `b ≠ 0`), the kernels' layout.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, Field};

/// A point in XYZZ coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Xyzz<F: Field> {
    pub x: F,
    pub y: F,
    pub zz: F,
    pub zzz: F,
}

impl<F: Field> Xyzz<F> {
    /// The point at infinity (`ZZ = ZZZ = 0`).
    pub fn infinity() -> Self {
        Xyzz {
            x: F::ONE,
            y: F::ONE,
            zz: F::ZERO,
            zzz: F::ZERO,
        }
    }

    /// Whether this is the point at infinity.
    pub fn is_infinity(&self) -> bool {
        self.zz.is_zero()
    }

    /// Lifts an affine `(x, y)` ((0,0) = infinity).
    pub fn from_xy(x: F, y: F) -> Self {
        if x.is_zero() && y.is_zero() {
            Self::infinity()
        } else {
            Xyzz {
                x,
                y,
                zz: F::ONE,
                zzz: F::ONE,
            }
        }
    }

    /// Doubling of an affine point (mdbl-2008-s-1, a = 0): the result of `P + P` inside `madd`.
    fn dbl_affine(x: F, y: F) -> Self {
        let u = y.double();
        let v = u.square();
        let w = u * v;
        let s = x * v;
        let m = x.square() * F::from(3u64);
        let x3 = m.square() - s.double();
        let y3 = m * (s - x3) - w * y;
        Xyzz {
            x: x3,
            y: y3,
            zz: v,
            zzz: w,
        }
    }

    /// `self + (x2, y2)` for an affine point (madd-2008-s), handling infinity on either side and
    /// `P = ±Q`.
    pub fn add_affine(&mut self, x2: F, y2: F) {
        if x2.is_zero() && y2.is_zero() {
            return;
        }
        if self.is_infinity() {
            *self = Xyzz {
                x: x2,
                y: y2,
                zz: F::ONE,
                zzz: F::ONE,
            };
            return;
        }
        let u2 = x2 * self.zz;
        let s2 = y2 * self.zzz;
        let p = u2 - self.x;
        let r = s2 - self.y;
        if p.is_zero() {
            *self = if r.is_zero() {
                Self::dbl_affine(x2, y2)
            } else {
                Self::infinity()
            };
            return;
        }
        let pp = p.square();
        let ppp = p * pp;
        let q = self.x * pp;
        let x3 = r.square() - ppp - q.double();
        let y3 = r * (q - x3) - self.y * ppp;
        *self = Xyzz {
            x: x3,
            y: y3,
            zz: self.zz * pp,
            zzz: self.zzz * ppp,
        };
    }

    /// `2·self` (dbl-2008-s-1, a = 0).
    pub fn double(&self) -> Self {
        if self.is_infinity() {
            return *self;
        }
        let u = self.y.double();
        let v = u.square();
        let w = u * v;
        let s = self.x * v;
        let m = self.x.square() * F::from(3u64);
        let x3 = m.square() - s.double();
        let y3 = m * (s - x3) - w * self.y;
        Xyzz {
            x: x3,
            y: y3,
            zz: v * self.zz,
            zzz: w * self.zzz,
        }
    }

    /// `self + other` (add-2008-s), handling infinity and `P = ±Q`.
    pub fn add(&self, other: &Self) -> Self {
        if self.is_infinity() {
            return *other;
        }
        if other.is_infinity() {
            return *self;
        }
        let u1 = self.x * other.zz;
        let u2 = other.x * self.zz;
        let s1 = self.y * other.zzz;
        let s2 = other.y * self.zzz;
        let p = u2 - u1;
        let r = s2 - s1;
        if p.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Self::infinity()
            };
        }
        let pp = p.square();
        let ppp = p * pp;
        let q = u1 * pp;
        let x3 = r.square() - ppp - q.double();
        let y3 = r * (q - x3) - s1 * ppp;
        Xyzz {
            x: x3,
            y: y3,
            zz: self.zz * other.zz * pp,
            zzz: self.zzz * other.zzz * ppp,
        }
    }

    /// `k·self` for a small `k` by double-and-add from the top bit, as the window-reduction
    /// kernel computes a segment's offset term.
    pub fn mul_u32(&self, k: u32) -> Self {
        let mut acc = Self::infinity();
        for bit in (0..32).rev() {
            acc = acc.double();
            if (k >> bit) & 1 == 1 {
                acc = acc.add(self);
            }
        }
        acc
    }

    /// The affine point, or `None` at infinity.
    pub fn to_xy(&self) -> Option<(F, F)> {
        if self.is_infinity() {
            return None;
        }
        Some((self.x * self.zz.inverse()?, self.y * self.zzz.inverse()?))
    }
}

/// An arkworks affine point in the kernels' `(x, y)` layout ((0,0) for infinity).
pub fn xy_of<P: SWCurveConfig>(p: &Affine<P>) -> (P::BaseField, P::BaseField) {
    if p.is_zero() {
        (P::BaseField::ZERO, P::BaseField::ZERO)
    } else {
        (p.x, p.y)
    }
}

/// Converts an XYZZ point back to an arkworks projective point.
pub fn to_projective<P: SWCurveConfig>(p: &Xyzz<P::BaseField>) -> Projective<P> {
    match p.to_xy() {
        None => Projective::<P>::default(),
        Some((x, y)) => Affine::<P>::new_unchecked(x, y).into_group(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, G1Projective, G2Projective};
    use ark_ec::{AdditiveGroup, CurveGroup, PrimeGroup};
    use ark_ff::{UniformRand, Zero};
    use ark_std::test_rng;

    fn check<P: SWCurveConfig>() {
        assert!(P::COEFF_A.is_zero(), "formulas assume a = 0");
        let mut rng = test_rng();
        let g = Projective::<P>::generator();
        for _ in 0..30 {
            let a = Projective::<P>::rand(&mut rng);
            let b = Projective::<P>::rand(&mut rng);
            let (aa, ba) = (a.into_affine(), b.into_affine());
            let (ax, ay) = xy_of(&aa);
            let (bx, by) = xy_of(&ba);
            let xa = Xyzz::from_xy(ax, ay);
            let xb = Xyzz::from_xy(bx, by);
            // mixed add, full add, double, P + P, P + (-P), infinity on both sides
            let mut m = xa;
            m.add_affine(bx, by);
            assert_eq!(to_projective::<P>(&m), a + b);
            // a non-normalised accumulator (ZZ ≠ 1) exercises every term of the formulas
            let mut acc = xa.double();
            acc.add_affine(bx, by);
            assert_eq!(to_projective::<P>(&acc), a.double() + b);
            assert_eq!(
                to_projective::<P>(&acc.add(&xb.double())),
                a.double() + b + b.double()
            );
            let mut same = xa.double().add(&xa); // 3a in XYZZ with ZZ ≠ 1
            same.add_affine(ax, ay);
            assert_eq!(to_projective::<P>(&same), a * P::ScalarField::from(4u64));
            let mut dbl = xa;
            dbl.add_affine(ax, ay);
            assert_eq!(to_projective::<P>(&dbl), a.double());
            let mut neg = xa;
            neg.add_affine(ax, -ay);
            assert!(neg.is_infinity());
            assert!(xa.add(&Xyzz::from_xy(ax, -ay)).is_infinity());
            assert_eq!(to_projective::<P>(&xa.add(&xa)), a.double());
            assert_eq!(to_projective::<P>(&Xyzz::infinity().add(&xa)), a);
            assert_eq!(to_projective::<P>(&xa.add(&Xyzz::infinity())), a);
            let mut inf = Xyzz::<P::BaseField>::infinity();
            inf.add_affine(ax, ay);
            assert_eq!(to_projective::<P>(&inf), a);
            let mut keep = xa;
            keep.add_affine(P::BaseField::ZERO, P::BaseField::ZERO);
            assert_eq!(keep, xa);
            assert_eq!(
                to_projective::<P>(&xa.mul_u32(12345)),
                a * P::ScalarField::from(12345u64)
            );
        }
        assert!(Xyzz::<P::BaseField>::infinity().double().is_infinity());
        let _ = g;
    }

    #[test]
    fn xyzz_formulas_match_arkworks_g1() {
        check::<g1::Config>();
        let _ = G1Projective::zero();
    }

    #[test]
    fn xyzz_formulas_match_arkworks_g2() {
        check::<g2::Config>();
        let _ = G2Projective::zero();
    }
}
