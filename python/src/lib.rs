//! `zkinfer._zkinfer`: the Python face of zkinfer, a thin PyO3 layer over the Rust crates.
//!
//! Every computation happens in `zkinfer-circuits`, `zkinfer-prover` and `zkinfer-verifier`,
//! through the same functions the `zkinfer` CLI calls, so Python and the CLI produce the same
//! circuits, numbers and proofs. This crate only converts: Python paths, bytes and NumPy arrays
//! in; classes, NumPy arrays and `ValueError`s (with the CLI's messages) out. The GIL is released
//! while compiling, setting up, proving and batch-verifying.
//!
//! One file per Python class: [`circuit`] (`Circuit`, `compile`, `load_circuit`), [`keys`]
//! (`ProvingKey`, `VerifyingKey`), [`proof`] (`Proof`), [`verify`] (`verify`, `verify_batch`,
//! `export_verifier`, `calldata`); [`errors`] maps the crates' errors, [`arrays`] converts
//! NumPy arrays.

use pyo3::prelude::*;

mod arrays;
mod circuit;
mod errors;
mod keys;
mod proof;
mod verify;

/// The module. `zkinfer/__init__.py` re-exports its contents.
#[pymodule]
fn _zkinfer(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // SHA-256 of the sources this module was built from (python/build_id.rs): the tests compare
    // it with the tree's to refuse a stale wheel.
    m.add("__build_id__", env!("ZKINFER_BUILD_ID"))?;
    m.add_class::<circuit::Circuit>()?;
    m.add_class::<keys::ProvingKey>()?;
    m.add_class::<keys::VerifyingKey>()?;
    m.add_class::<proof::Proof>()?;
    m.add_function(wrap_pyfunction!(circuit::compile, m)?)?;
    m.add_function(wrap_pyfunction!(circuit::load_circuit, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify_batch, m)?)?;
    m.add_function(wrap_pyfunction!(verify::export_verifier, m)?)?;
    m.add_function(wrap_pyfunction!(verify::calldata, m)?)?;
    Ok(())
}
