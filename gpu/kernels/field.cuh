// BN254 field arithmetic for the kernels: Fq, Fr (8 x 32-bit limbs, little-endian, Montgomery
// form with R = 2^256 — the same bytes as arkworks' 4 x u64 limbs) and Fq2 = Fq[u]/(u^2 + 1).
//
// Algorithms are mirrored in gpu/src/mirror/limbs.rs (tested against arkworks); the constants
// below are checked against arkworks by the test `field_cuh_constants_match_arkworks`.
// Plain C++ with 64-bit intermediates: NVRTC lowers `(u64)a * b` to mul.wide.u32 and the carry
// chains to add.cc, and this form stays readable next to its Rust mirror.
#pragma once

typedef unsigned int u32;
typedef unsigned long long u64;

#define FQ_P 0xd87cfd47u, 0x3c208c16u, 0x6871ca8du, 0x97816a91u, 0x8181585du, 0xb85045b6u, 0xe131a029u, 0x30644e72u
#define FQ_INV 0xe4866389u
#define FQ_ONE 0xc58f0d9du, 0xd35d438du, 0xf5c70b3du, 0x0a78eb28u, 0x7879462cu, 0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u
#define FR_P 0xf0000001u, 0x43e1f593u, 0x79b97091u, 0x2833e848u, 0x8181585du, 0xb85045b6u, 0xe131a029u, 0x30644e72u
#define FR_INV 0xefffffffu
#define FR_ONE 0x4ffffffbu, 0xac96341cu, 0x9f60cd29u, 0x36fc7695u, 0x7879462eu, 0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u
// (r - 1) / 2: scalars above it are replaced by r - s and a negated point (msm.cu).
#define FR_HALF 0xf8000000u, 0xa1f0fac9u, 0x3cdcb848u, 0x9419f424u, 0x40c0ac2eu, 0xdc2822dbu, 0x7098d014u, 0x18322739u

// Field parameters as types, so one template serves both prime fields. Limbs are returned from
// a local array indexed by loop counters that are always unrolled, so they fold to immediates.
struct FqParams {
    static constexpr u32 INV = FQ_INV;
    static __device__ __forceinline__ u32 p(int i) { const u32 P[8] = {FQ_P}; return P[i]; }
    static __device__ __forceinline__ u32 one(int i) { const u32 O[8] = {FQ_ONE}; return O[i]; }
};
struct FrParams {
    static constexpr u32 INV = FR_INV;
    static __device__ __forceinline__ u32 p(int i) { const u32 P[8] = {FR_P}; return P[i]; }
    static __device__ __forceinline__ u32 one(int i) { const u32 O[8] = {FR_ONE}; return O[i]; }
};

template <class P> struct Fp {
    u32 v[8];

    static __device__ __forceinline__ Fp zero() {
        Fp r;
#pragma unroll
        for (int i = 0; i < 8; i++) r.v[i] = 0;
        return r;
    }
    // Montgomery form of 1.
    static __device__ __forceinline__ Fp one() {
        Fp r;
#pragma unroll
        for (int i = 0; i < 8; i++) r.v[i] = P::one(i);
        return r;
    }
    __device__ __forceinline__ bool is_zero() const {
        u32 acc = 0;
#pragma unroll
        for (int i = 0; i < 8; i++) acc |= v[i];
        return acc == 0;
    }
    __device__ __forceinline__ bool eq(const Fp& o) const {
        u32 acc = 0;
#pragma unroll
        for (int i = 0; i < 8; i++) acc |= v[i] ^ o.v[i];
        return acc == 0;
    }
    __device__ __forceinline__ bool is_one() const { return eq(one()); }
};

typedef Fp<FqParams> Fq;
typedef Fp<FrParams> Fr;

// r = a - b over 256 bits; returns the borrow (top bit of each 64-bit difference).
template <class P> __device__ __forceinline__ u32 sub_raw(Fp<P>& r, const Fp<P>& a, const u32* b) {
    u64 br = 0;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        u64 d = (u64)a.v[i] - (u64)b[i] - br;
        r.v[i] = (u32)d;
        br = (d >> 63) & 1;
    }
    return (u32)br;
}

// Subtracts p when a >= p (keeps values in [0, p)).
template <class P> __device__ __forceinline__ Fp<P> reduce_once(const Fp<P>& a) {
    u32 p[8];
#pragma unroll
    for (int i = 0; i < 8; i++) p[i] = P::p(i);
    Fp<P> t;
    u32 br = sub_raw(t, a, p);
    return br ? a : t;
}

template <class P> __device__ __forceinline__ Fp<P> add(const Fp<P>& a, const Fp<P>& b) {
    Fp<P> r;
    u64 c = 0;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        c += (u64)a.v[i] + (u64)b.v[i];
        r.v[i] = (u32)c;
        c >>= 32;
    }
    // p < 2^254, so a + b < 2^255: no carry out of the top limb.
    return reduce_once(r);
}

template <class P> __device__ __forceinline__ Fp<P> sub(const Fp<P>& a, const Fp<P>& b) {
    Fp<P> r;
    u32 br = sub_raw(r, a, b.v);
    if (!br) return r;
    u64 c = 0;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        c += (u64)r.v[i] + (u64)P::p(i);
        r.v[i] = (u32)c;
        c >>= 32;
    }
    return r;
}

