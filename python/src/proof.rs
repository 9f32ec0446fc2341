//! `Proof`: a proof.json (the proof, the circuit digest, the quantised input and output).

use crate::arrays::to_numpy;
use crate::errors::{io_error, value_error, verify_message};
use numpy::PyArrayDyn;
use pyo3::prelude::*;
use std::path::PathBuf;
use zkinfer_verifier::{ProofFile, VerifyError};

/// One inference's proof: what `zkinfer prove` writes as proof.json.
#[pyclass(module = "zkinfer._zkinfer", frozen)]
pub struct Proof {
    /// proof.json as the verifier crate reads it.
    pub inner: ProofFile,
}

impl Proof {
    /// Wraps a proof file from the crates.
    pub fn wrap(inner: ProofFile) -> Self {
        Proof { inner }
    }

    /// Parses proof.json text with the CLI's messages (a segmented model's bundle is named).
    fn parse(text: &str, prefix: &str) -> PyResult<Self> {
        if zkinfer_verifier::is_bundle_json(text) {
            return Err(value_error(format!(
                "{prefix}this is the proof bundle of a segmented model: the Python package verifies single-circuit proofs only; use the zkinfer CLI"
            )));
        }
        ProofFile::from_json(text)
            .map(Proof::wrap)
            .map_err(|e| match e {
                VerifyError::BadInput(m) => value_error(format!("{prefix}{m}")),
                e => value_error(verify_message(&e)),
            })
    }
}

#[pymethods]
impl Proof {
    /// The model's output (dequantised floats, the output's shape), as proof.json's "values".
    #[getter]
    fn output<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let o = &self.inner.output;
        to_numpy(py, &o.shape, o.values.clone())
    }

    /// The output as the quantised integers the proof commits to (`output / 2^scale`).
    #[getter]
    fn output_quantized<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<i64>>> {
        let o = &self.inner.output;
        to_numpy(py, &o.shape, o.quantized.clone())
    }

    /// The input as the quantised integers the proof commits to.
    #[getter]
    fn input_quantized<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<i64>>> {
        let i = &self.inner.input;
        to_numpy(py, &i.shape, i.quantized.clone())
    }

    /// The fixed-point scale of the output (`output = output_quantized / 2^scale`).
    #[getter]
    fn output_scale(&self) -> i32 {
        self.inner.output.scale
    }

    /// The digest (hex) of the circuit the proof claims to be for.
    #[getter]
    fn circuit(&self) -> String {
        self.inner.circuit.clone()
    }

    /// proof.json's text (what `zkinfer verify --proof` reads).
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Parses proof.json text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Proof::parse(text, "")
    }

    /// Writes proof.json.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        std::fs::write(&path, self.inner.to_json())
            .map_err(|e| value_error(format!("cannot write {}: {e}", path.display())))
    }

    /// Reads a proof.json.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        Proof::parse(&text, &format!("{}: ", path.display()))
    }

    fn __repr__(&self) -> String {
        format!(
            "Proof(circuit={}, output_shape={:?})",
            self.inner.circuit.get(..16).unwrap_or(&self.inner.circuit),
            self.inner.output.shape
        )
    }
}
