//! What an op's lowering sees of the compiler: the [`LowerCtx`] of the current ONNX node,
//! the error type, and per-compile overrides. It sits below both `compile` (which drives the
//! node loop) and the ops (which lower one node each), so neither imports the other.

use crate::graph::{QNode, Settings, TensorId, TensorInfo};
use crate::onnx::{self, Const};
use crate::ops::QOp;
use std::collections::HashMap;
use thiserror::Error;
use tract_onnx::pb;

/// Why a model could not be compiled. All are the user's input, not zkinfer's state.
#[derive(Debug, Error)]
pub enum CompileError {
    #[error("malformed model: {0}")]
    Malformed(String),
    #[error("unsupported op {op} in node '{node}': {why}")]
    Unsupported {
        op: String,
        node: String,
        why: String,
    },
    #[error("layer '{layer}': {why}")]
    Overflow { layer: String, why: String },
    #[error("invalid settings: {0}")]
    Settings(String),
}

/// Per-compile choices that are not settings of the circuit itself: the bits picked for
/// individual tensors (by calibration or worst-case analysis) and whether to fuse ops.
#[derive(Clone, Debug)]
pub struct Overrides {
    /// Signed bits of the tensor named by an ONNX value name (a node's output), replacing
    /// [`Settings::bits`] for that tensor.
    pub tensor_bits: HashMap<String, u32>,
    /// Fuse ReLU and bias Adds into the preceding affine layer (off only for calibration, which
    /// must see every ONNX value on its own).
    pub fuse: bool,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            tensor_bits: HashMap::new(),
            fuse: true,
        }
    }
}

/// The state handed to an op's lowering function for the current ONNX node.
pub struct LowerCtx<'a> {
    pub(crate) settings: Settings,
    pub(crate) overrides: Overrides,
    pub(crate) onnx: &'a onnx::OnnxGraph,
    /// Every constant: the model's initializers and Constant nodes, and the outputs of nodes
    /// folded at compile time ([`crate::onnx::fold`]).
    pub(crate) consts: HashMap<String, Const>,
    pub(crate) node: &'a pb::NodeProto,
    pub(crate) node_label: String,
    pub(crate) tensors: Vec<TensorInfo>,
    pub(crate) nodes: Vec<QNode>,
    /// ONNX value name → tensor.
    pub(crate) values: HashMap<String, TensorId>,
    /// tensor → index of the node producing it.
    pub(crate) producer: HashMap<TensorId, usize>,
    /// ONNX value name → number of reads of it (each node input slot, and the graph output).
    pub(crate) consumers: HashMap<String, usize>,
    /// tensor → its reads not yet accounted for: the reads of every name bound to the tensor,
    /// less those of nodes that only renamed it (Identity) or were fused into its producer.
    /// A fusion rewrites what the tensor holds, so it is allowed only when the fusing node is
    /// the one read left: lowering reasons about tensors, never about value names.
    pub(crate) open_reads: HashMap<TensorId, usize>,
    pub(crate) emitted: bool,
    /// Float weights and biases of affine nodes, by node index (for folding BatchNormalization).
    pub(crate) float_params: HashMap<usize, FloatParams>,
}

/// The float parameters of an affine node before quantisation: weights in its linear map's
/// layout (output channel major) and one bias per channel. Kept at compile time only, so
/// that a later per-channel op folded into the node is re-quantised from floats.
#[derive(Clone, Debug, Default)]
pub struct FloatParams {
    pub weights: Vec<f64>,
    pub bias: Vec<f64>,
}

impl<'a> LowerCtx<'a> {
    /// The compile settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Signed bits for this node's output: a per-tensor choice (calibration, worst case) or
    /// [`Settings::bits`]. Ops must take their output bits from here.
    pub fn out_bits(&self) -> u32 {
        self.node
            .output
            .first()
            .and_then(|o| self.overrides.tensor_bits.get(o))
            .copied()
            .unwrap_or(self.settings.bits)
    }

