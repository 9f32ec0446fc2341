//! The field multiplications of the MSM's hot loop, chosen once per batch: arkworks' own
//! (portable Rust), or, for BN254's base field on an x86-64 CPU with BMI2 and ADX, arkworks'
//! MULX/ADCX/ADOX assembly (the `ark-ff-asm` macros `Fp` uses when a build targets those
//! features), selected at run time.
//!
//! Why at run time: arkworks takes its assembly path only when the whole build is compiled
//! with `-C target-feature=+bmi2,+adx`, and a binary built so dies with SIGILL on a CPU without
//! them. Detecting the features here keeps every zkinfer binary portable and still gives the
//! MSM's multiplications, most of its time, the faster instructions wherever they exist.

use ark_ff::Field;

/// Multiplication, squaring and subtraction of one field.
pub(crate) trait FieldOps<F> {
    /// `a⁻¹`, `None` for zero.
    fn inverse(a: &F) -> Option<F>;
    fn mul(a: &mut F, b: &F);
    fn square(a: &mut F);
    fn sub(a: &F, b: &F) -> F;
}

/// arkworks' arithmetic, for any field.
pub(crate) struct Portable;

impl<F: Field> FieldOps<F> for Portable {
    fn inverse(a: &F) -> Option<F> {
        a.inverse()
    }

    #[inline(always)]
    fn mul(a: &mut F, b: &F) {
        *a *= b;
    }

    #[inline(always)]
    fn square(a: &mut F) {
        a.square_in_place();
    }

    #[inline(always)]
    fn sub(a: &F, b: &F) -> F {
        *a - b
    }
}

/// Whether `F` is BN254's base field and this CPU runs [`Adx`].
pub(crate) fn adx_for<F: 'static>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::any::TypeId::of::<F>() == std::any::TypeId::of::<ark_bn254::Fq>() && adx::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `a − b` over 256 bits (four little-endian limbs) and the final borrow (0 or 1).
#[inline(always)]
pub(crate) fn sub_borrow(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let mut t = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        t[i] = d2;
        borrow = b1 | b2;
    }
    (t, borrow as u64)
}

#[cfg(target_arch = "x86_64")]
pub(crate) use adx::Adx;

#[cfg(target_arch = "x86_64")]
mod adx {
    use super::{sub_borrow, FieldOps};
    use ark_bn254::{Fq, FqConfig};
    use ark_ff::{BigInt, MontConfig};
    use std::sync::OnceLock;

