//! MSM peers on the same points and scalars, same run: arkworks 0.6 `VariableBaseMSM`,
//! halo2curves' `msm_best` (the MSM inside EZKL's Halo2 prover; G1 only) and ours
//! (`zkinfer_gpu::msm::PreparedBases`), for random scalars (the H query) and the witness shape
//! (bits, small signed integers, zeros: the A, B and L queries).
//!
//! Sizes 2^MIN..=2^MAX in steps of `ZKINFER_PEERS_STEP` (default 10..=18 step 2; env
//! `ZKINFER_PEERS_MIN_LOG`, `ZKINFER_PEERS_MAX_LOG`). Ours is measured twice: with the
//! precompute cap of a resident prover (`ZKINFER_PEERS_CAP`, default 16: one pass of buckets)
//! and with no precomputation (cap 1, what a one-shot `zkinfer prove` uses). Preparation is
//! outside the timing, as it is once per key.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;

use ark_bn254::{g1, g2, Fr, G1Affine, G1Projective, G2Projective};
use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use halo2curves::group::{prime::PrimeCurveAffine, Curve};
use halo2curves::{bn256, CurveAffine};
use rayon::prelude::*;
use zkinfer_gpu::msm::PreparedBases;
use zkinfer_gpu::sample::{points, witness_scalars};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn h2_fq(x: &ark_bn254::Fq) -> bn256::Fq {
    use halo2curves::ff::PrimeField as _;
    let mut repr = <bn256::Fq as halo2curves::ff::PrimeField>::Repr::default();
    repr.as_mut()
        .copy_from_slice(&x.into_bigint().to_bytes_le());
    bn256::Fq::from_repr(repr).unwrap()
}

fn h2_fr(x: &Fr) -> bn256::Fr {
    use halo2curves::ff::PrimeField as _;
    let mut repr = <bn256::Fr as halo2curves::ff::PrimeField>::Repr::default();
    repr.as_mut()
        .copy_from_slice(&x.into_bigint().to_bytes_le());
    bn256::Fr::from_repr(repr).unwrap()
}

fn h2_point(p: &G1Affine) -> bn256::G1Affine {
    if p.is_zero() {
        bn256::G1Affine::identity()
    } else {
        bn256::G1Affine::from_xy(h2_fq(&p.x), h2_fq(&p.y)).unwrap()
    }
}

/// halo2curves' result back in arkworks' form, by canonical coordinates.
fn from_h2(p: &bn256::G1) -> G1Projective {
    let a = p.to_affine();
    if bool::from(a.is_identity()) {
        return G1Projective::default();
    }
    let c = a.coordinates().unwrap();
    let fq = |x: &bn256::Fq| {
        use halo2curves::ff::PrimeField as _;
        ark_bn254::Fq::from_le_bytes_mod_order(x.to_repr().as_ref())
    };
    G1Affine::new(fq(c.x()), fq(c.y())).into()
}

fn peers(c: &mut Criterion) {
    let lo = env_num("ZKINFER_PEERS_MIN_LOG", 10);
    let hi = env_num("ZKINFER_PEERS_MAX_LOG", 18);
    let step = env_num("ZKINFER_PEERS_STEP", 2).max(1);
    let cap = env_num("ZKINFER_PEERS_CAP", 16);
    let g1_all = points::<G1Projective>(1 << hi, 1);
    let g2_all = points::<G2Projective>(1 << hi, 2);
    let h2_all: Vec<bn256::G1Affine> = g1_all.par_iter().map(h2_point).collect();
    let mut rng = StdRng::seed_from_u64(3);
    let mut group = c.benchmark_group("msm_peers");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for log in (lo..=hi).step_by(step) {
        let n = 1usize << log;
        let g1 = &g1_all[..n];
        let g2 = &g2_all[..n];
        let h2 = &h2_all[..n];
        let ours1 = PreparedBases::<g1::Config>::with_cap(g1.to_vec(), cap);
        let ours1_plain = PreparedBases::<g1::Config>::with_cap(g1.to_vec(), 1);
        let ours2 = PreparedBases::<g2::Config>::with_cap(g2.to_vec(), cap);
        let ours2_plain = PreparedBases::<g2::Config>::with_cap(g2.to_vec(), 1);
        eprintln!(
            "msm_peers 2^{log}: ours G1 (c, windows, f) = {:?}, {} bytes; plain {:?}; G2 {:?}, {} bytes; plain {:?}",
            ours1.shape(),
            ours1.memory_bytes(),
            ours1_plain.shape(),
            ours2.shape(),
            ours2.memory_bytes(),
            ours2_plain.shape()
        );
        for shape in ["random", "witness"] {
            let s: Vec<Fr> = if shape == "random" {
                (0..n).map(|_| Fr::rand(&mut rng)).collect()
            } else {
                witness_scalars(n, &mut rng)
            };
            let s_h2: Vec<bn256::Fr> = s.par_iter().map(h2_fr).collect();
            // Same answer from all three before anything is timed.
            let want = G1Projective::msm_unchecked(g1, &s);
            assert_eq!(ours1.msm(&s), want, "ours G1 2^{log} {shape}");
            assert_eq!(ours1_plain.msm(&s), want, "ours (cap 1) G1 2^{log} {shape}");
            assert_eq!(
                from_h2(&halo2curves::msm::msm_best(&s_h2, h2)),
                want,
                "halo2curves G1 2^{log} {shape}"
            );
            let want2 = G2Projective::msm_unchecked(g2, &s);
            assert_eq!(ours2.msm(&s), want2, "ours G2 2^{log} {shape}");
            assert_eq!(
                ours2_plain.msm(&s),
                want2,
                "ours (cap 1) G2 2^{log} {shape}"
            );

            group.bench_with_input(
                BenchmarkId::new(format!("g1_{shape}/ark"), log),
                &s,
                |b, s| b.iter(|| black_box(G1Projective::msm_unchecked(g1, s))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("g1_{shape}/halo2curves"), log),
                &s_h2,
                |b, s| b.iter(|| black_box(halo2curves::msm::msm_best(s, h2))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("g1_{shape}/ours"), log),
                &s,
                |b, s| b.iter(|| black_box(ours1.msm(s))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("g1_{shape}/ours_cap1"), log),
                &s,
                |b, s| b.iter(|| black_box(ours1_plain.msm(s))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("g2_{shape}/ark"), log),
                &s,
                |b, s| b.iter(|| black_box(G2Projective::msm_unchecked(g2, s))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("g2_{shape}/ours"), log),
                &s,
                |b, s| b.iter(|| black_box(ours2.msm(s))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("g2_{shape}/ours_cap1"), log),
                &s,
                |b, s| b.iter(|| black_box(ours2_plain.msm(s))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
