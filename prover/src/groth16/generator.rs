//! Key generation from an [`R1csShape`], through ark-groth16's own generator.

use ark_bn254::{Bn254, Fr};
use ark_ff::Zero;
use ark_groth16::{r1cs_to_qap::LibsnarkReduction, Groth16, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, LinearCombination,
    OptimizationGoal, SynthesisError, SynthesisMode, Variable, R1CS_PREDICATE_LABEL,
};
use ark_std::rand::Rng;
use zkinfer_gpu::CsrMatrix;

use super::{Groth16Error, R1csShape};

/// A circuit that replays an [`R1csShape`]: allocates its variables in order and enforces each
/// row. Values are never read (setup mode), so the witness is zero.
pub struct ReplayCircuit<'a> {
    /// The shape being replayed.
    pub shape: &'a R1csShape,
}

fn variable(idx: usize, num_instance: usize) -> Variable {
    if idx == 0 {
        Variable::One
    } else if idx < num_instance {
        Variable::instance(idx)
    } else {
        Variable::witness(idx - num_instance)
    }
}

fn row_lc(m: &CsrMatrix, row: usize, num_instance: usize) -> LinearCombination<Fr> {
    LinearCombination(
        m.row(row)
            .map(|(c, v)| (*v, variable(c, num_instance)))
            .collect(),
    )
}

impl ConstraintSynthesizer<Fr> for ReplayCircuit<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let s = self.shape;
        for _ in 1..s.num_instance {
            let _ = cs.new_input_variable(|| Ok(Fr::zero()))?;
        }
        for _ in 0..s.num_witness {
            let _ = cs.new_witness_variable(|| Ok(Fr::zero()))?;
        }
        for row in 0..s.num_constraints() {
            cs.enforce_r1cs_constraint(
                || row_lc(&s.a, row, s.num_instance),
                || row_lc(&s.b, row, s.num_instance),
                || row_lc(&s.c, row, s.num_instance),
            )?;
        }
        Ok(())
    }
}

/// Synthesises the replay circuit exactly as ark-groth16's generator does (setup mode,
/// `OptimizationGoal::Constraints`, finalize) and checks that the matrices it produces are the
/// shape's, entry for entry, up to zero coefficients (which ark-relations drops).
/// Guarantees on `Ok` that a key from [`setup_from_shape`] is a key for this shape.
pub fn check_replay(shape: &R1csShape) -> Result<(), Groth16Error> {
    shape.validate()?;
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    ReplayCircuit { shape }.generate_constraints(cs.clone())?;
    cs.finalize();
    if cs.num_instance_variables() != shape.num_instance
        || cs.num_witness_variables() != shape.num_witness
    {
        return Err(Groth16Error::Shape(
            "replayed variable counts differ".into(),
        ));
    }
    if cs.num_constraints() != shape.num_constraints() {
        return Err(Groth16Error::Shape(
            "replayed constraint count differs".into(),
        ));
    }
    let matrices = cs.to_matrices()?;
    let m = matrices
        .get(R1CS_PREDICATE_LABEL)
        .ok_or_else(|| Groth16Error::Shape("no R1CS predicate".into()))?;
    for (name, ours, theirs) in [
        ("A", &shape.a, &m[0]),
        ("B", &shape.b, &m[1]),
        ("C", &shape.c, &m[2]),
    ] {
        for (row, theirs_row) in theirs.iter().enumerate() {
            let ours_row = ours
                .row(row)
                .filter(|(_, v)| !v.is_zero())
                .map(|(c, v)| (*v, c));
            if !ours_row.eq(theirs_row.iter().copied()) {
                return Err(Groth16Error::Shape(format!(
                    "replayed {name} row {row} differs"
                )));
            }
        }
    }
    Ok(())
}

/// A Groth16 proving key for `shape` (ark-groth16's `generate_random_parameters_with_reduction`
/// with `LibsnarkReduction`, the reduction [`super::Prover`] mirrors), after [`check_replay`].
pub fn setup_from_shape<R: Rng>(
    shape: &R1csShape,
    rng: &mut R,
) -> Result<ProvingKey<Bn254>, Groth16Error> {
    check_replay(shape)?;
    Ok(
        Groth16::<Bn254, LibsnarkReduction>::generate_random_parameters_with_reduction(
            ReplayCircuit { shape },
            rng,
        )?,
    )
}
