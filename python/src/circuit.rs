//! `Circuit`, `compile` and `load_circuit`: the `.zkc` circuit, integer inference, setup and
//! proving.

use crate::arrays::{model_input, samples, to_numpy};
use crate::errors::{io_error, value_error};
use crate::keys::{ProvingKey, VerifyingKey};
use crate::proof::Proof;
use numpy::PyArrayDyn;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use zkinfer_circuits::compile::LayerRow;
use zkinfer_circuits::{BitsPolicy, CircuitFile, CircuitSize, Settings};
use zkinfer_prover::{ModelProver, ProvingKeyFile};

/// What the Python package refuses for a segmented circuit (compiled by the CLI with
/// `--max-constraints`): its keys are bundles the package does not read yet.
const SEGMENTED: &str = "this circuit is segmented (compiled with --max-constraints): the Python package proves single-circuit models only; use the zkinfer CLI for it";

/// A prover with the key (held, so its address stays unique) and backend it was made for.
type CachedProver = (Arc<ProvingKeyFile>, String, Arc<ModelProver>);

/// A compiled model (a `.zkc`): its quantised graph, per-layer table and size.
#[pyclass(module = "zkinfer._zkinfer", frozen)]
pub struct Circuit {
    file: Arc<CircuitFile>,
    rows: Vec<LayerRow>,
    size: CircuitSize,
    warnings: Vec<String>,
    /// The prover of the last `prove` (matrices built and the key prepared once, as the node
    /// keeps them), with the key and backend it was made for: proving again with the same
    /// `ProvingKey` object skips that work. Holding the key's `Arc` keeps the cache honest: a
    /// freed key's address cannot be reused by another while it is cached.
    prover: Mutex<Option<CachedProver>>,
}

impl Circuit {
    /// Wraps a circuit file with its layer table and size (computed once, from the graph alone,
    /// by the functions `zkinfer compile` prints them with).
    fn new(file: CircuitFile) -> PyResult<Self> {
        let g = &file.graph;
        let (layers, warnings) = zkinfer_circuits::compile::analyse(g).map_err(value_error)?;
        let size = zkinfer_circuits::measure(g).map_err(value_error)?;
        let rows = zkinfer_circuits::compile::layer_table(g, &layers, &size);
        Ok(Circuit {
            file: Arc::new(file),
            rows,
            size,
            warnings,
            prover: Mutex::new(None),
        })
    }

    fn single(&self) -> PyResult<()> {
        if self.file.graph.is_segmented() {
            return Err(value_error(SEGMENTED));
        }
        Ok(())
    }

    /// The cached prover for `pk` on `backend`, or a new one (then cached).
    fn prover_for(
        &self,
        py: Python<'_>,
        pk: &Arc<ProvingKeyFile>,
        backend: &str,
    ) -> PyResult<Arc<ModelProver>> {
        let mut cache = self
            .prover
            .lock()
            .expect("the prover cache is never poisoned");
        if let Some((k, b, p)) = cache.as_ref() {
            if Arc::ptr_eq(k, pk) && b == backend {
                return Ok(p.clone());
            }
        }
        let (file, key) = (self.file.clone(), pk.clone());
        let backend_name = backend.to_string();
        let prover = py
            .detach(move || {
                // ModelProver owns its key; the Python ProvingKey keeps its own copy.
                let key = ProvingKeyFile {
                    digest: key.digest,
                    pk: key.pk.clone(),
                    reduction: key.reduction,
                };
                ModelProver::new((*file).clone(), key, &backend_name)
            })
            .map_err(value_error)?;
        let prover = Arc::new(prover);
        *cache = Some((pk.clone(), backend.to_string(), prover.clone()));
        Ok(prover)
    }
}

#[pymethods]
impl Circuit {
    /// The per-layer table `zkinfer compile` prints: the input, every layer, the public inputs.
    #[getter]
    fn layers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for r in &self.rows {
            let d = PyDict::new(py);
            d.set_item("name", &r.name)?;
            d.set_item("op", &r.op)?;
            d.set_item("shape", r.shape.as_ref().map(|s| s.to_vec()))?;
            d.set_item("scale", r.scale)?;
            d.set_item("bits", r.bits)?;
            d.set_item("max_err", r.max_err)?;
            d.set_item("constraints", r.constraints)?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// Constraints of the whole circuit.
    #[getter]
    fn constraints(&self) -> usize {
        self.size.constraints
    }

    /// Variables (the constant 1 and the public inputs included).
    #[getter]
    fn variables(&self) -> usize {
        self.size.variables
    }

    /// Public inputs (packed field elements) the verifier rebuilds.
    #[getter]
    fn public_inputs(&self) -> usize {
        self.size.public_inputs
    }

    /// `(op type, nodes, constraints)`, most costly first (compile's "constraints by op type").
    #[getter]
    fn per_op_type(&self) -> Vec<(String, usize, usize)> {
        self.size.per_op_type.clone()
    }

    /// Layers whose worst case exceeds their bits (compile's warnings).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// The circuit digest (hex) that binds keys and proofs to this circuit.
    #[getter]
    fn digest(&self) -> String {
        hex::encode(self.file.digest)
    }

    /// The model's input shape.
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        self.file.graph.input_info().shape.clone()
    }

