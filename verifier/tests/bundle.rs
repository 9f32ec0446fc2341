//! Segmented models: the segmented `.vk` file, the proof bundle, and `verify_bundle` on real
//! Groth16 proofs of toy segment circuits (1 to 4 segments, model input and output public or
//! hashed): valid bundles verify, every kind of tampering is refused with the right exit code and
//! the right segment named, and malformed files are bad input, never a panic.

mod common;

use ark_bn254::Fr;
use ark_ff::{Field, PrimeField};
use common::segments::{
    boundary_hash, prove_segment, prove_segmented, segment_input_count, segment_inputs,
    segmented_with_bundle, setup_segmented, ToySegmented,
};
use common::{sample_values, toy_with_proof};
use zkinfer_verifier::bundle_vk::MAX_SEGMENTS;
use zkinfer_verifier::{
    bundle_calldata, bundle_public_inputs, fr_to_decimal, is_bundle_json, is_segmented_vk,
    verify_bundle, BundleError, ProofBundle, SegmentProof, SegmentedVerifyingKeyFile, Visibility,
};

const VISIBILITIES: [(Visibility, Visibility); 4] = [
    (Visibility::Public, Visibility::Public),
    (Visibility::Hashed, Visibility::Public),
    (Visibility::Public, Visibility::Hashed),
    (Visibility::Hashed, Visibility::Hashed),
];

