//! zkinfer-circuits: ONNX import, quantisation, integer inference (the trace), R1CS gadgets
//! and the model circuit.
//!
//! ```text
//! model.onnx ─compile─▶ QGraph (.zkc) ─infer─▶ Trace ─synthesize─▶ R1CS matrices + assignment
//! ```
//! Integer inference ([`inference::infer`]) and the circuit ([`circuit::synthesize`]) call the
//! same op implementations ([`ops`]), so a trace always satisfies its circuit.

pub mod calibrate;
pub mod circuit;
pub mod circuit_file;
pub mod compile;
pub mod fixed;
pub mod gadgets;
pub mod graph;
pub mod inference;
pub mod input;
pub mod lower;
pub mod onnx;
pub mod ops;
pub mod r1cs;
pub mod reference;
pub mod segment;

pub use calibrate::{compile_calibrated, BitsPolicy};
pub use circuit::{constraint_matrices, measure, synthesize, CircuitSize, View};
pub use circuit_file::{CircuitFile, CircuitFileError};
pub use compile::{compile, compile_with, CompileError, Compiled, Overrides};
pub use graph::{QGraph, Settings, TensorInfo, Visibility};
pub use inference::{infer, quantize_input, InferenceError, Trace};
