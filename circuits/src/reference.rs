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
        // Some of tract's optimisation passes fail on graphs they do not expect (the graph
        // fuzzer found one); the typed model computes the same values unoptimised.
        let plan = match typed.clone().into_optimized() {
            Ok(optimized) => optimized.into_runnable()?,
            Err(_) => typed.into_runnable()?,
        };
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
