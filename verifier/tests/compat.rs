//! Our key and proof types against ark-groth16's: byte-identical compressed encodings (both
//! directions), and the same verification answers.

mod common;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use common::{digits_layout, toy_with_proof};
use zkinfer_verifier::{
    check_statement, prepare_verifying_key, verify_proof, Fr, Proof, VerifyingKey,
};

#[test]
fn compressed_bytes_identical_to_ark_groth16() {
    let (toy, pf) = toy_with_proof(digits_layout(), 1);
    let ark_vk = toy.pk.vk.clone();
    let ours_vk = toy.vk_file.vk.clone();

    // ark-groth16 -> bytes -> ours.
    let mut ark_bytes = Vec::new();
    ark_vk.serialize_compressed(&mut ark_bytes).unwrap();
    assert_eq!(
        VerifyingKey::from_compressed_bytes(&ark_bytes).unwrap(),
        ours_vk
    );
    // ours -> bytes -> ark-groth16, and the bytes themselves.
    let our_bytes = ours_vk.to_compressed_bytes();
    assert_eq!(our_bytes, ark_bytes);
    let back = ark_groth16::VerifyingKey::<Bn254>::deserialize_compressed(&our_bytes[..]).unwrap();
    assert_eq!(back, ark_vk);

    let ours_proof = pf.proof().unwrap();
    let ark_proof = ark_groth16::Proof::<Bn254> {
        a: ours_proof.a(),
        b: ours_proof.b(),
        c: ours_proof.c(),
    };
    let mut ark_pbytes = Vec::new();
    ark_proof.serialize_compressed(&mut ark_pbytes).unwrap();
    assert_eq!(ark_pbytes.len(), 128);
    assert_eq!(ours_proof.to_compressed_bytes(), ark_pbytes);
    assert_eq!(hex::decode(&pf.proof).unwrap(), ark_pbytes);
    assert_eq!(
        Proof::from_compressed_bytes(&ark_pbytes).unwrap(),
        ours_proof
    );
    assert_eq!(
        ark_groth16::Proof::<Bn254>::deserialize_compressed(&ours_proof.to_compressed_bytes()[..])
            .unwrap(),
        ark_proof
    );
    // The arkworks trait impls of ours agree with the helpers.
    let mut via_trait = Vec::new();
    ours_vk.serialize_compressed(&mut via_trait).unwrap();
    assert_eq!(via_trait, our_bytes);
}

#[test]
fn same_answers_as_ark_groth16() {
    let (toy, pf) = toy_with_proof(digits_layout(), 2);
    let (proof, inputs) = check_statement(&toy.vk_file, &pf).unwrap();
    let ark_pvk = ark_groth16::prepare_verifying_key(&toy.pk.vk);
    let ark_proof = ark_groth16::Proof::<Bn254> {
        a: proof.a(),
        b: proof.b(),
        c: proof.c(),
    };
    let pvk = prepare_verifying_key(&toy.vk_file.vk);
    for k in 0..=inputs.len() {
        let mut xs = inputs.clone();
        if k < xs.len() {
            xs[k] += Fr::from(1u64);
        }
        let ark_ok = Groth16::<Bn254>::verify_proof(&ark_pvk, &ark_proof, &xs).unwrap();
        assert_eq!(verify_proof(&pvk, &proof, &xs).is_ok(), ark_ok);
        assert_eq!(ark_ok, k == inputs.len());
    }
}