    /// The model's output shape.
    #[getter]
    fn output_shape(&self) -> Vec<usize> {
        self.file.graph.output_info().shape.clone()
    }

    /// Whether the circuit was cut into segments (CLI `--max-constraints`).
    #[getter]
    fn segmented(&self) -> bool {
        self.file.graph.is_segmented()
    }

    /// Writes the `.zkc` file (the CLI reads it).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.file.write(&path).map_err(value_error)
    }

    /// The `.zkc` file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.file.to_bytes())
    }

    /// Reads a circuit from `.zkc` bytes.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Circuit::new(CircuitFile::from_bytes(data).map_err(value_error)?)
    }

    /// A local (development) Groth16 setup, as `zkinfer setup`: whoever runs it could forge
    /// proofs, so keys others rely on come from a ceremony (README).
    fn setup(&self, py: Python<'_>) -> PyResult<(ProvingKey, VerifyingKey)> {
        self.single()?;
        let file = self.file.clone();
        let (pk, vk) = py
            .detach(move || zkinfer_prover::setup(&file, &mut rand::rngs::OsRng))
            .map_err(value_error)?;
        Ok((ProvingKey::wrap(pk), VerifyingKey::wrap(vk)))
    }

    /// Integer inference (as `zkinfer run`): the output, dequantised, in the output's shape.
    fn run<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let g = &self.file.graph;
        let x = model_input(x, &g.input_info().shape)?;
        let q = zkinfer_circuits::quantize_input(g, &x).map_err(value_error)?;
        let trace = zkinfer_circuits::infer(g, &q).map_err(value_error)?;
        let out = g.output_info();
        let values = trace
            .output(g)
            .iter()
            .map(|&v| zkinfer_circuits::fixed::dequantize(v, out.scale))
            .collect();
        to_numpy(py, &out.shape, values)
    }

    /// Proves the model on `x` (as `zkinfer prove`); `backend` is "cpu", "cuda" or "auto".
    #[pyo3(signature = (pk, x, *, backend = "cpu"))]
    fn prove(
        &self,
        py: Python<'_>,
        pk: &ProvingKey,
        x: &Bound<'_, PyAny>,
        backend: &str,
    ) -> PyResult<Proof> {
        self.single()?;
        let x = model_input(x, &self.file.graph.input_info().shape)?;
        let prover = self.prover_for(py, &pk.inner, backend)?;
        let (file, _timings) = py
            .detach(move || prover.prove(&x, &mut rand::rngs::OsRng))
            .map_err(value_error)?;
        Ok(Proof::wrap(file))
    }

    fn __repr__(&self) -> String {
        format!(
            "Circuit(digest={}, input_shape={:?}, output_shape={:?}, constraints={})",
            &hex::encode(self.file.digest)[..16],
            self.file.graph.input_info().shape,
            self.file.graph.output_info().shape,
            self.size.constraints
        )
    }
}

/// The ONNX bytes of `model` (a path or bytes) and the prefix of compile errors: the path, as
/// the CLI names it, or nothing for bytes.
fn model_bytes(model: &Bound<'_, PyAny>) -> PyResult<(Vec<u8>, String)> {
    if let Ok(b) = model.cast::<PyBytes>() {
        return Ok((b.as_bytes().to_vec(), String::new()));
    }
    if let Ok(b) = model.cast::<pyo3::types::PyByteArray>() {
        return Ok((b.to_vec(), String::new()));
    }
    let path: PathBuf = model.extract().map_err(|_| {
        value_error("model must be a path (str or os.PathLike) or the ONNX file's bytes")
    })?;
    let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
    Ok((bytes, format!("{}: ", path.display())))
}

/// Compiles an ONNX model (a path or its bytes), as `zkinfer compile` with the same options.
#[pyfunction]
#[pyo3(signature = (model, *, calibrate = None, scale = 7, weight_scale = None, bits = None,
    input_bits = None, margin = 1.25, input_visibility = "public", output_visibility = "public"))]
#[allow(clippy::too_many_arguments)]
pub fn compile(
    py: Python<'_>,
    model: &Bound<'_, PyAny>,
    calibrate: Option<&Bound<'_, PyAny>>,
    scale: i32,
    weight_scale: Option<i32>,
    bits: Option<u32>,
    input_bits: Option<u32>,
    margin: f64,
    input_visibility: &str,
    output_visibility: &str,
) -> PyResult<Circuit> {
    let (bytes, prefix) = model_bytes(model)?;
    let settings = Settings::from_options(
        scale,
        weight_scale,
        bits,
        input_bits,
        input_visibility,
        output_visibility,
    )
    .map_err(value_error)?;
    let samples = calibrate.map(samples).transpose()?;
    let policy =
        BitsPolicy::from_options(bits, input_bits, samples, margin).map_err(value_error)?;
    let file = py
        .detach(move || {
            zkinfer_circuits::compile_calibrated(&bytes, &settings, &policy)
                .map(|c| CircuitFile::new(c.graph, &bytes))
        })
        .map_err(|e| value_error(format!("{prefix}{e}")))?;
    Circuit::new(file)
}

/// Reads a `.zkc` circuit file (from `zkinfer compile` or `Circuit.save`).
#[pyfunction]
pub fn load_circuit(path: PathBuf) -> PyResult<Circuit> {
    Circuit::new(CircuitFile::read(&path).map_err(value_error)?)
}
