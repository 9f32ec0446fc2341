//! `zkinfer-bench`: the MSM / NTT / prove table of the criterion benches, without criterion, so
//! a machine that has only this binary can produce it:
//!
//! ```text
//! zkinfer-bench --backend cuda --max-log 24 --prove-max-log 20
//! ```
//!
//! Options: `--backend cpu|cuda|auto` (default `auto`; also `$ZKINFER_BACKEND`), `--min-log`,
//! `--max-log` (MSM/NTT sizes, default 16..=18), `--prove-min-log`, `--prove-max-log` (synthetic
//! circuits, default 12..=16), `--only msm,ntt,prove`, `--reps N` (best of N, default 3),
//! `--no-ark` (skip the ark-groth16 / CPU baselines). Every proof made is checked with
//! ark-groth16's verifier before its time is printed.

use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{PrimeGroup, VariableBaseMSM};
use ark_ff::{FftField, UniformRand};
use ark_groth16::{r1cs_to_qap::LibsnarkReduction, Groth16};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use zkinfer_gpu::sample::points;
use zkinfer_gpu::{backend_from_env, backend_from_name, AnyBackend, Backend, CpuBackend, NttKind};
use zkinfer_prover::groth16::synthetic::{synthetic_circuit, WitnessKind};
use zkinfer_prover::groth16::{setup_from_shape, Prover};

struct Args {
    backend: Option<String>,
    min_log: u32,
    max_log: u32,
    prove_min_log: u32,
    prove_max_log: u32,
    only: Vec<String>,
    reps: usize,
    ark: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        backend: None,
        min_log: 16,
        max_log: 18,
        prove_min_log: 12,
        prove_max_log: 16,
        only: vec![],
        reps: 3,
        ark: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| {
            v.parse::<u32>()
                .map_err(|e| format!("bad number {v:?}: {e}"))
        };
        match flag.as_str() {
            "--backend" => a.backend = Some(val()?),
            "--min-log" => a.min_log = num(val()?)?,
            "--max-log" => a.max_log = num(val()?)?,
            "--prove-min-log" => a.prove_min_log = num(val()?)?,
            "--prove-max-log" => a.prove_max_log = num(val()?)?,
            "--only" => a.only = val()?.split(',').map(|s| s.trim().to_string()).collect(),
            "--reps" => a.reps = num(val()?)?.max(1) as usize,
            "--no-ark" => a.ark = false,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        out = Some(v);
    }
    (best, out.unwrap())
}

fn row(op: &str, log: u32, backend: &str, t: Duration, note: &str) {
    println!(
        "| {op:<22} | 2^{log:<3} | {backend:<5} | {:>12.3} | {note}",
        t.as_secs_f64() * 1e3
    );
}

fn scalars(n: usize, bits: bool, rng: &mut StdRng) -> Vec<Fr> {
    (0..n)
        .map(|_| {
            if bits {
                Fr::from(rng.gen_range(0u64..2))
            } else {
                Fr::rand(rng)
            }
        })
        .collect()
}

fn bench_msm(b: &AnyBackend, a: &Args) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(7);
    let n_max = 1usize << a.max_log;
    let g1: Vec<G1Affine> = points::<G1Projective>(n_max, 1);
    let g2: Vec<G2Affine> = points::<G2Projective>(n_max, 2);
    let p1 = b.prepare_g1(g1.clone()).map_err(|e| e.to_string())?;
    let p2 = b.prepare_g2(g2.clone()).map_err(|e| e.to_string())?;
    for log in a.min_log..=a.max_log {
        let n = 1usize << log;
        for bits in [false, true] {
            let s = scalars(n, bits, &mut rng);
            let label = if bits {
                "0/1 scalars"
            } else {
                "random scalars"
            };
            let (t, r1) = best(a.reps, || b.msm_g1(&p1, &s).unwrap());
            row("msm G1", log, b.name(), t, label);
            let (t, r2) = best(a.reps, || b.msm_g2(&p2, &s).unwrap());
            row("msm G2", log, b.name(), t, label);
            if a.ark {
                // arkworks' VariableBaseMSM on the same points and scalars (the baseline the
                // CPU backend replaced).
                let (t, c1) = best(a.reps, || G1Projective::msm_unchecked(&g1[..n], &s));
                row("msm G1", log, "ark", t, label);
                let (t, c2) = best(a.reps, || G2Projective::msm_unchecked(&g2[..n], &s));
                row("msm G2", log, "ark", t, label);
                if c1 != r1 || c2 != r2 {
                    return Err(format!(
                        "MSM 2^{log} ({label}): {} and arkworks disagree",
                        b.name()
                    ));
                }
            }
        }
    }
    let _ = G1Projective::generator();
    Ok(())
}

