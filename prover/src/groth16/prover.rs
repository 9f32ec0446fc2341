//! The prover: prepared bases and matrices, and the five MSMs.

use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::CurveGroup;
use ark_ff::{One, UniformRand, Zero};
use ark_groth16::{Proof, ProvingKey, VerifyingKey};
use ark_std::rand::Rng;
use zkinfer_gpu::Backend;

use super::r1cs_to_qap::{witness_map, witness_map_odd_coset, QapReduction, WitnessMapTimings};
use super::{Groth16Error, R1csShape};

/// Wall-clock time of each proving stage, for the CLI to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageTimings {
    /// The whole witness map (R1CS → `h` coefficients).
    pub witness_map: Duration,
    /// Its parts.
    pub witness_map_parts: WitnessMapTimings,
    /// MSM of the A query (G1).
    pub msm_a: Duration,
    /// MSM of the B query in G1 (skipped, zero, when `r = 0`).
    pub msm_b_g1: Duration,
    /// MSM of the B query in G2.
    pub msm_b_g2: Duration,
    /// MSM of the L query (witness part of C).
    pub msm_l: Duration,
    /// MSM of the H query (quotient part of C).
    pub msm_h: Duration,
    /// The whole proof.
    pub total: Duration,
}

impl StageTimings {
    /// Sum of the five MSMs.
    pub fn msm_total(&self) -> Duration {
        self.msm_a + self.msm_b_g1 + self.msm_b_g2 + self.msm_l + self.msm_h
    }
}

/// A Groth16 prover for one circuit and proving key, over backend `B`.
///
/// `new` moves the key's query vectors into the backend (on CUDA: uploaded once and kept
/// resident), so proofs only move the assignment. The proof for given `r`, `s` equals
/// ark-groth16's `create_proof_with_reduction_and_matrices` (LibsnarkReduction).
pub struct Prover<B: Backend> {
    backend: B,
    vk: VerifyingKey<Bn254>,
    beta_g1: G1Affine,
    delta_g1: G1Affine,
    // query[0] of A, B: the constant-one variable's term, added outside the MSM as ark-groth16 does.
    a0: G1Affine,
    b_g1_0: G1Affine,
    b_g2_0: G2Affine,
    a_query: B::G1Bases,
    b_g1_query: B::G1Bases,
    b_g2_query: B::G2Bases,
    l_query: B::G1Bases,
    h_query: B::G1Bases,
    h_len: usize,
    matrices: [B::Matrix; 3],
    num_instance: usize,
    num_witness: usize,
    num_constraints: usize,
    reduction: QapReduction,
}

/// Removes and returns element 0 (a memmove, no reallocation).
fn split_first<T: Copy>(v: &mut Vec<T>, what: &str) -> Result<T, Groth16Error> {
    if v.is_empty() {
        return Err(Groth16Error::KeyMismatch(format!("{what} is empty")));
    }
    Ok(v.remove(0))
}

impl<B: Backend> Prover<B> {
    /// Checks that `pk` fits `shape` (query lengths, domain size, public-input count) and
    /// prepares the key's bases and the shape's matrices on `backend`.
    pub fn new(backend: B, pk: ProvingKey<Bn254>, shape: R1csShape) -> Result<Self, Groth16Error> {
        Self::with_reduction(backend, pk, shape, QapReduction::Libsnark)
    }

    /// [`Prover::new`] for a key made for `reduction` (a key from a snarkjs `.zkey` has one H
    /// point per domain point, and its `h` is evaluated on the odd coset).
    pub fn with_reduction(
        backend: B,
        pk: ProvingKey<Bn254>,
        shape: R1csShape,
        reduction: QapReduction,
    ) -> Result<Self, Groth16Error> {
        shape.validate()?;
        let nv = shape.num_variables();
        let domain = shape.domain_size();
        let ProvingKey {
            vk,
            beta_g1,
            delta_g1,
            mut a_query,
            mut b_g1_query,
            mut b_g2_query,
            h_query,
            l_query,
        } = pk;
        let checks = [
            ("a_query", a_query.len(), nv),
            ("b_g1_query", b_g1_query.len(), nv),
            ("b_g2_query", b_g2_query.len(), nv),
            ("l_query", l_query.len(), shape.num_witness),
            ("h_query", h_query.len(), reduction.h_len(domain)),
            ("vk.gamma_abc_g1", vk.gamma_abc_g1.len(), shape.num_instance),
        ];
        for (what, got, want) in checks {
            if got != want {
                return Err(Groth16Error::KeyMismatch(format!(
                    "{what} has {got} elements, the shape needs {want}"
                )));
            }
        }
        let a0 = split_first(&mut a_query, "a_query")?;
        let b_g1_0 = split_first(&mut b_g1_query, "b_g1_query")?;
        let b_g2_0 = split_first(&mut b_g2_query, "b_g2_query")?;
        let h_len = h_query.len();
        let (num_instance, num_witness, num_constraints) = (
            shape.num_instance,
            shape.num_witness,
            shape.num_constraints(),
        );
        // Moved, not copied: the matrices are among a proof's largest buffers.
        let matrices = [
            backend.prepare_matrix_owned(shape.a)?,
            backend.prepare_matrix_owned(shape.b)?,
            backend.prepare_matrix_owned(shape.c)?,
        ];
        Ok(Prover {
            a_query: backend.prepare_g1(a_query)?,
            b_g1_query: backend.prepare_g1(b_g1_query)?,
            b_g2_query: backend.prepare_g2(b_g2_query)?,
            l_query: backend.prepare_g1(l_query)?,
            h_query: backend.prepare_g1(h_query)?,
            backend,
            vk,
            beta_g1,
            delta_g1,
            a0,
            b_g1_0,
            b_g2_0,
            h_len,
            matrices,
            num_instance,
            num_witness,
            num_constraints,
            reduction,
        })
    }

