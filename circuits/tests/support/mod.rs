//! Building small ONNX models in tests (the protobuf through tract-onnx's `pb` types).
#![allow(dead_code)]

use prost::Message;
use tract_onnx::pb;

/// An integer-list attribute.
pub fn attr_ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: 7,
        ..Default::default()
    }
}

/// An integer attribute.
pub fn attr_int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        i: v,
        r#type: 2,
        ..Default::default()
    }
}

/// A float attribute.
pub fn attr_float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        f: v,
        r#type: 1,
        ..Default::default()
    }
}

/// A string attribute.
pub fn attr_str(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        r#type: 3,
        ..Default::default()
    }
}

/// A one-element float tensor attribute (ConstantOfShape's `value`).
pub fn attr_tensor_f32(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        t: Some(pb::TensorProto {
            dims: vec![1],
            data_type: 1,
            float_data: vec![v],
            ..Default::default()
        }),
        r#type: 4,
        ..Default::default()
    }
}

/// A float tensor value with a fixed shape.
pub fn value(name: &str, shape: &[usize]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = shape
        .iter()
        .map(|&d| Dimension {
            value: Some(Value::DimValue(d as i64)),
            ..Default::default()
        })
        .collect();
    let tensor = pb::type_proto::Tensor {
        elem_type: 1,
        shape: Some(pb::TensorShapeProto { dim }),
    };
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(tensor)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One node with a single output.
pub fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

/// A float initializer.
pub type Init<'a> = (&'a str, Vec<usize>, Vec<f32>);

/// A one-input model: `nodes` over the value `input` (of shape `input`) with float
/// initializers, whose output is the value `output`.
pub fn model(input: &[usize], nodes: Vec<pb::NodeProto>, inits: &[Init]) -> Vec<u8> {
    model_with_output(input, nodes, inits, "output")
}

/// As [`model`] with the graph output named `output`.
pub fn model_with_output(
    input: &[usize],
    nodes: Vec<pb::NodeProto>,
    inits: &[Init],
    output: &str,
) -> Vec<u8> {
    model_full(input, nodes, inits, &[], output)
}

/// An int64 initializer (shapes, axes, pads).
pub type IntInit = (String, Vec<usize>, Vec<i64>);

/// A bool initializer (constant conditions).
pub type BoolInit = (String, Vec<usize>, Vec<bool>);

/// A one-input model with float and int64 initializers and the graph output `output`.
pub fn model_full(
    input: &[usize],
    nodes: Vec<pb::NodeProto>,
    inits: &[Init],
    int_inits: &[IntInit],
    output: &str,
) -> Vec<u8> {
    model_with_bools(input, nodes, inits, int_inits, &[], output)
}

/// As [`model_full`] with bool initializers too.
pub fn model_with_bools(
    input: &[usize],
    nodes: Vec<pb::NodeProto>,
    inits: &[Init],
    int_inits: &[IntInit],
    bool_inits: &[BoolInit],
    output: &str,
) -> Vec<u8> {
    let floats = inits.iter().map(|(name, dims, data)| pb::TensorProto {
        name: name.to_string(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: 1,
        float_data: data.clone(),
        ..Default::default()
    });
    let ints = int_inits.iter().map(|(name, dims, data)| pb::TensorProto {
        name: name.clone(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: 7,
        int64_data: data.clone(),
        ..Default::default()
    });
    let bools = bool_inits.iter().map(|(name, dims, data)| pb::TensorProto {
        name: name.clone(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: 9,
        int32_data: data.iter().map(|&b| i32::from(b)).collect(),
        ..Default::default()
    });
    let initializer = floats.chain(ints).chain(bools).collect();
    let graph = pb::GraphProto {
        node: nodes,
        initializer,
        input: vec![value("input", input)],
        output: vec![pb::ValueInfoProto {
            name: output.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let m = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    };
    m.encode_to_vec()
}
