//! ReLU. After an affine layer it is fused into that layer (one constraint per value on
//! the sign bit of the range check the layer already pays for); standalone it range-checks
//! its input first.

use crate::gadgets;
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::Builder;
use ark_ff::One;
use serde::{Deserialize, Serialize};

/// `max(x, 0)` on a tensor whose values fit `bits` signed bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Relu {
    pub bits: u32,
}

impl Op for Relu {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        crate::ops::check_input_bits(inputs[0], self.bits)?;
        Ok(inputs[0].iter().map(|&v| v.max(0)).collect())
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        inputs[0]
            .iter()
            .enumerate()
            .map(|(index, x)| {
                let y = ensure_signed(b, x, self.bits).map_err(|range| OpError { index, range })?;
                let z = gadgets::relu(b, &y);
                Ok(CValue {
                    lc: z.into(),
                    value: x.value.max(0),
                    range: None,
                })
            })
            .collect()
    }

    fn bounds(&self, inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        Ok((inputs[0].0.max(0), inputs[0].1.max(0)))
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], errors: &[f64]) -> f64 {
        errors[0] // exact and 1-Lipschitz
    }
}

/// The value's range proof to `bits` bits, reusing an existing one that is at least as tight.
pub fn ensure_signed(
    b: &mut Builder,
    x: &CValue,
    bits: u32,
) -> Result<gadgets::Signed, gadgets::RangeError> {
    if let Some(r) = &x.range {
        if r.bits.n <= bits {
            return Ok(r.clone());
        }
    }
    let s = gadgets::signed(b, x.value, bits)?;
    let (lc, var) = (x.lc.clone(), s.var);
    b.enforce_zero(move || {
        let mut d = lc;
        d.add_term(var, -ark_bn254::Fr::one());
        d
    });
    Ok(s)
}

/// ONNX `Relu`: fused into the producing affine layer when it has no other consumer.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    let x = ctx.activation_input(0)?;
    if let Some(node) = ctx.sole_producer(x) {
        let name = ctx.node_name().to_string();
        let n = ctx.node_mut(node);
        if let crate::ops::QOp::Affine(a) = &mut n.op {
            if !a.relu {
                a.relu = true;
                n.op_type.push_str("+Relu");
                n.name = format!("{}+{}", n.name, name);
                ctx.fuse_output(x);
                return Ok(());
            }
        }
    }
    let info = ctx.tensor(x).clone();
    ctx.emit(
        "Relu",
        crate::ops::QOp::Relu(Relu { bits: info.bits }),
        vec![x],
        info.shape,
        info.scale,
        info.bits,
    );
    Ok(())
}
