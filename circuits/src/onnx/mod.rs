//! Reading ONNX files: the protobuf (through tract-onnx's generated types), constants,
//! the input shape and a topological node order. [`fold`] evaluates constant subgraphs.

pub mod fold;
pub mod patterns;

use crate::lower::CompileError;
use std::collections::HashMap;
use std::sync::Arc;
use tract_onnx::pb;
use tract_onnx::prelude::*;

/// A constant tensor of an ONNX graph, as `f64` (exact for every float32 and for the int64
/// shapes and axes ops take).
#[derive(Clone, Debug)]
pub struct Const {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    /// The tensor with its ONNX element type (int64 shapes, bool masks): what constant folding
    /// hands back to tract.
    pub tensor: Arc<Tensor>,
}

impl Const {
    /// A constant from a tract tensor; `None` for a non-numeric one (strings).
    pub fn from_tensor(tensor: Arc<Tensor>) -> Option<Const> {
        let data = if tensor.datum_type() == DatumType::Bool {
            tensor
                .to_plain_array_view::<bool>()
                .ok()?
                .iter()
                .map(|&b| f64::from(u8::from(b)))
                .collect()
        } else {
            tensor
                .cast_to::<f64>()
                .ok()?
                .to_plain_array_view::<f64>()
                .ok()?
                .iter()
                .copied()
                .collect()
        };
        Some(Const {
            shape: tensor.shape().to_vec(),
            data,
            tensor,
        })
    }
}

/// An ONNX model ready for lowering.
pub struct OnnxGraph {
    pub nodes: Vec<pb::NodeProto>,
    pub consts: HashMap<String, Const>,
    pub input_name: String,
    pub input_shape: Vec<usize>,
    /// Whether the input holds integers (token ids): it is then read at scale 0.
    pub input_is_integer: bool,
    pub output_name: String,
    /// The default-domain opset the model imports (constant folding evaluates nodes under it).
    pub opset: i64,
}

/// Parses ONNX bytes. Malformed files, several inputs or outputs, and non-constant shapes
/// are errors that say what is wrong.
pub fn parse(bytes: &[u8]) -> Result<OnnxGraph, CompileError> {
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut &*bytes)
        .map_err(|e| CompileError::Malformed(format!("not a valid ONNX model: {e}")))?;
    let graph = model
        .graph
        .ok_or_else(|| CompileError::Malformed("the ONNX model has no graph".into()))?;
    let mut consts = HashMap::new();
    for t in &graph.initializer {
        consts.insert(t.name.clone(), load_const(t)?);
    }
    let mut nodes = Vec::with_capacity(graph.node.len());
    for n in graph.node {
        if n.op_type == "Constant" {
            let t = n
                .attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.as_ref())
                .ok_or_else(|| {
                    CompileError::Malformed(format!(
                        "Constant node '{}' has no tensor value",
                        n.name
                    ))
                })?;
            let out = n.output.first().cloned().unwrap_or_default();
            consts.insert(out, load_const(t)?);
        } else {
            nodes.push(n);
        }
    }
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !consts.contains_key(&i.name))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(CompileError::Unsupported {
            op: "model".into(),
            node: String::new(),
            why: format!(
                "{} graph inputs (zkinfer proves models with exactly one input)",
                inputs.len()
            ),
        });
    };
    let [output] = graph.output.as_slice() else {
        return Err(CompileError::Unsupported {
            op: "model".into(),
            node: String::new(),
            why: format!(
                "{} graph outputs (zkinfer proves models with exactly one output)",
                graph.output.len()
            ),
        });
    };
    let input_shape = value_shape(input)?;
    let input_is_integer = is_integer_input(input);
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(17, |o| o.version);
    let nodes = topo_sort(nodes, &input.name, &consts)?;
    let nodes = patterns::rewrite(nodes, &mut consts, &output.name);
    Ok(OnnxGraph {
        nodes,
        consts,
        input_name: input.name.clone(),
        input_shape,
        input_is_integer,
        output_name: output.name.clone(),
        opset,
    })
}

fn load_const(t: &pb::TensorProto) -> Result<Const, CompileError> {
    let tensor =
        tract_onnx::tensor::load_tensor(&tract_onnx::data_resolver::MmapDataResolver, t, None)
            .map_err(|e| CompileError::Malformed(format!("constant '{}': {e}", t.name)))?;
    Const::from_tensor(Arc::new(tensor))
        .ok_or_else(|| CompileError::Malformed(format!("constant '{}' is not numeric", t.name)))
}

/// Whether a graph input is declared with an integer element type.
fn is_integer_input(v: &pb::ValueInfoProto) -> bool {
    use pb::tensor_proto::DataType;
    use pb::type_proto::Value as TypeValue;
    match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(TypeValue::TensorType(t)) => matches!(
            DataType::try_from(t.elem_type),
            Ok(DataType::Int64
                | DataType::Int32
                | DataType::Int16
                | DataType::Int8
                | DataType::Uint8
                | DataType::Uint16
                | DataType::Uint32
                | DataType::Uint64)
        ),
        _ => false,
    }
}

/// The input's shape; a symbolic or missing dimension (the batch) becomes 1.
fn value_shape(v: &pb::ValueInfoProto) -> Result<Vec<usize>, CompileError> {
    use pb::tensor_shape_proto::dimension::Value;
    use pb::type_proto::Value as TypeValue;
    let tensor_type = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(TypeValue::TensorType(t)) => t,
        _ => {
            return Err(CompileError::Malformed(format!(
                "input '{}' is not a tensor",
                v.name
            )))
        }
    };
    let shape = tensor_type
        .shape
        .as_ref()
        .ok_or_else(|| CompileError::Malformed(format!("input '{}' has no shape", v.name)))?;
    Ok(shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Value::DimValue(n)) if n > 0 => n as usize,
            _ => 1,
        })
        .collect())
}

/// Orders nodes so that each comes after the producers of its inputs.
fn topo_sort(
    nodes: Vec<pb::NodeProto>,
    input: &str,
    consts: &HashMap<String, Const>,
) -> Result<Vec<pb::NodeProto>, CompileError> {
    let mut known: std::collections::HashSet<String> = consts.keys().cloned().collect();
    known.insert(input.to_string());
    known.insert(String::new()); // an omitted optional input
    let mut pending = nodes;
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for n in pending {
            if n.input.iter().all(|i| known.contains(i)) {
                known.extend(n.output.iter().cloned());
                ordered.push(n);
            } else {
                rest.push(n);
            }
        }
        if rest.len() == before {
            let n = &rest[0];
            let missing: Vec<&String> = n.input.iter().filter(|i| !known.contains(*i)).collect();
            return Err(CompileError::Malformed(format!(
                "node '{}' ({}) reads {:?}, which no node produces (or the graph has a cycle)",
                n.name, n.op_type, missing
            )));
        }
        pending = rest;
    }
    Ok(ordered)
}
