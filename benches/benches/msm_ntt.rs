//! MSM (G1, G2) and NTT on every available backend, sizes 2^MIN..=2^MAX with
//! `ZKINFER_BENCH_MIN_LOG` / `ZKINFER_BENCH_MAX_LOG` (default 16..=18, sized for a 2-core CPU;
//! use 16..=24 on a GPU machine). CUDA is included when the binary has the `cuda` feature and a
//! device is present.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ff::{FftField, UniformRand};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use zkinfer_gpu::sample::points;
use zkinfer_gpu::{backend_from_name, AnyBackend, Backend, NttKind};

fn env_log(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn backends() -> Vec<AnyBackend> {
    let mut v = vec![backend_from_name("cpu").unwrap()];
    match backend_from_name("cuda") {
        Ok(b) => v.push(b),
        Err(e) => eprintln!("msm_ntt: CUDA not benchmarked: {e}"),
    }
    v
}

fn msm_ntt(c: &mut Criterion) {
    let (lo, hi) = (
        env_log("ZKINFER_BENCH_MIN_LOG", 16),
        env_log("ZKINFER_BENCH_MAX_LOG", 18),
    );
    let n_max = 1usize << hi;
    let g1 = points::<G1Projective>(n_max, 1);
    let g2 = points::<G2Projective>(n_max, 2);
    let mut rng = StdRng::seed_from_u64(3);
    for b in backends() {
        let p1 = b.prepare_g1(g1.clone()).unwrap();
        let p2 = b.prepare_g2(g2.clone()).unwrap();
        let mut group = c.benchmark_group(format!("msm/{}", b.name()));
        group.sample_size(10);
        for log in lo..=hi {
            let n = 1usize << log;
            let random: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let bits: Vec<Fr> = (0..n).map(|_| Fr::from(rng.gen_range(0u64..2))).collect();
            group.bench_with_input(BenchmarkId::new("g1_random", log), &random, |bch, s| {
                bch.iter(|| black_box(b.msm_g1(&p1, s).unwrap()))
            });
            group.bench_with_input(BenchmarkId::new("g1_bits", log), &bits, |bch, s| {
                bch.iter(|| black_box(b.msm_g1(&p1, s).unwrap()))
            });
            group.bench_with_input(BenchmarkId::new("g2_random", log), &random, |bch, s| {
                bch.iter(|| black_box(b.msm_g2(&p2, s).unwrap()))
            });
        }
        group.finish();
        let mut group = c.benchmark_group(format!("ntt/{}", b.name()));
        group.sample_size(10);
        for log in lo..=hi {
            let x: Vec<Fr> = (0..1usize << log).map(|_| Fr::rand(&mut rng)).collect();
            for (name, kind) in [
                ("forward", NttKind::Forward),
                ("coset_inverse", NttKind::CosetInverse(Fr::GENERATOR)),
            ] {
                group.bench_with_input(BenchmarkId::new(name, log), &x, |bch, x| {
                    bch.iter(|| {
                        let mut v = vec![x.clone()];
                        b.ntt(&mut v, kind).unwrap();
                        black_box(v)
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, msm_ntt);
criterion_main!(benches);
