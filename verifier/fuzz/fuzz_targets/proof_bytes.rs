//! Random bytes as a compressed proof, a compressed verifying key and field-element text:
//! errors or canonical values, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkinfer_verifier::{fr_to_decimal, parse_fr, Proof, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Proof::from_compressed_bytes(data) {
        assert_eq!(
            Proof::from_compressed_bytes(&p.to_compressed_bytes()).unwrap(),
            p
        );
    }
    if let Ok(vk) = VerifyingKey::from_compressed_bytes(data) {
        assert_eq!(vk.to_compressed_bytes().len(), data.len());
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(x) = parse_fr(s) {
            assert_eq!(parse_fr(&fr_to_decimal(&x)).unwrap(), x);
        }
    }
});
