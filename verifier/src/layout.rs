//! The public-input layout: which tensors are public and how they are packed into field elements.
//!
//! Each public input costs the verifier a scalar multiplication (about 6,700 gas on the EVM),
//! so tensor values are packed several to a field element (see DESIGN.md, "Public inputs").

use ark_bn254::Fr;
use ark_ff::{BigInt, PrimeField};
use serde::{Deserialize, Serialize};

use crate::error::VerifyError;

/// Bits of a field element used for packing. BN254's scalar modulus is just above 2^253, so
/// any 253-bit integer is already a canonical field element and the packing is injective.
pub const PACK_BITS: u32 = 253;

/// The largest supported slot width: values are `i64`.
pub const MAX_BITS: u32 = 64;

/// One public tensor: its shape, its fixed-point scale and the bit width of its values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TensorLayout {
    /// Row-major shape; the empty shape is a scalar (one value).
    pub shape: Vec<usize>,
    /// Fixed-point scale: a real `v` is stored as `round(v * 2^scale)`.
    pub scale: i32,
    /// Every value lies in `[-2^(bits-1), 2^(bits-1))`; `bits` is in `1..=64`.
    pub bits: u32,
}

/// How a public tensor enters the public inputs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Its values, packed (DESIGN.md, "Public inputs").
    #[default]
    Public,
    /// One public input: the Poseidon hash of its packed values ([`crate::poseidon`]). proof.json
    /// still carries the values; the verifier recomputes the hash.
    Hashed,
}

impl Visibility {
    /// Whether this is the default ([`Visibility::Public`]); such fields are left out of the
    /// JSON, so layouts written before visibilities existed read and write the same bytes.
    pub fn is_public(&self) -> bool {
        *self == Visibility::Public
    }

    /// Parses "public" or "hashed".
    pub fn parse(s: &str) -> Result<Self, VerifyError> {
        match s {
            "public" => Ok(Visibility::Public),
            "hashed" => Ok(Visibility::Hashed),
            _ => Err(VerifyError::bad(format!(
                "visibility must be public or hashed, not '{s}'"
            ))),
        }
    }
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Visibility::Public => "public",
            Visibility::Hashed => "hashed",
        })
    }
}

/// The public tensors of a circuit, in the order they are packed: input first, then output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublicLayout {
    /// The model input.
    pub input: TensorLayout,
    /// The model output.
    pub output: TensorLayout,
    /// Whether the input's public inputs are its packed values or their hash.
    #[serde(default, skip_serializing_if = "Visibility::is_public")]
    pub input_visibility: Visibility,
    /// Whether the output's public inputs are its packed values or their hash.
    #[serde(default, skip_serializing_if = "Visibility::is_public")]
    pub output_visibility: Visibility,
}

impl TensorLayout {
    /// Number of values: the product of the shape (1 for the empty shape). Saturates at
    /// `usize::MAX` instead of overflowing; [`TensorLayout::validate`] rejects such shapes.
    pub fn len(&self) -> usize {
        self.shape
            .iter()
            .fold(1usize, |acc, &d| acc.saturating_mul(d))
    }

    /// True when the tensor has no values (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values share one field element: `floor(253 / bits)`. `bits` outside `1..=64`
    /// (which [`TensorLayout::validate`] rejects) is clamped so this never divides by zero.
    pub fn slots_per_element(&self) -> usize {
        (PACK_BITS / self.bits.clamp(1, MAX_BITS)) as usize
    }

    /// Number of field elements the tensor packs into: `ceil(len / slots_per_element)`.
    pub fn num_elements(&self) -> usize {
        self.len().div_ceil(self.slots_per_element())
    }

