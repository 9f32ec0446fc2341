//! BN254 `Fq` constants in the lanes' 52-bit limbs.

use ark_bn254::FqConfig;
use ark_ff::MontConfig;

/// The low 52 bits.
pub(crate) const MASK52: u64 = (1 << 52) - 1;

/// A value below `2^256` (four little-endian 64-bit limbs) as five 52-bit limbs.
pub(crate) const fn to52(x: [u64; 4]) -> [u64; 5] {
    [
        x[0] & MASK52,
        (x[0] >> 52 | x[1] << 12) & MASK52,
        (x[1] >> 40 | x[2] << 24) & MASK52,
        (x[2] >> 28 | x[3] << 36) & MASK52,
        x[3] >> 16,
    ]
}

/// `2x` for `x < 2^255`.
const fn double(x: [u64; 4]) -> [u64; 4] {
    [
        x[0] << 1,
        x[1] << 1 | x[0] >> 63,
        x[2] << 1 | x[1] >> 63,
        x[3] << 1 | x[2] >> 63,
    ]
}

/// `p`, 64-bit limbs.
pub(crate) const MODULUS: [u64; 4] = <FqConfig as MontConfig<4>>::MODULUS.0;
/// `2p`, 64-bit limbs (the lazy bound).
pub(crate) const TWO_P: [u64; 4] = double(MODULUS);
pub(crate) const P52: [u64; 5] = to52(MODULUS);
pub(crate) const TWO_P52: [u64; 5] = to52(TWO_P);
/// `−p⁻¹ mod 2^52` (the low bits of arkworks' `−p⁻¹ mod 2^64`).
pub(crate) const PINV52: u64 = <FqConfig as MontConfig<4>>::INV & MASK52;
/// One in Montgomery form, `2^256 mod p`.
pub(crate) const ONE52: [u64; 5] = to52(<FqConfig as MontConfig<4>>::R.0);
