//! Fixed-point arithmetic shared by integer inference and the circuit.
//!
//! A real `v` at scale `s` is the integer `round(v · 2^s)` (half away from zero).
//! Requantising an accumulator at scale `s_a + s_b` down by `k` bits is
//! `y = floor((acc + 2^(k-1)) / 2^k)` with remainder `r = acc + 2^(k-1) - y·2^k ∈ [0, 2^k)`;
//! the circuit proves exactly this equation, so inference must use exactly this rounding.

/// `round(v · 2^scale)`, half away from zero, or `None` when `v` is not finite or the
/// result does not fit an `i64`.
pub fn quantize(v: f64, scale: i32) -> Option<i64> {
    if !v.is_finite() {
        return None;
    }
    let q = (v * 2f64.powi(scale)).round();
    if q.abs() >= 9.0e18 {
        return None;
    }
    Some(q as i64)
}

/// The real value of `q` at `scale`.
pub fn dequantize(q: i64, scale: i32) -> f64 {
    q as f64 * 2f64.powi(-scale)
}

/// `(y, r)` with `acc + 2^(k-1) = y·2^k + r`, `0 ≤ r < 2^k` (for `k = 0`: `(acc, 0)`).
pub fn requantize(acc: i128, k: u32) -> (i128, i128) {
    if k == 0 {
        return (acc, 0);
    }
    let t = acc + (1i128 << (k - 1));
    let y = t >> k; // arithmetic shift: floor division by 2^k
    (y, t - (y << k))
}

/// Whether `v` lies in the signed range of `bits` bits, `[-2^(bits-1), 2^(bits-1))`.
pub fn fits_bits(v: i128, bits: u32) -> bool {
    let half = 1i128 << (bits - 1);
    (-half..half).contains(&v)
}

/// The smallest number of signed bits whose range holds `[lo, hi]`.
pub fn bits_for_range(lo: i128, hi: i128) -> u32 {
    let mut b = 1;
    while !(fits_bits(lo, b) && fits_bits(hi, b)) {
        b += 1;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_half_away_from_zero() {
        assert_eq!(quantize(0.5 / 128.0, 7), Some(1));
        assert_eq!(quantize(-0.5 / 128.0, 7), Some(-1));
        assert_eq!(quantize(1.0, 7), Some(128));
        assert_eq!(quantize(f64::NAN, 7), None);
        assert_eq!(quantize(f64::INFINITY, 7), None);
    }

    #[test]
    fn requantize_is_round_half_up_and_matches_its_equation() {
        for acc in -1000i128..1000 {
            for k in 0..6u32 {
                let (y, r) = requantize(acc, k);
                let half = if k == 0 { 0 } else { 1i128 << (k - 1) };
                assert_eq!(acc + half, y * (1 << k) + r);
                assert!((0..1i128 << k).contains(&r));
                let want = ((acc as f64) / f64::from(1u32 << k) + 0.5).floor() as i128;
                assert_eq!(y, want, "acc {acc} k {k}");
            }
        }
    }

    #[test]
    fn bits_for_range_is_tight() {
        assert_eq!(bits_for_range(0, 0), 1);
        assert_eq!(bits_for_range(-1, 0), 1);
        assert_eq!(bits_for_range(0, 1), 2);
        assert_eq!(bits_for_range(-128, 127), 8);
        assert_eq!(bits_for_range(-129, 127), 9);
    }
}