/// Asserts `r` failed with exit code `code` naming exactly `segments`, and returns the message.
#[track_caller]
fn expect_err(r: Result<(), BundleError>, code: i32, segments: &[usize], what: &str) -> String {
    let e = r.expect_err(what);
    assert_eq!(e.exit_code(), code, "{what}: {e}");
    assert_eq!(e.segments, segments, "{what}: {e}");
    let msg = e.to_string();
    for k in segments {
        assert!(
            msg.contains(&format!("segment {k}")) || msg.contains(&format!("{k}")),
            "{what}: {msg}"
        );
    }
    msg
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("zkinfer-bundle-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn valid_bundles_verify_and_round_trip() {
    let dir = tmp_dir("roundtrip");
    for n in 1..=4usize {
        for (v, &(iv, ov)) in VISIBILITIES.iter().enumerate() {
            let seed = 10 * n as u64 + v as u64;
            let (toy, bundle) = segmented_with_bundle(iv, ov, n, seed);
            let what = format!("n={n} input {iv} output {ov}");
            verify_bundle(&toy.vk, &bundle).unwrap_or_else(|e| panic!("{what}: {e}"));

            // Each key takes the rule's number of public inputs.
            for k in 0..n {
                let expected = segment_input_count(&toy.vk.layout, k, n);
                assert_eq!(
                    toy.vk.segments[k].vk.num_public_inputs(),
                    expected,
                    "{what}"
                );
                assert_eq!(toy.vk.segment_public_inputs(k), expected, "{what}");
            }
            // The crate's public inputs are the rule's.
            let boundaries: Vec<Fr> = (0..n - 1).map(|k| boundary_hash(seed + 2, k)).collect();
            assert_eq!(
                bundle_public_inputs(&toy.vk, &bundle).unwrap(),
                segment_inputs(
                    &toy.vk.layout,
                    n,
                    &bundle.input.quantized,
                    &bundle.output.quantized,
                    &boundaries
                ),
                "{what}"
            );

            // The key file round-trips through bytes and disk.
            let bytes = toy.vk.to_bytes();
            assert!(is_segmented_vk(&bytes));
            assert_eq!(
                SegmentedVerifyingKeyFile::from_bytes(&bytes).unwrap(),
                toy.vk
            );
            let path = dir.join(format!("m{n}{v}.vk"));
            toy.vk.write(&path).unwrap();
            assert_eq!(SegmentedVerifyingKeyFile::read(&path).unwrap(), toy.vk);
            assert_eq!(toy.vk.digest_hex(), bundle.circuit);

            // The bundle round-trips through JSON and disk.
            let json = bundle.to_json();
            assert!(is_bundle_json(&json));
            assert_eq!(ProofBundle::from_json(&json).unwrap(), bundle);
            let path = dir.join(format!("m{n}{v}.json"));
            bundle.write(&path).unwrap();
            let back = ProofBundle::read(&path).unwrap();
            assert_eq!(back, bundle);
            verify_bundle(
                &SegmentedVerifyingKeyFile::read(&dir.join(format!("m{n}{v}.vk"))).unwrap(),
                &back,
            )
            .unwrap();

            // Nulls exactly where the rule says.
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            let segs = v["segments"].as_array().unwrap();
            assert_eq!(segs.len(), n);
            assert!(segs[0]["input_hash"].is_null());
            assert!(segs[n - 1]["output_hash"].is_null());
            for k in 1..n {
                assert_eq!(segs[k]["input_hash"], segs[k - 1]["output_hash"]);
                assert!(segs[k]["input_hash"].is_string());
            }

            // Calldata: the four arguments of verifyBundle.
            let cd = bundle_calldata(&toy.vk, &bundle).unwrap();
            assert_eq!(
                cd["input"].as_array().unwrap().len(),
                toy.vk.input_part_len(0)
            );
            assert_eq!(
                cd["output"].as_array().unwrap().len(),
                toy.vk.output_part_len(n - 1)
            );
            assert_eq!(cd["boundaries"].as_array().unwrap().len(), n - 1);
            assert_eq!(cd["proofs"].as_array().unwrap().len(), n);
            for (k, b) in boundaries.iter().enumerate() {
                assert_eq!(cd["boundaries"][k], fr_to_decimal(b));
            }
        }
    }
    // No temporary files are left behind by the atomic writes.
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "left over: {name}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn single_files_and_bundles_are_told_apart() {
    let (toy, pf) = toy_with_proof(common::digits_layout(), 7);
    assert!(!is_segmented_vk(&toy.vk_file.to_bytes()));
    assert!(!is_bundle_json(&pf.to_json()));
    assert!(!is_bundle_json("not json"));
    assert!(!is_bundle_json("[1, 2]"));
    let (seg, bundle) = segmented_with_bundle(Visibility::Public, Visibility::Public, 2, 8);
    assert!(is_segmented_vk(&seg.vk.to_bytes()));
    assert!(is_bundle_json(&bundle.to_json()));
    // Each parser refuses the other kind.
    assert!(SegmentedVerifyingKeyFile::from_bytes(&toy.vk_file.to_bytes()).is_err());
    assert!(zkinfer_verifier::VerifyingKeyFile::from_bytes(&seg.vk.to_bytes()).is_err());
    assert!(ProofBundle::from_json(&pf.to_json()).is_err());
    assert!(zkinfer_verifier::ProofFile::from_json(&bundle.to_json()).is_err());
}

/// A 4-segment model (3 boundaries) with a valid bundle, for the tampering tests.
fn four() -> (ToySegmented, ProofBundle) {
    segmented_with_bundle(Visibility::Public, Visibility::Hashed, 4, 500)
}

#[test]
fn a_changed_proof_names_its_segment() {
    let (toy, bundle) = four();
    // A valid proof of segment 1, for other boundary hashes: well formed, wrong statement.
    let mut b = bundle.clone();
    let other = prove_segment(&toy, 1, vec![Fr::from(3u64), Fr::from(4u64)], 77);
    b.segments[1].proof = hex::encode(other.to_compressed_bytes());
    let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[1], "other proof");
    assert!(
        msg.contains("segment 1 (of 4): the pairing check failed"),
        "{msg}"
    );

    // Any changed byte of a middle proof: a point off the curve (bad input) or a wrong proof.
    let bytes = hex::decode(&bundle.segments[2].proof).unwrap();
    let (mut rejected, mut bad) = (0, 0);
    for i in (0..128).step_by(7) {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let mut b = bundle.clone();
        b.segments[2].proof = hex::encode(&t);
        let decodes = zkinfer_verifier::Proof::from_compressed_bytes(&t).is_ok();
        let code = if decodes { 1 } else { 2 };
        expect_err(verify_bundle(&toy.vk, &b), code, &[2], &format!("byte {i}"));
        if decodes {
            rejected += 1
        } else {
            bad += 1
        }
    }
    assert!(rejected + bad > 0);
    // Not hex, wrong length.
    let mut b = bundle.clone();
    b.segments[3].proof = "zz".into();
    expect_err(verify_bundle(&toy.vk, &b), 2, &[3], "not hex");
    let mut b = bundle.clone();
    b.segments[0].proof.truncate(254);
    expect_err(verify_bundle(&toy.vk, &b), 2, &[0], "short proof");
}

#[test]
fn a_changed_boundary_hash_breaks_the_chain_or_the_proofs() {
    let (toy, bundle) = four();
    let one = Fr::ONE;
    for k in 0..3usize {
        // Segment k's output hash alone: the link to segment k + 1 is broken.
        let mut b = bundle.clone();
        let h = zkinfer_verifier::parse_fr(b.segments[k].output_hash.as_ref().unwrap()).unwrap();
        b.segments[k].output_hash = Some(fr_to_decimal(&(h + one)));
        let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[k + 1], "output hash");
        assert!(
            msg.contains(&format!(
                "segment {} (of 4): its input hash differs from segment {k}'s output hash",
                k + 1
            )),
            "{msg}"
        );
        // Both ends of the link changed alike: the chain holds, but neither proof is for it.
        b.segments[k + 1].input_hash = b.segments[k].output_hash.clone();
        let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[k, k + 1], "link");
        assert!(msg.contains("the pairing check failed"), "{msg}");
    }
}

