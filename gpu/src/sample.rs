//! Deterministic sample inputs for the MSM benches and tuning tools (`benches/`,
//! `gpu/examples/msm_tune.rs`, `benches/peers`), so that they all measure the same points and
//! scalar shapes. Not used by the prover.

use ark_bn254::Fr;
use ark_ec::CurveGroup;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use rayon::prelude::*;

/// `n` distinct pseudo-random points, the same for the same `seed`, cheap to make in bulk: each
/// chunk of 2^14 walks from a random point by a random step (one addition per point instead
/// of a scalar multiplication), chunks in parallel.
pub fn points<G: CurveGroup>(n: usize, seed: u64) -> Vec<G::Affine> {
    let chunk = 1 << 14;
    let proj: Vec<G> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng = StdRng::seed_from_u64(seed ^ (c as u64).wrapping_mul(0x9e37_79b9));
            let step = G::rand(&mut rng);
            let mut p = G::rand(&mut rng);
            (0..chunk.min(n - c * chunk)).map(move |_| {
                p += step;
                p
            })
        })
        .collect();
    G::normalize_batch(&proj)
}

/// `n` scalars of a model witness's shape: 40 % bits, 30 % small signed integers
/// (|x| < 2^16), 30 % zero.
pub fn witness_scalars(n: usize, rng: &mut StdRng) -> Vec<Fr> {
    (0..n)
        .map(|_| match rng.gen_range(0..10) {
            0..=3 => Fr::from(rng.gen_range(0u64..2)),
            4..=6 => Fr::from(rng.gen_range(-(1i64 << 16)..(1 << 16))),
            _ => Fr::from(0u64),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::G1Projective;

    #[test]
    fn samples_are_deterministic_distinct_and_shaped() {
        let a = points::<G1Projective>(20_000, 1);
        assert_eq!(a, points::<G1Projective>(20_000, 1));
        let mut xs: Vec<_> = a.iter().map(|p| p.x).collect();
        xs.sort();
        xs.dedup();
        assert_eq!(xs.len(), a.len(), "distinct points");
        let s = witness_scalars(10_000, &mut StdRng::seed_from_u64(2));
        // 30 % zeros and half of the 40 % bits.
        let zeros = s.iter().filter(|x| **x == Fr::from(0u64)).count();
        assert!((4_500..5_500).contains(&zeros), "{zeros} zeros");
        let ones = s.iter().filter(|x| **x == Fr::from(1u64)).count();
        assert!((1_500..2_500).contains(&ones), "{ones} ones");
    }
}
