//! The lane operations of [`super::lanes`] in plain Rust, one lane after another: the same
//! algorithm runs on any CPU, so its limb layout, carries and bounds are tested against
//! arkworks where the CPU has no IFMA (as the CUDA kernels' mirrors are).

/// Eight 64-bit lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct V([u64; 8]);

/// Lane mask (bit `l` for lane `l`).
pub(crate) type M = u8;

fn map(a: V, f: impl Fn(u64) -> u64) -> V {
    V(a.0.map(f))
}

fn zip(a: V, b: V, f: impl Fn(u64, u64) -> u64) -> V {
    V(std::array::from_fn(|l| f(a.0[l], b.0[l])))
}

const LO52: u64 = (1 << 52) - 1;

pub(crate) fn splat(x: u64) -> V {
    V([x; 8])
}

pub(crate) fn load(x: &[u64; 8]) -> V {
    V(*x)
}

pub(crate) fn store(v: V, x: &mut [u64; 8]) {
    *x = v.0;
}

/// `(a mod 2^52)·(b mod 2^52)`, a 104-bit product, as IFMA multiplies.
fn product52(a: u64, b: u64) -> u128 {
    (a & LO52) as u128 * (b & LO52) as u128
}

pub(crate) fn madd52lo(acc: V, a: V, b: V) -> V {
    V(std::array::from_fn(|l| {
        acc.0[l].wrapping_add(product52(a.0[l], b.0[l]) as u64 & LO52)
    }))
}

pub(crate) fn madd52hi(acc: V, a: V, b: V) -> V {
    V(std::array::from_fn(|l| {
        acc.0[l].wrapping_add((product52(a.0[l], b.0[l]) >> 52) as u64)
    }))
}

pub(crate) fn add(a: V, b: V) -> V {
    zip(a, b, u64::wrapping_add)
}

pub(crate) fn sub(a: V, b: V) -> V {
    zip(a, b, u64::wrapping_sub)
}

pub(crate) fn and(a: V, b: V) -> V {
    zip(a, b, |x, y| x & y)
}

pub(crate) fn or(a: V, b: V) -> V {
    zip(a, b, |x, y| x | y)
}

pub(crate) fn shl<const N: u32>(a: V) -> V {
    map(a, |x| x << N)
}

pub(crate) fn shr<const N: u32>(a: V) -> V {
    map(a, |x| x >> N)
}

pub(crate) fn sar<const N: u32>(a: V) -> V {
    map(a, |x| ((x as i64) >> N) as u64)
}

pub(crate) fn negative(a: V) -> M {
    (0..8).fold(0, |m, l| m | (((a.0[l] as i64) < 0) as u8) << l)
}

pub(crate) fn add_where(m: M, a: V, b: V) -> V {
    V(std::array::from_fn(|l| {
        if m >> l & 1 != 0 {
            a.0[l].wrapping_add(b.0[l])
        } else {
            a.0[l]
        }
    }))
}

pub(crate) fn select(m: M, a: V, b: V) -> V {
    V(std::array::from_fn(|l| {
        if m >> l & 1 != 0 {
            b.0[l]
        } else {
            a.0[l]
        }
    }))
}
