//! The prover against ark-groth16: byte-identical proofs for the same `r`, `s`, and proofs that
//! ark-groth16's verifier accepts, on a circuit synthesised with ark-relations and on synthetic
//! shapes of both witness kinds.

use ark_bn254::{Bn254, Fr};
use ark_ff::{One, UniformRand, Zero};
use ark_groth16::{r1cs_to_qap::LibsnarkReduction, Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
    SynthesisMode, Variable, R1CS_PREDICATE_LABEL,
};
use ark_relations::lc;
use ark_serialize::CanonicalSerialize;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use zkinfer_gpu::{mirror::MirrorBackend, Backend, CpuBackend};

use super::synthetic::{synthetic_circuit, WitnessKind};
use super::*;

/// A small circuit in the style of zkinfer's: public x, y; witness bits of x (range check),
/// a product, a ReLU-like select, a linear combination with repeated variables.
struct Toy {
    x: u64,
    w: i64,
}

impl ConstraintSynthesizer<Fr> for Toy {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let xv = Fr::from(self.x);
        let wv = Fr::from(self.w);
        let x = cs.new_input_variable(|| Ok(xv))?;
        let prod = xv * wv;
        let y = cs.new_input_variable(|| Ok(prod + Fr::from(3u64)))?;
        let w = cs.new_witness_variable(|| Ok(wv))?;
        let mut bits = Vec::new();
        for j in 0..8 {
            let b = cs.new_witness_variable(|| Ok(Fr::from((self.x >> j) & 1)))?;
            cs.enforce_r1cs_constraint(|| lc!() + b, || lc!() + b, || lc!() + b)?;
            bits.push(b);
        }
        let recomposed = bits
            .iter()
            .enumerate()
            .fold(lc!(), |acc, (j, b)| acc + (Fr::from(1u64 << j), *b));
        cs.enforce_r1cs_constraint(|| recomposed, || lc!() + Variable::One, || lc!() + x)?;
        let p = cs.new_witness_variable(|| Ok(prod))?;
        cs.enforce_r1cs_constraint(|| lc!() + x, || lc!() + w, || lc!() + p)?;
        // y = p + 3, with a repeated variable and a zero coefficient on purpose
        cs.enforce_r1cs_constraint(
            || lc!() + p + p + (Fr::from(3u64), Variable::One) + (Fr::zero(), w) - p,
            || lc!() + Variable::One,
            || lc!() + y,
        )?;
        Ok(())
    }
}

/// Synthesises `Toy` in prove mode and returns (shape, z, ark matrices).
fn toy_instance(x: u64, w: i64) -> (R1csShape, Vec<Fr>, Vec<ark_relations::gr1cs::Matrix<Fr>>) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: false,
    });
    Toy { x, w }.generate_constraints(cs.clone()).unwrap();
    cs.finalize();
    assert!(cs.is_satisfied().unwrap());
    let shape = R1csShape::from_constraint_system(&cs).unwrap();
    let z = [
        cs.instance_assignment().unwrap(),
        cs.witness_assignment().unwrap(),
    ]
    .concat();
    let matrices = cs.to_matrices().unwrap()[R1CS_PREDICATE_LABEL].clone();
    (shape, z, matrices)
}

fn bytes(p: &Proof<Bn254>) -> Vec<u8> {
    let mut v = Vec::new();
    p.serialize_compressed(&mut v).unwrap();
    v
}

fn shape_matrices(shape: &R1csShape) -> Vec<ark_relations::gr1cs::Matrix<Fr>> {
    [&shape.a, &shape.b, &shape.c]
        .iter()
        .map(|m| {
            (0..m.rows())
                .map(|i| m.row(i).map(|(c, v)| (*v, c)).collect())
                .collect()
        })
        .collect()
}

fn ark_proof(
    pk: &ProvingKey<Bn254>,
    shape: &R1csShape,
    matrices: &[ark_relations::gr1cs::Matrix<Fr>],
    z: &[Fr],
    r: Fr,
    s: Fr,
) -> Proof<Bn254> {
    Groth16::<Bn254, LibsnarkReduction>::create_proof_with_reduction_and_matrices(
        pk,
        r,
        s,
        matrices,
        shape.num_instance,
        shape.num_constraints(),
        z,
    )
    .unwrap()
}

fn verifies(pk: &ProvingKey<Bn254>, proof: &Proof<Bn254>, public: &[Fr]) -> bool {
    let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
    Groth16::<Bn254>::verify_proof(&pvk, proof, public).unwrap()
}

fn check_against_ark<B: Backend>(
    backend: B,
    shape: &R1csShape,
    z: &[Fr],
    matrices: &[ark_relations::gr1cs::Matrix<Fr>],
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let pk = setup_from_shape(shape, &mut rng).unwrap();
    let prover = Prover::new(backend, pk.clone(), shape.clone()).unwrap();
    let public = &z[1..shape.num_instance];
    for (r, s) in [
        (Fr::rand(&mut rng), Fr::rand(&mut rng)),
        (Fr::zero(), Fr::rand(&mut rng)),
        (Fr::zero(), Fr::zero()),
    ] {
        let (ours, timings) = prover.prove_with_timings(z, r, s).unwrap();
        let theirs = ark_proof(&pk, shape, matrices, z, r, s);
        assert_eq!(
            bytes(&ours),
            bytes(&theirs),
            "proof differs from ark-groth16 (r={r}, s={s})"
        );
        assert!(verifies(&pk, &ours, public));
        assert!(timings.total >= timings.witness_map);
    }
    let p = prover.prove_random(z, &mut rng).unwrap();
    assert!(verifies(&pk, &p, public));
    if !public.is_empty() {
        let mut bad = public.to_vec();
        bad[0] += Fr::one();
        assert!(!verifies(&pk, &p, &bad));
    }
}

