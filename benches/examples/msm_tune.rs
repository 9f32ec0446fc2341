//! Tuning aid for the CPU MSM: random-scalar G1 MSMs of 2^MIN..=2^MAX points (env
//! `ZKINFER_TUNE_MIN_LOG`, `ZKINFER_TUNE_MAX_LOG`, default 12..=18), arkworks against ours with
//! and without precomputation, for random scalars or (`ZKINFER_TUNE_SHAPE=witness`) the
//! witness shape, reporting the median of 5 runs in wall time and in process CPU
//! time. CPU time is the figure to compare on a machine busy with other work (a build), where
//! wall time mostly measures the other work; the bench `msm_peers` (benches/peers) gives wall-time ratios for
//! an idle machine. `cargo run --release -p zkinfer-benches --example msm_tune`.

use ark_bn254::{g1, Fr, G1Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use std::time::Instant;
use zkinfer_gpu::msm::PreparedBases;

fn cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Median (wall ms, CPU ms) of 5 runs of `f`.
fn time(mut f: impl FnMut() -> G1Projective, want: &G1Projective) -> (f64, f64) {
    let mut runs: Vec<(f64, f64)> = (0..5)
        .map(|_| {
            let (w, c) = (Instant::now(), cpu_seconds());
            let got = f();
            let r = (w.elapsed().as_secs_f64() * 1e3, (cpu_seconds() - c) * 1e3);
            assert_eq!(&got, want);
            r
        })
        .collect();
    runs.sort_by(|a, b| a.1.total_cmp(&b.1));
    runs[2]
}

fn env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let (lo, hi) = (
        env("ZKINFER_TUNE_MIN_LOG", 12),
        env("ZKINFER_TUNE_MAX_LOG", 18),
    );
    let witness = std::env::var("ZKINFER_TUNE_SHAPE").is_ok_and(|v| v == "witness");
    let mut rng = StdRng::seed_from_u64(7);
    let all: Vec<G1Projective> = (0..1usize << hi)
        .map(|_| G1Projective::rand(&mut rng))
        .collect();
    let all = G1Projective::normalize_batch(&all);
    {
        // Field costs on this machine, for the cost model of the window choice.
        use ark_ff::Field;
        let mut x = ark_bn254::Fq::rand(&mut rng);
        let y = ark_bn254::Fq::rand(&mut rng);
        let c0 = cpu_seconds();
        for _ in 0..1_000_000 {
            x *= y;
        }
        let mul = (cpu_seconds() - c0) * 1e3;
        let c0 = cpu_seconds();
        for _ in 0..10_000 {
            x = x.inverse().unwrap() + y;
        }
        let inv = (cpu_seconds() - c0) * 1e5;
        println!(
            "Fq: multiplication {mul:.1} ns, inversion {inv:.0} ns ({:.0} multiplications); {x}",
            inv / mul
        );
    }
    println!("log  impl          shape         wall ms   CPU ms   CPU ratio to arkworks");
    for log in lo..=hi {
        let n = 1usize << log;
        let bases = &all[..n];
        let s: Vec<Fr> = if witness {
            // The witness shape of msm_peers: 40 % bits, 30 % |x| < 2^16, 30 % zero.
            (0..n)
                .map(|_| match rng.gen_range(0..10) {
                    0..=3 => Fr::from(rng.gen_range(0u64..2)),
                    4..=6 => Fr::from(rng.gen_range(-(1i64 << 16)..(1 << 16))),
                    _ => Fr::from(0u64),
                })
                .collect()
        } else {
            (0..n).map(|_| Fr::rand(&mut rng)).collect()
        };
        let want = G1Projective::msm_unchecked(bases, &s);
        let ark = time(|| G1Projective::msm_unchecked(bases, &s), &want);
        println!(
            "{log:<4} {:<13} {:<13} {:>8.1} {:>8.1}",
            "arkworks", "", ark.0, ark.1
        );
        if let Ok(cap) = std::env::var("ZKINFER_TUNE_PROFILE") {
            // Ours alone, many times, for a profiler.
            let p = PreparedBases::<g1::Config>::with_cap(bases.to_vec(), cap.parse().unwrap());
            for _ in 0..20 {
                let _ = std::hint::black_box(p.msm(&s));
            }
            continue;
        }
        for cap in [1usize, 16] {
            let p = PreparedBases::<g1::Config>::with_cap(bases.to_vec(), cap);
            let t = time(|| p.msm(&s), &want);
            println!(
                "{log:<4} {:<13} {:<13} {:>8.1} {:>8.1}   {:.2}x",
                format!("ours cap {cap}"),
                format!("{:?}", p.shape()),
                t.0,
                t.1,
                ark.1 / t.1
            );
        }
    }
}
