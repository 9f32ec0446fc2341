//! The batch affine addition of BN254 G1 on eight lanes at once: AVX-512 IFMA
//! (`vpmadd52luq`/`vpmadd52huq`, eight 52×52-bit products per instruction), chosen at run time
//! where the CPU has it.
//!
//! Why: the batch addition ([`super::batch_affine`]) is most of the MSM, and its time is six
//! field multiplications per addition. One 4×64-bit Montgomery multiplication is a chain of
//! `mulx` products and their carries; eight of them side by side in 52-bit limbs take about 110
//! vector instructions. On this project's CPUs (Sapphire Rapids) that makes the batch addition
//! several times faster (figures in the README).
//!
//! Representation. Values are kept in arkworks' Montgomery form (`x·2^256 mod p`), as five
//! 52-bit limbs per lane, below `2p` between operations (lazy reduction) and canonical when
//! they leave; [`lanes`] explains the multiplication. The algorithm is written once
//! ([`lanes::lane_algorithm`]) and instantiated twice: on AVX-512 instructions ([`simd`]) and
//! on a plain-Rust mirror of them (`mirror`, in tests), so it is tested against arkworks on
//! every CPU and the instructions against the mirror where the CPU has them.

mod consts;
mod lanes;

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(test)]
mod emulated;

