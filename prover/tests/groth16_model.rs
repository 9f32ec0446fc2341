//! zkinfer's own Groth16 prover on a real model circuit (the digits MLP): for the same r and s
//! its proof is byte-identical to ark-groth16's, and ark-groth16's verifier accepts it.

mod common;

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_serialize::CanonicalSerialize;
use ark_std::UniformRand;
use zkinfer_prover::groth16::Prover;
use zkinfer_prover::prove::r1cs_shape;

#[test]
fn mlp_proof_is_byte_identical_to_ark_groth16() {
    // Settings::default() is scale 7, weight scale 7, 16 bits.
    let circuit = common::mlp_circuit();
    let mut rng = ark_std::test_rng();
    let (pk, _) = zkinfer_prover::setup(&circuit, &mut rand::rngs::OsRng).unwrap();

    let x = common::fixture_input("mlp");
    let q = zkinfer_circuits::quantize_input(&circuit.graph, &x).unwrap();
    let trace = zkinfer_circuits::infer(&circuit.graph, &q).unwrap();
    let z = zkinfer_circuits::synthesize(&circuit.graph, &trace, false)
        .unwrap()
        .assignment;
    let r1cs = zkinfer_prover::setup::circuit_matrices(&circuit).unwrap();
    assert!(r1cs.is_satisfied(&z));

    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let ark = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        &pk.pk,
        r,
        s,
        &[r1cs.a.to_ark(), r1cs.b.to_ark(), r1cs.c.to_ark()],
        r1cs.num_instance,
        r1cs.num_constraints(),
        &z,
    )
    .unwrap();
    let vk = pk.pk.vk.clone();
    let ours = Prover::new(zkinfer_gpu::CpuBackend, pk.pk, r1cs_shape(r1cs.clone()))
        .unwrap()
        .prove(&z, r, s)
        .unwrap();

    let ser = |p: &ark_groth16::Proof<Bn254>| {
        let mut v = Vec::new();
        p.serialize_compressed(&mut v).unwrap();
        v
    };
    assert_eq!(ser(&ours), ser(&ark), "same r, s: same proof bytes");
    let public = &z[1..r1cs.num_instance];
    let pvk = ark_groth16::prepare_verifying_key(&vk);
    assert!(Groth16::<Bn254>::verify_proof(&pvk, &ours, public).unwrap());
    // And a wrong public input is rejected by the same verifier.
    let mut wrong = public.to_vec();
    wrong[0] += Fr::from(1u64);
    assert!(!Groth16::<Bn254>::verify_proof(&pvk, &ours, &wrong).unwrap());
}
