//! Choosing per-tensor bit widths: from sample inputs (calibration) or, without samples,
//! from worst-case bounds propagated from the weights.
//!
//! Both run a first compile with every tensor wide (so nothing is clamped) and fusion off
//! (so every ONNX value, a pre-ReLU accumulator included, is a tensor of its own), measure
//! each tensor's range, and compile again with those bits.

use crate::compile::{compile_with, CompileError, Compiled, Overrides};
use crate::fixed::bits_for_range;
use crate::graph::Settings;
use crate::inference::{infer, quantize_input};
use std::collections::HashMap;

/// Width used for the measuring compile: wide enough for any realistic activation while
/// keeping every value inside `i64`.
const WIDE_BITS: u32 = 60;

/// The widths a calibration probe tries, widest first.
const PROBE_BITS: [u32; 4] = [WIDE_BITS, 40, 32, 24];

/// How activation bits are chosen.
#[derive(Clone, Debug)]
pub enum BitsPolicy {
    /// Every activation gets [`Settings::bits`].
    Flat,
    /// Each tensor gets the bits its worst case needs for any input within the input's bits
    /// (sound: no input can drive a value out of range), capped at `max_bits`.
    WorstCase { max_bits: u32 },
    /// Each tensor gets the bits its observed range over `samples` needs, times `margin`
    /// (e.g. 1.25); an input beyond the samples' range can fail at prove time, with an error
    /// naming the layer. With `calibrate_input`, the input's bits are chosen the same way.
    Calibrated {
        samples: Vec<Vec<f64>>,
        margin: f64,
        calibrate_input: bool,
    },
}

impl BitsPolicy {
    /// The policy `zkinfer compile`'s options choose (and the Python package's `compile`'s
    /// keywords): calibrated when there are `samples` (the input's bits calibrated too unless
    /// `input_bits` is given), flat with `bits`, otherwise the worst case. Errors carry the
    /// CLI's message.
    pub fn from_options(
        bits: Option<u32>,
        input_bits: Option<u32>,
        samples: Option<Vec<Vec<f64>>>,
        margin: f64,
    ) -> Result<BitsPolicy, String> {
        if let Some(samples) = samples {
            if !(margin.is_finite() && margin >= 1.0) {
                return Err(format!("--margin must be at least 1 (got {margin})"));
            }
            return Ok(BitsPolicy::Calibrated {
                samples,
                margin,
                calibrate_input: input_bits.is_none(),
            });
        }
        Ok(if bits.is_some() {
            BitsPolicy::Flat
        } else {
            BitsPolicy::WorstCase { max_bits: 48 }
        })
    }
}

/// Compiles with activation bits chosen by `policy`.
pub fn compile_calibrated(
    bytes: &[u8],
    settings: &Settings,
    policy: &BitsPolicy,
) -> Result<Compiled, CompileError> {
    match policy {
        BitsPolicy::Flat => compile_with(bytes, settings, &Overrides::default()),
        BitsPolicy::WorstCase { max_bits } => {
            let probe = probe(
                bytes,
                Settings {
                    bits: WIDE_BITS,
                    ..settings.clone()
                },
            )
            .map_err(|e| match e {
                // Products of activations (attention, gated MLPs, norms) have no worst case
                // that fits the field once every input may take any value of its bits.
                CompileError::Overflow { layer, why } => CompileError::Settings(format!(
                    "no worst-case bits fit this model: at layer '{layer}' {why}; choose the bits \
                     with --bits B (every activation) or --calibrate SAMPLES.json (per tensor, \
                     from observed ranges)"
                )),
                e => e,
            })?;
            let mut bits = vec![None; probe.graph.tensors.len()];
            for (l, n) in probe.layers.iter().zip(&probe.graph.nodes) {
                bits[n.output] = Some(l.worst_case_bits.min(*max_bits).max(2));
            }
            let tensor_bits = bits_by_name(&probe, |t| bits[t]);
            compile_with(
                bytes,
                settings,
                &Overrides {
                    tensor_bits,
                    fuse: true,
                },
            )
        }
        BitsPolicy::Calibrated {
            samples,
            margin,
            calibrate_input,
        } => {
            if samples.is_empty() {
                return Err(CompileError::Settings(
                    "calibration needs at least one sample input".into(),
                ));
            }
            // The measuring compile only has to hold the observed values: it takes the widest
            // bits the compiler accepts (products of activations and norms refuse 60-bit
            // operands as a possible overflow).
            let mut probed = None;
            for bits in PROBE_BITS {
                let p = probe(
                    bytes,
                    Settings {
                        bits,
                        input_bits: bits,
                        ..settings.clone()
                    },
                );
                // A width refused (an overflow, a norm whose rsqrt would not fit) falls back to
                // a narrower one; the narrowest's error is the answer.
                match p {
                    Err(_) if bits != PROBE_BITS[PROBE_BITS.len() - 1] => {}
                    p => {
                        probed = Some(p?);
                        break;
                    }
                }
            }
            let probe = probed.expect("the last width returns");
            let g = &probe.graph;
            let mut lo = vec![0i128; g.tensors.len()];
            let mut hi = vec![0i128; g.tensors.len()];
            for (i, x) in samples.iter().enumerate() {
                let q = quantize_input(g, x)
                    .map_err(|e| CompileError::Settings(format!("calibration sample {i}: {e}")))?;
                let t = infer(g, &q)
                    .map_err(|e| CompileError::Settings(format!("calibration sample {i}: {e}")))?;
                for (k, v) in t.tensors.iter().enumerate() {
                    for &v in v {
                        lo[k] = lo[k].min(i128::from(v));
                        hi[k] = hi[k].max(i128::from(v));
                    }
                }
            }
            let widen = |v: i128| (v as f64 * margin).round() as i128;
            let bits_of = |k: usize| bits_for_range(widen(lo[k]), widen(hi[k])).max(2);
            let tensor_bits = bits_by_name(&probe, |t| (t != g.input).then(|| bits_of(t)));
            let mut s = settings.clone();
            if *calibrate_input {
                s.input_bits = bits_of(g.input);
            }
            compile_with(
                bytes,
                &s,
                &Overrides {
                    tensor_bits,
                    fuse: true,
                },
            )
        }
    }
}

/// The bits for every ONNX value name of the probe compile: each name bound to a tensor (an
/// Identity's output names its input's tensor) gets that tensor's bits, so the real compile,
/// which may fuse differently, finds them under whichever name it asks for.
fn bits_by_name(probe: &Compiled, bits: impl Fn(usize) -> Option<u32>) -> HashMap<String, u32> {
    probe
        .names
        .iter()
        .filter_map(|(name, &t)| bits(t).map(|b| (name.clone(), b)))
        .collect()
}

/// The measuring compile: `wide` settings, no per-tensor bits, no fusion (so every ONNX value,
/// a pre-ReLU accumulator included, is a tensor of its own).
fn probe(bytes: &[u8], wide: Settings) -> Result<Compiled, CompileError> {
    compile_with(
        bytes,
        &wide,
        &Overrides {
            tensor_bits: HashMap::new(),
            fuse: false,
        },
    )
}
