// Signed-digit Pippenger MSM over G1 and G2 with scalars in Fr.
// Algorithm, step for step: gpu/src/mirror/msm.rs (tested in CI against arkworks); the host
// side (gpu/src/cuda/msm.rs) calls that module's planning functions, so both use the same
// windows, bucket keys, segment sizes and level plans.
//
// 1. msm_digits_count: scalar -> k = min(s, r - s) (+ negation flag), signed c-bit digits,
//    counts[key]++ for each non-zero digit (warp-aggregated atomics: the 0/1 scalars of a
//    bit-decomposed witness all hit one key). A warp stops as soon as all its scalars have no
//    bits left, so small scalars cost a few windows, not nw.
// 2. (host) exclusive scan of counts -> bucket offsets.
// 3. msm_scatter: same digits again; each claims a slot in its bucket -> entries sorted by key.
// 4. msm_accumulate: one thread per segment of SEGMENT entries of one bucket, mixed additions.
//    msm_reduce: the same over the partial sums, level after level, until one per bucket.
// 5. msm_dense: one point per bucket key (infinity when empty).
// 6. msm_window_reduce: per (window, run of buckets): running-sum reduction + offset term.
// 7. (host) sum runs per window, Horner over windows.
#include "curve.cuh"

#define SEGMENT 32u
#define SIGN_BIT 0x80000000u

// Bits [j*c, j*c + c) of k plus the incoming carry, recoded into (-2^(c-1), 2^(c-1)].
__device__ __forceinline__ int window_digit(const u32* k, u32 c, u32 j, u32& carry) {
    u32 bit = j * c;
    u32 limb = bit >> 5, off = bit & 31;
    u64 lo = limb < 8 ? (u64)k[limb] : 0ull;
    u64 hi = limb + 1 < 8 ? (u64)k[limb + 1] : 0ull;
    int raw = (int)(((lo | (hi << 32)) >> off) & ((1ull << c) - 1));
    int d = raw + (int)carry;
    if (d > (1 << (c - 1))) {
        carry = 1;
        return d - (1 << c);
    }
    carry = 0;
    return d;
}

// Whether k >> bit == 0.
__device__ __forceinline__ bool high_bits_zero(const u32* k, u32 bit) {
    if (bit >= 256) return true;
    u32 limb = bit >> 5, off = bit & 31;
    u32 acc = k[limb] >> off;
    for (u32 l = limb + 1; l < 8; l++) acc |= k[l];
    return acc == 0;
}

// Claims one slot per participating lane in counters[key]; lanes with equal keys share one
// atomic. Every lane of the warp must call this (non-participants with has = false).
__device__ __forceinline__ u32 warp_claim(u32* counters, u32 key, bool has) {
    u32 active = __ballot_sync(0xffffffffu, has);
    u32 pos = 0;
    if (has) {
        u32 lane = threadIdx.x & 31u;
        u32 peers = __match_any_sync(active, key);
        u32 leader = __ffs(peers) - 1;
        u32 base = 0;
        if (lane == leader) base = atomicAdd(&counters[key], (u32)__popc(peers));
        base = __shfl_sync(peers, base, leader);
        pos = base + (u32)__popc(peers & ((1u << lane) - 1u));
    }
    return pos;
}

__device__ __forceinline__ bool greater_than_half(const Fr& s) {
    const u32 H[8] = {FR_HALF};
#pragma unroll
    for (int i = 7; i >= 0; i--) {
        if (s.v[i] != H[i]) return s.v[i] > H[i];
    }
    return false;
}

// Step 1. kstd receives k (8 words, plain integer) with the negation flag in bit 31 of word 7
// (k < 2^253 leaves it free). blockDim.x must be a multiple of 32.
extern "C" __global__ void msm_digits_count(const u32* scalars, u32 n, u32 c, u32 nw, u32* counts, u32* kstd) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    bool valid = i < n;
    u32 k[8];
    bool negk = false;
