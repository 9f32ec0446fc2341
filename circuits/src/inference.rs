//! Integer inference: every tensor of the quantised graph, exactly, from a quantised input.

use crate::fixed;
use crate::graph::QGraph;
use thiserror::Error;

/// Why an input could not be quantised or inference could not finish. All are bad input.
#[derive(Debug, Error, PartialEq)]
pub enum InferenceError {
    #[error("the input has {got} values, the model expects {want} (shape {shape:?})")]
    InputLength {
        got: usize,
        want: usize,
        shape: Vec<usize>,
    },
    #[error("input value {index} is {value}, not a finite number")]
    NotFinite { index: usize, value: f64 },
    #[error(
        "input value {index} ({value}) is outside the input's range [{lo}, {hi}] ({bits} bits at scale {scale}); \
         recompile with a larger --input-bits or a smaller --scale"
    )]
    InputRange {
        index: usize,
        value: f64,
        lo: f64,
        hi: f64,
        bits: u32,
        scale: i32,
    },
    #[error("token {position} of the input is {value}, not an integer id")]
    NotAToken { position: usize, value: f64 },
    #[error(
        "token {position} of the input is {id}, outside the vocabulary [0, {vocab}) of embedding '{layer}'"
    )]
    TokenRange {
        layer: String,
        position: usize,
        id: i128,
        vocab: usize,
    },
    #[error(
        "layer '{layer}' ({op_type}): value {index} is {value} (real {real:.4}), outside its {bits}-bit range; \
         recompile with a larger --bits (or a smaller --scale)"
    )]
    ActivationRange {
        layer: String,
        op_type: String,
        index: usize,
        value: i128,
        real: f64,
        bits: u32,
    },
}

/// Every tensor's values, indexed like [`QGraph::tensors`].
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub tensors: Vec<Vec<i64>>,
}

/// Quantises a float input for the graph's input tensor (length, finiteness, range checked).
pub fn quantize_input(g: &QGraph, input: &[f64]) -> Result<Vec<i64>, InferenceError> {
    let info = g.input_info();
    if input.len() != info.len() {
        return Err(InferenceError::InputLength {
            got: input.len(),
            want: info.len(),
            shape: info.shape.clone(),
        });
    }
    // Token ids: name the vocabulary rather than the input's bits.
    if let Some((n, emb)) = g.nodes.iter().find_map(|n| match &n.op {
        crate::ops::QOp::Embedding(e) if n.inputs == [g.input] => Some((n, e)),
        _ => None,
    }) {
        if let Some((position, &id)) = input
            .iter()
            .enumerate()
            .find(|(_, &v)| !(v.fract() == 0.0 && v >= 0.0 && v < emb.vocab as f64))
        {
            if !id.is_finite() || id.fract() != 0.0 {
                return Err(InferenceError::NotAToken {
                    position,
                    value: id,
                });
            }
            return Err(InferenceError::TokenRange {
                layer: n.name.clone(),
                position,
                id: id as i128,
                vocab: emb.vocab,
            });
        }
    }
    let half = 1i128 << (info.bits - 1);
    input
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            if !value.is_finite() {
                return Err(InferenceError::NotFinite { index, value });
            }
            match fixed::quantize(value, info.scale) {
                Some(q) if fixed::fits_bits(i128::from(q), info.bits) => Ok(q),
                _ => Err(InferenceError::InputRange {
                    index,
                    value,
                    lo: fixed::dequantize(-half as i64, info.scale),
                    hi: fixed::dequantize((half - 1) as i64, info.scale),
                    bits: info.bits,
                    scale: info.scale,
                }),
            }
        })
        .collect()
}

/// Runs the graph on a quantised input.
pub fn infer(g: &QGraph, input_q: &[i64]) -> Result<Trace, InferenceError> {
    let info = g.input_info();
    if input_q.len() != info.len() {
        return Err(InferenceError::InputLength {
            got: input_q.len(),
            want: info.len(),
            shape: info.shape.clone(),
        });
    }
    if let Some((index, &v)) = input_q
        .iter()
        .enumerate()
        .find(|(_, &v)| !fixed::fits_bits(i128::from(v), info.bits))
    {
        let half = 1i128 << (info.bits - 1);
        return Err(InferenceError::InputRange {
            index,
            value: fixed::dequantize(v, info.scale),
            lo: fixed::dequantize(-half as i64, info.scale),
            hi: fixed::dequantize((half - 1) as i64, info.scale),
            bits: info.bits,
            scale: info.scale,
        });
    }
    let mut tensors: Vec<Vec<i64>> = vec![Vec::new(); g.tensors.len()];
    tensors[g.input] = input_q.to_vec();
    for n in &g.nodes {
        let inputs: Vec<&[i64]> = n.inputs.iter().map(|&t| tensors[t].as_slice()).collect();
        let out = n.op.as_op().eval(&inputs).map_err(|e| op_error(g, n, e))?;
        tensors[n.output] = out;
    }
    Ok(Trace { tensors })
}

/// What an op's refusal means to the user: a token outside an embedding's vocabulary, or a
/// value outside its tensor's bits (naming the layer). Inference and synthesis share it.
pub(crate) fn op_error(
    g: &QGraph,
    n: &crate::graph::QNode,
    e: crate::ops::OpError,
) -> InferenceError {
    match &n.op {
        crate::ops::QOp::Embedding(emb) => InferenceError::TokenRange {
            layer: n.name.clone(),
            position: e.index,
            id: e.range.value,
            vocab: emb.vocab,
        },
        _ => InferenceError::ActivationRange {
            layer: n.name.clone(),
            op_type: n.op_type.clone(),
            index: e.index,
            value: e.range.value,
            real: e.range.value as f64 * 2f64.powi(-g.tensors[n.output].scale),
            bits: e.range.bits,
        },
    }
}

impl Trace {
    /// The output tensor's values.
    pub fn output<'a>(&'a self, g: &QGraph) -> &'a [i64] {
        &self.tensors[g.output]
    }
}
