//! The float reference: the ONNX model run by tract in f32, for accuracy checks.

use tract_onnx::prelude::*;

/// A model compiled by tract for float inference on one input shape.
pub struct FloatModel {
    plan: std::sync::Arc<TypedSimplePlan>,
    shape: Vec<usize>,
}

impl FloatModel {
    /// Loads ONNX bytes for an input of `shape`.
    pub fn load(bytes: &[u8], shape: &[usize]) -> TractResult<Self> {
        let typed = tract_onnx::onnx()
            .model_for_read(&mut &*bytes)?
            .with_input_fact(0, f32::fact(shape).into())?
            .into_typed()?;
        // The typed model as written, not decluttered or optimised: tract's rewrites have
        // failed on valid graphs (an optimisation pass erroring out) and computed wrong values
        // (a strided Slice of the last axis moved above a Softmax) — both found by the graph
        // fuzzer. A reference must be the plain ONNX semantics; its speed does not matter.
        let plan = typed.into_runnable()?;
        Ok(FloatModel {
            plan,
            shape: shape.to_vec(),
        })
    }

    /// The model's (first) output for one input, flattened.
    pub fn run(&self, input: &[f64]) -> TractResult<Vec<f64>> {
        let data: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let t = tract_ndarray::ArrayD::from_shape_vec(self.shape.clone(), data)?.into_tensor();
        let out = self.plan.run(tvec!(t.into()))?;
        Ok(out[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .map(|&v| f64::from(v))
            .collect())
    }
}