#pragma unroll
    for (int l = 0; l < 8; l++) k[l] = 0;
    if (valid) {
        Fr s = from_mont(load<FrParams>(scalars + 8ull * i));
        if (greater_than_half(s)) {
            Fr m;
            u32 p[8];
#pragma unroll
            for (int l = 0; l < 8; l++) p[l] = FrParams::p(l);
            Fr pm = load<FrParams>(p);
            sub_raw(m, pm, s.v);
            s = m;
            negk = true;
        }
#pragma unroll
        for (int l = 0; l < 8; l++) k[l] = s.v[l];
#pragma unroll
        for (int l = 0; l < 8; l++) kstd[8ull * i + l] = k[l] | (l == 7 && negk ? SIGN_BIT : 0u);
    }
    u32 buckets = 1u << (c - 1);
    u32 carry = 0;
    for (u32 j = 0; j < nw; j++) {
        int d = window_digit(k, c, j, carry);
        bool has = valid && d != 0;
        u32 key = has ? j * buckets + (u32)abs(d) - 1u : 0xffffffffu;
        warp_claim(counts, key, has);
        bool done = !valid || (carry == 0 && high_bits_zero(k, (j + 1) * c));
        if (__all_sync(0xffffffffu, done)) break;
    }
}

// Step 3. cursor starts as the bucket offsets; entries[slot] = index | SIGN_BIT if negated.
extern "C" __global__ void msm_scatter(const u32* kstd, u32 n, u32 c, u32 nw, u32* cursor, u32* entries) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    bool valid = i < n;
    u32 k[8];
    bool negk = false;
#pragma unroll
    for (int l = 0; l < 8; l++) k[l] = valid ? kstd[8ull * i + l] : 0u;
    if (k[7] & SIGN_BIT) {
        negk = true;
        k[7] &= ~SIGN_BIT;
    }
    u32 buckets = 1u << (c - 1);
    u32 carry = 0;
    for (u32 j = 0; j < nw; j++) {
        int d = window_digit(k, c, j, carry);
        bool has = valid && d != 0;
        u32 key = has ? j * buckets + (u32)abs(d) - 1u : 0xffffffffu;
        u32 slot = warp_claim(cursor, key, has);
        if (has) entries[slot] = i | (((d < 0) != negk) ? SIGN_BIT : 0u);
        bool done = !valid || (carry == 0 && high_bits_zero(k, (j + 1) * c));
        if (__all_sync(0xffffffffu, done)) break;
    }
}

// The bucket owning output slot s: largest k with out_offsets[k] <= s (mirror: segment_bucket).
__device__ __forceinline__ u32 segment_bucket(const u32* out_offsets, u32 keys, u32 s) {
    u32 lo = 0, hi = keys;
    while (hi - lo > 1) {
        u32 mid = (lo + hi) >> 1;
        if (out_offsets[mid] <= s) lo = mid; else hi = mid;
    }
    return lo;
}

// Step 4, level 0.
template <class C>
__device__ __forceinline__ void accumulate(const u32* bases, const u32* entries, const u32* in_offsets,
                                           const u32* out_offsets, u32 keys, u32 total, u32* out) {
    typedef typename C::F F;
    u32 s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s >= total) return;
    u32 k = segment_bucket(out_offsets, keys, s);
    u32 start = in_offsets[k] + (s - out_offsets[k]) * SEGMENT;
    u32 end = min(start + SEGMENT, in_offsets[k + 1]);
    Xyzz<F> acc = xyzz_infinity<F>();
    for (u32 e = start; e < end; e++) {
        u32 ent = entries[e];
        Affine<F> p = load_affine<C>(bases + (u64)(ent & ~SIGN_BIT) * (2 * C::W));
        if (affine_is_infinity(p)) continue;
        F y = (ent & SIGN_BIT) ? neg(p.y) : p.y;
        madd(acc, p.x, y);
    }
    store_xyzz<C>(out + (u64)s * (4 * C::W), acc);
}

