//! The constraint system as sparse matrices.

use ark_bn254::Fr;
use ark_ff::Zero;
use ark_relations::gr1cs::{ConstraintSystemRef, R1CS_PREDICATE_LABEL};
use rayon::prelude::*;
use zkinfer_gpu::CsrMatrix;

use super::Groth16Error;

/// An R1CS `A·z ∘ B·z = C·z` as CSR matrices over the full assignment
/// `z = [1, public..., witness...]` (ark-relations' variable order).
///
/// Built once per circuit; a [`super::Prover`] prepares the matrices on its backend, so no
/// proof re-synthesises the constraint system.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct R1csShape {
    /// Instance variables including the constant 1 (so at least 1).
    pub num_instance: usize,
    /// Witness variables.
    pub num_witness: usize,
    /// Left matrix; one row per constraint.
    pub a: CsrMatrix,
    /// Right matrix.
    pub b: CsrMatrix,
    /// Output matrix.
    pub c: CsrMatrix,
}

impl R1csShape {
    /// Number of constraints (rows).
    pub fn num_constraints(&self) -> usize {
        self.a.rows()
    }

    /// Length of the full assignment `z`.
    pub fn num_variables(&self) -> usize {
        self.num_instance + self.num_witness
    }

    /// The QAP domain size ark-groth16 uses: `(constraints + instance variables)` rounded up to a
    /// power of two (the extra rows bind the public inputs).
    pub fn domain_size(&self) -> usize {
        (self.num_constraints() + self.num_instance).next_power_of_two()
    }

    /// Checks that the three matrices are valid CSR with the same number of rows and columns
    /// inside the assignment, and that `num_instance >= 1`.
    pub fn validate(&self) -> Result<(), Groth16Error> {
        if self.num_instance == 0 {
            return Err(Groth16Error::Shape(
                "num_instance must count the constant 1".into(),
            ));
        }
        let n = self.num_variables();
        for (name, m) in [("A", &self.a), ("B", &self.b), ("C", &self.c)] {
            m.validate(n)
                .map_err(|e| Groth16Error::Shape(format!("{name}: {e}")))?;
        }
        if self.b.rows() != self.a.rows() || self.c.rows() != self.a.rows() {
            return Err(Groth16Error::Shape(
                "A, B and C differ in number of rows".into(),
            ));
        }
        if n > u32::MAX as usize {
            return Err(Groth16Error::Shape("more than 2^32 variables".into()));
        }
        Ok(())
    }

    /// The shape of a finalized ark-relations constraint system (R1CS predicate only).
    pub fn from_constraint_system(cs: &ConstraintSystemRef<Fr>) -> Result<Self, Groth16Error> {
        let matrices = cs.to_matrices()?;
        let m = matrices
            .get(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| Groth16Error::Shape("constraint system has no R1CS predicate".into()))?;
        let shape = R1csShape {
            num_instance: cs.num_instance_variables(),
            num_witness: cs.num_witness_variables(),
            a: CsrMatrix::from_rows(&m[0]),
            b: CsrMatrix::from_rows(&m[1]),
            c: CsrMatrix::from_rows(&m[2]),
        };
        shape.validate()?;
        Ok(shape)
    }

    /// `Ok` when `z` satisfies every constraint; otherwise the first failing row.
    pub fn check_satisfied(&self, z: &[Fr]) -> Result<(), Groth16Error> {
        if z.len() != self.num_variables() {
            return Err(Groth16Error::Assignment(format!(
                "expected {} values, got {}",
                self.num_variables(),
                z.len()
            )));
        }
        let n = self.num_constraints();
        let mut ab = vec![Fr::zero(); n];
        let mut bz = vec![Fr::zero(); n];
        let mut cz = vec![Fr::zero(); n];
        self.a.spmv_into(z, &mut ab);
        self.b.spmv_into(z, &mut bz);
        self.c.spmv_into(z, &mut cz);
        match (0..n)
            .into_par_iter()
            .find_first(|&i| ab[i] * bz[i] != cz[i])
        {
            None => Ok(()),
            Some(i) => Err(Groth16Error::Assignment(format!(
                "constraint {i} is not satisfied"
            ))),
        }
    }
}
