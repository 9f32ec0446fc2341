//! Constant folding: a node whose inputs are all constants is evaluated at compile time by
//! tract, whatever its op (shape arithmetic, causal masks built from `Trilu`/`Equal`/`Where`,
//! `Range`, `ConstantOfShape`, `Expand`, rotary cos/sin tables, a `Transpose` of a tied
//! embedding), and its outputs become constants of the graph. zkinfer supports an op only
//! where it touches activations; on constants every op tract can run is fine.
//!
//! `Shape` of an activation folds too: every activation's shape is static once the input's
//! is fixed, so shape arithmetic downstream of it is constant.
//!
//! Each node is evaluated on its own as a one-node ONNX model with its constant inputs as
//! initializers, so the values are exactly what tract's ONNX op computes (the same code that
//! runs the float reference), with the element types the model declares.

use super::Const;
use std::collections::HashMap;
use std::sync::Arc;
use tract_onnx::pb;
use tract_onnx::prelude::*;

/// Whether every input `node` reads is a constant (omitted optional inputs count as such), so
/// that [`evaluate`] can compute its outputs now.
pub fn is_constant(node: &pb::NodeProto, consts: &HashMap<String, Const>) -> bool {
    node.input
        .iter()
        .all(|i| i.is_empty() || consts.contains_key(i))
}

/// Evaluates `node` on constant inputs with tract under the model's `opset`: one constant per
/// (named) output. `Err` says why tract could not (an unknown op, a bad attribute).
pub fn evaluate(
    node: &pb::NodeProto,
    consts: &HashMap<String, Const>,
    opset: i64,
) -> Result<Vec<(String, Const)>, String> {
    let mut graph = pb::GraphProto {
        name: "fold".into(),
        node: vec![node.clone()],
        ..Default::default()
    };
    let mut seen = std::collections::HashSet::new();
    for name in node.input.iter().filter(|i| !i.is_empty()) {
        if seen.insert(name) {
            graph.initializer.push(to_proto(name, &consts[name])?);
        }
    }
    let outputs: Vec<&String> = node.output.iter().filter(|o| !o.is_empty()).collect();
    for o in &outputs {
        graph.output.push(pb::ValueInfoProto {
            name: (*o).clone(),
            ..Default::default()
        });
    }
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(graph),
        ..Default::default()
    };
    let values = run(&model).map_err(|e| format!("{e:#}"))?;
    outputs
        .into_iter()
        .zip(values)
        .map(|(name, t)| {
            let t = if t.datum_type() == DatumType::TDim {
                Arc::new(t.cast_to::<i64>().map_err(|e| e.to_string())?.into_owned())
            } else {
                t
            };
            Const::from_tensor(t)
                .map(|c| (name.clone(), c))
                .ok_or_else(|| format!("output '{name}' is not numeric"))
        })
        .collect()
}

fn run(model: &pb::ModelProto) -> TractResult<Vec<Arc<Tensor>>> {
    let typed = tract_onnx::onnx()
        .model_for_proto_model(model)?
        .into_typed()?;
    let plan = typed.into_runnable()?;
    Ok(plan
        .run(tvec![])?
        .into_iter()
        .map(|v| v.into_arc_tensor())
        .collect())
}

/// The constant of `Shape(x)` for an activation of `shape`, honouring opset 15's `start` and
/// `end` attributes.
pub fn shape_of(node: &pb::NodeProto, shape: &[usize]) -> Const {
    let rank = shape.len() as i64;
    let attr = |name: &str, default: i64| {
        node.attribute
            .iter()
            .find(|a| a.name == name)
            .map_or(default, |a| a.i)
    };
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let (start, end) = (clamp(attr("start", 0)), clamp(attr("end", rank)));
    let dims: Vec<i64> = shape[start..end.max(start)]
        .iter()
        .map(|&d| d as i64)
        .collect();
    let n = dims.len();
    let t = Tensor::from_shape(&[n], &dims).expect("shape matches its data");
    Const::from_tensor(Arc::new(t)).expect("an i64 tensor is numeric")
}

/// A constant as an ONNX initializer (raw little-endian data, the element type kept).
fn to_proto(name: &str, c: &Const) -> Result<pb::TensorProto, String> {
    use pb::tensor_proto::DataType;
    let t = &c.tensor;
    let data_type = match t.datum_type() {
        DatumType::Bool => DataType::Bool,
        DatumType::U8 => DataType::Uint8,
        DatumType::U16 => DataType::Uint16,
        DatumType::U32 => DataType::Uint32,
        DatumType::U64 => DataType::Uint64,
        DatumType::I8 => DataType::Int8,
        DatumType::I16 => DataType::Int16,
        DatumType::I32 => DataType::Int32,
        DatumType::I64 => DataType::Int64,
        DatumType::F16 => DataType::Float16,
        DatumType::F32 => DataType::Float,
        DatumType::F64 => DataType::Double,
        other => return Err(format!("constant '{name}' has element type {other:?}")),
    };
    Ok(pb::TensorProto {
        name: name.to_string(),
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: data_type as i32,
        raw_data: t.as_bytes().to_vec(),
        ..Default::default()
    })
}