    /// Checks `bits` is in `1..=64` and that the number of values does not overflow `usize`.
    pub fn validate(&self, what: &str) -> Result<(), VerifyError> {
        if !(1..=MAX_BITS).contains(&self.bits) {
            return Err(VerifyError::bad(format!(
                "{what} tensor: bits must be in 1..={MAX_BITS}, got {}",
                self.bits
            )));
        }
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                VerifyError::bad(format!(
                    "{what} tensor: shape {:?} is too large",
                    self.shape
                ))
            })?;
        Ok(())
    }

    /// The stored form of `v`: `v + 2^(bits-1)`, which must lie in `[0, 2^bits)`.
    fn offset_value(&self, v: i64, what: &str, index: usize) -> Result<u64, VerifyError> {
        let half = 1i128 << (self.bits - 1);
        let shifted = v as i128 + half;
        if shifted < 0 || shifted >= 2 * half {
            return Err(VerifyError::bad(format!(
                "{what} value {v} at index {index} is outside the {}-bit range [{}, {})",
                self.bits, -half, half
            )));
        }
        Ok(shifted as u64)
    }

    /// Packs `values` (already checked to have `len()` entries) onto the end of `out`.
    fn pack_into(&self, values: &[i64], what: &str, out: &mut Vec<Fr>) -> Result<(), VerifyError> {
        let bits = self.bits as usize;
        for (chunk_index, chunk) in values.chunks(self.slots_per_element()).enumerate() {
            let mut limbs = [0u64; 4];
            for (slot, &v) in chunk.iter().enumerate() {
                let u =
                    self.offset_value(v, what, chunk_index * self.slots_per_element() + slot)?;
                let offset = slot * bits;
                let (limb, shift) = (offset / 64, offset % 64);
                limbs[limb] |= u << shift;
                // The slot straddles two limbs; the last bit used is below 253, so limb+1 <= 3.
                if shift + bits > 64 {
                    limbs[limb + 1] |= u >> (64 - shift);
                }
            }
            // Below 2^253 < modulus, so from_bigint cannot fail; keep the error path anyway.
            let fr = Fr::from_bigint(BigInt::new(limbs))
                .ok_or_else(|| VerifyError::bad("packed value exceeds the field modulus"))?;
            out.push(fr);
        }
        Ok(())
    }

    /// Inverse of `pack_into` for `count` elements; rejects bits above the used slots.
    fn unpack_from(&self, elements: &[Fr], what: &str) -> Result<Vec<i64>, VerifyError> {
        let bits = self.bits as usize;
        let slots = self.slots_per_element();
        let mut values = Vec::with_capacity(self.len());
        for (e, fr) in elements.iter().enumerate() {
            let limbs = fr.into_bigint().0;
            let in_this = (self.len() - e * slots).min(slots);
            let used = in_this * bits;
            // Bits above the last used slot must be zero, or two elements would unpack alike.
            for bit in used..256 {
                if limbs[bit / 64] >> (bit % 64) & 1 == 1 {
                    return Err(VerifyError::bad(format!(
                        "{what} element {e} has bits set above its {in_this} slots"
                    )));
                }
            }
            for slot in 0..in_this {
                let offset = slot * bits;
                let (limb, shift) = (offset / 64, offset % 64);
                let mut u = limbs[limb] >> shift;
                if shift + bits > 64 {
                    u |= limbs[limb + 1] << (64 - shift);
                }
                let mask = if bits == 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                let v = (u & mask) as i128 - (1i128 << (bits - 1));
                values.push(v as i64);
            }
        }
        Ok(values)
    }
}

/// Packs one tensor's `values` (DESIGN.md, "Public inputs"): exactly `layout.num_elements()`
/// elements, each below 2^253. Errors with [`VerifyError::BadInput`] on a bad layout, a length
/// that differs from the layout, or a value outside its bits; `what` names the tensor.
pub fn pack_tensor(
    layout: &TensorLayout,
    values: &[i64],
    what: &str,
) -> Result<Vec<Fr>, VerifyError> {
    layout.validate(what)?;
    if values.len() != layout.len() {
        return Err(VerifyError::bad(format!(
            "{what} tensor has {} values, the layout (shape {:?}) needs {}",
            values.len(),
            layout.shape,
            layout.len()
        )));
    }
    let mut out = Vec::with_capacity(layout.num_elements());
    layout.pack_into(values, what, &mut out)?;
    Ok(out)
}

