//! Batch verification: one multi-pairing for many proofs, and naming the bad ones.

mod common;

use common::{digits_layout, layout_with_inputs, prove, sample_values, setup};
use zkinfer_verifier::{
    check_statement, prepare_verifying_key, verify_batch, verify_batch_raw, Fr, ProofFile,
    VerifyError, VerifyingKey,
};

fn proofs(toy: &common::Toy, n: u64, seed: u64) -> Vec<ProofFile> {
    (0..n)
        .map(|i| {
            let (inp, out) = sample_values(&toy.vk_file.layout, seed + 2 * i);
            prove(toy, &inp, &out, seed + 2 * i + 1)
        })
        .collect()
}

#[test]
fn batches_of_valid_proofs_pass() {
    let toy = setup(digits_layout(), 1, 1);
    let ps = proofs(&toy, 16, 100);
    for n in [0usize, 1, 16] {
        let items: Vec<_> = ps[..n].iter().map(|p| (&toy.vk_file, p)).collect();
        verify_batch(&items).unwrap_or_else(|e| panic!("batch of {n}: {e}"));
    }
}

#[test]
fn one_bad_proof_fails_the_batch_and_is_named() {
    let toy = setup(digits_layout(), 1, 2);
    let mut ps = proofs(&toy, 16, 200);
    // Index 11: an output changed within its bits, so only the pairing can notice.
    ps[11].output.quantized[3] ^= 1;
    ps[11].output.values[3] = ps[11].output.quantized[3] as f64 / 256.0;
    let items: Vec<_> = ps.iter().map(|p| (&toy.vk_file, p)).collect();
    let err = verify_batch(&items).unwrap_err();
    assert_eq!(err.indices(), vec![11]);
    assert!(err.failures[0].1.is_rejected());
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("#11"));

    // Two bad ones of different kinds: a swapped proof (rejected) and bad hex (bad input).
    ps[11] = proofs(&toy, 1, 300).remove(0);
    let p2 = ps[2].proof.clone();
    ps[2].proof = ps[3].proof.clone();
    ps[3].proof = p2;
    ps[7].proof.replace_range(0..2, "zz");
    let items: Vec<_> = ps.iter().map(|p| (&toy.vk_file, p)).collect();
    let err = verify_batch(&items).unwrap_err();
    assert_eq!(err.indices(), vec![2, 3, 7]);
    assert!(matches!(err.failures[2].1, VerifyError::BadInput(_)));
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn mixed_keys_batch_together() {
    let a = setup(digits_layout(), 1, 3);
    let b = setup(layout_with_inputs(6), 2, 4);
    let pa = proofs(&a, 3, 400);
    let pb = proofs(&b, 3, 500);
    let mut items = Vec::new();
    for i in 0..3 {
        items.push((&a.vk_file, &pa[i]));
        items.push((&b.vk_file, &pb[i]));
    }
    verify_batch(&items).unwrap();
    // A proof checked against the other model's key (digest forged to match) is named.
    let mut forged = b.vk_file.clone();
    forged.digest = a.vk_file.digest;
    forged.layout = a.vk_file.layout.clone();
    let k = &b.vk_file.vk;
    forged.vk = VerifyingKey::new(
        k.alpha_g1(),
        k.beta_g2(),
        k.gamma_g2(),
        k.delta_g2(),
        k.gamma_abc_g1()[..a.vk_file.vk.gamma_abc_g1().len()].to_vec(),
    )
    .unwrap();
    items[4] = (&forged, &pa[2]);
    let err = verify_batch(&items).unwrap_err();
    assert_eq!(err.indices(), vec![4]);
    assert!(err.failures[0].1.is_rejected());
}

#[test]
fn raw_batch_checks_input_counts_and_values() {
    let toy = setup(digits_layout(), 1, 5);
    let ps = proofs(&toy, 4, 600);
    let pvk = prepare_verifying_key(&toy.vk_file.vk);
    let decoded: Vec<_> = ps
        .iter()
        .map(|p| check_statement(&toy.vk_file, p).unwrap())
        .collect();
    let mut items: Vec<_> = decoded
        .iter()
        .map(|(p, x)| (&pvk, p, x.as_slice()))
        .collect();
    verify_batch_raw(&items).unwrap();
    let short = &decoded[1].1[..3];
    let mut shifted = decoded[3].1.clone();
    shifted[0] += Fr::from(1u64);
    items[1].2 = short;
    items[3].2 = &shifted;
    let err = verify_batch_raw(&items).unwrap_err();
    assert_eq!(err.indices(), vec![1, 3]);
    assert!(matches!(err.failures[0].1, VerifyError::BadInput(_)));
    assert!(err.failures[1].1.is_rejected());
}
