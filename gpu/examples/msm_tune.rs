//! Tuning aid for the CPU MSM: random-scalar G1 MSMs of 2^MIN..=2^MAX points (env
//! `ZKINFER_TUNE_MIN_LOG`, `ZKINFER_TUNE_MAX_LOG`, default 12..=18), arkworks against ours with
//! and without precomputation, for random scalars or (`ZKINFER_TUNE_SHAPE=witness`) the
//! witness shape, reporting each one's fastest of 7 interleaved runs (`ZKINFER_TUNE_ROUNDS`) in wall
//! time and in process CPU time; `ZKINFER_TUNE_WINDOWS=13,16` adds ours with those window widths
//! forced (every window precomputed), and `ZKINFER_TUNE_PROFILE=CAP` runs ours alone
//! (`ZKINFER_TUNE_PROFILE_ITERS` times) for a profiler. CPU time is the figure to compare on a machine busy with other work (a build), where
//! wall time mostly measures the other work; the bench `msm_peers` (benches/peers) gives wall-time ratios for
//! an idle machine. `cargo run --release -p zkinfer-gpu --example msm_tune`.

use ark_bn254::{g1, Fr, G1Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use ark_std::rand::{rngs::StdRng, SeedableRng};
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

/// Each implementation's fastest (wall ms, CPU ms) over `rounds` rounds that run every one of
/// `fs` once, in turn: interleaved so that a burst of other work on the machine (this VM's
/// neighbours) slows every implementation alike, and the minimum, which such bursts only
/// raise.
fn time_interleaved(
    fs: &mut [&mut dyn FnMut() -> G1Projective],
    want: &G1Projective,
    rounds: usize,
) -> Vec<(f64, f64)> {
    let mut best = vec![(f64::MAX, f64::MAX); fs.len()];
    for _ in 0..rounds {
        for (f, b) in fs.iter_mut().zip(best.iter_mut()) {
            let (w, c) = (Instant::now(), cpu_seconds());
            let got = f();
            let r = (w.elapsed().as_secs_f64() * 1e3, (cpu_seconds() - c) * 1e3);
            assert_eq!(&got, want);
            *b = (b.0.min(r.0), b.1.min(r.1));
        }
    }
    best
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
            zkinfer_gpu::sample::witness_scalars(n, &mut rng)
        } else {
            (0..n).map(|_| Fr::rand(&mut rng)).collect()
        };
        let want = G1Projective::msm_unchecked(bases, &s);
        if let Ok(cap) = std::env::var("ZKINFER_TUNE_PROFILE") {
            // Ours alone, many times, for a profiler.
            let p = PreparedBases::<g1::Config>::with_cap(bases.to_vec(), cap.parse().unwrap());
            for _ in 0..env("ZKINFER_TUNE_PROFILE_ITERS", 20) {
                let _ = std::hint::black_box(p.msm(&s));
            }
            continue;
        }
        let caps = [1usize, 16];
        let mut prepared: Vec<_> = caps
            .iter()
            .map(|&cap| PreparedBases::<g1::Config>::with_cap(bases.to_vec(), cap))
            .collect();
        // Forced window widths with every window's multiple (`ZKINFER_TUNE_WINDOWS=13,16`).
        let forced: Vec<u32> = std::env::var("ZKINFER_TUNE_WINDOWS")
            .map(|v| v.split(',').filter_map(|c| c.parse().ok()).collect())
            .unwrap_or_default();
        for &c in &forced {
            prepared.push(PreparedBases::<g1::Config>::with_window(
                bases.to_vec(),
                c,
                64,
            ));
        }
        let labels: Vec<String> = caps
            .iter()
            .map(|cap| format!("ours cap {cap}"))
            .chain(forced.iter().map(|c| format!("ours c={c}")))
            .collect();
        let s = &s;
        let mut ark = || G1Projective::msm_unchecked(bases, s);
        let mut ours: Vec<_> = prepared.iter().map(|p| move || p.msm(s)).collect();
        let mut fs: Vec<&mut dyn FnMut() -> G1Projective> = vec![&mut ark];
        for f in ours.iter_mut() {
            fs.push(f);
        }
        let rounds = env("ZKINFER_TUNE_ROUNDS", 7) as usize;
        let t = time_interleaved(&mut fs, &want, rounds);
        println!(
            "{log:<4} {:<13} {:<13} {:>8.1} {:>8.1}",
            "arkworks", "", t[0].0, t[0].1
        );
        for ((label, p), r) in labels.iter().zip(&prepared).zip(&t[1..]) {
            println!(
                "{log:<4} {:<13} {:<13} {:>8.1} {:>8.1}   {:.2}x",
                label,
                format!("{:?}", p.shape()),
                r.0,
                r.1,
                t[0].1 / r.1
            );
        }
    }
}
