//! Compiling an ONNX model into a [`QGraph`]: lowering each node through the op registry,
//! then bounding every accumulator so no value can wrap around the field.

use crate::graph::{QGraph, Settings, TensorId, TensorInfo};
pub use crate::lower::{CompileError, FloatParams, LowerCtx, Overrides};
use crate::onnx;
use crate::ops::registry;
use std::collections::HashMap;
use tract_onnx::pb;

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
        // Token ids are integers: read at scale 0 (an embedding lookup range-checks them).
        scale: if g.input_is_integer {
            0
        } else {
            settings.scale
        },
        bits: settings.input_bits,
    };
    let placeholder = pb::NodeProto::default();
    let mut ctx = LowerCtx {
        settings: settings.clone(),
        overrides: overrides.clone(),
        onnx: &g,
        consts: g.consts.clone(),
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
        if fold_constant(&mut ctx, g.opset)? {
            continue;
        }
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
        segments: Vec::new(),
    };
    let (layers, warnings) = analyse(&graph)?;
    Ok(Compiled {
        graph,
        layers,
        warnings,
        names: ctx.values,
    })
}

/// Folds the current node when it computes constants only (or the static shape of an
/// activation): its outputs join the constants and it lowers to nothing. `Ok(false)` when the
/// node reads an activation's values.
fn fold_constant(ctx: &mut LowerCtx, opset: i64) -> Result<bool, CompileError> {
    let node = ctx.node;
    if node.op_type == "Shape" {
        if let Some(&t) = node.input.first().and_then(|i| ctx.values.get(i)) {
            let c = onnx::fold::shape_of(node, &ctx.tensors[t].shape);
            ctx.close_read(t);
            ctx.consts.insert(node.output[0].clone(), c);
            return Ok(true);
        }
    }
    if !onnx::fold::is_constant(node, &ctx.consts) {
        return Ok(false);
    }
    let outs = onnx::fold::evaluate(node, &ctx.consts, opset)
        .map_err(|why| ctx.bad_model(format!("evaluating it on constants failed: {why}")))?;
    ctx.consts.extend(outs);
    Ok(true)
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
///
/// Public so that a circuit read back from a `.zkc` (which stores the graph, not the report)
/// can list its layers exactly as `compile` did: the report is a function of the graph alone.
pub fn analyse(g: &QGraph) -> Result<(Vec<LayerReport>, Vec<String>), CompileError> {
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

/// One row of the per-layer table `zkinfer compile` prints: the input, every layer, then the
/// public inputs. Columns that do not apply to a row (the op of the input, the shape of the
/// public inputs) are `None` and print as "-".
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    /// "input", the layer's node name, or "public inputs".
    pub name: String,
    /// The ONNX op type(s) of the layer.
    pub op: Option<String>,
    pub shape: Option<Vec<usize>>,
    pub scale: Option<i32>,
    pub bits: Option<u32>,
    /// [`LayerReport::error_bound`]; for the input, half its quantisation step.
    pub max_err: Option<f64>,
    /// Constraints this row costs (the input's and the public inputs' range checks included).
    pub constraints: usize,
}

/// The per-layer table of `zkinfer compile` (and of the Python package's `Circuit.layers`), from
/// the graph, its layer report ([`analyse`]) and its size ([`crate::measure`]): one definition, so
/// every front end prints the same numbers.
pub fn layer_table(
    g: &QGraph,
    layers: &[LayerReport],
    size: &crate::circuit::CircuitSize,
) -> Vec<LayerRow> {
    let first = size.per_layer.first().map_or(0, |l| l.1);
    let last = size.per_layer.last().map_or(0, |l| l.1);
    let inp = g.input_info();
    let mut rows = vec![LayerRow {
        name: "input".into(),
        op: None,
        shape: Some(inp.shape.clone()),
        scale: Some(inp.scale),
        bits: Some(inp.bits),
        max_err: Some(0.5 * 2f64.powi(-inp.scale)),
        constraints: first,
    }];
    rows.extend(
        layers
            .iter()
            .zip(&size.per_node)
            .map(|(l, &constraints)| LayerRow {
                name: l.name.clone(),
                op: Some(l.op_type.clone()),
                shape: Some(l.shape.clone()),
                scale: Some(l.scale),
                bits: Some(l.bits),
                max_err: Some(l.error_bound),
                constraints,
            }),
    );
    rows.push(LayerRow {
        name: "public inputs".into(),
        op: None,
        shape: None,
        scale: None,
        bits: None,
        max_err: None,
        constraints: last,
    });
    rows
}
