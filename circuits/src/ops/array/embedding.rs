//! Token embedding: ONNX `Gather(table, ids)` with a constant table and activation ids (how
//! PyTorch exports `nn.Embedding`), e.g. `[64, 32]` by `[1, 16]` token ids → `[1, 16, 32]`.
//!
//! Each id is proven to select exactly one row with a one-hot vector: `vocab` bits `s_v`
//! (one booleanity constraint each), `Σ s_v = 1` and `Σ v · s_v = id`. Together these prove
//! `id ∈ [0, vocab)` — an id outside the vocabulary has no witness — and every output value is
//! then the linear combination `Σ_v s_v · table[v][j]` of the bits with constant coefficients:
//! `vocab + 2` constraints per token, none per embedding value. Integer inference refuses an
//! out-of-range id with an error naming the position ([`crate::InferenceError::TokenRange`]).

use crate::fixed;
use crate::gadgets::{fr, RangeError};
use crate::lower::{CompileError, LowerCtx};
use crate::ops::{CTensor, CValue, Op, OpError};
use crate::r1cs::{Builder, Lc};
use ark_ff::One;
use serde::{Deserialize, Serialize};

/// Row lookup in a constant `[vocab, dim]` table (values at the output's scale).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    pub vocab: usize,
    pub dim: usize,
    /// Row-major `[vocab, dim]`, quantised at the output's scale.
    pub table: Vec<i64>,
}

impl Embedding {
    fn check_id(&self, index: usize, id: i128) -> Result<usize, OpError> {
        if (0..self.vocab as i128).contains(&id) {
            Ok(id as usize)
        } else {
            Err(OpError {
                index,
                range: RangeError {
                    value: id,
                    bits: fixed::bits_for_range(0, self.vocab as i128 - 1),
                },
            })
        }
    }

    fn range(&self) -> (i128, i128) {
        let lo = self.table.iter().copied().min().unwrap_or(0);
        let hi = self.table.iter().copied().max().unwrap_or(0);
        (i128::from(lo), i128::from(hi))
    }
}

impl Op for Embedding {
    fn eval(&self, inputs: &[&[i64]]) -> Result<Vec<i64>, OpError> {
        let mut out = Vec::with_capacity(inputs[0].len() * self.dim);
        for (p, &id) in inputs[0].iter().enumerate() {
            let v = self.check_id(p, i128::from(id))?;
            out.extend_from_slice(&self.table[v * self.dim..(v + 1) * self.dim]);
        }
        Ok(out)
    }

    fn synthesize(&self, b: &mut Builder, inputs: &[&CTensor]) -> Result<CTensor, OpError> {
        let ids = inputs[0];
        let mut out = Vec::with_capacity(ids.len() * self.dim);
        for (p, id) in ids.iter().enumerate() {
            // Structure-only synthesis (setup) has no real ids; any row will do.
            let v = match self.check_id(p, id.value) {
                Ok(v) => v,
                Err(_) if b.structure_only() => 0,
                Err(e) => return Err(e),
            };
            let bits: Vec<_> = (0..self.vocab).map(|k| b.alloc_bit(k == v)).collect();
            for &s in &bits {
                // s · (1 - s) = 0
                b.enforce(|| s.into(), || Lc::from(s).one_minus(), Lc::zero);
            }
            b.enforce_zero(|| {
                let mut lc = Lc::constant(-ark_bn254::Fr::one());
                for &s in &bits {
                    lc.add_term(s, ark_bn254::Fr::one());
                }
                lc
            });
            b.enforce_zero(|| {
                let mut lc = id.lc.scaled(-ark_bn254::Fr::one());
                for (k, &s) in bits.iter().enumerate() {
                    lc.add_term(s, fr(k as i128));
                }
                lc
            });
            for j in 0..self.dim {
                let lc = if b.builds_matrices() {
                    let mut lc = Lc::with_capacity(self.vocab);
                    for (k, &s) in bits.iter().enumerate() {
                        let w = self.table[k * self.dim + j];
                        if w != 0 {
                            lc.add_term(s, fr(i128::from(w)));
                        }
                    }
                    lc
                } else {
                    Lc::zero()
                };
                out.push(CValue {
                    lc,
                    value: i128::from(self.table[v * self.dim + j]),
                    range: None,
                });
            }
        }
        Ok(out)
    }

