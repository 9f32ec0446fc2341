//! Proving-key files: streamed write and read, the exact size `compile` predicts, integrity
//! checks, and the segment key bundle (its table, one segment read alone, a bad table refused).

mod common;

use std::path::PathBuf;
use zkinfer_circuits::CircuitFile;
use zkinfer_prover::estimate::CircuitShape;
use zkinfer_prover::keys::{
    is_bundle, KeyFileError, ProvingKeyBundle, ProvingKeyBundleWriter, ProvingKeyFile,
};

fn mlp() -> CircuitFile {
    common::mlp_circuit()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("zkinfer-keys-{name}-{}", std::process::id()))
}

#[test]
fn key_files_round_trip_at_the_predicted_size_and_refuse_corruption() {
    let c = mlp();
    let (pk, _) = zkinfer_prover::setup(&c, &mut rand::rngs::OsRng).unwrap();
    let r1cs = zkinfer_circuits::constraint_matrices(&c.graph).unwrap();
    let shape = CircuitShape::of(&r1cs);
    let bytes = pk.to_bytes();
    assert_eq!(bytes.len() as u64, shape.proving_key_bytes());
    assert_eq!(pk.file_size(), shape.proving_key_bytes());

    let path = temp("one.pk");
    pk.write(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let back = ProvingKeyFile::read(&path).unwrap();
    assert_eq!(back.digest, c.digest);
    assert_eq!(back.to_bytes(), bytes);
    assert!(!is_bundle(&path).unwrap());

    // A flipped byte in the body, a truncation, trailing bytes, a wrong magic: refused.
    for (what, bad) in [
        ("flipped", {
            let mut b = bytes.clone();
            let i = b.len() / 2;
            b[i] ^= 1;
            b
        }),
        ("truncated", bytes[..bytes.len() - 100].to_vec()),
        ("trailing", {
            let mut b = bytes.clone();
            b.push(0);
            b
        }),
        ("magic", {
            let mut b = bytes.clone();
            b[0] = b'X';
            b
        }),
        ("header only", bytes[..40].to_vec()),
    ] {
        assert!(
            matches!(
                ProvingKeyFile::from_bytes(&bad),
                Err(KeyFileError::Format(_))
            ),
            "{what}"
        );
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_bundle_reads_one_segment_alone_and_refuses_a_bad_table() {
    let c = mlp();
    let r1cs = zkinfer_circuits::constraint_matrices(&c.graph).unwrap();
    let shape = CircuitShape::of(&r1cs);
    let keys: Vec<ProvingKeyFile> = (0..2u8)
        .map(|i| {
            let (mut pk, _) = zkinfer_prover::setup(&c, &mut rand::rngs::OsRng).unwrap();
            pk.digest = [i + 1; 32];
            pk
        })
        .collect();
    let path = temp("bundle.pk");
    let mut w = ProvingKeyBundleWriter::create(&path, [9; 32], 2).unwrap();
    for k in &keys {
        w.append(k, shape).unwrap();
    }
    w.finish().unwrap();
    assert!(is_bundle(&path).unwrap());
    let b = ProvingKeyBundle::open(&path).unwrap();
    assert_eq!(b.digest, [9; 32]);
    assert_eq!(b.segments.len(), 2);
    assert_eq!(b.segments[1].shape, shape);
    assert_eq!(b.segments[1].len, keys[1].file_size());
    let second = b.read_segment(1).unwrap();
    assert_eq!(second.digest, [2; 32]);
    assert_eq!(second.to_bytes(), keys[1].to_bytes());

    // A table entry pointing past the end of the file is refused when the bundle is opened.
    let mut bytes = std::fs::read(&path).unwrap();
    let entry1 = 44 + 80 + 32;
    bytes[entry1..entry1 + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let bad = temp("bad.pk");
    std::fs::write(&bad, &bytes).unwrap();
    let err = ProvingKeyBundle::open(&bad).unwrap_err().to_string();
    assert!(err.contains("segment 1"), "{err}");
    // A truncated bundle: the last segment's key lies outside the file.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() - 10]).unwrap();
    assert!(ProvingKeyBundle::open(&bad).is_err());
    // A bundle is not a single key: the error says what it is.
    let err = ProvingKeyFile::read(&path)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("segmented model's key bundle"), "{err}");
    // A single key is not a bundle.
    std::fs::write(&bad, keys[0].to_bytes()).unwrap();
    assert!(ProvingKeyBundle::open(&bad).is_err());
    std::fs::remove_file(&path).ok();
    std::fs::remove_file(&bad).ok();
}