#[test]
fn a_changed_output_or_input_fails_the_end_segments() {
    for &(iv, ov) in &VISIBILITIES {
        let (toy, bundle) = segmented_with_bundle(iv, ov, 3, 600);
        // The output changed consistently (quantized and values): the last proof fails.
        let mut b = bundle.clone();
        let q = b.output.quantized[3];
        b.output.quantized[3] = if q < 0 { q + 1 } else { q - 1 };
        b.output.values[3] = b.output.quantized[3] as f64 / (b.output.scale as f64).exp2();
        expect_err(verify_bundle(&toy.vk, &b), 1, &[2], "output");
        // The input: the first proof fails.
        let mut b = bundle.clone();
        b.input.quantized[0] ^= 1;
        expect_err(verify_bundle(&toy.vk, &b), 1, &[0], "input");
        // The float values alone: refused before any proof, no segment named.
        let mut b = bundle.clone();
        b.output.values[0] += 0.25;
        let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[], "values");
        assert!(msg.contains("does not match its quantized value"), "{msg}");
        // A value outside its bits is bad input.
        let mut b = bundle.clone();
        b.input.quantized[1] = 1 << 7;
        expect_err(verify_bundle(&toy.vk, &b), 2, &[], "bits");
        // A shape that differs from the layout.
        let mut b = bundle.clone();
        b.output.shape = vec![5, 4];
        expect_err(verify_bundle(&toy.vk, &b), 1, &[], "shape");
    }
}

#[test]
fn swapped_proofs_and_segment_digests_are_refused() {
    let (toy, bundle) = four();
    // Segments 1 and 2 take the same number of inputs: swapping their proofs is well formed.
    let mut b = bundle.clone();
    let (p1, p2) = (b.segments[1].proof.clone(), b.segments[2].proof.clone());
    b.segments[1].proof = p2;
    b.segments[2].proof = p1;
    let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[1, 2], "swapped");
    assert!(
        msg.contains("segments 1, 2 (of 4): the pairing check failed"),
        "{msg}"
    );
    // Whole segment entries swapped: their digests no longer match the key's.
    let mut b = bundle.clone();
    b.segments.swap(1, 2);
    expect_err(verify_bundle(&toy.vk, &b), 1, &[1], "entries swapped");

    // A changed segment digest names the segment and both digests.
    let mut b = bundle.clone();
    let mut d = toy.vk.segments[2].digest;
    d[5] ^= 0xff;
    b.segments[2].circuit = hex::encode(d);
    let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[2], "digest");
    assert!(msg.contains(&hex::encode(d)), "{msg}");
    assert!(
        msg.contains(&hex::encode(toy.vk.segments[2].digest)),
        "{msg}"
    );
    let mut b = bundle.clone();
    b.segments[2].circuit = "abc".into();
    expect_err(verify_bundle(&toy.vk, &b), 2, &[2], "digest not hex");

    // The model digest: the whole bundle, naming both.
    let mut b = bundle.clone();
    b.circuit = hex::encode([9u8; 32]);
    let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[], "model digest");
    assert!(
        msg.contains(&"09".repeat(32)) && msg.contains(&toy.vk.digest_hex()),
        "{msg}"
    );
}

#[test]
fn wrong_segment_counts_are_rejected() {
    let (toy, bundle) = four();
    for keep in [1usize, 3] {
        let mut b = bundle.clone();
        b.segments.truncate(keep);
        let msg = expect_err(verify_bundle(&toy.vk, &b), 1, &[], "fewer");
        assert!(msg.contains(&format!("{keep} segment proofs")), "{msg}");
    }
    let mut b = bundle.clone();
    b.segments.push(b.segments[3].clone());
    expect_err(verify_bundle(&toy.vk, &b), 1, &[], "more");
    // A bundle for a 3-segment cut of the same model (same model digest) against the 4-key file.
    let mut toy3 = setup_segmented(toy.vk.layout.clone(), 3, 501);
    toy3.vk.digest = toy.vk.digest;
    let b3 = prove_segmented(&toy3, &bundle.input.quantized, &bundle.output.quantized, 9);
    verify_bundle(&toy3.vk, &b3).unwrap();
    expect_err(verify_bundle(&toy.vk, &b3), 1, &[], "3 vs 4");
}

