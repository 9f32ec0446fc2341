//! `ceremony init`: a circuit's initial zkey from a phase-1 `.ptau`, byte for byte what
//! `snarkjs groth16 setup` writes for our exported `.r1cs` (snarkjs `src/zkey_new.js`):
//! γ = δ = 1, so the IC and C points are the Lagrange combinations themselves, H the odd
//! points of the doubled Lagrange domain (snarkjs's QAP reduction), and the circuit hash
//! (`csHash`) over the points in snarkjs's order.

use super::binfile::{start_section, write_header, write_section};
use super::encoding::{g1_uncompressed, g1s_to_lem, g2_uncompressed, g2s_to_lem, G1_BYTES};
use super::mpc::MpcParams;
use super::ptau::{CheckedPoints, Ptau};
use super::zkey_file::{section, Groth16Header};
use super::CeremonyError;
use crate::export_r1cs::merged_row;
use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{
    short_weierstrass::{Affine, Projective, SWCurveConfig},
    AffineRepr, CurveGroup,
};
use ark_ff::{BigInteger, PrimeField};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use zkinfer_circuits::r1cs::R1cs;

/// What `init` made.
pub struct InitSummary {
    pub header: Groth16Header,
    pub cs_hash: [u8; 64],
    /// Seconds per stage: checking the .ptau, computing the points, hashing, writing.
    pub stages: Vec<(&'static str, f64)>,
}

/// snarkjs's domain for a circuit: the smallest power of two above constraints + public
/// inputs (room for the rows `A[m + i] = z_i` it adds).
pub fn domain_power(constraints: usize, public_inputs: usize) -> u32 {
    let n = constraints + public_inputs;
    usize::BITS - n.leading_zeros()
}

/// The smallest `.ptau` power `init` accepts for a circuit: its domain power, or one more
/// above 2^14 points (snarkjs's circuit hash reads τ^i·G1 up to index 2d − 1 there).
pub fn ptau_power_needed(constraints: usize, public_inputs: usize) -> u32 {
    let p = domain_power(constraints, public_inputs);
    if p > 14 {
        p + 1
    } else {
        p
    }
}

/// `p · s`, cheap when `s` or `−s` is below 2^64.
fn times<C: SWCurveConfig<ScalarField = Fr>>(p: &Affine<C>, s: &Fr) -> Projective<C> {
    let small = |b: &ark_ff::BigInt<4>| b.0[1..].iter().all(|&l| l == 0);
    let b = s.into_bigint();
    if small(&b) {
        return p.mul_bigint([b.0[0]]);
    }
    let nb = (-*s).into_bigint();
    if small(&nb) {
        return -p.mul_bigint([nb.0[0]]);
    }
    // A full-size scalar: through the projective multiplication, which uses BN254's GLV
    // endomorphism (the affine one is plain double-and-add).
    p.into_group() * s
}

/// Per column, Σ coefficient · base over its entries `(column, base, coefficient)`.
fn column_sums<C: SWCurveConfig<ScalarField = Fr>>(
    columns: usize,
    entries: &[(u32, u32, Fr)],
    bases: &[Affine<C>],
) -> Vec<Affine<C>> {
    let mut start = vec![0usize; columns + 1];
    for e in entries {
        start[e.0 as usize + 1] += 1;
    }
    for i in 0..columns {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut order = vec![0u32; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        order[fill[e.0 as usize]] = i as u32;
        fill[e.0 as usize] += 1;
    }
    let sums: Vec<Projective<C>> = (0..columns)
        .into_par_iter()
        .map(|c| {
            order[start[c]..start[c + 1]]
                .iter()
                .map(|&i| {
                    let (_, b, s) = &entries[i as usize];
                    times(&bases[*b as usize], s)
                })
                .sum()
        })
        .collect();
    Projective::normalize_batch(&sums)
}

fn hash_u32(h: &mut Blake2b512, n: usize) {
    h.update((n as u32).to_be_bytes());
}

/// Writes the initial zkey of `r1cs` from `ptau` to `out` (atomically), after checking the
/// `.ptau`'s consistency for this circuit's domain.
pub fn init(r1cs: &R1cs, ptau: &mut Ptau, out: &Path) -> Result<InitSummary, CeremonyError> {
    let m = r1cs.num_constraints();
    let n_vars = r1cs.num_variables();
    let n_public = r1cs.num_instance - 1;
    let power = domain_power(m, n_public);
    if power >= 28 {
        return Err(CeremonyError::BadInput(format!(
            "the circuit needs a domain of 2^{power}; ceremonies support up to 2^27"
        )));
    }
    let d = 1usize << power;
    if power > ptau.power {
        return Err(ptau.bin.bad(format!(
            "power {} is too small: this circuit ({m} constraints, {n_public} public inputs) needs a .ptau of power {power} or more",
            ptau.power
        )));
    }
    if power == ptau.power && d > 1 << 14 {
        // snarkjs hashes H from τ^i·G1 up to index 2d − 1, which this file does not have.
        return Err(ptau.bin.bad(format!(
            "power {} equals the circuit's domain power; snarkjs needs one more for a circuit this size: use a .ptau of power {}",
            ptau.power,
            power + 1
        )));
    }
    let mut stages = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut stage = |name: &'static str| {
        stages.push((name, clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };
    let CheckedPoints {
        alpha1,
        beta1,
        beta2,
        tau_powers: mono,
        tau,
        tau2,
        alpha_tau,
        beta_tau,
    } = ptau.check(d)?;
    let h_raw = ptau.lagrange_raw(12, 2 * d)?;
    stage("read and check the .ptau");

    // Entries per target, and the coefficients section, in the .r1cs's term order.
    let (mut a, mut b, mut l) = (Vec::new(), Vec::new(), Vec::new());
    let r2 = Fr::from_bigint(Fr::R2).expect("R² mod r");
    let mut coeffs = Vec::new();
    let mut n_coeffs = 0u32;
    let mut put_coeff = |coeffs: &mut Vec<u8>, mat: u32, c: usize, s: usize, v: Fr| {
        coeffs.extend_from_slice(&mat.to_le_bytes());
        coeffs.extend_from_slice(&(c as u32).to_le_bytes());
        coeffs.extend_from_slice(&(s as u32).to_le_bytes());
        coeffs.extend_from_slice(&(v * r2).into_bigint().to_bytes_le());
        n_coeffs += 1;
    };
    let (alpha_at, beta_at) = (d as u32, 2 * d as u32);
    let mut row = Vec::new();
    for c in 0..m {
        merged_row(&r1cs.a, c, &mut row);
        for &(s, v) in &row {
            a.push((s as u32, c as u32, v));
            l.push((s as u32, beta_at + c as u32, v));
            put_coeff(&mut coeffs, 0, c, s, v);
        }
        merged_row(&r1cs.b, c, &mut row);
        for &(s, v) in &row {
            b.push((s as u32, c as u32, v));
            l.push((s as u32, alpha_at + c as u32, v));
            put_coeff(&mut coeffs, 1, c, s, v);
        }
        merged_row(&r1cs.c, c, &mut row);
        for &(s, v) in &row {
            l.push((s as u32, c as u32, v));
        }
    }
    for s in 0..=n_public {
        a.push((s as u32, (m + s) as u32, Fr::from(1u64)));
        l.push((s as u32, beta_at + (m + s) as u32, Fr::from(1u64)));
        put_coeff(&mut coeffs, 0, m + s, s, Fr::from(1u64));
    }
    let mut coeff_section = n_coeffs.to_le_bytes().to_vec();
    coeff_section.extend_from_slice(&coeffs);
    drop(coeffs);

    let a_g1 = column_sums(n_vars, &a, &tau);
    let b_g1 = column_sums(n_vars, &b, &tau);
    let b_g2 = column_sums(n_vars, &b, &tau2);
    drop((a, b));
    let l_bases: Vec<G1Affine> = tau
        .iter()
        .chain(&alpha_tau)
        .chain(&beta_tau)
        .copied()
        .collect();
    let lc = column_sums(n_vars, &l, &l_bases);
    drop(l);
    let (ic, c_points) = lc.split_at(n_public + 1);
    stage("compute A, B, C and IC");

    // The circuit hash, in snarkjs's order.
    let header = Groth16Header {
        n_vars: n_vars as u32,
        n_public: n_public as u32,
        domain_size: d as u32,
        alpha1,
        beta1,
        beta2,
        gamma2: G2Affine::generator(),
        delta1: G1Affine::generator(),
        delta2: G2Affine::generator(),
    };
    let mut h = Blake2b512::new();
    h.update(g1_uncompressed(&alpha1));
    h.update(g1_uncompressed(&beta1));
    h.update(g2_uncompressed(&beta2));
    h.update(g2_uncompressed(&header.gamma2));
    h.update(g1_uncompressed(&header.delta1));
    h.update(g2_uncompressed(&header.delta2));
    let hash_g1s = |h: &mut Blake2b512, ps: &[G1Affine]| {
        hash_u32(h, ps.len());
        for p in ps {
            h.update(g1_uncompressed(p));
        }
    };
    hash_g1s(&mut h, ic);
    // H: τ^(i+d)·G1 − τ^i·G1, in snarkjs's chunks of 2^14 (each a full chunk, the last too).
    hash_u32(&mut h, d - 1);
    let chunk = (d - 1).min(1 << 14);
    let count = (d - 1).div_ceil(1 << 14) * chunk;
    let diffs: Vec<G1Projective> = (0..count)
        .into_par_iter()
        .map(|i| mono[i + d].into_group() - mono[i])
        .collect();
    for p in G1Projective::normalize_batch(&diffs) {
        h.update(g1_uncompressed(&p));
    }
    hash_g1s(&mut h, c_points);
    hash_g1s(&mut h, &a_g1);
    hash_g1s(&mut h, &b_g1);
    hash_u32(&mut h, b_g2.len());
    for p in &b_g2 {
        h.update(g2_uncompressed(p));
    }
    let cs_hash: [u8; 64] = h.finalize().into();
    stage("hash the circuit");
    let mpc = MpcParams {
        cs_hash,
        contributions: Vec::new(),
    };

    crate::keys::write_atomically(out, |w| {
        write_header(w, b"zkey", 10)?;
        write_section(w, section::HEADER, &1u32.to_le_bytes())?;
        write_section(w, section::GROTH16, &header.to_bytes())?;
        write_section(w, section::COEFFS, &coeff_section)?;
        write_section(w, section::IC, &g1s_to_lem(ic))?;
        start_section(w, section::H, (d * G1_BYTES) as u64)?;
        for odd in h_raw.chunks(2 * G1_BYTES) {
            w.write_all(&odd[G1_BYTES..])?;
        }
        write_section(w, section::C, &g1s_to_lem(c_points))?;
        write_section(w, section::A, &g1s_to_lem(&a_g1))?;
        write_section(w, section::B1, &g1s_to_lem(&b_g1))?;
        write_section(w, section::B2, &g2s_to_lem(&b_g2))?;
        write_section(w, section::CONTRIBUTIONS, &mpc.to_bytes())
    })
    .map_err(|e| CeremonyError::from_key_file(e, out))?;
    stage("write");
    Ok(InitSummary {
        header,
        cs_hash,
        stages,
    })
}