/// The algorithm on AVX-512 F and IFMA instructions.
#[cfg(target_arch = "x86_64")]
pub(crate) mod simd {
    use super::avx512::*;
    super::lanes::lane_algorithm!(#[inline] #[target_feature(enable = "avx512f,avx512ifma")]);
}

/// The algorithm on the plain-Rust mirror of the instructions.
#[cfg(test)]
pub(crate) mod mirror {
    use super::emulated::*;
    super::lanes::lane_algorithm!(#[inline]);
}

/// Whether the CPU has AVX-512 F and IFMA; detected once. `ZKINFER_MSM_IFMA=off` says no, to
/// measure against the scalar path.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512ifma")
                && std::env::var("ZKINFER_MSM_IFMA").map_or(true, |v| v != "off")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether batches of points over `F` run here: `F` is BN254's base field (G1) and
/// [`available`].
pub(crate) fn runs<F: 'static>() -> bool {
    super::field_ops::adx_for::<F>() && available()
}

#[cfg(test)]
mod tests {
    use super::batch_affine_scalar;
    use super::consts::MODULUS;
    use crate::msm::batch_affine::Pt;
    use ark_bn254::Fq;
    use ark_ff::{BigInt, Field, PrimeField, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    fn edge_values(rng: &mut StdRng) -> Vec<Fq> {
        let mut v: Vec<Fq> = (0..200).map(|_| Fq::rand(rng)).collect();
        v.extend([
            Fq::from(0u64),
            Fq::from(1u64),
            Fq::from(2u64),
            -Fq::from(1u64),
            -Fq::from(2u64),
            Fq::from(Fq::MODULUS_MINUS_ONE_DIV_TWO),
            Fq::from(Fq::MODULUS_MINUS_ONE_DIV_TWO) + Fq::from(1u64),
            Fq::from(2u64).pow([253u64]),
        ]);
        // Raw limbs at the edges of the representation too: 2^64 − 1 and p − 1.
        v.push(Fq::new_unchecked(BigInt([u64::MAX, 0, 0, 0])));
        v.push(Fq::new_unchecked(BigInt([
            MODULUS[0] - 1,
            MODULUS[1],
            MODULUS[2],
            MODULUS[3],
        ])));
        v
    }

    type Probe = unsafe fn(&[Fq; 8], &[Fq; 8]) -> ([[Fq; 8]; 6], bool);

    /// Multiplication, squaring and subtraction agree with arkworks lane by lane on random and
    /// edge values, stay below 2p, and take their own unreduced results as inputs.
    fn check_field_ops(probe: Probe) {
        let mut rng = StdRng::seed_from_u64(8);
        let vals = edge_values(&mut rng);
        for start in 0..vals.len() {
            let a: [Fq; 8] = std::array::from_fn(|l| vals[(start + l) % vals.len()]);
            let b: [Fq; 8] = std::array::from_fn(|l| vals[(start * 7 + 3 * l + 1) % vals.len()]);
            // SAFETY: the caller checked that the CPU runs `probe`.
            let (got, below_2p) = unsafe { probe(&a, &b) };
            assert!(below_2p, "a result at or above 2p");
            let want =
                |f: &dyn Fn(Fq, Fq) -> Fq| -> [Fq; 8] { std::array::from_fn(|l| f(a[l], b[l])) };
            assert_eq!(got[0], want(&|x, y| x * y), "mul");
            assert_eq!(got[1], want(&|x, _| x.square()), "square");
            assert_eq!(got[2], want(&|x, y| x - y), "a − b");
            assert_eq!(got[3], want(&|x, y| y - x), "b − a");
            assert_eq!(got[4], want(&|x, y| x * y * (x - y)), "lazy mul");
            assert_eq!(got[5], want(&|x, y| x.square() - x * y), "lazy sub");
        }
    }

    /// Whether the CPU runs the instructions; says so when it does not.
    fn ifma_here() -> bool {
        let here = super::available();
        if !here {
            eprintln!(
                "skipped: this CPU has no AVX-512 IFMA (the mirror test covers the algorithm)"
            );
        }
        here
    }

    #[test]
    fn mirror_field_ops_match_arkworks() {
        check_field_ops(super::mirror::probe);
    }

    #[test]
    fn simd_field_ops_match_arkworks() {
        if !ifma_here() {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        check_field_ops(super::simd::probe);
    }

    type AddBatch<S> = unsafe fn(&[(u32, Pt<Fq>)], &mut [Pt<Fq>], &mut [bool], &mut S);

    /// `add` leaves the buckets exactly as the scalar batch addition does, for batches that
    /// fill whole rows, part of one, or a single entry, with coordinates at the field's edges
    /// (the formulas need no curve, so field elements serve), reusing one scratch.
    fn check_add_batch<S: Default>(add: AddBatch<S>) {
        let mut rng = StdRng::seed_from_u64(9);
        let edges = edge_values(&mut rng);
        let nb = 3000;
        let mut scratch = S::default();
        for (round, size) in [1usize, 7, 8, 9, 17, 64, 100, 1024, 1023]
            .into_iter()
            .enumerate()
        {
            let pick = |rng: &mut StdRng, i: usize| -> Fq {
                if i % 5 == round % 5 {
                    edges[(i * 31 + round) % edges.len()]
                } else {
                    Fq::rand(rng)
                }
            };
            let buckets: Vec<Pt<Fq>> = (0..nb)
                .map(|i| Pt {
                    x: pick(&mut rng, i),
                    y: pick(&mut rng, i + 1),
                })
                .collect();
            // Distinct buckets, in a scattered order.
            let batch: Vec<(u32, Pt<Fq>)> = (0..size)
                .map(|i| {
                    let b = ((i * 1237 + round * 11) % nb) as u32;
                    let mut x = pick(&mut rng, i + 2);
                    if x == buckets[b as usize].x {
                        x += Fq::from(1u64);
                    }
                    (
                        b,
                        Pt {
                            x,
                            y: pick(&mut rng, i + 3),
                        },
                    )
                })
                .collect();
            let (mut want, mut got) = (buckets.clone(), buckets);
            let (mut want_pending, mut got_pending) = (vec![true; nb], vec![true; nb]);
            batch_affine_scalar(&batch, &mut want, &mut want_pending);
            // SAFETY: the caller checked that the CPU runs `add`.
            unsafe { add(&batch, &mut got, &mut got_pending, &mut scratch) };
            assert!(got == want, "batch of {size}: buckets differ");
            assert_eq!(got_pending, want_pending, "batch of {size}: pending flags");
        }
    }

    #[test]
    fn mirror_add_batch_matches_scalar() {
        check_add_batch(super::mirror::add_batch);
    }

    #[test]
    fn simd_add_batch_matches_scalar() {
        if !ifma_here() {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        check_add_batch(super::simd::add_batch);
    }
}

/// The scalar batch addition, for the tests to compare with.
#[cfg(test)]
fn batch_affine_scalar(
    batch: &[(u32, super::batch_affine::Pt<ark_bn254::Fq>)],
    buckets: &mut [super::batch_affine::Pt<ark_bn254::Fq>],
    pending: &mut [bool],
) {
    super::batch_affine::add_batch::<ark_bn254::Fq, super::field_ops::Portable>(
        batch,
        buckets,
        pending,
        &mut Vec::new(),
        &mut Vec::new(),
    );
}
