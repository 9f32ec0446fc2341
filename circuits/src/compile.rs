//! Compiling an ONNX model into a [`QGraph`]: lowering each node through the op registry,
//! then bounding every accumulator so no value can wrap around the field.

use crate::graph::{QGraph, QNode, Settings, TensorId, TensorInfo};
use crate::onnx::{self, Const};
use crate::ops::{registry, QOp};
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

/// What compilation learnt about one layer, for the per-layer report.
#[derive(Clone, Debug)]
pub struct LayerReport {
    pub name: String,
    pub op_type: String,
    pub shape: Vec<usize>,
    pub scale: i32,
    pub bits: u32,
    /// Signed bits the worst-case input (any input within the input's bits) could need.
    pub worst_case_bits: u32,
    /// A bound on the layer's error against the float model (real units) for any input within
    /// the input's range, from the input's own rounding through every layer up to this one
    /// ([`crate::ops::Op::error_bound`]); the float model's f32 arithmetic is not included.
    pub error_bound: f64,
}

/// A compiled model and what compile observed.
pub struct Compiled {
    pub graph: QGraph,
    pub layers: Vec<LayerReport>,
    /// Layers whose worst case exceeds their bits: inputs driving them there fail at prove time.
    pub warnings: Vec<String>,
    /// Every ONNX value name that lowering bound to a tensor (an Identity's output and the
    /// outputs of fused ops name the same tensor as their input), the input included.
    pub names: HashMap<String, TensorId>,
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
    settings: Settings,
    overrides: Overrides,
    onnx: &'a onnx::OnnxGraph,
    node: &'a pb::NodeProto,
    node_label: String,
    tensors: Vec<TensorInfo>,
    nodes: Vec<QNode>,
    /// ONNX value name → tensor.
    values: HashMap<String, TensorId>,
    /// tensor → index of the node producing it.
    producer: HashMap<TensorId, usize>,
    /// ONNX value name → number of reads of it (each node input slot, and the graph output).
    consumers: HashMap<String, usize>,
    /// tensor → its reads not yet accounted for: the reads of every name bound to the tensor,
    /// less those of nodes that only renamed it (Identity) or were fused into its producer.
    /// A fusion rewrites what the tensor holds, so it is allowed only when the fusing node is
    /// the one read left: lowering reasons about tensors, never about value names.
    open_reads: HashMap<TensorId, usize>,
    emitted: bool,
    /// Float weights and biases of affine nodes, by node index (for folding BatchNormalization).
    float_params: HashMap<usize, FloatParams>,
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
            .is_some_and(|n| self.onnx.consts.contains_key(n))
    }

    /// Input `i` as a quantised activation.
    pub fn activation_input(&self, i: usize) -> Result<TensorId, CompileError> {
        let name = self.input_name(i)?;
        self.values.get(name).copied().ok_or_else(|| {
            if self.onnx.consts.contains_key(name) {
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
        self.onnx
            .consts
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
    fn bind(&mut self, name: String, t: TensorId) {
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

    fn close_read(&mut self, t: TensorId) {
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
        let out = self.node.output[0].clone();
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

/// Compiles ONNX bytes with `settings`: every activation gets [`Settings::bits`].
pub fn compile(bytes: &[u8], settings: &Settings) -> Result<Compiled, CompileError> {
    compile_with(bytes, settings, &Overrides::default())
}

/// Compiles ONNX bytes with `settings` and per-tensor `overrides`.
pub fn compile_with(
    bytes: &[u8],
    settings: &Settings,
    overrides: &Overrides,
) -> Result<Compiled, CompileError> {
    check_settings(settings)?;
    let g = onnx::parse(bytes)?;
    let mut consumers: HashMap<String, usize> = HashMap::new();
    for n in &g.nodes {
        for i in &n.input {
            *consumers.entry(i.clone()).or_default() += 1;
        }
    }
    *consumers.entry(g.output_name.clone()).or_default() += 1;

    let input_info = TensorInfo {
        name: g.input_name.clone(),
        shape: g.input_shape.clone(),
        scale: settings.scale,
        bits: settings.input_bits,
    };
    let placeholder = pb::NodeProto::default();
    let mut ctx = LowerCtx {
        settings: settings.clone(),
        overrides: overrides.clone(),
        onnx: &g,
        node: &placeholder,
        node_label: String::new(),
        tensors: vec![input_info],
        nodes: Vec::new(),
        values: HashMap::new(),
        producer: HashMap::new(),
        consumers,
        open_reads: HashMap::new(),
        emitted: false,
        float_params: HashMap::new(),
    };
    ctx.bind(g.input_name.clone(), 0);
    for (i, node) in g.nodes.iter().enumerate() {
        ctx.node = node;
        ctx.node_label = if node.name.is_empty() {
            format!("{}#{i}", node.op_type)
        } else {
            node.name.clone()
        };
        ctx.emitted = false;
        let lower = registry::lookup(&node.op_type).ok_or_else(|| CompileError::Unsupported {
            op: node.op_type.clone(),
            node: ctx.node_label.clone(),
            why: format!("zkinfer supports {}", registry::SUPPORTED.join(", ")),
        })?;
        lower(&mut ctx)?;
        if !ctx.emitted {
            return Err(ctx.bad_model("produced no output".into()));
        }
    }
    let output = *ctx.values.get(&g.output_name).ok_or_else(|| {
        CompileError::Malformed(format!(
            "the graph output '{}' is not produced by any node",
            g.output_name
        ))
    })?;
    let graph = QGraph {
        settings: settings.clone(),
        tensors: ctx.tensors,
        nodes: ctx.nodes,
        input: 0,
        output,
    };
    let (layers, warnings) = analyse(&graph)?;
    Ok(Compiled {
        graph,
        layers,
        warnings,
        names: ctx.values,
    })
}

fn check_settings(s: &Settings) -> Result<(), CompileError> {
    if !(1..=64).contains(&s.bits) || !(1..=64).contains(&s.input_bits) {
        return Err(CompileError::Settings(format!(
            "bits must lie in 1..=64 (got --bits {} --input-bits {})",
            s.bits, s.input_bits
        )));
    }
    if !(0..=30).contains(&s.scale) || !(0..=30).contains(&s.weight_scale) {
        return Err(CompileError::Settings(format!(
            "scales must lie in 0..=30 (got --scale {} --weight-scale {})",
            s.scale, s.weight_scale
        )));
    }
    Ok(())
}

/// Propagates worst-case intervals through the graph: refuses any op whose intermediate
/// values could wrap around the field, and reports layers whose worst case exceeds their bits.
fn analyse(g: &QGraph) -> Result<(Vec<LayerReport>, Vec<String>), CompileError> {
    let half = |b: u32| 1i128 << (b - 1);
    let mut range: Vec<(i128, i128)> = vec![(0, 0); g.tensors.len()];
    let ib = g.input_info().bits;
    range[g.input] = (-half(ib), half(ib) - 1);
    let mut layers = Vec::new();
    let mut warnings = Vec::new();
    // Error bounds in each tensor's integer units; the input is rounded once (half a unit).
    let mut error = vec![0f64; g.tensors.len()];
    error[g.input] = 0.5;
    for n in &g.nodes {
        let inputs: Vec<(i128, i128)> = n.inputs.iter().map(|&t| range[t]).collect();
        let errors: Vec<f64> = n.inputs.iter().map(|&t| error[t]).collect();
        error[n.output] = n.op.as_op().error_bound(&inputs, &errors);
        let out = &g.tensors[n.output];
        let worst =
            n.op.as_op()
                .bounds(&inputs)
                .map_err(|why| CompileError::Overflow {
                    layer: n.name.clone(),
                    why,
                })?;
        let worst_case_bits = crate::fixed::bits_for_range(worst.0, worst.1);
        if worst_case_bits > out.bits {
            warnings.push(format!(
                "layer '{}' ({}): the worst case needs {worst_case_bits} bits, the circuit checks {}; \
                 inputs that drive it beyond fail at prove time (raise --bits to {worst_case_bits} to rule that out)",
                n.name, n.op_type, out.bits
            ));
        }
        range[n.output] = (
            worst.0.max(-half(out.bits)),
            worst.1.min(half(out.bits) - 1),
        );
        layers.push(LayerReport {
            name: n.name.clone(),
            op_type: n.op_type.clone(),
            shape: out.shape.clone(),
            scale: out.scale,
            bits: out.bits,
            worst_case_bits,
            error_bound: error[n.output] * 2f64.powi(-out.scale),
        });
    }
    Ok((layers, warnings))
}