    /// The backend proofs run on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Gives the backend back (dropping the prepared bases and matrices).
    pub fn into_backend(self) -> B {
        self.backend
    }

    /// The verifying key of the proving key this prover was built from.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.vk
    }

    /// A proof with randomness `r`, `s` for the full assignment `z = [1, public..., witness...]`.
    /// `z` is not checked against the constraints (see [`R1csShape::check_satisfied`]); an
    /// unsatisfying `z` gives a proof that does not verify.
    pub fn prove(&self, z: &[Fr], r: Fr, s: Fr) -> Result<Proof<Bn254>, Groth16Error> {
        self.prove_with_timings(z, r, s).map(|(p, _)| p)
    }

    /// [`Prover::prove`] with fresh `r`, `s` drawn from `rng`.
    pub fn prove_random<R: Rng>(
        &self,
        z: &[Fr],
        rng: &mut R,
    ) -> Result<Proof<Bn254>, Groth16Error> {
        let r = Fr::rand(rng);
        let s = Fr::rand(rng);
        self.prove(z, r, s)
    }

    /// [`Prover::prove`], also returning how long each stage took.
    pub fn prove_with_timings(
        &self,
        z: &[Fr],
        r: Fr,
        s: Fr,
    ) -> Result<(Proof<Bn254>, StageTimings), Groth16Error> {
        let total = Instant::now();
        let mut t = StageTimings::default();
        let nv = self.num_instance + self.num_witness;
        if z.len() != nv {
            return Err(Groth16Error::Assignment(format!(
                "expected {nv} values, got {}",
                z.len()
            )));
        }
        if !z[0].is_one() {
            return Err(Groth16Error::Assignment(
                "z[0] must be the constant 1".into(),
            ));
        }
        let b = &self.backend;

        let start = Instant::now();
        let [ma, mb, mc] = &self.matrices;
        let (h, parts) = match self.reduction {
            QapReduction::Libsnark => {
                witness_map(b, [ma, mb, mc], self.num_constraints, self.num_instance, z)?
            }
            QapReduction::Snarkjs => {
                witness_map_odd_coset(b, [ma, mb], self.num_constraints, self.num_instance, z)?
            }
        };
        t.witness_map = start.elapsed();
        t.witness_map_parts = parts;

        // C's MSMs first, as ark-groth16 does; h has one more coefficient than h_query, and
        // arkworks' MSM uses the common length, so the last (zero) coefficient is left out.
        let start = Instant::now();
        let h_acc = b.msm_g1(&self.h_query, &h[..self.h_len])?;
        t.msm_h = start.elapsed();
        drop(h);

        let start = Instant::now();
        let l_aux_acc = b.msm_g1(&self.l_query, &z[self.num_instance..])?;
        t.msm_l = start.elapsed();

        let r_s_delta_g1 = self.delta_g1 * (r * s);
        let assignment = &z[1..];

        let start = Instant::now();
        let g_a =
            self.delta_g1 * r + self.a0 + b.msm_g1(&self.a_query, assignment)? + self.vk.alpha_g1;
        t.msm_a = start.elapsed();
        let s_g_a = g_a * s;

        let g1_b = if !r.is_zero() {
            let start = Instant::now();
            let v = self.delta_g1 * s
                + self.b_g1_0
                + b.msm_g1(&self.b_g1_query, assignment)?
                + self.beta_g1;
            t.msm_b_g1 = start.elapsed();
            v
        } else {
            G1Projective::zero()
        };

        let start = Instant::now();
        let g2_b = self.vk.delta_g2 * s
            + self.b_g2_0
            + b.msm_g2(&self.b_g2_query, assignment)?
            + self.vk.beta_g2;
        t.msm_b_g2 = start.elapsed();
        let r_g1_b = g1_b * r;

        let g_c = s_g_a + r_g1_b - r_s_delta_g1 + l_aux_acc + h_acc;
        t.total = total.elapsed();
        Ok((
            Proof {
                a: g_a.into_affine(),
                b: g2_b.into_affine(),
                c: g_c.into_affine(),
            },
            t,
        ))
    }
}