#[test]
fn boundary_hashes_must_be_canonical_and_null_where_the_rule_says() {
    let (toy, bundle) = four();
    let r = Fr::MODULUS.to_string();
    // At or above the modulus: bad input, even when it is the right hash plus r.
    for k in [0usize, 1, 2] {
        let h = bundle.segments[k].output_hash.clone().unwrap();
        let plus_r = (num_add(&h, &r)).to_string();
        for bad in [r.clone(), plus_r] {
            let mut b = bundle.clone();
            b.segments[k].output_hash = Some(bad.clone());
            b.segments[k + 1].input_hash = Some(bad);
            let msg = expect_err(verify_bundle(&toy.vk, &b), 2, &[k], "hash >= r");
            assert!(msg.contains("modulus"), "{msg}");
        }
        let mut b = bundle.clone();
        b.segments[k + 1].input_hash = Some("0x12".into());
        b.segments[k].output_hash = Some("18".into());
        // Hex is read too, and 0x12 = 18: the same hash in another spelling, but not the proven
        // one, so the proofs fail.
        expect_err(verify_bundle(&toy.vk, &b), 1, &[k, k + 1], "hex spelling");
        let mut b = bundle.clone();
        b.segments[k].output_hash = Some("-1".into());
        expect_err(verify_bundle(&toy.vk, &b), 2, &[k], "negative");
    }
    // Null and non-null.
    let mut b = bundle.clone();
    b.segments[0].input_hash = Some("1".into());
    let msg = expect_err(verify_bundle(&toy.vk, &b), 2, &[0], "first input hash");
    assert!(msg.contains("must be null"), "{msg}");
    let mut b = bundle.clone();
    b.segments[3].output_hash = Some("1".into());
    expect_err(verify_bundle(&toy.vk, &b), 2, &[3], "last output hash");
    let mut b = bundle.clone();
    b.segments[2].input_hash = None;
    expect_err(verify_bundle(&toy.vk, &b), 2, &[2], "null input hash");
    let mut b = bundle.clone();
    b.segments[1].output_hash = None;
    expect_err(verify_bundle(&toy.vk, &b), 2, &[1], "null output hash");
}