    fn bounds(&self, _inputs: &[(i128, i128)]) -> Result<(i128, i128), String> {
        Ok(self.range())
    }

    fn error_bound(&self, _inputs: &[(i128, i128)], _errors: &[f64]) -> f64 {
        // Ids are exact; each table value is rounded once to the output's scale.
        0.5
    }
}

/// ONNX `Gather(data, indices, axis=0)` with a constant table and activation ids. The ids must
/// be the model's integer input (read at scale 0); the input's bits shrink to the vocabulary's.
pub fn lower(ctx: &mut LowerCtx) -> Result<(), CompileError> {
    if ctx.attr_int("axis", 0) != 0 {
        return Err(ctx.unsupported("Gather from a constant along an axis other than 0"));
    }
    let table = ctx.const_input(0)?;
    let ids = ctx.activation_input(1)?;
    if table.shape.len() != 2 {
        return Err(ctx.unsupported(&format!(
            "Gather from a constant of shape {:?} (an embedding table is [vocab, dim])",
            table.shape
        )));
    }
    if ids != 0 || !ctx.input_is_integer() {
        return Err(ctx.unsupported(
            "Gather from a constant by activation indices that are not the model's integer input",
        ));
    }
    let (vocab, dim) = (table.shape[0], table.shape[1]);
    if vocab == 0 {
        return Err(ctx.bad_model("empty embedding table".into()));
    }
    let scale = ctx.settings().scale;
    let q = ctx.quantize_all(&table.data, scale, "embedding value")?;
    let op = Embedding {
        vocab,
        dim,
        table: q,
    };
    let (lo, hi) = op.range();
    let bits = fixed::bits_for_range(lo.min(0), hi.max(0));
    // Token ids lie in [0, vocab): the input (packed into the public inputs at its bits)
    // needs no more bits than that.
    let need = fixed::bits_for_range(0, vocab as i128 - 1);
    let t = ctx.tensor_mut(ids);
    t.bits = t.bits.min(need);
    let mut shape = ctx.tensor(ids).shape.clone();
    shape.push(dim);
    ctx.emit(
        "Gather",
        crate::ops::QOp::Embedding(op),
        vec![ids],
        shape,
        scale,
        bits,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::compare::tests::input;

    fn op() -> Embedding {
        Embedding {
            vocab: 5,
            dim: 3,
            table: (0..15).map(|v| v * 7 - 40).collect(),
        }
    }

    #[test]
    fn looks_up_rows_and_refuses_ids_outside_the_vocabulary() {
        let e = op();
        assert_eq!(e.eval(&[&[2, 0]]).unwrap(), vec![2, 9, 16, -40, -33, -26]);
        assert_eq!(e.eval(&[&[1, 5]]).unwrap_err().index, 1);
        assert_eq!(e.eval(&[&[-1]]).unwrap_err().index, 0);
    }

    #[test]
    fn the_circuit_pins_the_row_and_the_id() {
        let e = op();
        for id in 0..5 {
            let mut b = Builder::new(vec![], true);
            let x = input(&mut b, id, 8, false);
            let out = e.synthesize(&mut b, &[&vec![x]]).unwrap();
            let want = e.eval(&[&[id as i64]]).unwrap();
            let s = b.finish();
            assert!(s.r1cs.is_satisfied(&s.assignment));
            for (o, w) in out.iter().zip(&want) {
                assert_eq!(o.lc.eval(&s.assignment), fr(i128::from(*w)));
            }
            // One changed witness value (a selector bit, the id) unsatisfies.
            for i in 1..s.assignment.len() {
                let mut z = s.assignment.clone();
                z[i] += ark_bn254::Fr::one();
                assert!(!s.r1cs.is_satisfied(&z), "variable {i} is not pinned");
            }
        }
    }

    #[test]
    fn an_id_outside_the_vocabulary_has_no_witness() {
        // Selecting row 4 while claiming id 5 (or any one-hot that is not one-hot) fails.
        let e = op();
        let mut b = Builder::new(vec![], true);
        let x = input(&mut b, 4, 8, false);
        e.synthesize(&mut b, &[&vec![x]]).unwrap();
        let s = b.finish();
        let id_var = 1; // the input's variable comes first
        let mut z = s.assignment.clone();
        z[id_var] = fr(5);
        assert!(!s.r1cs.is_satisfied(&z));
    }
}
