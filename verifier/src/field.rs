//! Field elements as text and bytes, for public inputs given outside proof.json.
//!
//! Every parser here refuses a value at or above the modulus instead of reducing it: reducing
//! would let `x` and `x + p` both pass as "the same" input, which Solidity verifiers must also
//! refuse, and a canonical encoding is what lets inputs be compared byte for byte.

use ark_bn254::{Fq, Fr};
use ark_ff::{BigInt, PrimeField};

use crate::error::VerifyError;

/// Decodes 32 big-endian bytes into the integer they spell.
fn bigint_from_be(bytes: &[u8; 32]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[32 - 8 * (i + 1)..32 - 8 * i]);
        *limb = u64::from_be_bytes(word);
    }
    BigInt::new(limbs)
}

/// The scalar-field element spelt by 32 big-endian bytes; [`VerifyError::BadInput`] if the
/// integer is not below the scalar-field modulus.
pub fn fr_from_be_bytes(bytes: &[u8; 32]) -> Result<Fr, VerifyError> {
    Fr::from_bigint(bigint_from_be(bytes)).ok_or_else(|| {
        VerifyError::bad(format!(
            "public input 0x{} is not below the scalar field modulus",
            hex::encode(bytes)
        ))
    })
}

/// The 32 big-endian bytes of a scalar-field element.
pub fn fr_to_be_bytes(x: &Fr) -> [u8; 32] {
    let limbs = x.into_bigint().0;
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        out[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

/// Parses a scalar-field element from decimal digits or `0x`-prefixed hex (surrounding
/// whitespace ignored). Signs, separators, empty strings and values at or above the modulus are
/// [`VerifyError::BadInput`].
pub fn parse_fr(s: &str) -> Result<Fr, VerifyError> {
    let s = s.trim();
    let big = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let digits = h.trim_start_matches('0');
        if h.is_empty() || digits.len() > 64 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(VerifyError::bad(format!(
                "public input {s:?} is not a 256-bit hex number"
            )));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(format!("{digits:0>64}"), &mut bytes)
            .map_err(|e| VerifyError::bad(format!("public input {s:?}: {e}")))?;
        bigint_from_be(&bytes)
    } else {
        // BigInt's FromStr would also take '+' and '_'; only plain digits are a number here.
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(VerifyError::bad(format!(
                "public input {s:?} is not a decimal number"
            )));
        }
        s.parse::<BigInt<4>>()
            .map_err(|_| VerifyError::bad(format!("public input {s} does not fit in 256 bits")))?
    };
    Fr::from_bigint(big).ok_or_else(|| {
        VerifyError::bad(format!(
            "public input {s} is not below the scalar field modulus"
        ))
    })
}

/// A scalar-field element in decimal, as Solidity calldata and snarkjs write it.
pub fn fr_to_decimal(x: &Fr) -> String {
    x.into_bigint().to_string()
}

/// A base-field element in decimal, as Solidity calldata and snarkjs write it.
pub fn fq_to_decimal(x: &Fq) -> String {
    x.into_bigint().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{AdditiveGroup, BigInteger, Field};

    const R_DEC: &str =
        "21888242871839275222246405745257275088548364400416034343698204186575808495617";

    #[test]
    fn parses_decimal_hex_and_bytes_alike() {
        let x = Fr::from(0x1234_5678_9abc_def0u64) * Fr::from(u64::MAX);
        let dec = fr_to_decimal(&x);
        let bytes = fr_to_be_bytes(&x);
        assert_eq!(parse_fr(&dec).unwrap(), x);
        assert_eq!(parse_fr(&format!("0x{}", hex::encode(bytes))).unwrap(), x);
        assert_eq!(parse_fr("0x1").unwrap(), Fr::ONE);
        assert_eq!(fr_from_be_bytes(&bytes).unwrap(), x);
        assert_eq!(parse_fr(" 0 ").unwrap(), Fr::ZERO);
    }

    #[test]
    fn rejects_modulus_and_above() {
        assert_eq!(Fr::MODULUS.to_string(), R_DEC);
        let r_minus_1 = fr_to_decimal(&(-Fr::ONE));
        assert_eq!(parse_fr(&r_minus_1).unwrap(), -Fr::ONE);
        for bad in [
            R_DEC,
            "21888242871839275222246405745257275088548364400416034343698204186575808495618",
        ] {
            assert!(
                matches!(parse_fr(bad), Err(VerifyError::BadInput(_))),
                "{bad}"
            );
        }
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&Fr::MODULUS.to_bytes_be());
        assert!(matches!(
            fr_from_be_bytes(&r_bytes),
            Err(VerifyError::BadInput(_))
        ));
        assert!(fr_from_be_bytes(&[0xff; 32]).is_err());
        assert!(parse_fr(&format!("0x{}", hex::encode(r_bytes))).is_err());
        assert!(parse_fr(&"9".repeat(80)).is_err());
    }

    #[test]
    fn rejects_non_numbers() {
        for bad in [
            "",
            "-1",
            "+1",
            "1_0",
            "0x",
            "0xg1",
            "12a",
            "1e3",
            &format!("0x1{}", "0".repeat(64)),
        ] {
            assert!(
                matches!(parse_fr(bad), Err(VerifyError::BadInput(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_fr(&format!("0x{}1", "0".repeat(70))).unwrap(),
            Fr::ONE
        );
    }
}
