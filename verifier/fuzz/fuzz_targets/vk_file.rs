//! Random bytes as a `.vk` file: an error or a self-consistent key, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkinfer_verifier::VerifyingKeyFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = VerifyingKeyFile::from_bytes(data) {
        // What loads is consistent and survives a round trip.
        file.check()
            .expect("a loaded vk file passes its own checks");
        let again =
            VerifyingKeyFile::from_bytes(&file.to_bytes()).expect("re-encoded vk file loads");
        assert_eq!(again, file);
    }
});
