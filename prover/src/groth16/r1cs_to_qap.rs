//! The witness map: R1CS assignment → coefficients of `h(X) = (a(X)·b(X) − c(X)) / Z(X)`.
//!
//! Mirrors ark-groth16's `LibsnarkReduction::witness_map_from_matrices` step for step:
//! evaluations `A·z`, `B·z`, `C·z` on the first `num_constraints` points of the domain, the
//! instance rows `a[num_constraints + i] = z[i]` (which make the public inputs independent in
//! the QAP), inverse NTT, coset NTT on `g·ω^i` (`g = Fr::GENERATOR`), pointwise
//! `(a·b − c) / Z(g)` with `Z(g) = g^n − 1` constant on the coset, inverse coset NTT.
//! The result is the unique polynomial, so any exact backend yields ark-groth16's `h`.

use std::time::{Duration, Instant};

use ark_bn254::Fr;
use ark_ff::{FftField, Field, Zero};
use rayon::prelude::*;
use zkinfer_gpu::{Backend, NttKind};

use super::Groth16Error;

/// Time spent in the witness map's parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WitnessMapTimings {
    /// The three sparse products.
    pub spmv: Duration,
    /// The five NTTs (batched into three calls).
    pub ntt: Duration,
    /// The pointwise `(a·b − c)/Z` step.
    pub pointwise: Duration,
}

/// Computes `h`'s `domain_size` coefficients. `matrices` are A, B, C prepared on `backend`;
/// `z` is the full assignment (length already checked by the caller).
pub fn witness_map<B: Backend>(
    backend: &B,
    matrices: [&B::Matrix; 3],
    num_constraints: usize,
    num_instance: usize,
    z: &[Fr],
) -> Result<(Vec<Fr>, WitnessMapTimings), Groth16Error> {
    let n = (num_constraints + num_instance).next_power_of_two();
    let mut t = WitnessMapTimings::default();

    let start = Instant::now();
    let mut polys = vec![
        vec![Fr::zero(); n],
        vec![Fr::zero(); n],
        vec![Fr::zero(); n],
    ];
    {
        let [a, b, c] = &mut polys[..] else {
            unreachable!()
        };
        backend.spmv_many(
            &matrices,
            z,
            &mut [
                &mut a[..num_constraints],
                &mut b[..num_constraints],
                &mut c[..num_constraints],
            ],
        )?;
        a[num_constraints..num_constraints + num_instance].copy_from_slice(&z[..num_instance]);
    }
    t.spmv = start.elapsed();

    let start = Instant::now();
    backend.ntt(&mut polys, NttKind::Inverse)?;
    backend.ntt(&mut polys, NttKind::CosetForward(Fr::GENERATOR))?;
    t.ntt = start.elapsed();

    let start = Instant::now();
    let vanishing_inv = (Fr::GENERATOR.pow([n as u64]) - Fr::ONE)
        .inverse()
        .expect("the multiplicative generator is not a root of unity");
    let c = polys.pop().unwrap();
    let b = polys.pop().unwrap();
    let mut h = polys.pop().unwrap();
    h.par_iter_mut()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .for_each(|((a, b), c)| {
            *a = (*a * b - c) * vanishing_inv;
        });
    drop((b, c));
    t.pointwise = start.elapsed();

    let start = Instant::now();
    let mut hv = vec![h];
    backend.ntt(&mut hv, NttKind::CosetInverse(Fr::GENERATOR))?;
    t.ntt += start.elapsed();
    Ok((hv.pop().unwrap(), t))
}
