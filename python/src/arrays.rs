//! NumPy in and out. Inputs go through `numpy.asarray(x, dtype=float64)`, so lists, float32
//! arrays and anything with `__array__` (a torch tensor's `.numpy()`) are accepted; the values
//! are read in logical row-major order whatever the array's memory layout.

use crate::errors::value_error;
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// `numpy.asarray(x, dtype=numpy.float64)`.
fn as_f64_array<'py>(x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let py = x.py();
    let np = py.import("numpy")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", np.getattr("float64")?)?;
    let arr = np.call_method("asarray", (x,), Some(&kwargs))?;
    Ok(arr.cast_into::<PyArrayDyn<f64>>()?)
}

/// Shape without its dimensions of size 1.
fn squeezed(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

/// The model input `x` as the flat row-major values the Rust crates take (what input.json
/// holds). Accepted shapes: the model's input shape up to dimensions of size 1 (so `(1, 8, 8)`
/// and `(8, 8)` for `[1, 1, 8, 8]`, as the fixtures' input.json nest them), or flat with the
/// input's element count (input.json's flat form). Anything else is a `ValueError` naming both
/// shapes; NaN and infinities are refused by the crates' quantisation, with the CLI's message.
pub fn model_input(x: &Bound<'_, PyAny>, shape: &[usize]) -> PyResult<Vec<f64>> {
    let arr = as_f64_array(x)?;
    let got = arr.shape().to_vec();
    let want: usize = shape.iter().product();
    let flat = got.len() == 1 && got[0] == want;
    if !(flat || squeezed(&got) == squeezed(shape)) {
        return Err(value_error(format!(
            "input has shape {got:?}, the model's input shape is {shape:?} (dimensions of size 1 \
             may be left out, or pass a flat array of {want} values)"
        )));
    }
    Ok(arr.readonly().as_array().iter().copied().collect())
}

/// Calibration samples: the first axis counts samples, each sample is flattened row-major (as
/// the CLI flattens each entry of samples.json's "inputs"); the crates check each length.
pub fn samples(x: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f64>>> {
    let arr = as_f64_array(x)?;
    let view = arr.readonly();
    let a = view.as_array();
    if a.ndim() < 2 {
        return Err(value_error(format!(
            "calibrate needs an array of samples (shape [n, *input_shape]), got shape {:?}",
            a.shape()
        )));
    }
    Ok(a.outer_iter()
        .map(|s| s.iter().copied().collect())
        .collect())
}

/// `values` as a NumPy array of `shape`.
pub fn to_numpy<'py, T: numpy::Element>(
    py: Python<'py>,
    shape: &[usize],
    values: Vec<T>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(value_error)?;
    Ok(a.into_pyarray(py))
}
