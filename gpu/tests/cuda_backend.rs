//! The CUDA backend against arkworks / the CPU backend. Needs a device: without one each test
//! prints why it skipped (run them on a GPU machine with `gpu/run-on-device.sh`).
#![cfg(feature = "cuda")]

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{FftField, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use zkinfer_gpu::{Backend, CpuBackend, CsrMatrix, CudaBackend, NttKind};

fn backend() -> Option<CudaBackend> {
    match CudaBackend::new(0) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

const SIZES: &[usize] = &[1, 2, 3, 31, 32, 33, 100, 1000, 4097, 65_536, 100_003];

fn scalar_sets(n: usize, rng: &mut StdRng) -> Vec<(&'static str, Vec<Fr>)> {
    vec![
        ("random", (0..n).map(|_| Fr::rand(rng)).collect()),
        ("zeros", vec![Fr::zero(); n]),
        (
            "bits",
            (0..n).map(|_| Fr::from(rng.gen_range(0u64..2))).collect(),
        ),
        (
            "small signed",
            (0..n)
                .map(|_| Fr::from(rng.gen_range(-70_000i64..70_000)))
                .collect(),
        ),
        ("ones", vec![Fr::from(1u64); n]),
        (
            "mixed",
            (0..n)
                .map(|i| {
                    if i % 3 == 0 {
                        Fr::zero()
                    } else if i % 3 == 1 {
                        -Fr::from(1u64)
                    } else {
                        Fr::rand(rng)
                    }
                })
                .collect(),
        ),
    ]
}

fn g1_bases(n: usize, rng: &mut StdRng) -> Vec<G1Affine> {
    let pts: Vec<G1Projective> = (0..n.min(1024)).map(|_| G1Projective::rand(rng)).collect();
    let pts = G1Projective::normalize_batch(&pts);
    (0..n)
        .map(|i| {
            if i % 7 == 3 {
                G1Affine::identity()
            } else {
                pts[(i * 31) % pts.len()]
            }
        })
        .collect()
}

fn g2_bases(n: usize, rng: &mut StdRng) -> Vec<G2Affine> {
    let pts: Vec<G2Projective> = (0..n.min(256)).map(|_| G2Projective::rand(rng)).collect();
    let pts = G2Projective::normalize_batch(&pts);
    (0..n)
        .map(|i| {
            if i % 7 == 3 {
                G2Affine::identity()
            } else {
                pts[(i * 31) % pts.len()]
            }
        })
        .collect()
}

#[test]
fn cuda_msm_g1_matches_arkworks() {
    let Some(gpu) = backend() else { return };
    let mut rng = StdRng::seed_from_u64(1);
    for &n in SIZES {
        let bases = g1_bases(n, &mut rng);
        let prepared = gpu.prepare_g1(bases.clone()).unwrap();
        for (name, scalars) in scalar_sets(n, &mut rng) {
            let want = G1Projective::msm_unchecked(&bases, &scalars).into_affine();
            assert_eq!(
                gpu.msm_g1(&prepared, &scalars).unwrap().into_affine(),
                want,
                "n={n} {name}"
            );
        }
        // fewer scalars than bases uses a prefix
        let k = n / 2;
        let s: Vec<Fr> = (0..k).map(|_| Fr::rand(&mut rng)).collect();
        assert_eq!(
            gpu.msm_g1(&prepared, &s).unwrap().into_affine(),
            G1Projective::msm_unchecked(&bases[..k], &s).into_affine()
        );
    }
}

#[test]
fn cuda_msm_g2_matches_arkworks() {
    let Some(gpu) = backend() else { return };
    let mut rng = StdRng::seed_from_u64(2);
    for &n in &SIZES[..SIZES.len() - 1] {
        let bases = g2_bases(n, &mut rng);
        let prepared = gpu.prepare_g2(bases.clone()).unwrap();
        for (name, scalars) in scalar_sets(n, &mut rng) {
            let want = G2Projective::msm_unchecked(&bases, &scalars).into_affine();
            assert_eq!(
                gpu.msm_g2(&prepared, &scalars).unwrap().into_affine(),
                want,
                "n={n} {name}"
            );
        }
    }
}

#[test]
fn cuda_ntt_matches_cpu() {
    let Some(gpu) = backend() else { return };
    let mut rng = StdRng::seed_from_u64(3);
    for log_n in (0..=14).chain([18, 20]) {
        let n = 1usize << log_n;
        let polys: Vec<Vec<Fr>> = (0..2)
            .map(|_| (0..n).map(|_| Fr::rand(&mut rng)).collect())
            .collect();
        for kind in [
            NttKind::Forward,
            NttKind::Inverse,
            NttKind::CosetForward(Fr::GENERATOR),
            NttKind::CosetInverse(Fr::GENERATOR),
        ] {
            let mut want = polys.clone();
            CpuBackend.ntt(&mut want, kind).unwrap();
            let mut got = polys.clone();
            gpu.ntt(&mut got, kind).unwrap();
            assert_eq!(got, want, "log_n={log_n} {kind:?}");
        }
    }
}

#[test]
fn cuda_spmv_matches_cpu() {
    let Some(gpu) = backend() else { return };
    let mut rng = StdRng::seed_from_u64(4);
    let (rows, cols) = (10_007, 5_003);
    let row_lists: Vec<Vec<(Fr, usize)>> = (0..rows)
        .map(|_| {
            (0..rng.gen_range(0..6))
                .map(|_| {
                    (
                        if rng.gen_bool(0.5) {
                            Fr::from(1u64)
                        } else {
                            Fr::rand(&mut rng)
                        },
                        rng.gen_range(0..cols),
                    )
                })
                .collect()
        })
        .collect();
    let m = CsrMatrix::from_rows(&row_lists);
    let z: Vec<Fr> = (0..cols).map(|_| Fr::rand(&mut rng)).collect();
    let (pc, pg) = (
        CpuBackend.prepare_matrix(&m).unwrap(),
        gpu.prepare_matrix(&m).unwrap(),
    );
    let mut want = vec![Fr::zero(); rows];
    let mut got = vec![Fr::zero(); rows + 3];
    CpuBackend
        .spmv_many(&[&pc], &z, &mut [&mut want[..]])
        .unwrap();
    gpu.spmv_many(&[&pg], &z, &mut [&mut got[..]]).unwrap();
    assert_eq!(&got[..rows], &want[..]);
    assert!(got[rows..].iter().all(|x| x.is_zero()));
}
