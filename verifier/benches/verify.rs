//! Native verification cost: one proof alone, and per proof in batches of 1, 16 and 256.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zkinfer_verifier::{
    check_statement, prepare_verifying_key, verify, verify_batch, verify_batch_raw, verify_proof,
    Fr, Proof,
};

#[path = "../tests/common/mod.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let toy = common::setup(common::digits_layout(), 1, 7);
    let proofs: Vec<_> = (0..256u64)
        .map(|i| {
            let (inp, out) = common::sample_values(&toy.vk_file.layout, 1000 + i);
            common::prove(&toy, &inp, &out, 2000 + i)
        })
        .collect();

    let mut g = c.benchmark_group("verify");
    // The whole of `zkinfer verify` after parsing: checks, packing, key preparation, pairing.
    g.bench_function("single/verify_file", |b| {
        b.iter(|| verify(&toy.vk_file, &proofs[0]).unwrap())
    });
    // The pairing check alone against a prepared key (a server verifying many proofs for one model).
    let pvk = prepare_verifying_key(&toy.vk_file.vk);
    let (p0, x0): (Proof, Vec<Fr>) = check_statement(&toy.vk_file, &proofs[0]).unwrap();
    g.bench_function("single/verify_proof_prepared", |b| {
        b.iter(|| verify_proof(&pvk, &p0, &x0).unwrap())
    });
    for n in [1usize, 16, 256] {
        let items: Vec<_> = proofs[..n].iter().map(|p| (&toy.vk_file, p)).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(if n == 256 { 10 } else { 20 });
        g.bench_with_input(BenchmarkId::new("batch", n), &items, |b, items| {
            b.iter(|| verify_batch(items).unwrap())
        });
    }
    // The combined pairing check alone, on decoded proofs and packed inputs (what remains when
    // parsing, point decompression and subgroup checks are done elsewhere).
    let decoded: Vec<(Proof, Vec<Fr>)> = proofs
        .iter()
        .map(|p| check_statement(&toy.vk_file, p).unwrap())
        .collect();
    for n in [16usize, 256] {
        let raw: Vec<_> = decoded[..n]
            .iter()
            .map(|(p, x)| (&pvk, p, x.as_slice()))
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        g.bench_with_input(BenchmarkId::new("batch_raw", n), &raw, |b, raw| {
            b.iter(|| verify_batch_raw(raw).unwrap())
        });
    }
    // Decoding and checking one proof.json: hex, point decompression, subgroup checks, packing.
    g.throughput(Throughput::Elements(1));
    g.bench_function("check_statement", |b| {
        b.iter(|| check_statement(&toy.vk_file, &proofs[0]).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
