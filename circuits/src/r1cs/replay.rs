//! Replays our matrices into an arkworks constraint system, so that ark-groth16's
//! generator (and its test-time prover) see exactly the constraints we built.

use super::R1cs;
use ark_bn254::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};

/// An `ark_relations` circuit that re-enforces the rows of an [`R1cs`].
///
/// With `assignment = None` it is for setup (values are never read); with `Some(z)` the
/// variables take the values of the full assignment `z`.
pub struct ReplayCircuit<'a> {
    pub r1cs: &'a R1cs,
    pub assignment: Option<&'a [Fr]>,
}

impl ConstraintSynthesizer<Fr> for ReplayCircuit<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let r1cs = self.r1cs;
        let value = |i: usize| -> Result<Fr, SynthesisError> {
            self.assignment
                .map(|z| z[i])
                .ok_or(SynthesisError::AssignmentMissing)
        };
        let mut vars = Vec::with_capacity(r1cs.num_variables());
        vars.push(Variable::One);
        for i in 1..r1cs.num_instance {
            vars.push(cs.new_input_variable(|| value(i))?);
        }
        for i in r1cs.num_instance..r1cs.num_variables() {
            vars.push(cs.new_witness_variable(|| value(i))?);
        }
        let lc = |m: &super::SparseMatrix, row: usize| {
            LinearCombination(m.row(row).map(|(c, v)| (*v, vars[c])).collect())
        };
        for row in 0..r1cs.num_constraints() {
            cs.enforce_r1cs_constraint(
                || lc(&r1cs.a, row),
                || lc(&r1cs.b, row),
                || lc(&r1cs.c, row),
            )?;
        }
        Ok(())
    }
}
