//! End-to-end checks of `verify` on real Groth16 proofs: what is accepted, what is rejected and
//! what is bad input, with the error kind the CLI's exit code depends on.

mod common;

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{Field, One, Zero};
use ark_serialize::CanonicalSerialize;
use common::{digits_layout, prove, sample_values, setup, toy_with_proof};
use zkinfer_verifier::{
    check_statement, fr_to_decimal, prepare_verifying_key, verify, verify_proof,
    verify_proof_with_raw_inputs, Fr, Proof, ProofFile, VerifyError, VerifyingKeyFile,
};

fn is_bad(r: Result<(), VerifyError>) -> bool {
    matches!(r, Err(VerifyError::BadInput(_)))
}
fn is_rejected(r: Result<(), VerifyError>) -> bool {
    matches!(r, Err(VerifyError::Rejected(_)))
}

#[test]
fn valid_proof_verifies_and_survives_file_round_trips() {
    let (toy, pf) = toy_with_proof(digits_layout(), 10);
    assert_eq!(toy.vk_file.layout.num_public_inputs(), 4);
    verify(&toy.vk_file, &pf).expect("valid proof");

    let dir = std::env::temp_dir().join(format!("zkinfer-verifier-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (vk_path, proof_path) = (dir.join("m.vk"), dir.join("p.json"));
    toy.vk_file.write(&vk_path).unwrap();
    pf.write(&proof_path).unwrap();
    let vk2 = VerifyingKeyFile::read(&vk_path).unwrap();
    let pf2 = ProofFile::read(&proof_path).unwrap();
    assert_eq!(vk2, toy.vk_file);
    assert_eq!(pf2, pf);
    verify(&vk2, &pf2).expect("valid proof after round trip");
    assert!(is_bad(
        VerifyingKeyFile::read(&dir.join("missing.vk")).map(|_| ())
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn changed_output_value_is_rejected() {
    let (toy, pf) = toy_with_proof(digits_layout(), 20);
    for idx in [0usize, 9] {
        let mut bad = pf.clone();
        let q = bad.output.quantized[idx];
        // Stay within 16 bits so that only the pairing can object.
        bad.output.quantized[idx] = if q < 1000 { q + 1 } else { q - 1 };
        bad.output.values[idx] = bad.output.quantized[idx] as f64 / 256.0;
        let err = verify(&toy.vk_file, &bad).unwrap_err();
        assert!(err.is_rejected(), "{err}");
        assert!(err.to_string().contains("pairing"), "{err}");
    }
    let mut bad = pf.clone();
    bad.input.quantized[63] ^= 1;
    assert!(is_rejected(verify(&toy.vk_file, &bad)));
}

#[test]
fn every_flipped_proof_byte_is_bad_input_or_rejected() {
    let (toy, pf) = toy_with_proof(digits_layout(), 30);
    let bytes = hex::decode(&pf.proof).unwrap();
    let (mut bad_input, mut rejected) = (0, 0);
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= mask;
            let mut tampered = pf.clone();
            tampered.proof = hex::encode(&b);
            match verify(&toy.vk_file, &tampered) {
                Ok(()) => panic!("flipping byte {i} with {mask:#x} still verifies"),
                Err(VerifyError::BadInput(_)) => bad_input += 1,
                Err(VerifyError::Rejected(_)) => rejected += 1,
            }
        }
    }
    // Both outcomes occur: some flips leave a valid point (rejected by the pairing).
    assert!(
        bad_input > 0 && rejected > 0,
        "bad input {bad_input}, rejected {rejected}"
    );
    for junk in ["", "zz", &pf.proof[..254], &format!("{}00", pf.proof)] {
        let mut t = pf.clone();
        t.proof = junk.to_string();
        assert!(is_bad(verify(&toy.vk_file, &t)), "{junk:?}");
    }
}

#[test]
fn vk_of_another_circuit_is_rejected() {
    let (toy, pf) = toy_with_proof(digits_layout(), 40);
    // Another circuit with the same layout: its digest differs.
    let other = setup(digits_layout(), 2, 41);
    let err = verify(&other.vk_file, &pf).unwrap_err();
    assert!(err.is_rejected());
    let msg = err.to_string();
    assert!(msg.contains("another circuit"), "{msg}");
    assert!(
        msg.contains(&pf.circuit) && msg.contains(&other.vk_file.digest_hex()),
        "{msg}"
    );
    // Even when the digest is forged to match, the key itself does not accept the proof.
    let mut forged = other.vk_file.clone();
    forged.digest = toy.vk_file.digest;
    assert!(is_rejected(verify(&forged, &pf)));
    // The same circuit set up again (new toxic waste) does not accept it either.
    let mut resetup = setup(digits_layout(), 1, 42).vk_file;
    resetup.digest = toy.vk_file.digest;
    assert!(is_rejected(verify(&resetup, &pf)));
}

#[test]
fn truncated_vk_file_is_bad_input_at_every_length() {
    let (toy, _) = toy_with_proof(digits_layout(), 50);
    let bytes = toy.vk_file.to_bytes();
    assert_eq!(VerifyingKeyFile::from_bytes(&bytes).unwrap(), toy.vk_file);
    for cut in 0..bytes.len() {
        match VerifyingKeyFile::from_bytes(&bytes[..cut]) {
            Err(VerifyError::BadInput(msg)) => {
                // The message names what is missing.
                assert!(
                    msg.contains("truncated") || msg.contains("JSON") || msg.contains("magic"),
                    "cut {cut}: {msg}"
                );
            }
            other => panic!("cut {cut}: {other:?}"),
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(is_bad(VerifyingKeyFile::from_bytes(&longer).map(|_| ())));
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(is_bad(
        VerifyingKeyFile::from_bytes(&wrong_magic).map(|_| ())
    ));
    let mut wrong_version = bytes.clone();
    wrong_version[4] = 2;
    assert!(is_bad(
        VerifyingKeyFile::from_bytes(&wrong_version).map(|_| ())
    ));
}

#[test]
fn vk_layout_inconsistent_with_key_is_bad_input() {
    let (toy, _) = toy_with_proof(digits_layout(), 60);
    let mut f = toy.vk_file.clone();
    f.layout.output.shape = vec![1, 16]; // 16 values at 16 bits: 2 elements, key has 1.
    assert!(is_bad(
        VerifyingKeyFile::from_bytes(&f.to_bytes()).map(|_| ())
    ));
    assert!(f
        .write(&std::env::temp_dir().join("never-written.vk"))
        .is_err());
    let mut f = toy.vk_file.clone();
    f.layout.input.bits = 0;
    assert!(is_bad(
        VerifyingKeyFile::from_bytes(&f.to_bytes()).map(|_| ())
    ));
    f.layout.input.bits = 65;
    assert!(is_bad(
        VerifyingKeyFile::from_bytes(&f.to_bytes()).map(|_| ())
    ));
}

/// An x for which `x^3 + 3` has no square root: no G1 point has it.
fn g1_x_off_curve() -> Fq {
    let mut x = Fq::one();
    while (x * x * x + Fq::from(3u64)).sqrt().is_some() {
        x += Fq::one();
    }
    x
}

/// A point on the G2 curve that is not in the prime-order subgroup.
fn g2_outside_subgroup() -> G2Affine {
    let mut x = Fq2::new(Fq::one(), Fq::one());
    loop {
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
        x += Fq2::one();
    }
}

#[test]
fn off_curve_and_wrong_subgroup_points_are_bad_input() {
    let (toy, pf) = toy_with_proof(digits_layout(), 70);
    let proof_bytes = hex::decode(&pf.proof).unwrap();

    // A: an x with no point (compressed G1 is x little-endian with flags in the top bits).
    let mut a_off = proof_bytes.clone();
    let mut xb = Vec::new();
    g1_x_off_curve().serialize_compressed(&mut xb).unwrap();
    a_off[..32].copy_from_slice(&xb);
    // B: a curve point outside the subgroup.
    let mut b_off = proof_bytes.clone();
    let mut bb = Vec::new();
    g2_outside_subgroup().serialize_compressed(&mut bb).unwrap();
    b_off[32..96].copy_from_slice(&bb);
    for bytes in [a_off, b_off] {
        let mut t = pf.clone();
        t.proof = hex::encode(&bytes);
        let err = verify(&toy.vk_file, &t).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(Proof::from_compressed_bytes(&bytes).is_err());
    }

    // The same in the vk: gamma outside the subgroup, and an off-curve gamma_abc point.
    let vk_bytes = toy.vk_file.to_bytes();
    let key_start = vk_bytes.len() - toy.vk_file.vk.compressed_size();
    let mut v = vk_bytes.clone();
    v[key_start + 32 + 64..key_start + 32 + 128].copy_from_slice(&bb);
    assert!(is_bad(VerifyingKeyFile::from_bytes(&v).map(|_| ())));
    let mut v = vk_bytes.clone();
    let ic0 = key_start + 32 + 3 * 64 + 8;
    v[ic0..ic0 + 32].copy_from_slice(&xb);
    assert!(is_bad(VerifyingKeyFile::from_bytes(&v).map(|_| ())));
    assert!(G1Affine::generator().is_on_curve());
}

#[test]
fn raw_public_inputs_at_or_above_modulus_are_bad_input() {
    let (toy, pf) = toy_with_proof(digits_layout(), 80);
    let (proof, inputs) = check_statement(&toy.vk_file, &pf).unwrap();
    let pvk = prepare_verifying_key(&toy.vk_file.vk);
    let dec: Vec<String> = inputs.iter().map(fr_to_decimal).collect();
    verify_proof_with_raw_inputs(&pvk, &proof, &dec).expect("canonical inputs verify");
    // x + r: the same field element, but not canonical.
    let r = <Fr as ark_ff::PrimeField>::MODULUS;
    let mut plus_r = r;
    let x0 = <Fr as ark_ff::PrimeField>::into_bigint(inputs[0]);
    ark_ff::BigInteger::add_with_carry(&mut plus_r, &x0);
    let mut bad = dec.clone();
    bad[0] = plus_r.to_string();
    assert!(is_bad(verify_proof_with_raw_inputs(&pvk, &proof, &bad)));
    bad[0] = r.to_string();
    assert!(is_bad(verify_proof_with_raw_inputs(&pvk, &proof, &bad)));
    bad[0] = format!("0x{}", "f".repeat(64));
    assert!(is_bad(verify_proof_with_raw_inputs(&pvk, &proof, &bad)));
    // Wrong count is bad input; a wrong value is rejected.
    assert!(is_bad(verify_proof_with_raw_inputs(
        &pvk,
        &proof,
        &dec[..3]
    )));
    let mut wrong = inputs.clone();
    wrong[3] += Fr::one();
    assert!(is_rejected(verify_proof(&pvk, &proof, &wrong)));
    assert!(is_rejected(verify_proof(&pvk, &proof, &[Fr::zero(); 4])));
}

#[test]
fn values_must_match_quantized() {
    let (toy, pf) = toy_with_proof(digits_layout(), 90);
    // Output scale 8: a step is 1/256. A value must be the quantised one up to float rounding
    // (1/2048 of a step); anything further off, even by less than half a step, is rejected.
    let mut ok = pf.clone();
    ok.output.values[2] += 0.4 / 256.0 / 2048.0;
    verify(&toy.vk_file, &ok).expect("within float rounding");
    for delta in [0.49 / 256.0, 0.01 / 256.0, 0.51 / 256.0, 1.0, -3.0] {
        let mut bad = pf.clone();
        bad.output.values[2] += delta;
        let err = verify(&toy.vk_file, &bad).unwrap_err();
        assert!(
            err.is_rejected() && err.to_string().contains("index 2"),
            "{delta}: {err}"
        );
    }
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut t = pf.clone();
        t.output.values[0] = v;
        assert!(is_rejected(verify(&toy.vk_file, &t)), "{v}");
    }
    let mut short = pf.clone();
    short.output.values.pop();
    assert!(is_bad(verify(&toy.vk_file, &short)));
}

/// `(q + 0.5) / 2^s` lies half-way between two steps: under a half-step tolerance it passed as
/// both `q` and `q + 1`. It is the value of neither.
#[test]
fn half_step_value_matches_neither_neighbour() {
    let (toy, pf) = toy_with_proof(digits_layout(), 91);
    for idx in [0usize, 3, 9] {
        let q = pf.output.quantized[idx];
        // q and q + 1 must both fit the 16 output bits.
        let q = q.min(i16::MAX as i64 - 1);
        let half = (q as f64 + 0.5) / 256.0;
        for claimed in [q, q + 1] {
            let mut t = pf.clone();
            t.output.quantized[idx] = claimed;
            t.output.values[idx] = half;
            // check_statement stops before the pairing: the value check alone must refuse.
            let err = check_statement(&toy.vk_file, &t).unwrap_err();
            assert!(
                err.is_rejected() && err.to_string().contains(&format!("index {idx}")),
                "q={claimed}: {err}"
            );
            assert_eq!(err.exit_code(), 1);
            // With the exact value instead, only the pairing can object (and does, for q + 1).
            t.output.values[idx] = claimed as f64 / 256.0;
            check_statement(&toy.vk_file, &t).unwrap();
        }
    }
    // The file as the prover wrote it verifies, before and after a JSON round trip.
    verify(&toy.vk_file, &pf).unwrap();
    verify(&toy.vk_file, &ProofFile::from_json(&pf.to_json()).unwrap()).unwrap();
}

/// The check of the float values is exact, so proof.json must give back the very floats that
/// were written: serde_json's default parser is one unit in the last place off for about one
/// value in ten, which for |q| > 2^41 is more than 1/2048 of a step (the crate enables its
/// `float_roundtrip` feature).
#[test]
fn values_survive_proof_json_exactly() {
    use zkinfer_verifier::{PublicLayout, TensorLayout};
    let (_, pf) = toy_with_proof(digits_layout(), 92);
    let mut t = pf.clone();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    t.output.values = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let q = ((x >> 8) as i64) >> (x % 62);
            q as f64 / (((x >> 3) % 40) as f64).exp2()
        })
        .collect();
    let back = ProofFile::from_json(&t.to_json()).unwrap();
    let differ = t
        .output
        .values
        .iter()
        .zip(&back.output.values)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(differ, 0, "{differ} of 20000 values changed through JSON");

    // One such value end to end: q ~ 2^46 at scale 38 (a step is 2^-38, one unit in the last
    // place of q / 2^38 is 2^-45), which the default parser reads one unit off.
    let layout = PublicLayout {
        input: TensorLayout {
            shape: vec![1],
            scale: 0,
            bits: 8,
        },
        output: TensorLayout {
            shape: vec![2],
            scale: 38,
            bits: 64,
        },
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let toy = setup(layout, 5, 130);
    let pf = prove(&toy, &[1], &[67_498_763_991_551, -3], 131);
    verify(&toy.vk_file, &pf).unwrap();
    verify(&toy.vk_file, &ProofFile::from_json(&pf.to_json()).unwrap()).unwrap();
}

/// Outputs beyond 2^53, where a float no longer holds every integer: the written value (the
/// nearest float to q, scaled) is accepted, values far from it are rejected, nothing panics.
#[test]
fn values_beyond_2_pow_53_are_compared_relatively() {
    use zkinfer_verifier::{PublicLayout, TensorLayout};
    let layout = PublicLayout {
        input: TensorLayout {
            shape: vec![1],
            scale: 0,
            bits: 8,
        },
        output: TensorLayout {
            shape: vec![5],
            scale: 4,
            bits: 64,
        },
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let toy = setup(layout, 4, 120);
    let out = vec![
        (1i64 << 53) + 1, // not a float: written as 2^53
        (1i64 << 60) + 12345,
        i64::MAX,
        i64::MIN,
        -(1i64 << 62) - 7,
    ];
    let pf = prove(&toy, &[3], &out, 121);
    verify(&toy.vk_file, &pf).unwrap();
    verify(&toy.vk_file, &ProofFile::from_json(&pf.to_json()).unwrap()).unwrap();
    for idx in 0..out.len() {
        let mut t = pf.clone();
        t.output.values[idx] *= 1.0 + 1e-12;
        assert!(is_rejected(verify(&toy.vk_file, &t)), "index {idx}");
        t.output.values[idx] = -pf.output.values[idx];
        assert!(is_rejected(verify(&toy.vk_file, &t)), "index {idx}");
    }
}

#[test]
fn shapes_scales_lengths_and_ranges_are_checked() {
    let (toy, pf) = toy_with_proof(digits_layout(), 100);
    // Shape or scale other than the key's: a statement about another model -> rejected.
    let mut t = pf.clone();
    t.input.shape = vec![64, 1];
    assert!(is_rejected(verify(&toy.vk_file, &t)));
    let mut t = pf.clone();
    t.output.scale = 7;
    t.output.values = t
        .output
        .quantized
        .iter()
        .map(|&q| q as f64 / 128.0)
        .collect();
    assert!(is_rejected(verify(&toy.vk_file, &t)));
    // Lengths that do not match the file's own shape -> bad input.
    let mut t = pf.clone();
    t.input.quantized.pop();
    assert!(is_bad(verify(&toy.vk_file, &t)));
    let mut t = pf.clone();
    t.input.shape = vec![usize::MAX, 3];
    assert!(is_bad(verify(&toy.vk_file, &t)));
    // A value outside its bits (9 bits: [-256, 256)) -> bad input.
    let mut t = pf.clone();
    t.input.quantized[5] = 256;
    assert!(is_bad(verify(&toy.vk_file, &t)));
    // Version and digest syntax.
    let mut t = pf.clone();
    t.version = 2;
    assert!(is_bad(verify(&toy.vk_file, &t)));
    let mut t = pf.clone();
    t.circuit.pop();
    assert!(is_bad(verify(&toy.vk_file, &t)));
    let json = pf.to_json().replace("\"version\": 1", "\"version\": 3");
    assert!(matches!(
        ProofFile::from_json(&json),
        Err(VerifyError::BadInput(_))
    ));
    let json = pf.to_json().replacen('{', "{\"extra\": 1,", 1);
    assert!(matches!(
        ProofFile::from_json(&json),
        Err(VerifyError::BadInput(_))
    ));
}

#[test]
fn empty_and_scalar_tensors_work() {
    use zkinfer_verifier::{PublicLayout, TensorLayout};
    let layout = PublicLayout {
        input: TensorLayout {
            shape: vec![],
            scale: 0,
            bits: 64,
        },
        output: TensorLayout {
            shape: vec![2, 0],
            scale: 3,
            bits: 5,
        },
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    };
    let toy = setup(layout, 3, 110);
    assert_eq!(toy.vk_file.layout.num_public_inputs(), 1);
    let (i, o) = sample_values(&toy.vk_file.layout, 111);
    assert!(o.is_empty());
    let pf = prove(&toy, &i, &o, 112);
    verify(&toy.vk_file, &pf).unwrap();
    let mut t = pf.clone();
    t.input.quantized[0] = t.input.quantized[0].wrapping_add(1);
    assert!(is_rejected(verify(&toy.vk_file, &t)));
}