    /// Whether the CPU has BMI2 (MULX) and ADX (ADCX, ADOX); detected once.
    pub(crate) fn available() -> bool {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            std::arch::is_x86_feature_detected!("bmi2")
                && std::arch::is_x86_feature_detected!("adx")
        })
    }

    /// BN254 `Fq` multiplication with MULX/ADCX/ADOX. Only reachable through [`super::adx_for`]
    /// having returned true: its instructions fault on a CPU without BMI2 and ADX.
    pub(crate) struct Adx;

    /// The names `ark-ff-asm`'s macros read: the modulus and `−p⁻¹ mod 2^64`.
    struct Consts;

    impl Consts {
        const MODULUS: BigInt<4> = <FqConfig as MontConfig<4>>::MODULUS;
        const INV: u64 = <FqConfig as MontConfig<4>>::INV;

        /// `a·b·R⁻¹ mod p` for `a, b < p`. The macro leaves a result below `2p` (the modulus
        /// has a spare top bit: arkworks' "no-carry" multiplication); one conditional
        /// subtraction makes it canonical, as `Fp` keeps its values.
        #[inline(always)]
        fn mul(a: &mut [u64; 4], b: &[u64; 4]) {
            debug_assert!(available());
            ark_ff::x86_64_asm_mul!(4, *a, *b);
            Self::reduce(a);
        }

        #[inline(always)]
        fn square(a: &mut [u64; 4]) {
            debug_assert!(available());
            ark_ff::x86_64_asm_square!(4, *a);
            Self::reduce(a);
        }

        /// `a − b mod p` for `a, b < p`, without branches: arkworks' subtraction first
        /// compares `b > a` and branches, which on the MSM's random values mispredicts half
        /// the time (a microbenchmark of the batch addition: 11 % faster this way).
        #[inline(always)]
        fn sub(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
            let (t, borrow) = sub_borrow(a, b);
            // borrow = 1: a < b, add p back.
            let mask = 0u64.wrapping_sub(borrow);
            let mut out = [0u64; 4];
            let mut carry = false;
            for i in 0..4 {
                let (s1, c1) = t[i].overflowing_add(Self::MODULUS.0[i] & mask);
                let (s2, c2) = s1.overflowing_add(carry as u64);
                out[i] = s2;
                carry = c1 | c2;
            }
            out
        }

        /// `a − p` if `a ≥ p`, without branches: whether to subtract depends on the data,
        /// and a mispredicted branch costs about what the subtraction does.
        #[inline(always)]
        fn reduce(a: &mut [u64; 4]) {
            let (t, borrow) = sub_borrow(a, &Self::MODULUS.0);
            // borrow = 1: a < p, keep a.
            let keep = 0u64.wrapping_sub(borrow);
            for i in 0..4 {
                a[i] = (a[i] & keep) | (t[i] & !keep);
            }
        }
    }

    impl FieldOps<Fq> for Adx {
        fn inverse(a: &Fq) -> Option<Fq> {
            crate::msm::inverse::inverse(a)
        }

        #[inline(always)]
        fn mul(a: &mut Fq, b: &Fq) {
            Consts::mul(&mut (a.0).0, &(b.0).0);
        }

        #[inline(always)]
        fn square(a: &mut Fq) {
            Consts::square(&mut (a.0).0);
        }

        #[inline(always)]
        fn sub(a: &Fq, b: &Fq) -> Fq {
            Fq::new_unchecked(BigInt(Consts::sub(&(a.0).0, &(b.0).0)))
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use ark_bn254::Fq;
    use ark_ff::{PrimeField, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    /// The assembly agrees with arkworks' portable multiplication and squaring on random and
    /// edge values (0, 1, −1, p−2, and values just below 2^254).
    #[test]
    fn adx_matches_arkworks() {
        if !adx_for::<Fq>() {
            eprintln!("skipped: this CPU has no BMI2/ADX");
            return;
        }
        let mut rng = StdRng::seed_from_u64(5);
        let mut vals: Vec<Fq> = (0..2000).map(|_| Fq::rand(&mut rng)).collect();
        vals.extend([
            Fq::from(0u64),
            Fq::from(1u64),
            -Fq::from(1u64),
            -Fq::from(2u64),
            Fq::from(Fq::MODULUS_MINUS_ONE_DIV_TWO),
            Fq::from(2u64).pow([253u64]) - Fq::from(1u64),
        ]);
        for (i, a) in vals.iter().enumerate() {
            let b = &vals[(i * 7 + 3) % vals.len()];
            let (mut x, mut y) = (*a, *a);
            <Adx as FieldOps<Fq>>::mul(&mut x, b);
            <Portable as FieldOps<Fq>>::mul(&mut y, b);
            assert_eq!(x, y, "mul {a} {b}");
            assert_eq!(x.0, (*a * b).0, "canonical limbs");
            let (mut x, mut y) = (*a, *a);
            <Adx as FieldOps<Fq>>::square(&mut x);
            <Portable as FieldOps<Fq>>::square(&mut y);
            assert_eq!(x, y, "square {a}");
            let (x, y) = (<Adx as FieldOps<Fq>>::sub(a, b), *a - b);
            assert_eq!(x.0, y.0, "sub {a} {b}");
            let (x, y) = (<Adx as FieldOps<Fq>>::sub(b, a), *b - a);
            assert_eq!(x.0, y.0, "sub {b} {a}");
            assert_eq!(<Adx as FieldOps<Fq>>::sub(a, a).0, Fq::from(0u64).0);
        }
        assert!(!adx_for::<ark_bn254::Fq2>());
        assert!(!adx_for::<ark_bn254::Fr>());
    }
}
