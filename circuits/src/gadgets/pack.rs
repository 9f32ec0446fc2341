//! Packing tensors into public inputs (DESIGN.md, "Public inputs").

use super::pow2;
use crate::r1cs::{Builder, Lc};
use ark_ff::One;

/// Enforces that public inputs `first..` hold the packed `values` (each an expression
/// already proven to fit `bits` signed bits): slot `v + 2^(bits-1)`, `floor(253 / bits)`
/// slots per element, least significant first. Returns the number of public inputs used.
pub fn pack_public(b: &mut Builder, first: usize, values: &[Lc], bits: u32) -> usize {
    let per = (253 / bits) as usize;
    let chunks = values.chunks(per);
    let n = chunks.len();
    for (j, chunk) in values.chunks(per).enumerate() {
        let p = b.public(first + j);
        b.enforce_zero(|| {
            let mut lc = Lc::with_capacity(2 * chunk.len() + 1);
            let mut offset = ark_bn254::Fr::from(0u64);
            for (t, v) in chunk.iter().enumerate() {
                let w = pow2(bits * t as u32);
                lc.add_scaled(v, w);
                offset += w * pow2(bits - 1);
            }
            lc.add_constant(offset);
            lc.add_term(p, -ark_bn254::Fr::one());
            lc
        });
    }
    n
}

/// The packed field elements of `values` (each already proven to fit `bits` signed bits), as
/// [`pack_public`] lays them out, with their values: for hashing instead of making them public.
/// The linear combinations are empty when the builder does not build matrices.
pub fn packed_elements(
    b: &Builder,
    values: &[crate::ops::CValue],
    bits: u32,
) -> Vec<(Lc, ark_bn254::Fr)> {
    let per = (253 / bits) as usize;
    values
        .chunks(per)
        .map(|chunk| {
            let mut value = ark_bn254::Fr::from(0u64);
            let mut lc = Lc::with_capacity(if b.builds_matrices() {
                chunk.len() + 1
            } else {
                0
            });
            let mut offset = ark_bn254::Fr::from(0u64);
            for (t, v) in chunk.iter().enumerate() {
                let w = pow2(bits * t as u32);
                let stored = super::fr(v.value + (1i128 << (bits - 1)));
                value += stored * w;
                if b.builds_matrices() {
                    lc.add_scaled(&v.lc, w);
                    offset += w * pow2(bits - 1);
                }
            }
            if b.builds_matrices() {
                lc.add_constant(offset);
            }
            (lc, value)
        })
        .collect()
}