/// The public inputs of one tensor under `visibility`: its packed values, or their hash.
pub fn public_part(
    layout: &TensorLayout,
    visibility: Visibility,
    values: &[i64],
    what: &str,
) -> Result<Vec<Fr>, VerifyError> {
    let packed = pack_tensor(layout, values, what)?;
    Ok(match visibility {
        Visibility::Public => packed,
        Visibility::Hashed => vec![crate::poseidon::hash_elements(&packed)],
    })
}

/// The number of public inputs one tensor takes under `visibility`.
pub fn public_part_len(layout: &TensorLayout, visibility: Visibility) -> usize {
    match visibility {
        Visibility::Public => layout.num_elements(),
        Visibility::Hashed => 1,
    }
}

impl PublicLayout {
    /// A layout with both tensors public (packed).
    pub fn packed(input: TensorLayout, output: TensorLayout) -> Self {
        PublicLayout {
            input,
            output,
            input_visibility: Visibility::Public,
            output_visibility: Visibility::Public,
        }
    }

    /// Number of public field elements: the input's part plus the output's part (packed
    /// elements, or one hash).
    pub fn num_public_inputs(&self) -> usize {
        public_part_len(&self.input, self.input_visibility)
            .saturating_add(public_part_len(&self.output, self.output_visibility))
    }

    /// Checks both tensors (see [`TensorLayout::validate`]).
    pub fn validate(&self) -> Result<(), VerifyError> {
        self.input.validate("input")?;
        self.output.validate("output")
    }
}

/// Packs per DESIGN.md: value `v` of a tensor with `bits` is stored as `v + 2^(bits-1)` (must lie
/// in `[0, 2^bits)`), in consecutive `bits`-wide slots of a field element, `floor(253/bits)` slots
/// per element, least significant slot first; the input tensor first, then the output tensor,
/// each starting a new element. A tensor whose visibility is [`Visibility::Hashed`] takes one
/// element instead: the Poseidon hash of its packed elements ([`crate::poseidon::hash_elements`]).
///
/// Returns exactly `layout.num_public_inputs()` elements. Errors with
/// [`VerifyError::BadInput`] on a length that differs from the layout or a value outside its bits.
pub fn pack_public_inputs(
    layout: &PublicLayout,
    input_q: &[i64],
    output_q: &[i64],
) -> Result<Vec<Fr>, VerifyError> {
    layout.validate()?;
    let mut out = public_part(&layout.input, layout.input_visibility, input_q, "input")?;
    out.extend(public_part(
        &layout.output,
        layout.output_visibility,
        output_q,
        "output",
    )?);
    Ok(out)
}