template <class P> __device__ __forceinline__ Fp<P> neg(const Fp<P>& a) {
    return a.is_zero() ? a : sub(Fp<P>::zero(), a);
}

template <class P> __device__ __forceinline__ Fp<P> dbl(const Fp<P>& a) { return add(a, a); }

// Montgomery product a*b*R^-1 mod p: CIOS with 32-bit words (mirror: limbs::mont_mul).
template <class P> __device__ __forceinline__ Fp<P> mul(const Fp<P>& a, const Fp<P>& b) {
    u32 t[10];
#pragma unroll
    for (int i = 0; i < 10; i++) t[i] = 0;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        u64 carry = 0;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            u64 s = (u64)a.v[j] * (u64)b.v[i] + (u64)t[j] + carry;
            t[j] = (u32)s;
            carry = s >> 32;
        }
        u64 s = (u64)t[8] + carry;
        t[8] = (u32)s;
        t[9] = (u32)(s >> 32);
        u32 m = t[0] * P::INV;
        s = (u64)m * (u64)P::p(0) + (u64)t[0];
        carry = s >> 32;
#pragma unroll
        for (int j = 1; j < 8; j++) {
            s = (u64)m * (u64)P::p(j) + (u64)t[j] + carry;
            t[j - 1] = (u32)s;
            carry = s >> 32;
        }
        s = (u64)t[8] + carry;
        t[7] = (u32)s;
        t[8] = t[9] + (u32)(s >> 32);
    }
    Fp<P> r;
#pragma unroll
    for (int i = 0; i < 8; i++) r.v[i] = t[i];
    return reduce_once(r);
}

template <class P> __device__ __forceinline__ Fp<P> sqr(const Fp<P>& a) { return mul(a, a); }

// Montgomery form -> plain integer (multiply by the integer 1).
template <class P> __device__ __forceinline__ Fp<P> from_mont(const Fp<P>& a) {
    Fp<P> one_int = Fp<P>::zero();
    one_int.v[0] = 1;
    return mul(a, one_int);
}

// Loads/stores through 32-bit words: arrays of elements are passed as u32* (8 words each),
// which is the byte layout of arkworks' [u64; 4] on a little-endian host.
template <class P> __device__ __forceinline__ Fp<P> load(const u32* p) {
    Fp<P> r;
#pragma unroll
    for (int i = 0; i < 8; i++) r.v[i] = p[i];
    return r;
}
template <class P> __device__ __forceinline__ void store(u32* p, const Fp<P>& a) {
#pragma unroll
    for (int i = 0; i < 8; i++) p[i] = a.v[i];
}

// Fq2 = Fq[u] / (u^2 + 1) (BN254's quadratic non-residue is -1).
struct Fq2 {
    Fq c0, c1;
    static __device__ __forceinline__ Fq2 zero() { Fq2 r; r.c0 = Fq::zero(); r.c1 = Fq::zero(); return r; }
    static __device__ __forceinline__ Fq2 one() { Fq2 r; r.c0 = Fq::one(); r.c1 = Fq::zero(); return r; }
    __device__ __forceinline__ bool is_zero() const { return c0.is_zero() && c1.is_zero(); }
};

__device__ __forceinline__ Fq2 add(const Fq2& a, const Fq2& b) { Fq2 r; r.c0 = add(a.c0, b.c0); r.c1 = add(a.c1, b.c1); return r; }
__device__ __forceinline__ Fq2 sub(const Fq2& a, const Fq2& b) { Fq2 r; r.c0 = sub(a.c0, b.c0); r.c1 = sub(a.c1, b.c1); return r; }
__device__ __forceinline__ Fq2 neg(const Fq2& a) { Fq2 r; r.c0 = neg(a.c0); r.c1 = neg(a.c1); return r; }
__device__ __forceinline__ Fq2 dbl(const Fq2& a) { return add(a, a); }
// Karatsuba: (a0 + a1 u)(b0 + b1 u) = (a0 b0 - a1 b1) + ((a0 + a1)(b0 + b1) - a0 b0 - a1 b1) u.
__device__ __noinline__ Fq2 mul(const Fq2& a, const Fq2& b) {
    Fq v0 = mul(a.c0, b.c0);
    Fq v1 = mul(a.c1, b.c1);
    Fq2 r;
    r.c0 = sub(v0, v1);
    r.c1 = sub(sub(mul(add(a.c0, a.c1), add(b.c0, b.c1)), v0), v1);
    return r;
}
// (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u.
__device__ __noinline__ Fq2 sqr(const Fq2& a) {
    Fq2 r;
    r.c0 = mul(add(a.c0, a.c1), sub(a.c0, a.c1));
    r.c1 = dbl(mul(a.c0, a.c1));
    return r;
}
__device__ __forceinline__ Fq2 load_fq2(const u32* p) { Fq2 r; r.c0 = load<FqParams>(p); r.c1 = load<FqParams>(p + 8); return r; }
__device__ __forceinline__ void store_fq2(u32* p, const Fq2& a) { store(p, a.c0); store(p + 8, a.c1); }