#[test]
fn toy_circuit_matches_ark_groth16_cpu() {
    for (x, w) in [(0, 0), (200, -7), (255, 123_456)] {
        let (shape, z, matrices) = toy_instance(x, w);
        assert_eq!(shape_matrices(&shape), matrices);
        shape.check_satisfied(&z).unwrap();
        check_against_ark(CpuBackend, &shape, &z, &matrices, x);
    }
}

#[test]
fn toy_circuit_matches_ark_groth16_mirror_backend() {
    let (shape, z, matrices) = toy_instance(77, -5);
    check_against_ark(MirrorBackend::default(), &shape, &z, &matrices, 1);
}

#[test]
fn setup_from_shape_matches_ark_generator_on_original_circuit() {
    // The key made from the replayed shape and the key ark-groth16 makes from the circuit itself
    // are the same for the same randomness.
    let (shape, _, _) = toy_instance(3, 4);
    let ours = setup_from_shape(&shape, &mut StdRng::seed_from_u64(9)).unwrap();
    let theirs = Groth16::<Bn254, LibsnarkReduction>::generate_random_parameters_with_reduction(
        Toy { x: 3, w: 4 },
        &mut StdRng::seed_from_u64(9),
    )
    .unwrap();
    let ser = |pk: &ProvingKey<Bn254>| {
        let mut v = Vec::new();
        pk.serialize_compressed(&mut v).unwrap();
        v
    };
    assert_eq!(ser(&ours), ser(&theirs));
}

#[test]
fn synthetic_shapes_match_ark_groth16() {
    let mut rng = StdRng::seed_from_u64(5);
    for kind in [WitnessKind::Random, WitnessKind::Quantized] {
        for (n, public) in [(1, 0), (37, 2), (300, 3)] {
            let (shape, z) = synthetic_circuit(n, public, kind, &mut rng);
            assert_eq!(shape.num_constraints(), n);
            shape.check_satisfied(&z).unwrap();
            check_replay(&shape).unwrap();
            check_against_ark(CpuBackend, &shape, &z, &shape_matrices(&shape), n as u64);
        }
    }
    let (shape, z) = synthetic_circuit(200, 1, WitnessKind::Quantized, &mut rng);
    check_against_ark(
        MirrorBackend::default(),
        &shape,
        &z,
        &shape_matrices(&shape),
        3,
    );
}

#[test]
fn rejects_wrong_inputs() {
    let (shape, z, _) = toy_instance(5, 6);
    let mut rng = StdRng::seed_from_u64(2);
    let pk = setup_from_shape(&shape, &mut rng).unwrap();
    let prover = Prover::new(CpuBackend, pk.clone(), shape.clone()).unwrap();
    assert!(matches!(
        prover.prove(&z[1..], Fr::one(), Fr::one()),
        Err(Groth16Error::Assignment(_))
    ));
    let mut z2 = z.clone();
    z2[0] = Fr::from(2u64);
    assert!(prover.prove(&z2, Fr::one(), Fr::one()).is_err());
    // A key for another shape is refused.
    let (other, _) = synthetic_circuit(100, 2, WitnessKind::Random, &mut rng);
    assert!(matches!(
        Prover::new(CpuBackend, pk, other),
        Err(Groth16Error::KeyMismatch(_))
    ));
    // An unsatisfying assignment yields a proof that does not verify.
    let mut z3 = z.clone();
    *z3.last_mut().unwrap() += Fr::one();
    assert!(shape.check_satisfied(&z3).is_err());
    let pk2 = setup_from_shape(&shape, &mut rng).unwrap();
    let prover = Prover::new(CpuBackend, pk2.clone(), shape.clone()).unwrap();
    let p = prover.prove_random(&z3, &mut rng).unwrap();
    assert!(!verifies(&pk2, &p, &z3[1..shape.num_instance]));
    let _ = rng.gen::<u8>();
}

/// A full proof on CUDA, byte-identical to ark-groth16's and accepted by its verifier. Needs a
/// device; prints why it skipped otherwise.
#[cfg(feature = "cuda")]
#[test]
fn cuda_proof_matches_ark_groth16() {
    let gpu = match zkinfer_gpu::CudaBackend::new(0) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let (shape, z, matrices) = toy_instance(201, -9);
    check_against_ark(gpu, &shape, &z, &matrices, 11);
    let mut rng = StdRng::seed_from_u64(12);
    for kind in [WitnessKind::Random, WitnessKind::Quantized] {
        let (shape, z) = synthetic_circuit(5000, 3, kind, &mut rng);
        let gpu = zkinfer_gpu::CudaBackend::new(0).unwrap();
        check_against_ark(gpu, &shape, &z, &shape_matrices(&shape), 13);
    }
}