fn bench_ntt(b: &AnyBackend, a: &Args) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(8);
    for log in a.min_log..=a.max_log {
        let n = 1usize << log;
        let x: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        for kind in [NttKind::Forward, NttKind::CosetInverse(Fr::GENERATOR)] {
            let name = if kind == NttKind::Forward {
                "ntt forward"
            } else {
                "ntt coset inverse"
            };
            let (t, got) = best(a.reps, || {
                let mut v = vec![x.clone()];
                b.ntt(&mut v, kind).unwrap();
                v
            });
            row(name, log, b.name(), t, "host to host");
            if a.ark && b.name() != "cpu" {
                let (t, want) = best(1, || {
                    let mut v = vec![x.clone()];
                    CpuBackend.ntt(&mut v, kind).unwrap();
                    v
                });
                row(name, log, "cpu", t, "host to host");
                if want != got {
                    return Err(format!("NTT 2^{log}: {} and cpu disagree", b.name()));
                }
            }
        }
    }
    Ok(())
}

fn bench_prove(b: AnyBackend, a: &Args) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(9);
    let mut b = Some(b);
    for log in a.prove_min_log..=a.prove_max_log {
        for kind in [WitnessKind::Random, WitnessKind::Quantized] {
            let (shape, z) = synthetic_circuit(1 << log, 4, kind, &mut rng);
            let t = Instant::now();
            let pk = setup_from_shape(&shape, &mut rng).map_err(|e| e.to_string())?;
            let setup = t.elapsed();
            let public = z[1..shape.num_instance].to_vec();
            let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
            let label = format!("{kind:?} witness");
            let backend = b.take().unwrap();
            let name = backend.name();
            let prover =
                Prover::new(backend, pk.clone(), shape.clone()).map_err(|e| e.to_string())?;
            let (t, (proof, stages)) = best(a.reps, || {
                prover
                    .prove_with_timings(&z, Fr::rand(&mut StdRng::seed_from_u64(1)), Fr::from(5u64))
                    .unwrap()
            });
            if !Groth16::<Bn254>::verify_proof(&pvk, &proof, &public).unwrap() {
                return Err(format!("{name} proof for 2^{log} does not verify"));
            }
            row("prove", log, name, t, &format!(
                "{label}; witness map {:.1} ms, MSMs A {:.1} B1 {:.1} B2 {:.1} L {:.1} H {:.1} ms; setup {:.1} s",
                ms(stages.witness_map), ms(stages.msm_a), ms(stages.msm_b_g1), ms(stages.msm_b_g2), ms(stages.msm_l), ms(stages.msm_h), setup.as_secs_f64()
            ));
            if a.ark {
                if name != "cpu" {
                    let cpu = Prover::new(CpuBackend, pk.clone(), shape.clone())
                        .map_err(|e| e.to_string())?;
                    let (t, _) = best(1, || cpu.prove(&z, Fr::from(3u64), Fr::from(5u64)).unwrap());
                    row("prove", log, "cpu", t, &label);
                }
                let matrices: Vec<Vec<Vec<(Fr, usize)>>> = [&shape.a, &shape.b, &shape.c]
                    .iter()
                    .map(|m| {
                        (0..m.rows())
                            .map(|i| m.row(i).map(|(c, v)| (*v, c)).collect())
                            .collect()
                    })
                    .collect();
                let (t, _) = best(1, || {
                    Groth16::<Bn254, LibsnarkReduction>::create_proof_with_reduction_and_matrices(
                        &pk,
                        Fr::from(3u64),
                        Fr::from(5u64),
                        &matrices,
                        shape.num_instance,
                        shape.num_constraints(),
                        &z,
                    )
                    .unwrap()
                });
                row(
                    "prove",
                    log,
                    "ark",
                    t,
                    &format!("{label}; ark-groth16 from matrices"),
                );
            }
            b = Some(into_backend(prover));
        }
    }
    Ok(())
}

fn into_backend(p: Prover<AnyBackend>) -> AnyBackend {
    p.into_backend()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("zkinfer-bench: {e}");
            }
            eprintln!("usage: zkinfer-bench [--backend cpu|cuda|auto] [--min-log N] [--max-log N] [--prove-min-log N] [--prove-max-log N] [--only msm,ntt,prove] [--reps N] [--no-ark]");
            std::process::exit(2);
        }
    };
    let make = || match &a.backend {
        Some(n) => backend_from_name(n),
        None => backend_from_env("auto"),
    };
    let b = match make() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("zkinfer-bench: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "backend: {} ({} CPU threads)",
        b.name(),
        rayon::current_num_threads()
    );
    println!(
        "| {:<22} | {:<5} | {:<5} | {:>12} | note",
        "op", "size", "bknd", "best ms"
    );
    let want = |w: &str| a.only.is_empty() || a.only.iter().any(|o| o == w);
    let mut result = Ok(());
    if want("msm") {
        result = result.and_then(|_| bench_msm(&b, &a));
    }
    if want("ntt") {
        result = result.and_then(|_| bench_ntt(&b, &a));
    }
    if want("prove") {
        result = result.and_then(|_| bench_prove(b, &a));
    }
    if let Err(e) = result {
        eprintln!("zkinfer-bench: {e}");
        std::process::exit(1);
    }
}
