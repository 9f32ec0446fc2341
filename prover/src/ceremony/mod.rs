//! A setup nobody has to trust: snarkjs's phase-2 ceremony on `.zkey` files, natively.
//!
//! - [`init::init`]: a circuit's initial zkey from a phase-1 `.ptau` (what `snarkjs groth16
//!   setup` writes for our exported `.r1cs`, byte for byte), after checking the `.ptau`'s
//!   powers ([`ptau::Ptau::check`]);
//! - [`contribute::contribute`]: one contribution, random or from a public beacon, recorded
//!   so that snarkjs verifies it (and, for a beacon, exactly the bytes snarkjs writes);
//! - [`verify::verify`]: every contribution checked, and the final key checked against the
//!   initial one rebuilt from the `.ptau`.
//!
//! Files are streamed: the large point sections are read and written a chunk at a time, and
//! every output is written to a temporary file renamed into place when complete.

pub mod binfile;
pub mod contribute;
pub mod encoding;
pub mod init;
pub mod mpc;
pub mod ptau;
pub mod rng;
pub mod verify;
pub mod zkey_file;

use std::path::Path;

/// Why a ceremony command failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// Unreadable, malformed or mismatched input (CLI exit 2).
    #[error("{0}")]
    BadInput(String),
    /// A well-formed zkey that does not verify (CLI exit 1).
    #[error("{0}")]
    Invalid(String),
}

impl CeremonyError {
    /// The error of an atomic write: a ceremony error carried through `io::Error`, or the
    /// write itself failing.
    pub fn from_key_file(e: crate::keys::KeyFileError, out: &Path) -> Self {
        match e {
            crate::keys::KeyFileError::Io { err, .. } => {
                match err
                    .get_ref()
                    .and_then(|i| i.downcast_ref::<CeremonyError>())
                {
                    Some(CeremonyError::BadInput(m)) => CeremonyError::BadInput(m.clone()),
                    Some(CeremonyError::Invalid(m)) => CeremonyError::Invalid(m.clone()),
                    None => {
                        CeremonyError::BadInput(format!("cannot write {}: {err}", out.display()))
                    }
                }
            }
            e => CeremonyError::BadInput(e.to_string()),
        }
    }
}