// Step 4, later levels.
template <class C>
__device__ __forceinline__ void reduce(const u32* in, const u32* in_offsets, const u32* out_offsets, u32 keys,
                                       u32 total, u32* out) {
    typedef typename C::F F;
    u32 s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s >= total) return;
    u32 k = segment_bucket(out_offsets, keys, s);
    u32 start = in_offsets[k] + (s - out_offsets[k]) * SEGMENT;
    u32 end = min(start + SEGMENT, in_offsets[k + 1]);
    Xyzz<F> acc = xyzz_infinity<F>();
    for (u32 e = start; e < end; e++) acc = xyzz_add(acc, load_xyzz<C>(in + (u64)e * (4 * C::W)));
    store_xyzz<C>(out + (u64)s * (4 * C::W), acc);
}

// Step 5.
template <class C> __device__ __forceinline__ void dense(const u32* partials, const u32* offsets, u32 keys, u32* out) {
    typedef typename C::F F;
    u32 k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= keys) return;
    Xyzz<F> v = offsets[k + 1] > offsets[k] ? load_xyzz<C>(partials + (u64)offsets[k] * (4 * C::W)) : xyzz_infinity<F>();
    store_xyzz<C>(out + (u64)k * (4 * C::W), v);
}

// Step 6: thread (j, t) covers buckets lo..=hi of window j (lo = t*run + 1) and writes
// sum_{b=lo}^{hi} b*bucket_b = [running sums from the top] + (lo - 1) * sum bucket_b.
template <class C> __device__ __forceinline__ void window_reduce(const u32* dense_buckets, u32 c, u32 nw, u32 segs, u32 run, u32* out) {
    typedef typename C::F F;
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nw * segs) return;
    u32 j = i / segs, t = i % segs;
    u32 b = 1u << (c - 1);
    u32 lo = t * run + 1;
    Xyzz<F> running = xyzz_infinity<F>();
    Xyzz<F> sum = xyzz_infinity<F>();
    if (lo <= b) {
        u32 hi = min(lo + run - 1, b);
        for (u32 bk = hi; bk >= lo; bk--) {
            running = xyzz_add(running, load_xyzz<C>(dense_buckets + (u64)(j * b + bk - 1) * (4 * C::W)));
            sum = xyzz_add(sum, running);
        }
        sum = xyzz_add(sum, xyzz_mul_u32(running, lo - 1));
    }
    store_xyzz<C>(out + (u64)i * (4 * C::W), sum);
}

extern "C" __global__ void msm_accumulate_g1(const u32* bases, const u32* entries, const u32* in_offsets, const u32* out_offsets, u32 keys, u32 total, u32* out) {
    accumulate<G1>(bases, entries, in_offsets, out_offsets, keys, total, out);
}
extern "C" __global__ void msm_accumulate_g2(const u32* bases, const u32* entries, const u32* in_offsets, const u32* out_offsets, u32 keys, u32 total, u32* out) {
    accumulate<G2>(bases, entries, in_offsets, out_offsets, keys, total, out);
}
extern "C" __global__ void msm_reduce_g1(const u32* in, const u32* in_offsets, const u32* out_offsets, u32 keys, u32 total, u32* out) {
    reduce<G1>(in, in_offsets, out_offsets, keys, total, out);
}
extern "C" __global__ void msm_reduce_g2(const u32* in, const u32* in_offsets, const u32* out_offsets, u32 keys, u32 total, u32* out) {
    reduce<G2>(in, in_offsets, out_offsets, keys, total, out);
}
extern "C" __global__ void msm_dense_g1(const u32* partials, const u32* offsets, u32 keys, u32* out) {
    dense<G1>(partials, offsets, keys, out);
}
extern "C" __global__ void msm_dense_g2(const u32* partials, const u32* offsets, u32 keys, u32* out) {
    dense<G2>(partials, offsets, keys, out);
}
extern "C" __global__ void msm_window_reduce_g1(const u32* dense_buckets, u32 c, u32 nw, u32 segs, u32 run, u32* out) {
    window_reduce<G1>(dense_buckets, c, nw, segs, run, out);
}
extern "C" __global__ void msm_window_reduce_g2(const u32* dense_buckets, u32 c, u32 nw, u32 segs, u32 run, u32* out) {
    window_reduce<G2>(dense_buckets, c, nw, segs, run, out);
}
