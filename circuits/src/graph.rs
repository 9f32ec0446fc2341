//! The quantised graph: what `zkinfer compile` produces and every later step reads.

use crate::ops::QOp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
pub use zkinfer_verifier::layout::Visibility;

/// Index of a tensor in [`QGraph::tensors`].
pub type TensorId = usize;

/// Compile-time choices that shape the circuit (they are part of the circuit digest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Fixed-point scale (power of two exponent) of every activation.
    pub scale: i32,
    /// Scale of weights.
    pub weight_scale: i32,
    /// Signed bits of every activation (the width of its range check).
    pub bits: u32,
    /// Signed bits of the input tensor.
    pub input_bits: u32,
    /// Whether the input's public inputs are its packed values or their Poseidon hash.
    #[serde(default, skip_serializing_if = "Visibility::is_public")]
    pub input_visibility: Visibility,
    /// Whether the output's public inputs are its packed values or their Poseidon hash.
    #[serde(default, skip_serializing_if = "Visibility::is_public")]
    pub output_visibility: Visibility,
}

impl Settings {
    /// The settings `zkinfer compile`'s options give (and the Python package's `compile`'s
    /// keywords): the weight scale defaults to `scale`, activations to 16 bits, the input to
    /// `input_bits`, else `bits`, else 16; visibilities are "public" or "hashed". Errors carry
    /// the CLI's message.
    pub fn from_options(
        scale: i32,
        weight_scale: Option<i32>,
        bits: Option<u32>,
        input_bits: Option<u32>,
        input_visibility: &str,
        output_visibility: &str,
    ) -> Result<Settings, String> {
        let vis = |s: &str, flag: &str| Visibility::parse(s).map_err(|e| format!("--{flag}: {e}"));
        Ok(Settings {
            scale,
            weight_scale: weight_scale.unwrap_or(scale),
            bits: bits.unwrap_or(16),
            input_bits: input_bits.or(bits).unwrap_or(16),
            input_visibility: vis(input_visibility, "input-visibility")?,
            output_visibility: vis(output_visibility, "output-visibility")?,
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            scale: 7,
            weight_scale: 7,
            bits: 16,
            input_bits: 16,
            input_visibility: Visibility::Public,
            output_visibility: Visibility::Public,
        }
    }
}

/// A tensor of the quantised graph: every value `q` lies in `[-2^(bits-1), 2^(bits-1))`
/// and stands for `q / 2^scale`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// The ONNX value name.
    pub name: String,
    pub shape: Vec<usize>,
    pub scale: i32,
    pub bits: u32,
}

impl TensorInfo {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One operation of the quantised graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QNode {
    /// The ONNX node name (or op type and index when the node has none): errors name it.
    pub name: String,
    /// The ONNX op type(s) this node implements, e.g. "Gemm+Relu".
    pub op_type: String,
    pub op: QOp,
    pub inputs: Vec<TensorId>,
    pub output: TensorId,
}

/// A model as integer arithmetic: tensors, topologically ordered nodes, one input, one output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QGraph {
    pub settings: Settings,
    pub tensors: Vec<TensorInfo>,
    pub nodes: Vec<QNode>,
    pub input: TensorId,
    pub output: TensorId,
    /// The consecutive segments the model is proven in (`compile --max-constraints`); empty for
    /// a model proven as one circuit. Part of the digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<crate::segment::Segment>,
}

impl QGraph {
    /// The input tensor.
    pub fn input_info(&self) -> &TensorInfo {
        &self.tensors[self.input]
    }

    /// The output tensor.
    pub fn output_info(&self) -> &TensorInfo {
        &self.tensors[self.output]
    }

    /// The public-input layout that the verifier rebuilds (input then output tensor).
    pub fn public_layout(&self) -> zkinfer_verifier::PublicLayout {
        let t = |i: &TensorInfo| zkinfer_verifier::TensorLayout {
            shape: i.shape.clone(),
            scale: i.scale,
            bits: i.bits,
        };
        zkinfer_verifier::PublicLayout {
            input: t(self.input_info()),
            output: t(self.output_info()),
            input_visibility: self.settings.input_visibility,
            output_visibility: self.settings.output_visibility,
        }
    }

    /// Whether the model is proven as a chain of segments.
    pub fn is_segmented(&self) -> bool {
        !self.segments.is_empty()
    }

    /// The digest of segment `k` given the model's [`QGraph::digest`]: binds the segment's key
    /// and proof to this model and this position.
    pub fn segment_digest(&self, model_digest: &[u8; 32], k: usize) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"zkinfer-segment-v1");
        h.update(model_digest);
        h.update((k as u32).to_le_bytes());
        h.update(serde_json::to_vec(&self.segments[k]).expect("a segment always serialises"));
        h.finalize().into()
    }

    /// SHA-256 of the canonical serialisation of the graph (settings included): the circuit digest
    /// that binds keys, proofs and circuit files to one another.
    pub fn digest(&self) -> [u8; 32] {
        let bytes = serde_json::to_vec(self).expect("a graph always serialises");
        let mut h = Sha256::new();
        h.update(b"zkinfer-circuit-v1");
        h.update(&bytes);
        h.finalize().into()
    }
}
