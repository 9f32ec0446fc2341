//! Random text as proof.json, then through every check of `verify` against a fixed key:
//! errors, never panics.
#![no_main]

use std::sync::OnceLock;

use ark_ec::AffineRepr;
use libfuzzer_sys::fuzz_target;
use zkinfer_verifier::{
    calldata, check_statement, G1Affine, G2Affine, ProofFile, PublicLayout, TensorLayout,
    VerifyingKey, VerifyingKeyFile,
};

/// A key with a small layout (2 inputs at 8 bits, 3 outputs at 16 bits: 2 public inputs),
/// whose points are generators; what matters here is reaching every check before the pairing.
fn vk() -> &'static VerifyingKeyFile {
    static VK: OnceLock<VerifyingKeyFile> = OnceLock::new();
    VK.get_or_init(|| {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        VerifyingKeyFile {
            digest: [0xab; 32],
            layout: PublicLayout {
                input: TensorLayout {
                    shape: vec![2],
                    scale: 3,
                    bits: 8,
                },
                output: TensorLayout {
                    shape: vec![3],
                    scale: 4,
                    bits: 16,
                },
            },
            vk: VerifyingKey::new(g1, g2, g2, g2, vec![g1; 3]).expect("generators are valid"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = ProofFile::from_json(text) {
        let _ = file.proof();
        let _ = file.digest();
        let _ = check_statement(vk(), &file);
        let _ = calldata(vk(), &file);
    }
});
