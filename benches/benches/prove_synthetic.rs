//! A full Groth16 proof of synthetic circuits with 2^MIN..=2^MAX constraints
//! (`ZKINFER_BENCH_PROVE_MIN_LOG` / `ZKINFER_BENCH_PROVE_MAX_LOG`, default 14..=16 for a 2-core
//! CPU; 16..=22 on a GPU machine), with random witnesses and with witnesses shaped like
//! zkinfer's (bits and small integers), on every available backend and on ark-groth16 itself.
//! Each backend's proof is checked with ark-groth16's verifier before timing.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{r1cs_to_qap::LibsnarkReduction, Groth16};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use zkinfer_gpu::{backend_from_name, AnyBackend, Backend};
use zkinfer_prover::groth16::synthetic::{synthetic_circuit, WitnessKind};
use zkinfer_prover::groth16::{setup_from_shape, Prover};

fn env_log(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn prove(c: &mut Criterion) {
    let (lo, hi) = (
        env_log("ZKINFER_BENCH_PROVE_MIN_LOG", 14),
        env_log("ZKINFER_BENCH_PROVE_MAX_LOG", 16),
    );
    let mut rng = StdRng::seed_from_u64(1);
    let mut group = c.benchmark_group("prove");
    group.sample_size(10);
    for log in lo..=hi {
        for kind in [WitnessKind::Random, WitnessKind::Quantized] {
            let (shape, z) = synthetic_circuit(1 << log, 4, kind, &mut rng);
            let pk = setup_from_shape(&shape, &mut rng).unwrap();
            let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
            let public = &z[1..shape.num_instance];
            let tag = format!("{kind:?}");
            let mut backends: Vec<AnyBackend> = vec![backend_from_name("cpu").unwrap()];
            if let Ok(b) = backend_from_name("cuda") {
                backends.push(b);
            }
            for b in backends {
                let name = b.name();
                let prover = Prover::new(b, pk.clone(), shape.clone()).unwrap();
                let proof = prover.prove(&z, Fr::from(3u64), Fr::from(5u64)).unwrap();
                assert!(Groth16::<Bn254>::verify_proof(&pvk, &proof, public).unwrap());
                group.bench_with_input(
                    BenchmarkId::new(format!("{name}/{tag}"), log),
                    &z,
                    |bch, z| {
                        bch.iter(|| {
                            black_box(prover.prove(z, Fr::from(3u64), Fr::from(5u64)).unwrap())
                        })
                    },
                );
            }
            let matrices: Vec<Vec<Vec<(Fr, usize)>>> = [&shape.a, &shape.b, &shape.c]
                .iter()
                .map(|m| {
                    (0..m.rows())
                        .map(|i| m.row(i).map(|(c, v)| (*v, c)).collect())
                        .collect()
                })
                .collect();
            group.bench_with_input(BenchmarkId::new(format!("ark-groth16/{tag}"), log), &z, |bch, z| {
                bch.iter(|| {
                    black_box(
                        Groth16::<Bn254, LibsnarkReduction>::create_proof_with_reduction_and_matrices(
                            &pk, Fr::from(3u64), Fr::from(5u64), &matrices, shape.num_instance, shape.num_constraints(), z,
                        )
                        .unwrap(),
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, prove);
criterion_main!(benches);
