//! `verify`, `verify_batch`, `export_verifier` and `calldata`: the verifier crate's entry
//! points, with the CLI's split of outcomes (its exit codes): valid (0) is `True`, a rejected
//! proof (1) is `False`, bad input (2) raises `ValueError` with the CLI's message.

use crate::errors::{value_error, verify_error};
use crate::keys::VerifyingKey;
use crate::proof::Proof;
use pyo3::prelude::*;
use zkinfer_verifier::{ProofFile, VerifyError, VerifyingKeyFile};

/// Whether `proof` proves its output for its input under `vk`.
#[pyfunction]
pub fn verify(vk: &VerifyingKey, proof: &Proof) -> PyResult<bool> {
    match zkinfer_verifier::verify(&vk.inner, &proof.inner) {
        Ok(()) => Ok(true),
        Err(VerifyError::Rejected(_)) => Ok(false),
        Err(e) => Err(verify_error(e)),
    }
}

/// Whether every proof verifies under `vk`, in one multi-pairing (`zkinfer verify` with several
/// proofs). False when any is rejected; `ValueError` naming the bad ones when any is malformed.
#[pyfunction]
pub fn verify_batch(
    py: Python<'_>,
    vk: &VerifyingKey,
    proofs: Vec<PyRef<'_, Proof>>,
) -> PyResult<bool> {
    let vk = vk.inner.clone();
    let files: Vec<ProofFile> = proofs.iter().map(|p| p.inner.clone()).collect();
    let result = py.detach(move || {
        let items: Vec<(&VerifyingKeyFile, &ProofFile)> = files.iter().map(|f| (&*vk, f)).collect();
        zkinfer_verifier::verify_batch(&items)
    });
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.exit_code() == 1 => Ok(false),
        // The CLI's message, naming the proofs by their index in the list.
        Err(e) => {
            let bad: Vec<String> = e.indices().iter().map(|i| format!("#{i}")).collect();
            Err(value_error(format!("{e} (bad: {})", bad.join(", "))))
        }
    }
}

/// The Solidity verifier contract for `vk` (`zkinfer export-verifier`).
#[pyfunction]
pub fn export_verifier(vk: &VerifyingKey) -> String {
    zkinfer_verifier::export_solidity(&vk.inner)
}

/// The arguments of the contract's `verifyProof` for `proof`, as `zkinfer calldata` prints
/// them: `{"proof": [8 decimal strings], "input": [decimal strings]}`.
#[pyfunction]
pub fn calldata<'py>(
    py: Python<'py>,
    vk: &VerifyingKey,
    proof: &Proof,
) -> PyResult<Bound<'py, PyAny>> {
    let v = zkinfer_verifier::calldata(&vk.inner, &proof.inner).map_err(verify_error)?;
    let text = serde_json::to_string(&v).map_err(value_error)?;
    py.import("json")?.call_method1("loads", (text,))
}