/// `a + b` for decimal strings (enough digits for 2^255).
fn num_add(a: &str, b: &str) -> String {
    let (a, b): (Vec<u8>, Vec<u8>) = (a.bytes().rev().collect(), b.bytes().rev().collect());
    let mut out = Vec::new();
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let d = |x: &[u8]| x.get(i).map_or(0, |c| c - b'0');
        let s = d(&a) + d(&b) + carry;
        out.push(b'0' + s % 10);
        carry = s / 10;
    }
    if carry > 0 {
        out.push(b'0' + carry);
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

#[test]
fn malformed_key_files_are_bad_input() {
    let (toy, _) = segmented_with_bundle(Visibility::Hashed, Visibility::Public, 3, 700);
    let bytes = toy.vk.to_bytes();
    // Every truncation.
    for len in 0..bytes.len() {
        let e = SegmentedVerifyingKeyFile::from_bytes(&bytes[..len]).expect_err("truncated");
        assert_eq!(e.exit_code(), 2, "{len}: {e}");
    }
    // Trailing bytes, garbage, another magic or version.
    let mut t = bytes.clone();
    t.push(0);
    assert!(SegmentedVerifyingKeyFile::from_bytes(&t)
        .unwrap_err()
        .to_string()
        .contains("trailing"));
    assert!(SegmentedVerifyingKeyFile::from_bytes(b"garbage garbage garbage").is_err());
    let mut t = bytes.clone();
    t[3] = b'K';
    assert!(SegmentedVerifyingKeyFile::from_bytes(&t).is_err());
    let mut t = bytes.clone();
    t[4] = 2;
    assert!(SegmentedVerifyingKeyFile::from_bytes(&t)
        .unwrap_err()
        .to_string()
        .contains("version"));
    // Every single-byte corruption: refused or (a digest byte) loaded, never a panic.
    let mut seed = 0x1234_5678u64;
    for i in (0..bytes.len()).step_by(3) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut t = bytes.clone();
        t[i] ^= (seed as u8) | 1;
        let _ = SegmentedVerifyingKeyFile::from_bytes(&t);
    }

    // The segment count: 0, over the limit, more than the file holds.
    let count_at = 4 + 4 + 32 + 4 + serde_json::to_vec(&toy.vk.layout).unwrap().len();
    assert_eq!(&bytes[count_at..count_at + 4], &3u32.to_le_bytes());
    for count in [0u32, MAX_SEGMENTS as u32 + 1, 4, u32::MAX] {
        let mut t = bytes.clone();
        t[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
        let e = SegmentedVerifyingKeyFile::from_bytes(&t).expect_err("count");
        assert_eq!(e.exit_code(), 2, "{count}: {e}");
    }
    // A key length beyond the file.
    let len_at = count_at + 4 + 32;
    let mut t = bytes.clone();
    t[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(SegmentedVerifyingKeyFile::from_bytes(&t).is_err());

    // Keys in the wrong order: segment 1 (2 hashes) and 2 (1 hash + 2 output elements) differ
    // in their number of public inputs, which the layout fixes.
    let mut swapped = toy.vk.clone();
    swapped.segments.swap(1, 2);
    let e = swapped.check().expect_err("swapped keys");
    assert!(e.to_string().contains("segment 1 (of 3)"), "{e}");
    assert!(SegmentedVerifyingKeyFile::from_bytes(&swapped.to_bytes()).is_err());
    assert!(swapped
        .write(&std::env::temp_dir().join("never-written.vk"))
        .is_err());
    // No segments at all.
    let mut empty = toy.vk.clone();
    empty.segments.clear();
    assert!(empty.check().is_err());
    assert!(SegmentedVerifyingKeyFile::from_bytes(&empty.to_bytes()).is_err());
    // The layout decides: the same keys under another visibility do not load.
    let mut other = toy.vk.clone();
    other.layout.input_visibility = Visibility::Public;
    assert!(SegmentedVerifyingKeyFile::from_bytes(&other.to_bytes()).is_err());
    // A missing file.
    assert_eq!(
        SegmentedVerifyingKeyFile::read(std::path::Path::new("/nonexistent/m.vk"))
            .unwrap_err()
            .exit_code(),
        2
    );
}

#[test]
fn malformed_bundle_json_is_bad_input() {
    let (toy, bundle) = segmented_with_bundle(Visibility::Public, Visibility::Public, 2, 800);
    let json = bundle.to_json();
    for len in (0..json.len()).step_by(37) {
        let e = ProofBundle::from_json(&json[..len]).expect_err("truncated");
        assert_eq!(e.exit_code(), 2);
    }
    for bad in ["", "{}", "null", "[]", "{\"segments\": []}", "garbage"] {
        assert_eq!(
            ProofBundle::from_json(bad).unwrap_err().exit_code(),
            2,
            "{bad}"
        );
    }
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["version"] = 2.into();
    assert!(ProofBundle::from_json(&v.to_string())
        .unwrap_err()
        .to_string()
        .contains("version"));
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["segments"][0]["extra"] = 1.into();
    assert!(ProofBundle::from_json(&v.to_string()).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["segments"][1]["input_hash"] = 5.into();
    assert!(ProofBundle::from_json(&v.to_string()).is_err());
    // A version changed after parsing is refused by the verifier too.
    let mut b = bundle.clone();
    b.version = 3;
    expect_err(verify_bundle(&toy.vk, &b), 2, &[], "version");
    // An empty segment list parses (it is well-formed JSON) and is the wrong count.
    let mut b = bundle.clone();
    b.segments.clear();
    expect_err(verify_bundle(&toy.vk, &b), 1, &[], "no segments");
    assert!(bundle_calldata(&toy.vk, &b).is_err());
    // A missing file.
    assert_eq!(
        ProofBundle::read(std::path::Path::new("/nonexistent/b.json"))
            .unwrap_err()
            .exit_code(),
        2
    );
}

#[test]
fn one_segment_is_a_plain_proof_of_the_model() {
    // With one segment there are no boundaries: the proof's public inputs are the model's.
    let (toy, bundle) = segmented_with_bundle(Visibility::Public, Visibility::Public, 1, 900);
    let inputs = bundle_public_inputs(&toy.vk, &bundle).unwrap();
    let (i, o) = sample_values(&toy.vk.layout, 901);
    assert_eq!(
        inputs[0],
        zkinfer_verifier::pack_public_inputs(&toy.vk.layout, &i, &o).unwrap()
    );
    let mut b = bundle.clone();
    b.segments[0].input_hash = Some("7".into());
    expect_err(
        verify_bundle(&toy.vk, &b),
        2,
        &[0],
        "hash on a single segment",
    );
    let mut b = bundle.clone();
    b.segments[0] = SegmentProof {
        output_hash: Some("7".into()),
        ..b.segments[0].clone()
    };
    expect_err(
        verify_bundle(&toy.vk, &b),
        2,
        &[0],
        "hash on a single segment",
    );
}
