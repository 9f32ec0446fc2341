//! The crates' errors as Python exceptions: `ValueError` carrying the message the CLI prints
//! after `error: ` for the same mistake (its exit 2), so a message found in the CLI's docs or
//! tests reads the same from Python.

use pyo3::exceptions::PyValueError;
use pyo3::PyErr;
use zkinfer_verifier::VerifyError;

/// A `ValueError` with `e`'s message.
pub fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The CLI's message for a verifier error: the bare reason for bad input (exit 2), "proof
/// rejected: ..." for a rejection (exit 1).
pub fn verify_message(e: &VerifyError) -> String {
    match e {
        VerifyError::BadInput(m) => m.clone(),
        VerifyError::Rejected(m) => format!("proof rejected: {m}"),
    }
}

/// For loaders and exporters, where a rejection cannot happen or means bad input too.
pub fn verify_error(e: VerifyError) -> PyErr {
    PyValueError::new_err(verify_message(&e))
}

/// The message the CLI prints for a file it cannot read.
pub fn io_error(path: &std::path::Path, e: std::io::Error) -> PyErr {
    PyValueError::new_err(format!("cannot read {}: {e}", path.display()))
}
