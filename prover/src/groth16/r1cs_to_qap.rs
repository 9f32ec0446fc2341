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

/// Which QAP reduction a proving key was made for: how `h` is computed and how many H points
/// the key holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QapReduction {
    /// ark-groth16's (libsnark's): `h`'s `n − 1` coefficients against `n − 1` H points (keys
    /// from `zkinfer setup`).
    #[default]
    Libsnark,
    /// snarkjs's (and rapidsnark's): `a·b − c` evaluated on the odd coset `ω_2n · ω_n^j` of
    /// the domain (where `Z = −2` is constant, folded into the key) against `n` H points (keys
    /// from a `.zkey`: `snarkjs groth16 setup` and its phase-2 ceremony).
    Snarkjs,
}

impl QapReduction {
    /// Number of H points of a key for a domain of `n` points.
    pub fn h_len(self, n: usize) -> usize {
        match self {
            QapReduction::Libsnark => n - 1,
            QapReduction::Snarkjs => n,
        }
    }
}

/// The witness map of snarkjs's `groth16 prove`: evaluations `A·z`, `B·z` (with the instance
/// rows `a[num_constraints + i] = z[i]`, as snarkjs's setup adds them), `c = a·b` pointwise on
/// the domain, inverse NTT of all three, NTT on the odd coset (shift `ω_2n`), and
/// `h_j = a_j·b_j − c_j` there. Returns `n` values, the scalars of the key's `n` H points.
pub fn witness_map_odd_coset<B: Backend>(
    backend: &B,
    matrices: [&B::Matrix; 2],
    num_constraints: usize,
    num_instance: usize,
    z: &[Fr],
) -> Result<(Vec<Fr>, WitnessMapTimings), Groth16Error> {
    let n = (num_constraints + num_instance).next_power_of_two();
    let mut t = WitnessMapTimings::default();
    let start = Instant::now();
    let mut a = vec![Fr::zero(); n];
    let mut b = vec![Fr::zero(); n];
    backend.spmv_many(
        &matrices,
        z,
        &mut [&mut a[..num_constraints], &mut b[..num_constraints]],
    )?;
    a[num_constraints..num_constraints + num_instance].copy_from_slice(&z[..num_instance]);
    let c: Vec<Fr> = a
        .par_iter()
        .zip(b.par_iter())
        .map(|(x, y)| *x * y)
        .collect();
    t.spmv = start.elapsed();

    let start = Instant::now();
    let mut polys = vec![a, b, c];
    backend.ntt(&mut polys, NttKind::Inverse)?;
    let shift = Fr::get_root_of_unity(2 * n as u64)
        .ok_or_else(|| Groth16Error::Shape(format!("no 2·{n}-th root of unity in the field")))?;
    backend.ntt(&mut polys, NttKind::CosetForward(shift))?;
    t.ntt = start.elapsed();

    let start = Instant::now();
    let c = polys.pop().expect("three polynomials");
    let b = polys.pop().expect("three polynomials");
    let mut h = polys.pop().expect("three polynomials");
    h.par_iter_mut()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .for_each(|((a, b), c)| *a = *a * b - c);
    t.pointwise = start.elapsed();
    Ok((h, t))
}
