//! `ProvingKey` and `VerifyingKey`: the `.pk` and `.vk` files `zkinfer setup` writes.

use crate::errors::{value_error, verify_error};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use std::sync::Arc;
use zkinfer_prover::ProvingKeyFile;
use zkinfer_verifier::VerifyingKeyFile;

/// A Groth16 proving key bound to one circuit (a `.pk`).
#[pyclass(module = "zkinfer._zkinfer", frozen)]
pub struct ProvingKey {
    /// Shared with the circuit's prover cache (see `Circuit::prover`).
    pub inner: Arc<ProvingKeyFile>,
}

impl ProvingKey {
    /// Wraps a key from the prover crate.
    pub fn wrap(pk: ProvingKeyFile) -> Self {
        ProvingKey {
            inner: Arc::new(pk),
        }
    }
}

#[pymethods]
impl ProvingKey {
    /// Writes the `.pk` file (atomically; the CLI reads it).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let pk = self.inner.clone();
        py.detach(move || pk.write(&path)).map_err(value_error)
    }

    /// Reads a `.pk` file.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let pk = py
            .detach(move || ProvingKeyFile::read(&path))
            .map_err(value_error)?;
        Ok(ProvingKey::wrap(pk))
    }

    /// The `.pk` file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Reads a key from `.pk` bytes.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(ProvingKey::wrap(
            ProvingKeyFile::from_bytes(data).map_err(value_error)?,
        ))
    }

    /// The digest (hex) of the circuit this key proves.
    #[getter]
    fn digest(&self) -> String {
        hex::encode(self.inner.digest)
    }

    fn __repr__(&self) -> String {
        format!(
            "ProvingKey(circuit={})",
            &hex::encode(self.inner.digest)[..16]
        )
    }
}

/// A Groth16 verifying key with the circuit's public-input layout (a `.vk`): the trust root of
/// verification, to be obtained from the model's publisher, never from a prover.
#[pyclass(module = "zkinfer._zkinfer", frozen)]
pub struct VerifyingKey {
    /// The key with its circuit digest and public-input layout.
    pub inner: Arc<VerifyingKeyFile>,
}

impl VerifyingKey {
    /// Wraps a key from the verifier crate.
    pub fn wrap(vk: VerifyingKeyFile) -> Self {
        VerifyingKey {
            inner: Arc::new(vk),
        }
    }
}

#[pymethods]
impl VerifyingKey {
    /// Writes the `.vk` file (the CLI reads it).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.write(&path).map_err(verify_error)
    }

    /// Reads a `.vk` file (every point checked on the curve and in its subgroup).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        if zkinfer_verifier::is_segmented_vk(&std::fs::read(&path).unwrap_or_default()) {
            return Err(value_error(format!(
                "{} is a segmented model's key bundle: the Python package verifies single-circuit models only; use the zkinfer CLI",
                path.display()
            )));
        }
        Ok(VerifyingKey::wrap(
            VerifyingKeyFile::read(&path).map_err(verify_error)?,
        ))
    }

    /// The `.vk` file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Reads a key from `.vk` bytes.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(VerifyingKey::wrap(
            VerifyingKeyFile::from_bytes(data).map_err(verify_error)?,
        ))
    }

    /// The digest (hex) of the circuit this key verifies.
    #[getter]
    fn digest(&self) -> String {
        self.inner.digest_hex()
    }

    fn __repr__(&self) -> String {
        format!("VerifyingKey(circuit={})", &self.inner.digest_hex()[..16])
    }
}
