// Short-Weierstrass (a = 0) point arithmetic in XYZZ coordinates for BN254 G1 (over Fq) and
// G2 (over Fq2). Mirror: gpu/src/mirror/xyzz.rs, tested against arkworks.
//
// (X, Y, ZZ, ZZZ) with ZZ^3 = ZZZ^2 is the affine point (X/ZZ, Y/ZZZ); ZZ = 0 is infinity.
// Affine points in memory are (x, y) with (0, 0) for infinity, which is not on the curve.
// XYZZ is used because a mixed addition costs 8M + 2S with no inversion and no special
// handling of the accumulator's Z beyond the P = ±Q cases.
//
// The point operations are __noinline__: each is thousands of instructions (a field product
// alone is ~128 wide multiplies), so inlining them into every kernel multiplied the PTX to
// ~17 MB and NVRTC time to minutes; a call costs a few dozen instructions against that.
#pragma once
#include "field.cuh"

// Curve descriptors: the coordinate field and how its elements are laid out (W words each).
struct G1 {
    typedef Fq F;
    static const int W = 8;
    static __device__ __forceinline__ F ld(const u32* p) { return load<FqParams>(p); }
    static __device__ __forceinline__ void st(u32* p, const F& a) { store(p, a); }
};
struct G2 {
    typedef Fq2 F;
    static const int W = 16;
    static __device__ __forceinline__ F ld(const u32* p) { return load_fq2(p); }
    static __device__ __forceinline__ void st(u32* p, const F& a) { store_fq2(p, a); }
};

template <class F> struct Affine { F x, y; };
template <class F> struct Xyzz { F x, y, zz, zzz; };

template <class F> __device__ __forceinline__ Xyzz<F> xyzz_infinity() {
    Xyzz<F> r;
    r.x = F::one(); r.y = F::one(); r.zz = F::zero(); r.zzz = F::zero();
    return r;
}

template <class F> __device__ __forceinline__ bool affine_is_infinity(const Affine<F>& p) {
    return p.x.is_zero() && p.y.is_zero();
}

template <class F> __device__ __forceinline__ F times3(const F& a) { return add(dbl(a), a); }

// 2·(x, y) for an affine point (mdbl-2008-s-1).
template <class F> __device__ __noinline__ Xyzz<F> dbl_affine(const F& x, const F& y) {
    F u = dbl(y);
    F v = sqr(u);
    F w = mul(u, v);
    F s = mul(x, v);
    F m = times3(sqr(x));
    Xyzz<F> r;
    r.x = sub(sqr(m), dbl(s));
    r.y = sub(mul(m, sub(s, r.x)), mul(w, y));
    r.zz = v;
    r.zzz = w;
    return r;
}

// acc += (x2, y2) (madd-2008-s), including infinity on either side and P = ±Q.
template <class F> __device__ __noinline__ void madd(Xyzz<F>& acc, const F& x2, const F& y2) {
    if (x2.is_zero() && y2.is_zero()) return;
    if (acc.zz.is_zero()) {
        acc.x = x2; acc.y = y2; acc.zz = F::one(); acc.zzz = F::one();
        return;
    }
    F u2 = mul(x2, acc.zz);
    F s2 = mul(y2, acc.zzz);
    F p = sub(u2, acc.x);
    F r = sub(s2, acc.y);
    if (p.is_zero()) {
        if (r.is_zero()) acc = dbl_affine(x2, y2);
        else acc = xyzz_infinity<F>();
        return;
    }
    F pp = sqr(p);
    F ppp = mul(p, pp);
    F q = mul(acc.x, pp);
    F x3 = sub(sub(sqr(r), ppp), dbl(q));
    F y3 = sub(mul(r, sub(q, x3)), mul(acc.y, ppp));
    acc.x = x3;
    acc.y = y3;
    acc.zz = mul(acc.zz, pp);
    acc.zzz = mul(acc.zzz, ppp);
}

// 2·a (dbl-2008-s-1).
template <class F> __device__ __noinline__ Xyzz<F> xyzz_dbl(const Xyzz<F>& a) {
    if (a.zz.is_zero()) return a;
    F u = dbl(a.y);
    F v = sqr(u);
    F w = mul(u, v);
    F s = mul(a.x, v);
    F m = times3(sqr(a.x));
    Xyzz<F> r;
    r.x = sub(sqr(m), dbl(s));
    r.y = sub(mul(m, sub(s, r.x)), mul(w, a.y));
    r.zz = mul(v, a.zz);
    r.zzz = mul(w, a.zzz);
    return r;
}

// a + b (add-2008-s), including infinity and P = ±Q.
template <class F> __device__ __noinline__ Xyzz<F> xyzz_add(const Xyzz<F>& a, const Xyzz<F>& b) {
    if (a.zz.is_zero()) return b;
    if (b.zz.is_zero()) return a;
    F u1 = mul(a.x, b.zz);
    F u2 = mul(b.x, a.zz);
    F s1 = mul(a.y, b.zzz);
    F s2 = mul(b.y, a.zzz);
    F p = sub(u2, u1);
    F r = sub(s2, s1);
    if (p.is_zero()) {
        if (r.is_zero()) return xyzz_dbl(a);
        return xyzz_infinity<F>();
    }
    F pp = sqr(p);
    F ppp = mul(p, pp);
    F q = mul(u1, pp);
    Xyzz<F> o;
    o.x = sub(sub(sqr(r), ppp), dbl(q));
    o.y = sub(mul(r, sub(q, o.x)), mul(s1, ppp));
    o.zz = mul(mul(a.zz, b.zz), pp);
    o.zzz = mul(mul(a.zzz, b.zzz), ppp);
    return o;
}

// k·a for a small k, double-and-add from the top bit (mirror: Xyzz::mul_u32).
template <class F> __device__ __noinline__ Xyzz<F> xyzz_mul_u32(const Xyzz<F>& a, u32 k) {
    Xyzz<F> acc = xyzz_infinity<F>();
    for (int bit = 31; bit >= 0; bit--) {
        acc = xyzz_dbl(acc);
        if ((k >> bit) & 1) acc = xyzz_add(acc, a);
    }
    return acc;
}

// Memory layout: affine = x, y (2W words); XYZZ = X, Y, ZZ, ZZZ (4W words).
template <class C> __device__ __forceinline__ Affine<typename C::F> load_affine(const u32* p) {
    Affine<typename C::F> a;
    a.x = C::ld(p);
    a.y = C::ld(p + C::W);
    return a;
}
template <class C> __device__ __forceinline__ Xyzz<typename C::F> load_xyzz(const u32* p) {
    Xyzz<typename C::F> a;
    a.x = C::ld(p);
    a.y = C::ld(p + C::W);
    a.zz = C::ld(p + 2 * C::W);
    a.zzz = C::ld(p + 3 * C::W);
    return a;
}
template <class C> __device__ __forceinline__ void store_xyzz(u32* p, const Xyzz<typename C::F>& a) {
    C::st(p, a.x);
    C::st(p + C::W, a.y);
    C::st(p + 2 * C::W, a.zz);
    C::st(p + 3 * C::W, a.zzz);
}
