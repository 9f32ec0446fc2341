//! The lane operations of [`super::lanes`] as AVX-512 instructions (eight 64-bit lanes per
//! `zmm` register); each compiles to one instruction.

pub(crate) use std::arch::x86_64::__m512i as V;
use std::arch::x86_64::*;

/// Lane mask (bit `l` for lane `l`).
pub(crate) type M = __mmask8;

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn splat(x: u64) -> V {
    _mm512_set1_epi64(x as i64)
}

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn load(x: &[u64; 8]) -> V {
    // SAFETY: `x` is 64 readable bytes; the load is unaligned.
    unsafe { _mm512_loadu_si512(x.as_ptr() as *const _) }
}

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn store(v: V, x: &mut [u64; 8]) {
    // SAFETY: `x` is 64 writable bytes; the store is unaligned.
    unsafe { _mm512_storeu_si512(x.as_mut_ptr() as *mut _, v) }
}

/// `acc + lo52(lo52(a)·lo52(b))` per lane.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn madd52lo(acc: V, a: V, b: V) -> V {
    _mm512_madd52lo_epu64(acc, a, b)
}

/// `acc + hi52(lo52(a)·lo52(b))` per lane (bits 52..104 of the product).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn madd52hi(acc: V, a: V, b: V) -> V {
    _mm512_madd52hi_epu64(acc, a, b)
}

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn add(a: V, b: V) -> V {
    _mm512_add_epi64(a, b)
}

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn sub(a: V, b: V) -> V {
    _mm512_sub_epi64(a, b)
}

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn and(a: V, b: V) -> V {
    _mm512_and_si512(a, b)
}

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn or(a: V, b: V) -> V {
    _mm512_or_si512(a, b)
}

#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn shl<const N: u32>(a: V) -> V {
    _mm512_slli_epi64::<N>(a)
}

/// Logical shift right.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn shr<const N: u32>(a: V) -> V {
    _mm512_srli_epi64::<N>(a)
}

/// Arithmetic shift right (the sign bit fills).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn sar<const N: u32>(a: V) -> V {
    _mm512_srai_epi64::<N>(a)
}

/// The lanes holding a negative value (as signed 64-bit).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn negative(a: V) -> M {
    _mm512_cmplt_epi64_mask(a, _mm512_setzero_si512())
}

/// `a + b` in the lanes of `m`, `a` elsewhere.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn add_where(m: M, a: V, b: V) -> V {
    _mm512_mask_add_epi64(a, m, a, b)
}

/// `b` in the lanes of `m`, `a` elsewhere.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn select(m: M, a: V, b: V) -> V {
    _mm512_mask_blend_epi64(m, a, b)
}
