//! The Poseidon hash of a sequence of field elements, as zkinfer's circuits compute it: the
//! boundary hashes of a segmented model and the public input of a hashed tensor.
//!
//! The permutation is circomlib's Poseidon over BN254 (x^5, 8 full rounds, the partial rounds
//! and constants of circomlib's `poseidon_constants`), so circomlibjs, `poseidon-lite` and the
//! Solidity Poseidon libraries compute the same numbers. The constants and the permutation come
//! from the `light-poseidon` crate.
//!
//! The sponge order (fixed, part of the file formats):
//! ```text
//! h = n                                  (the number of elements, as a field element)
//! for each chunk c of RATE = 11 elements (the last chunk padded with zeros; one all-zero
//!                                         chunk when n = 0):
//!     h = Poseidon12(h, c[0], .., c[10])  (circomlib's Poseidon with 12 inputs, width 13)
//! hash = h
//! ```
//! Starting from the length makes sequences of different lengths (zero padding included) hash
//! apart. In poseidon-lite's terms one step is `poseidon12([h, ...c])`.

use ark_bn254::Fr;
use light_poseidon::{Poseidon, PoseidonHasher};

use crate::error::VerifyError;
use crate::layout::TensorLayout;

/// Elements absorbed per permutation: the width-13 permutation takes 12 inputs, one of which
/// carries the running hash.
pub const RATE: usize = 11;

/// Inputs of one circomlib Poseidon call (width `INPUTS + 1`).
pub const INPUTS: usize = RATE + 1;

/// The hash of `elements` in the sponge order of the module documentation.
pub fn hash_elements(elements: &[Fr]) -> Fr {
    let mut poseidon =
        Poseidon::<Fr>::new_circom(INPUTS).expect("circomlib defines Poseidon with 12 inputs");
    let mut h = Fr::from(elements.len() as u64);
    let mut absorb = |chunk: &[Fr], h: &mut Fr| {
        let mut inputs = [Fr::from(0u64); INPUTS];
        inputs[0] = *h;
        inputs[1..=chunk.len()].copy_from_slice(chunk);
        *h = poseidon
            .hash(&inputs)
            .expect("exactly the permutation's number of inputs");
    };
    if elements.is_empty() {
        absorb(&[], &mut h);
    }
    for chunk in elements.chunks(RATE) {
        absorb(chunk, &mut h);
    }
    h
}

/// The number of Poseidon permutations [`hash_elements`] runs for `n` elements.
pub fn permutations(n: usize) -> usize {
    n.div_ceil(RATE).max(1)
}

/// The hash of several tensors: each tensor's values packed as for public inputs (DESIGN.md,
/// "Public inputs": `floor(253 / bits)` slots per element, each tensor starting a new element),
/// all the elements in order, hashed with [`hash_elements`].
///
/// Errors with [`VerifyError::BadInput`] when a tensor's values do not match its layout (count,
/// or a value outside its bits).
pub fn hash_tensors(tensors: &[(&TensorLayout, &[i64])]) -> Result<Fr, VerifyError> {
    let mut elements = Vec::new();
    for (i, (layout, values)) in tensors.iter().enumerate() {
        elements.extend(crate::layout::pack_tensor(
            layout,
            values,
            &format!("tensor {i}"),
        )?);
    }
    Ok(hash_elements(&elements))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chunk_is_one_circomlib_call_on_the_length_and_the_elements() {
        let e: Vec<Fr> = (1..=3u64).map(Fr::from).collect();
        let mut p = Poseidon::<Fr>::new_circom(INPUTS).unwrap();
        let mut inputs = vec![Fr::from(3u64)];
        inputs.extend(&e);
        inputs.resize(INPUTS, Fr::from(0u64));
        assert_eq!(hash_elements(&e), p.hash(&inputs).unwrap());
    }

    #[test]
    fn length_and_padding_are_bound() {
        let a: Vec<Fr> = (1..=10u64).map(Fr::from).collect();
        let mut b = a.clone();
        b.push(Fr::from(0u64));
        assert_ne!(hash_elements(&a), hash_elements(&b));
        assert_ne!(hash_elements(&[]), hash_elements(&[Fr::from(0u64)]));
        // 12 elements take two permutations, and the second chunk matters.
        let mut c = b.clone();
        c.push(Fr::from(5u64));
        let mut d = b.clone();
        d.push(Fr::from(6u64));
        assert_eq!(permutations(12), 2);
        assert_ne!(hash_elements(&c), hash_elements(&d));
    }
}
