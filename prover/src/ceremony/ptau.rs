//! Phase-1 files (`.ptau`, snarkjs `powersoftau_*.js`) prepared for phase 2, and the checks
//! that their powers are consistent before a circuit's key is built from them.
//!
//! Sections: 1 header (n8, q, power, ceremony power); 2 τ^i·G1 for i < 2^(power+1) − 1;
//! 3 τ^i·G2, 4 ατ^i·G1, 5 βτ^i·G1 for i < 2^power; 6 β·G2; 7 the contributions; after
//! `prepare phase2`, 12–15 the same four in the Lagrange basis of every domain 2^k
//! (k ≤ power, and k = power + 1 for τ·G1), concatenated, size 2^k at point 2^k − 1.

use super::binfile::BinFile;
use super::encoding::{g1s_from_lem, g2s_from_lem, G1_BYTES, G2_BYTES};
use super::CeremonyError;
use ark_bn254::{Bn254, Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{pairing::Pairing, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rand::RngCore;
use std::path::Path;

/// What a circuit of domain d takes from a `.ptau`, checked by [`Ptau::check`].
pub struct CheckedPoints {
    pub alpha1: G1Affine,
    pub beta1: G1Affine,
    pub beta2: G2Affine,
    /// τ^i·G1 for i < 2d (or as many as the file has).
    pub tau_powers: Vec<G1Affine>,
    /// The Lagrange basis of the domain at τ: L_i(τ)·G1, L_i(τ)·G2, αL_i(τ)·G1, βL_i(τ)·G1.
    pub tau: Vec<G1Affine>,
    pub tau2: Vec<G2Affine>,
    pub alpha_tau: Vec<G1Affine>,
    pub beta_tau: Vec<G1Affine>,
}

/// An open, phase-2-prepared `.ptau`.
pub struct Ptau {
    pub bin: BinFile,
    /// Its powers: τ^i for i < 2^power (and twice that in G1).
    pub power: u32,
}

/// Whether e(g1s, g2sx) = e(g1sx, g2s) with none of them zero (snarkjs's `sameRatio`).
pub fn same_ratio(g1s: G1Affine, g1sx: G1Affine, g2s: G2Affine, g2sx: G2Affine) -> bool {
    if g1s.is_zero() || g1sx.is_zero() || g2s.is_zero() || g2sx.is_zero() {
        return false;
    }
    Bn254::multi_pairing([g1s, -g1sx], [g2sx, g2s]).is_zero()
}

/// Random 128-bit scalars for a random linear combination.
pub fn random_scalars(n: usize) -> Vec<Fr> {
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| Fr::from(((rng.next_u64() as u128) << 64) | rng.next_u64() as u128))
        .collect()
}

fn msm1(bases: &[G1Affine], s: &[Fr]) -> G1Affine {
    G1Projective::msm_unchecked(bases, s).into_affine()
}

fn msm2(bases: &[G2Affine], s: &[Fr]) -> G2Affine {
    G2Projective::msm_unchecked(bases, s).into_affine()
}

impl Ptau {
    /// Opens a `.ptau`, checks its header and section sizes, and that it was prepared for
    /// phase 2.
    pub fn open(path: &Path) -> Result<Self, CeremonyError> {
        let mut bin = BinFile::open(path, b"ptau", 1)?;
        let h = bin.read_section(1, "header")?;
        if h.len() != 44
            || h[..4] != 32u32.to_le_bytes()
            || h[4..36] != Fq::MODULUS.to_bytes_le()[..]
        {
            return Err(bin.bad("not a BN254 (bn128) powers-of-tau file"));
        }
        let power = u32::from_le_bytes(h[36..40].try_into().expect("4 bytes"));
        if power == 0 || power > 28 {
            return Err(bin.bad(format!("power {power} is outside 1..=28")));
        }
        let n = 1u64 << power;
        let (g1, g2) = (G1_BYTES as u64, G2_BYTES as u64);
        let mut expect = vec![
            (2, "tauG1", (2 * n - 1) * g1),
            (3, "tauG2", n * g2),
            (4, "alphaTauG1", n * g1),
            (5, "betaTauG1", n * g1),
            (6, "betaG2", g2),
        ];
        if !bin.has(12) {
            return Err(bin.bad(
                "not prepared for phase 2 (no Lagrange sections): run `snarkjs powersoftau prepare phase2` on it, or download a *_final_*.ptau",
            ));
        }
        expect.extend([
            (12, "Lagrange tauG1", (4 * n - 1) * g1),
            (13, "Lagrange tauG2", (2 * n - 1) * g2),
            (14, "Lagrange alphaTauG1", (2 * n - 1) * g1),
            (15, "Lagrange betaTauG1", (2 * n - 1) * g1),
        ]);
        for (ty, what, size) in expect {
            let (_, got) = bin.section(ty, what)?;
            if got != size {
                return Err(bin.bad(format!(
                    "section {ty} ({what}) has {got} bytes; power {power} implies {size}"
                )));
            }
        }
        Ok(Ptau { bin, power })
    }

    /// `n` G1 points of section `ty` from point `first`, each checked to be on the curve.
    pub fn g1s(&mut self, ty: u32, first: u64, n: usize) -> Result<Vec<G1Affine>, CeremonyError> {
        let (at, _) = self.bin.section(ty, "points")?;
        let b = self
            .bin
            .read_at(at + first * G1_BYTES as u64, n * G1_BYTES)?;
        g1s_from_lem(&b).map_err(|i| {
            self.bin.bad(format!(
                "section {ty}: point {} is not on G1",
                first as usize + i
            ))
        })
    }

    /// `n` G2 points of section `ty` from point `first`, each checked to be in the group.
    pub fn g2s(&mut self, ty: u32, first: u64, n: usize) -> Result<Vec<G2Affine>, CeremonyError> {
        let (at, _) = self.bin.section(ty, "points")?;
        let b = self
            .bin
            .read_at(at + first * G2_BYTES as u64, n * G2_BYTES)?;
        g2s_from_lem(&b).map_err(|i| {
            self.bin.bad(format!(
                "section {ty}: point {} is not in G2",
                first as usize + i
            ))
        })
    }

    /// The raw bytes of the Lagrange-basis G1 points of size `size` in section `ty`.
    pub fn lagrange_raw(&mut self, ty: u32, size: usize) -> Result<Vec<u8>, CeremonyError> {
        let (at, _) = self.bin.section(ty, "Lagrange points")?;
        self.bin
            .read_at(at + (size as u64 - 1) * G1_BYTES as u64, size * G1_BYTES)
    }

    /// Checks what a circuit of domain `d` takes from this file: τ·G1 to 2d, the rest to d.
    /// - the first powers are the generators, and τ, α, β are not zero;
    /// - τ·G2 matches τ·G1; each of τ^i·G1, ατ^i·G1, βτ^i·G1 is its predecessor times τ,
    ///   and β·G1 matches β·G2 (pairings on random linear combinations of consecutive
    ///   powers);
    /// - each Lagrange G1 section equals the inverse FFT of its powers (a random linear
    ///   combination on both sides, no pairing needed), and the Lagrange τ·G2 points match
    ///   the Lagrange τ·G1 points (one pairing on a random linear combination).
    ///
    /// Returns the points it read and checked.
    pub fn check(&mut self, d: usize) -> Result<CheckedPoints, CeremonyError> {
        let n = 1usize << self.power;
        if d > n {
            return Err(self.bin.bad(format!(
                "power {} is too small: this circuit needs power {} or more",
                self.power,
                d.trailing_zeros()
            )));
        }
        let t1 = self.g1s(2, 0, (2 * d).min(2 * n - 1))?;
        // Of τ^i·G2 only τ^0 and τ^1 enter the checks: the Lagrange τ·G2 points the key
        // takes are checked against the Lagrange τ·G1 points directly.
        let t2 = self.g2s(3, 0, 2)?;
        let a1 = self.g1s(4, 0, d)?;
        let b1 = self.g1s(5, 0, d)?;
        let beta2 = self.g2s(6, 0, 1)?[0];
        let path = self.bin.path().display().to_string();
        let fail = |what: &str| {
            Err(CeremonyError::BadInput(format!(
                "{path}: inconsistent powers of tau: {what}"
            )))
        };
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        if t1[0] != g1 || t2[0] != g2 {
            return fail("the first powers are not the generators");
        }
        if d < 2 {
            return fail("a domain of one point");
        }
        let chain1 = |p: &[G1Affine]| {
            let r = random_scalars(p.len() - 1);
            same_ratio(msm1(&p[..p.len() - 1], &r), msm1(&p[1..], &r), g2, t2[1])
        };
        if !same_ratio(g1, t1[1], g2, t2[1]) {
            return fail("τ·G2 does not match τ·G1");
        }
        if !chain1(&t1) {
            return fail("τ^i·G1 is not a chain of powers of τ");
        }
        if !chain1(&a1) {
            return fail("ατ^i·G1 is not a chain of powers of τ");
        }
        if !chain1(&b1) {
            return fail("βτ^i·G1 is not a chain of powers of τ");
        }
        if !same_ratio(g1, b1[0], g2, beta2) {
            return fail("β·G1 does not match β·G2");
        }
        if a1[0].is_zero() {
            return fail("α is zero");
        }
        // The Lagrange sections: Σ r_j L_j = Σ c_i τ^i with c = IFFT(r).
        let lagrange_g1 = |me: &mut Self, ty: u32, size: usize, mono: &[G1Affine]| {
            let l = me.g1s(ty, size as u64 - 1, size)?;
            let r = random_scalars(size);
            let c = Radix2EvaluationDomain::<Fr>::new(size)
                .expect("a power-of-two domain")
                .ifft(&r);
            // At the largest size the top power is absent; snarkjs takes it as zero.
            let k = mono.len().min(size);
            Ok::<_, CeremonyError>((msm1(&l, &r) == msm1(&mono[..k], &c[..k]), l))
        };
        let (ok, lagrange_tau) = lagrange_g1(self, 12, d, &t1)?;
        if !ok || !lagrange_g1(self, 12, 2 * d, &t1)?.0 {
            return fail("the Lagrange τ·G1 section does not match τ^i·G1");
        }
        let (ok, alpha_tau) = lagrange_g1(self, 14, d, &a1)?;
        if !ok {
            return fail("the Lagrange ατ·G1 section does not match ατ^i·G1");
        }
        let (ok, beta_tau) = lagrange_g1(self, 15, d, &b1)?;
        if !ok {
            return fail("the Lagrange βτ·G1 section does not match βτ^i·G1");
        }
        // Lagrange τ·G2 against Lagrange τ·G1: e(Σ r_j L_j·G1, G2) = e(G1, Σ r_j L_j·G2).
        let l2 = self.g2s(13, d as u64 - 1, d)?;
        let r = random_scalars(d);
        if !same_ratio(g1, msm1(&lagrange_tau, &r), g2, msm2(&l2, &r)) {
            return fail("the Lagrange τ·G2 section does not match the Lagrange τ·G1 section");
        }
        Ok(CheckedPoints {
            alpha1: a1[0],
            beta1: b1[0],
            beta2,
            tau_powers: t1,
            tau: lagrange_tau,
            tau2: l2,
            alpha_tau,
            beta_tau,
        })
    }
}
