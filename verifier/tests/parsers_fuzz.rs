//! A deterministic, stable-Rust stand-in for the cargo-fuzz targets (verifier/fuzz/): thousands
//! of random and mutated inputs to every parser. The property is "an error, never a panic", and
//! that anything accepted is consistent (re-encodes to the same bytes, or verifies as it should).

mod common;

use common::{digits_layout, toy_with_proof};
use zkinfer_verifier::{verify, Proof, ProofFile, VerifyingKey, VerifyingKeyFile};

/// xorshift64*: small, seedable, good enough to drive mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four random edits: flip, set to an interesting byte, insert, delete, truncate, duplicate a span.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let pos = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = pos.min(b.len() - 1);
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = pos.min(b.len() - 1);
                b[i] = [0u8, 0xff, 0x7f, 0x80, b'"', b'9', b'-', b'{'][rng.below(8)];
            }
            2 => b.insert(pos, rng.next() as u8),
            3 if pos < b.len() => {
                b.remove(pos);
            }
            4 => b.truncate(pos),
            _ if !b.is_empty() => {
                let start = rng.below(b.len());
                let end = (start + rng.below(16)).min(b.len());
                let span = b[start..end].to_vec();
                let at = rng.below(b.len() + 1);
                b.splice(at..at, span);
            }
            _ => {}
        }
    }
    b
}

fn random_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    (0..rng.below(max)).map(|_| rng.next() as u8).collect()
}

#[test]
fn vk_file_parser_never_panics() {
    let (toy, _) = toy_with_proof(digits_layout(), 1);
    let seed = toy.vk_file.to_bytes();
    let mut rng = Rng(0x1234_5678);
    let mut accepted = 0;
    for i in 0..4000 {
        let input = if i % 8 == 0 {
            random_bytes(&mut rng, 600)
        } else {
            mutate(&mut rng, &seed)
        };
        if let Ok(f) = VerifyingKeyFile::from_bytes(&input) {
            // Whatever is accepted survives a round trip and is self-consistent.
            assert_eq!(VerifyingKeyFile::from_bytes(&f.to_bytes()).unwrap(), f);
            f.check().unwrap();
            accepted += 1;
        }
        let _ = VerifyingKey::from_compressed_bytes(&input);
    }
    // Most edits break something; the ones that pass are e.g. changed digest bytes or scales.
    assert!(accepted < 4000, "accepted {accepted}");
}

#[test]
fn proof_parsers_never_panic() {
    let (toy, pf) = toy_with_proof(digits_layout(), 2);
    let seed_bytes = hex::decode(&pf.proof).unwrap();
    let mut rng = Rng(0xdead_beef);
    let mut valid_points = 0;
    for i in 0..4000 {
        let input = if i % 8 == 0 {
            random_bytes(&mut rng, 200)
        } else {
            mutate(&mut rng, &seed_bytes)
        };
        if let Ok(p) = Proof::from_compressed_bytes(&input) {
            assert_eq!(p.to_compressed_bytes(), input);
            valid_points += 1;
        }
    }
    assert!(valid_points > 0, "some mutations keep every point valid");
    let _ = toy;
}

#[test]
fn proof_json_parser_never_panics_and_verify_never_accepts_edits() {
    let (toy, pf) = toy_with_proof(digits_layout(), 3);
    let seed = pf.to_json().into_bytes();
    let mut rng = Rng(0x0bad_cafe);
    let (mut parsed, mut verified) = (0, 0);
    for i in 0..3000 {
        let input = if i % 10 == 0 {
            random_bytes(&mut rng, 400)
        } else {
            mutate(&mut rng, &seed)
        };
        let text = String::from_utf8_lossy(&input);
        if let Ok(file) = ProofFile::from_json(&text) {
            parsed += 1;
            let _ = file.proof();
            let _ = file.digest();
            if verify(&toy.vk_file, &file).is_ok() {
                verified += 1;
                // Only edits that leave the statement intact may verify (whitespace, float
                // spelling within tolerance, ...).
                assert_eq!(file.input, pf.input);
                assert_eq!(file.output.quantized, pf.output.quantized);
                assert_eq!(file.proof.to_lowercase(), pf.proof);
            }
        }
    }
    assert!(
        parsed > 0 && verified > 0,
        "parsed {parsed}, verified {verified}"
    );
}

/// With `ZKINFER_FUZZ_SEEDS=<dir>`, writes valid inputs as seed corpora for the cargo-fuzz
/// targets (`<dir>/vk_file`, `<dir>/proof_json`, `<dir>/proof_bytes`); otherwise does nothing.
#[test]
fn write_fuzz_seeds_when_asked() {
    let Some(dir) = std::env::var_os("ZKINFER_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let (toy, pf) = toy_with_proof(digits_layout(), 4);
    let seeds: [(&str, Vec<u8>); 4] = [
        ("vk_file", toy.vk_file.to_bytes()),
        ("proof_json", pf.to_json().into_bytes()),
        ("proof_bytes", hex::decode(&pf.proof).unwrap()),
        ("proof_bytes", toy.vk_file.vk.to_compressed_bytes()),
    ];
    for (i, (target, bytes)) in seeds.iter().enumerate() {
        std::fs::create_dir_all(dir.join(target)).unwrap();
        let path = dir.join(target).join(format!("seed{i}"));
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(&std::fs::read(&path).unwrap(), bytes);
    }
}