/// Inverse of [`pack_public_inputs`]: the input and output values packed in `elements`.
///
/// Errors with [`VerifyError::BadInput`] unless there are exactly `num_public_inputs()` elements
/// and every bit above the used slots is zero, so that each value vector has one packing only.
pub fn unpack_public_inputs(
    layout: &PublicLayout,
    elements: &[Fr],
) -> Result<(Vec<i64>, Vec<i64>), VerifyError> {
    layout.validate()?;
    if layout.input_visibility == Visibility::Hashed
        || layout.output_visibility == Visibility::Hashed
    {
        return Err(VerifyError::bad(
            "a hashed tensor's values cannot be recovered from its public input",
        ));
    }
    if elements.len() != layout.num_public_inputs() {
        return Err(VerifyError::bad(format!(
            "{} public inputs given, the layout needs {}",
            elements.len(),
            layout.num_public_inputs()
        )));
    }
    let (inp, out) = elements.split_at(layout.input.num_elements());
    Ok((
        layout.input.unpack_from(inp, "input")?,
        layout.output.unpack_from(out, "output")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], bits: u32) -> TensorLayout {
        TensorLayout {
            shape: shape.to_vec(),
            scale: 7,
            bits,
        }
    }

    #[test]
    fn element_counts_match_design_examples() {
        // DESIGN.md: 64 inputs and 10 outputs at 16 bits need 5 + 1 elements...
        let l = PublicLayout {
            input: t(&[1, 64], 16),
            output: t(&[1, 10], 16),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        assert_eq!(l.input.slots_per_element(), 15);
        assert_eq!(l.num_public_inputs(), 6);
        // ...and digits pixels at 9 bits fit 28 per element.
        let l = PublicLayout {
            input: t(&[64], 9),
            output: t(&[10], 16),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        assert_eq!(l.input.slots_per_element(), 28);
        assert_eq!(l.num_public_inputs(), 3 + 1);
        assert_eq!(t(&[], 8).len(), 1);
        assert_eq!(t(&[3, 0], 8).num_elements(), 0);
    }

    #[test]
    fn packing_puts_least_significant_slot_first() {
        let l = PublicLayout {
            input: t(&[3], 4),
            output: t(&[1], 1),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        // 4-bit slots: stored values 8+1=9, 8-8=0, 8+7=15 -> 9 + 0*16 + 15*256.
        let p = pack_public_inputs(&l, &[1, -8, 7], &[-1]).unwrap();
        assert_eq!(p, vec![Fr::from(9u64 + 15 * 256), Fr::from(0u64)]);
    }

    #[test]
    fn out_of_range_and_wrong_lengths_are_bad_input() {
        let l = PublicLayout {
            input: t(&[2], 4),
            output: t(&[1], 4),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        assert!(matches!(
            pack_public_inputs(&l, &[8, 0], &[0]),
            Err(VerifyError::BadInput(_))
        ));
        assert!(matches!(
            pack_public_inputs(&l, &[-9, 0], &[0]),
            Err(VerifyError::BadInput(_))
        ));
        assert!(pack_public_inputs(&l, &[7, -8], &[0]).is_ok());
        assert!(matches!(
            pack_public_inputs(&l, &[0], &[0]),
            Err(VerifyError::BadInput(_))
        ));
        assert!(matches!(
            pack_public_inputs(&l, &[0, 0], &[]),
            Err(VerifyError::BadInput(_))
        ));
        let bad = PublicLayout {
            input: t(&[2], 0),
            output: t(&[1], 4),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        assert!(matches!(
            pack_public_inputs(&bad, &[0, 0], &[0]),
            Err(VerifyError::BadInput(_))
        ));
        let bad = PublicLayout {
            input: t(&[2], 65),
            output: t(&[1], 4),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        assert!(bad.validate().is_err());
        let huge = PublicLayout {
            input: t(&[usize::MAX, 3], 8),
            output: t(&[1], 4),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        assert!(huge.validate().is_err());
    }

    #[test]
    fn pack_unpack_round_trips_at_every_width() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        for bits in 1..=64u32 {
            let l = PublicLayout {
                input: t(&[37], bits),
                output: t(&[2, 3], bits.min(17)),
                input_visibility: Default::default(),
                output_visibility: Default::default(),
            };
            let mut draw = |b: u32| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let half = 1i128 << (b - 1);
                ((seed as i128).rem_euclid(2 * half) - half) as i64
            };
            let inp: Vec<i64> = (0..37).map(|_| draw(bits)).collect();
            let out: Vec<i64> = (0..6).map(|_| draw(bits.min(17))).collect();
            let packed = pack_public_inputs(&l, &inp, &out).unwrap();
            assert_eq!(packed.len(), l.num_public_inputs());
            assert_eq!(
                unpack_public_inputs(&l, &packed).unwrap(),
                (inp, out),
                "bits {bits}"
            );
        }
    }

    #[test]
    fn extreme_values_at_64_bits() {
        let l = PublicLayout {
            input: t(&[3], 64),
            output: t(&[1], 64),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        let inp = [i64::MIN, i64::MAX, -1];
        let packed = pack_public_inputs(&l, &inp, &[0]).unwrap();
        assert_eq!(
            unpack_public_inputs(&l, &packed).unwrap(),
            (inp.to_vec(), vec![0])
        );
    }

    #[test]
    fn unpack_rejects_bits_above_used_slots() {
        let l = PublicLayout {
            input: t(&[1], 8),
            output: t(&[1], 8),
            input_visibility: Default::default(),
            output_visibility: Default::default(),
        };
        let mut packed = pack_public_inputs(&l, &[3], &[4]).unwrap();
        packed[0] += Fr::from(1u64 << 8);
        assert!(matches!(
            unpack_public_inputs(&l, &packed),
            Err(VerifyError::BadInput(_))
        ));
    }
}