    /// Whether fusing into a previous node is allowed.
    pub fn may_fuse(&self) -> bool {
        self.overrides.fuse
    }

    /// The ONNX node's name (or `op_type#index` when it has none).
    pub fn node_name(&self) -> &str {
        &self.node_label
    }

    /// The ONNX op type.
    pub fn op_type(&self) -> &str {
        &self.node.op_type
    }

    fn input_name(&self, i: usize) -> Result<&str, CompileError> {
        self.node
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.bad_model(format!("missing input {i}")))
    }

    /// Number of inputs the node lists (omitted optional ones included).
    pub fn num_inputs(&self) -> usize {
        self.node.input.len()
    }

    /// Whether input `i` is a constant (initializer or Constant node).
    pub fn is_const_input(&self, i: usize) -> bool {
        self.node
            .input
            .get(i)
            .is_some_and(|n| self.consts.contains_key(n))
    }

    /// Input `i` as a quantised activation.
    pub fn activation_input(&self, i: usize) -> Result<TensorId, CompileError> {
        let name = self.input_name(i)?;
        self.values.get(name).copied().ok_or_else(|| {
            if self.consts.contains_key(name) {
                self.unsupported(&format!(
                    "a constant where an activation is expected (input {i})"
                ))
            } else {
                self.bad_model(format!(
                    "input '{name}' is not computed by any supported node"
                ))
            }
        })
    }

    /// Input `i` as a constant.
    pub fn const_input(&self, i: usize) -> Result<Const, CompileError> {
        let name = self.input_name(i)?;
        self.consts
            .get(name)
            .cloned()
            .ok_or_else(|| self.unsupported(&format!("input {i} ('{name}') must be a constant")))
    }

    /// Input `i` as a constant, `None` when the node omits it.
    pub fn optional_const_input(&self, i: usize) -> Result<Option<Const>, CompileError> {
        match self.node.input.get(i) {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(_) => self.const_input(i).map(Some),
        }
    }

    fn attr(&self, name: &str) -> Option<&pb::AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    /// An integer attribute or its default.
    pub fn attr_int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    /// A float attribute or its default.
    pub fn attr_float(&self, name: &str, default: f64) -> f64 {
        self.attr(name).map_or(default, |a| f64::from(a.f))
    }

    /// An integer-list attribute, if present.
    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    /// A tensor's description.
    pub fn tensor(&self, t: TensorId) -> &TensorInfo {
        &self.tensors[t]
    }

    /// A tensor's description, for an op fused into the node producing it.
    pub fn tensor_mut(&mut self, t: TensorId) -> &mut TensorInfo {
        &mut self.tensors[t]
    }

    /// A string attribute (lossy UTF-8), if present.
    pub fn attr_str(&self, name: &str) -> Option<String> {
        self.attr(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    /// Records the float parameters of the node emitted last.
    pub fn set_float_params(&mut self, p: FloatParams) {
        if let Some(last) = self.nodes.len().checked_sub(1) {
            self.float_params.insert(last, p);
        }
    }

    /// The float parameters of affine node `node`, when recorded.
    pub fn float_params_mut(&mut self, node: usize) -> Option<&mut FloatParams> {
        self.float_params.get_mut(&node)
    }

    /// A node emitted earlier.
    pub fn node(&self, i: usize) -> &QNode {
        &self.nodes[i]
    }

    /// A node emitted earlier, for fusing into it.
    pub fn node_mut(&mut self, i: usize) -> &mut QNode {
        &mut self.nodes[i]
    }

    /// The node producing `t` when this ONNX node is the only reader of tensor `t` under any
    /// of its names (an Identity alias, a graph output and an earlier node reading it all
    /// count), so that fusing into the producer changes what no one else reads.
    pub fn sole_producer(&self, t: TensorId) -> Option<usize> {
        if !self.overrides.fuse {
            return None;
        }
        let reads_here = self
            .node
            .input
            .iter()
            .filter(|n| self.values.get(*n) == Some(&t))
            .count();
        if reads_here != 1 || self.open_reads.get(&t).copied().unwrap_or(0) != 1 {
            return None;
        }
        self.producer.get(&t).copied()
    }

    /// Binds ONNX value `name` to tensor `t`, adding the name's reads to the tensor's.
    pub(crate) fn bind(&mut self, name: String, t: TensorId) {
        *self.open_reads.entry(t).or_default() += self.consumers.get(&name).copied().unwrap_or(0);
        self.values.insert(name, t);
    }

    /// Binds this node's output to tensor `t`, which this node reads and passes on unchanged
    /// (Identity): its read is no read of its own, its output's readers read `t`.
    pub fn alias_output(&mut self, t: TensorId) {
        self.close_read(t);
        let out = self.node.output[0].clone();
        self.bind(out, t);
        self.emitted = true;
    }

    /// Binds this node's output to tensor `t` after this node was fused into `t`'s producer
    /// (found by [`LowerCtx::sole_producer`]): `t` now holds this node's output.
    pub fn fuse_output(&mut self, t: TensorId) {
        self.close_read(t);
        let out = self.node.output[0].clone();
        self.tensors[t].name = out.clone();
        self.bind(out, t);
        self.emitted = true;
    }

    pub(crate) fn close_read(&mut self, t: TensorId) {
        if let Some(r) = self.open_reads.get_mut(&t) {
            *r = r.saturating_sub(1);
        }
    }

    /// Adds a quantised node producing a new tensor bound to this ONNX node's output.
    pub fn emit(
        &mut self,
        op_type: &str,
        op: QOp,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
        scale: i32,
        bits: u32,
    ) {
        self.emit_output(0, op_type, op, inputs, shape, scale, bits);
    }

    /// Adds a quantised node producing a new tensor bound to this ONNX node's output number
    /// `k` (nodes with several outputs, such as `Split`, emit one quantised node per output).
    #[allow(clippy::too_many_arguments)]
    pub fn emit_output(
        &mut self,
        k: usize,
        op_type: &str,
        op: QOp,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
        scale: i32,
        bits: u32,
    ) {
        let out = self.node.output[k].clone();
        let id = self.tensors.len();
        self.tensors.push(TensorInfo {
            name: out.clone(),
            shape,
            scale,
            bits,
        });
        self.producer.insert(id, self.nodes.len());
        self.nodes.push(QNode {
            name: self.node_label.clone(),
            op_type: op_type.to_string(),
            op,
            inputs,
            output: id,
        });
        self.bind(out, id);
        self.emitted = true;
    }

    /// The name of output `k` (empty when the node omits it).
    pub fn output_name(&self, k: usize) -> &str {
        self.node.output.get(k).map_or("", String::as_str)
    }

    /// Whether the model's input holds integers (token ids, read at scale 0).
    pub fn input_is_integer(&self) -> bool {
        self.onnx.input_is_integer
    }

    /// Number of outputs the ONNX node lists.
    pub fn num_outputs(&self) -> usize {
        self.node.output.len()
    }

    /// `round(v · 2^scale)` for every value, refusing NaN/inf and values too large.
    pub fn quantize_all(
        &self,
        v: &[f64],
        scale: i32,
        what: &str,
    ) -> Result<Vec<i64>, CompileError> {
        v.iter()
            .map(|&x| {
                crate::fixed::quantize(x, scale)
                    .filter(|q| q.unsigned_abs() < 1 << 62)
                    .ok_or_else(|| {
                        self.bad_model(format!("{what} {x} cannot be quantised at scale {scale}"))
                    })
            })
            .collect()
    }

    /// An "unsupported" error naming this node.
    pub fn unsupported(&self, why: &str) -> CompileError {
        CompileError::Unsupported {
            op: self.node.op_type.clone(),
            node: self.node_label.clone(),
            why: why.to_string(),
        }
    }

    /// A "malformed" error naming this node.
    pub fn bad_model(&self, why: String) -> CompileError {
        CompileError::Malformed(format!(
            "node '{}' ({}): {why}",
            self.node_label, self.node.op_type
        ))
    }
}
